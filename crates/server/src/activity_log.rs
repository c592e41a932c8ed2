//! Volunteer activities as the server holds them: storing uploads (activities and
//! check-ins, one receipt each, idempotent by id), and reading them back for the
//! phone's roster, the coordinators' list, detail, hours and downloads.
//!
//! Scope is decided on `activities.unit_id`: the team's unit, or the recorder's own
//! unit when there is no team. A coordinator reads the activities whose unit lies in
//! their subtree; anything else answers 404, like an unknown id.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use daohu_domain::activity::{china_time, is_kind_code, HoursTally};
use daohu_domain::{
    Activity, ActivityDetail, ActivityFilter, ActivitySummary, CheckIn, CheckInView,
    HoursReport, PhotoStatus, Receipt, ServedHousehold,
};
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::{parse_unit_kind, sha256_hex, AuthUser};
use crate::db::{parse_ts, parse_uuid};
use crate::receipts::{self, Records};
use crate::scope::{self, Subtree};
use crate::store::activities::{self as store, RawActivity};
use crate::AppError;

pub use crate::store::activities::Cursor;

/// Most rows the console's activity list answers.
pub const LIST_LIMIT: u32 = 1000;
/// Most of the caller's activities the phone's roster carries.
pub const RECENT_LIMIT: u32 = 100;
/// How far back the phone's roster looks (days).
pub const RECENT_DAYS: i64 = 30;
/// Activities read at a time by hours and downloads.
pub const PAGE: u32 = 500;

/// Reason given for an activity recorded under someone else's name.
pub const NOT_OWN_REASON: &str = "只能上传自己记录的活动";
/// Reason given for a kind the server does not know.
pub const UNKNOWN_KIND_REASON: &str = "没有这种活动类型";
/// Reason given for a team the recorder is not on.
pub const NOT_IN_TEAM_REASON: &str = "你不在这个队伍里";
/// Reason given for a participant who is not on the activity's team.
pub const PARTICIPANT_REASON: &str = "参加的人不在这个队伍里";
/// Reason given for a household the recorder may not name.
pub const HOUSEHOLD_REASON: &str = "服务的户不在你的范围内";
/// Reason given for a household outside the activity's team's village (or township),
/// or, without a team, outside the recorder's own village.
pub const AREA_REASON: &str = "服务的户不在这次活动所属的村（乡镇）里";
/// Reason given for a photo id another activity already names.
pub const PHOTO_TAKEN_REASON: &str = "照片编号已被别的活动使用";
/// Reason given for a check-in recorded under someone else's name.
pub const NOT_OWN_CHECK_IN_REASON: &str = "只能上传自己的打卡";
/// Reason given for a check-in whose activity the server does not hold yet.
pub const NO_ACTIVITY_REASON: &str = "活动还没有上传";
/// Reason given for a check-in on an activity the volunteer is not part of.
pub const NOT_TAKING_PART_REASON: &str = "你不是这次活动的参加人";

/// Today in China.
pub fn china_today() -> NaiveDate {
    china_time(Utc::now()).date()
}


/// Whether every household the activity names lies in its area: its team's unit (a
/// village or a township), or without a team the recorder's own village. The
/// activity is read by the coordinators over that unit ([`store_activity`] files it
/// there), so a volunteer on teams of two villages must not carry one village's
/// household names onto the other's activities.
async fn inside_area(conn: &mut Conn, user: &AuthUser, a: &Activity) -> Result<bool, AppError> {
    let area = match a.team_id {
        Some(team) => Subtree { path: store::team_unit_path(conn, team).await? },
        None => scope::village_area(&user.unit_path, user.unit_kind),
    };
    let mut distinct = a.household_ids.clone();
    distinct.sort();
    distinct.dedup();
    let inside = store::households_inside(conn, &distinct, &area).await?;
    Ok(inside == distinct.len() as i64)
}

/// Why the caller may not store this (already validated, own) activity, if they may not.
async fn activity_refusal(
    conn: &mut Conn,
    user: &AuthUser,
    a: &Activity,
) -> Result<Option<&'static str>, AppError> {
    if !store::kind_exists(conn, &a.kind).await? {
        return Ok(Some(UNKNOWN_KIND_REASON));
    }
    if let Some(team) = a.team_id {
        if !store::on_team(conn, team, user.id).await? {
            return Ok(Some(NOT_IN_TEAM_REASON));
        }
    }
    let others: Vec<Uuid> = a.participants.iter().copied().filter(|p| *p != user.id).collect();
    if !others.is_empty() {
        let Some(team) = a.team_id else {
            return Ok(Some(PARTICIPANT_REASON));
        };
        let on_team = store::members_on_team(conn, team, &others).await?;
        let mut distinct = others.clone();
        distinct.sort();
        distinct.dedup();
        if on_team != distinct.len() as i64 {
            return Ok(Some(PARTICIPANT_REASON));
        }
    }
    for household in &a.household_ids {
        if !scope::activity_reaches(conn, user, *household).await? {
            return Ok(Some(HOUSEHOLD_REASON));
        }
    }
    if !a.household_ids.is_empty() && !inside_area(conn, user, a).await? {
        return Ok(Some(AREA_REASON));
    }
    if !a.photos.is_empty() {
        let photos: Vec<Uuid> = a.photos.iter().map(|p| p.id).collect();
        if store::photo_taken(conn, &photos, a.id).await? {
            return Ok(Some(PHOTO_TAKEN_REASON));
        }
    }
    Ok(None)
}

/// Decides and stores one activity recorded by `user`, inside the batch's transaction.
///
/// Invalid (the domain's [`Activity::validate`]), someone else's, an unknown kind, a
/// team the recorder is not on, a participant not on the team, a household outside
/// the recorder's reach, or a photo id another activity names → `rejected`, stored
/// nowhere. Otherwise inserted by id: the same content again → `duplicate` with the
/// first `received_at`; other content → `conflict`, the stored copy kept. A new
/// activity gets its households, participants and photo rows (waiting for bytes).
pub async fn store_activity(
    conn: &mut Conn,
    user: &AuthUser,
    device_id: Uuid,
    a: &Activity,
    now: DateTime<Utc>,
) -> Result<Receipt, AppError> {
    if let Err(errors) = a.validate() {
        let reason = errors.iter().map(|e| e.message_zh()).collect::<Vec<_>>().join("；");
        return Ok(Receipt::rejected(a.id, reason));
    }
    if a.recorder_id != user.id {
        return Ok(Receipt::rejected(a.id, NOT_OWN_REASON));
    }
    let body = serde_json::to_string(a)?;
    let hash = sha256_hex(body.as_bytes());
    if let Some(reason) = activity_refusal(conn, user, a).await? {
        return receipts::refuse(conn, Records::Activities, a.id, &hash, reason).await;
    }
    let unit_id = match a.team_id {
        Some(team) => store::team_unit(conn, team).await?,
        None => user.unit_id.to_string(),
    };
    let inserted = store::insert(conn, a, &unit_id, device_id, &hash, &body, now).await?;
    receipts::decided(conn, Records::Activities, a.id, &hash, inserted, now).await
}

/// Decides and stores one check-in tapped by `user`, inside the batch's transaction.
///
/// Someone else's, an id that is not v7 or a location out of range, an activity the
/// server does not hold yet ([`NO_ACTIVITY_REASON`]: the phone uploads activities
/// first), or an activity the volunteer neither recorded, is listed on, nor is on the
/// team of → `rejected`. Otherwise idempotent by id exactly like activities.
pub async fn store_check_in(
    conn: &mut Conn,
    user: &AuthUser,
    device_id: Uuid,
    c: &CheckIn,
    now: DateTime<Utc>,
) -> Result<Receipt, AppError> {
    if let Err(errors) = c.validate() {
        let reason = errors.iter().map(|e| e.message_zh()).collect::<Vec<_>>().join("；");
        return Ok(Receipt::rejected(c.id, reason));
    }
    if c.volunteer_id != user.id {
        return Ok(Receipt::rejected(c.id, NOT_OWN_CHECK_IN_REASON));
    }
    let body = serde_json::to_string(c)?;
    let hash = sha256_hex(body.as_bytes());
    match store::takes_part(conn, c.activity_id, user.id).await? {
        None => return Ok(Receipt::rejected(c.id, NO_ACTIVITY_REASON)),
        Some(false) => return receipts::refuse(conn, Records::CheckIns, c.id, &hash, NOT_TAKING_PART_REASON).await,
        Some(true) => {}
    }
    let inserted = store::insert_check_in(conn, c, device_id, &hash, &body, now).await?;
    receipts::decided(conn, Records::CheckIns, c.id, &hash, inserted, now).await
}

// ---------------------------------------------------------------------------
// Reading

/// A stored activity with its summary.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub summary: ActivitySummary,
    pub activity: Activity,
    pub received_at: DateTime<Utc>,
    pub cursor: Cursor,
    /// Where its served households may lie (see [`inside_area`]): one named outside
    /// (stored before that check) is not shown.
    pub area: Subtree,
}

fn count(n: impl TryInto<u32>) -> u32 {
    n.try_into().unwrap_or(u32::MAX)
}

/// A row as the store reads it, with its body parsed.
fn load(row: RawActivity) -> Result<Loaded, AppError> {
    let activity: Activity = serde_json::from_str(&row.body)?;
    let summary = ActivitySummary {
        id: activity.id,
        kind: activity.kind.clone(),
        kind_label: row.kind_label.unwrap_or_else(|| activity.kind.clone()),
        date: activity.date,
        start: activity.start,
        end: activity.end,
        place: activity.place.clone(),
        team_name: row.team_name,
        recorder_name: row.recorder_name,
        unit_name: row.unit_name,
        attendance: activity.attendance(),
        served: activity.served,
        photos: count(activity.photos.len()),
        photos_received: count(row.photos_received),
        check_ins: count(row.check_ins),
    };
    Ok(Loaded {
        summary,
        activity,
        received_at: parse_ts(&row.received_at)?,
        cursor: (row.date, row.start_time, row.id),
        area: scope::village_area(&row.unit_path, parse_unit_kind(&row.unit_kind)?),
    })
}

/// A filter checked against the caller's subtree.
#[derive(Clone, Debug)]
pub struct ActivityQuery {
    filter: store::Filter,
}

impl ActivityQuery {
    /// Checks a filter: its unit and team must be in the subtree (404 otherwise), the
    /// kind a possible code and the dates in order (400).
    pub async fn new(
        conn: &mut Conn,
        subtree: &Subtree,
        filter: &ActivityFilter,
    ) -> Result<ActivityQuery, AppError> {
        let area = match filter.unit_id {
            Some(id) => Subtree { path: scope::unit(conn, subtree, id).await?.path },
            None => subtree.clone(),
        };
        if let Some(team) = filter.team_id {
            if !store::team_in(conn, subtree, team).await? {
                return Err(AppError::not_found());
            }
        }
        let kind = filter.kind.as_deref().map(str::trim).filter(|k| !k.is_empty());
        if let Some(kind) = kind {
            if !is_kind_code(kind) {
                return Err(AppError::bad_request("活动类型不对"));
            }
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                return Err(AppError::bad_request("开始日期不能晚于结束日期"));
            }
        }
        let filter = store::Filter {
            area,
            team: filter.team_id,
            kind: kind.map(str::to_string),
            from: filter.from,
            to: filter.to,
        };
        Ok(ActivityQuery { filter })
    }

    /// One page of matching activities, newest first, after `after`.
    pub async fn page(
        &self,
        conn: &mut Conn,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Vec<Loaded>, AppError> {
        let rows = store::page(conn, &self.filter, after, limit).await?;
        rows.into_iter().map(load).collect()
    }
}

/// The caller's recent activities for the phone: recorded by them or by one of their
/// teams, dated within the last [`RECENT_DAYS`] days, newest first, at most [`RECENT_LIMIT`].
pub async fn recent(conn: &mut Conn, user: &AuthUser) -> Result<Vec<ActivitySummary>, AppError> {
    let since = china_today() - Duration::days(RECENT_DAYS);
    let rows = store::recent(conn, user.id, since, RECENT_LIMIT).await?;
    rows.into_iter().map(|r| load(r).map(|l| l.summary)).collect()
}

/// One activity of the subtree; 404 when unknown or outside.
pub async fn one(conn: &mut Conn, subtree: &Subtree, id: Uuid) -> Result<Loaded, AppError> {
    load(store::one(conn, subtree, id).await?.ok_or_else(AppError::not_found)?)
}

/// The check-ins of some activities with the volunteer's name, in time order.
pub async fn check_ins_of(
    conn: &mut Conn,
    activities: &[Uuid],
) -> Result<HashMap<Uuid, Vec<(CheckIn, String)>>, AppError> {
    let mut out: HashMap<Uuid, Vec<(CheckIn, String)>> = HashMap::new();
    if activities.is_empty() {
        return Ok(out);
    }
    let rows = store::check_ins(conn, activities).await?;
    for (body, name) in rows {
        let c: CheckIn = serde_json::from_str(&body)?;
        out.entry(c.activity_id).or_default().push((c, name));
    }
    Ok(out)
}

/// Names of accounts and teams by id (unknown ids are left out).
pub async fn names_of(conn: &mut Conn, ids: &[Uuid]) -> Result<HashMap<Uuid, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = store::names(conn, ids).await?;
    rows.into_iter().map(|(id, name)| Ok((parse_uuid(&id)?, name))).collect()
}

/// Activities with everything the console shows of them, and their check-ins.
pub async fn details(
    conn: &mut Conn,
    loaded: Vec<Loaded>,
) -> Result<Vec<(ActivityDetail, Vec<CheckIn>)>, AppError> {
    let ids: Vec<Uuid> = loaded.iter().map(|l| l.activity.id).collect();
    let mut checks = check_ins_of(conn, &ids).await?;
    let people: Vec<Uuid> = loaded.iter().flat_map(|l| l.activity.participants.iter().copied()).collect();
    let names = names_of(conn, &people).await?;
    let household_ids: Vec<Uuid> = loaded.iter().flat_map(|l| l.activity.household_ids.iter().copied()).collect();
    // Each with the path of its grid: an activity shows only those of its area.
    let mut households: HashMap<Uuid, (ServedHousehold, String)> = HashMap::new();
    if !household_ids.is_empty() {
        let rows = store::served(conn, &household_ids).await?;
        for (id, head_name, address, grid_path) in rows {
            let id = parse_uuid(&id)?;
            households.insert(id, (ServedHousehold { id, head_name, address }, grid_path));
        }
    }
    let mut photos: HashMap<Uuid, PhotoStatus> = HashMap::new();
    if !ids.is_empty() {
        let rows = store::photos(conn, &ids).await?;
        for (id, bytes, received, complete) in rows {
            let id = parse_uuid(&id)?;
            photos.insert(
                id,
                PhotoStatus { id, received: received.max(0) as u64, bytes: bytes.max(0) as u64, complete: complete.into() },
            );
        }
    }
    Ok(loaded
        .into_iter()
        .map(|l| {
            let mine = checks.remove(&l.activity.id).unwrap_or_default();
            let check_ins = mine
                .iter()
                .map(|(c, name)| CheckInView { volunteer_name: name.clone(), kind: c.kind, at: c.at, location: c.location })
                .collect();
            let detail = ActivityDetail {
                participant_names: l
                    .activity
                    .participants
                    .iter()
                    .map(|p| names.get(p).cloned().unwrap_or_default())
                    .collect(),
                households: l
                    .activity
                    .household_ids
                    .iter()
                    .filter_map(|h| households.get(h))
                    .filter(|(_, grid_path)| l.area.contains(grid_path))
                    .map(|(h, _)| h.clone())
                    .collect(),
                check_ins,
                photos: l
                    .activity
                    .photos
                    .iter()
                    .map(|p| {
                        photos.get(&p.id).cloned().unwrap_or(PhotoStatus {
                            id: p.id,
                            received: 0,
                            bytes: p.bytes,
                            complete: false,
                        })
                    })
                    .collect(),
                received_at: l.received_at,
                summary: l.summary,
                activity: l.activity,
            };
            (detail, mine.into_iter().map(|(c, _)| c).collect())
        })
        .collect())
}

/// Hours per volunteer and team per month over every activity the query matches.
pub async fn hours(conn: &mut Conn, query: &ActivityQuery) -> Result<HoursReport, AppError> {
    let mut tally = HoursTally::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = query.page(conn, after.as_ref(), PAGE).await?;
        let ids: Vec<Uuid> = page.iter().map(|l| l.activity.id).collect();
        let checks = check_ins_of(conn, &ids).await?;
        for l in &page {
            let mine: Vec<CheckIn> =
                checks.get(&l.activity.id).map(|v| v.iter().map(|(c, _)| c.clone()).collect()).unwrap_or_default();
            tally.add(&l.activity, &mine);
        }
        if page.len() < PAGE as usize {
            break;
        }
        after = page.last().map(|l| l.cursor.clone());
    }
    let names = names_of(conn, &tally.ids()).await?;
    Ok(tally.report(|id| names.get(&id).cloned().unwrap_or_default()))
}
