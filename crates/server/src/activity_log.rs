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
    Activity, ActivityDetail, ActivityFilter, ActivitySummary, CheckIn, CheckInView, CheckKind,
    HoursReport, PhotoStatus, Receipt, ServedHousehold,
};
use sqlx::any::AnyArguments;
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::{parse_unit_kind, sha256_hex, AuthUser};
use crate::db::{parse_ts, parse_uuid, ts};
use crate::receipts::{self, Records};
use crate::scope::{self, Subtree};
use crate::AppError;

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

/// A list of ids as a JSON array, for `IN (SELECT value FROM json_each(?))`.
pub fn id_list<'a>(ids: impl IntoIterator<Item = &'a Uuid>) -> String {
    let ids: Vec<String> = ids.into_iter().map(Uuid::to_string).collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}


/// Whether every household the activity names lies in its area: its team's unit (a
/// village or a township), or without a team the recorder's own village. The
/// activity is read by the coordinators over that unit ([`store_activity`] files it
/// there), so a volunteer on teams of two villages must not carry one village's
/// household names onto the other's activities.
async fn inside_area(conn: &mut Conn, user: &AuthUser, a: &Activity) -> Result<bool, AppError> {
    let area = match a.team_id {
        Some(team) => {
            let path: String = crate::db::query_scalar(
                "SELECT u.path FROM teams t JOIN units u ON u.id = t.unit_id WHERE t.id = ?",
            )
            .bind(team.to_string())
            .fetch_one(&mut *conn)
            .await?;
            Subtree { path }
        }
        None => scope::village_area(&user.unit_path, user.unit_kind),
    };
    let mut distinct = a.household_ids.clone();
    distinct.sort();
    distinct.dedup();
    let inside: i64 = crate::db::query_scalar(
        "SELECT COUNT(*) FROM households h JOIN units g ON g.id = h.grid_id
         WHERE h.id IN (SELECT value FROM json_each(?)) AND g.path GLOB ?",
    )
    .bind(id_list(&distinct))
    .bind(area.glob())
    .fetch_one(&mut *conn)
    .await?;
    Ok(inside == distinct.len() as i64)
}

/// Why the caller may not store this (already validated, own) activity, if they may not.
async fn activity_refusal(
    conn: &mut Conn,
    user: &AuthUser,
    a: &Activity,
) -> Result<Option<&'static str>, AppError> {
    let kind: Option<i64> = crate::db::query_scalar("SELECT 1 FROM activity_kinds WHERE code = ?")
        .bind(&a.kind)
        .fetch_optional(&mut *conn)
        .await?;
    if kind.is_none() {
        return Ok(Some(UNKNOWN_KIND_REASON));
    }
    if let Some(team) = a.team_id {
        let on_team: Option<i64> =
            crate::db::query_scalar("SELECT 1 FROM team_members WHERE team_id = ? AND member_id = ?")
                .bind(team.to_string())
                .bind(user.id.to_string())
                .fetch_optional(&mut *conn)
                .await?;
        if on_team.is_none() {
            return Ok(Some(NOT_IN_TEAM_REASON));
        }
    }
    let others: Vec<&Uuid> = a.participants.iter().filter(|p| **p != user.id).collect();
    if !others.is_empty() {
        let Some(team) = a.team_id else {
            return Ok(Some(PARTICIPANT_REASON));
        };
        let on_team: i64 = crate::db::query_scalar(
            "SELECT COUNT(DISTINCT member_id) FROM team_members
             WHERE team_id = ? AND member_id IN (SELECT value FROM json_each(?))",
        )
        .bind(team.to_string())
        .bind(id_list(others.iter().copied()))
        .fetch_one(&mut *conn)
        .await?;
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
        let taken: Option<i64> = crate::db::query_scalar(
            "SELECT 1 FROM photos WHERE id IN (SELECT value FROM json_each(?)) AND activity_id != ?",
        )
        .bind(id_list(a.photos.iter().map(|p| &p.id)))
        .bind(a.id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        if taken.is_some() {
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
        Some(team) => crate::db::query_scalar::<String>("SELECT unit_id FROM teams WHERE id = ?")
            .bind(team.to_string())
            .fetch_one(&mut *conn)
            .await?,
        None => user.unit_id.to_string(),
    };
    let inserted = crate::db::query(
        "INSERT INTO activities (id, recorder_id, team_id, unit_id, kind, date, start_time, end_time,
                                 device_id, recorded_at, received_at, content_hash, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(a.id.to_string())
    .bind(a.recorder_id.to_string())
    .bind(a.team_id.map(|t| t.to_string()))
    .bind(&unit_id)
    .bind(&a.kind)
    .bind(a.date.to_string())
    .bind(a.start.format("%H:%M:%S").to_string())
    .bind(a.end.format("%H:%M:%S").to_string())
    .bind(device_id.to_string())
    .bind(ts(a.recorded_at))
    .bind(ts(now))
    .bind(&hash)
    .bind(&body)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if inserted {
        for household in &a.household_ids {
            crate::db::query("INSERT INTO activity_households (activity_id, household_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(a.id.to_string())
                .bind(household.to_string())
                .execute(&mut *conn)
                .await?;
        }
        for member in &a.participants {
            crate::db::query("INSERT INTO activity_participants (activity_id, member_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(a.id.to_string())
                .bind(member.to_string())
                .execute(&mut *conn)
                .await?;
        }
        for photo in &a.photos {
            crate::db::query(
                "INSERT INTO photos (id, activity_id, bytes, sha256) VALUES (?, ?, ?, ?)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(photo.id.to_string())
            .bind(a.id.to_string())
            .bind(photo.bytes as i64)
            .bind(&photo.sha256)
            .execute(&mut *conn)
            .await?;
        }
    }
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
    let me = user.id.to_string();
    let allowed: Option<i64> = crate::db::query_scalar(
        "SELECT CASE WHEN a.recorder_id = ?
             OR EXISTS (SELECT 1 FROM activity_participants p WHERE p.activity_id = a.id AND p.member_id = ?)
             OR EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = a.team_id AND tm.member_id = ?)
             THEN 1 ELSE 0 END
         FROM activities a WHERE a.id = ?",
    )
    .bind(&me)
    .bind(&me)
    .bind(&me)
    .bind(c.activity_id.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match allowed {
        None => return Ok(Receipt::rejected(c.id, NO_ACTIVITY_REASON)),
        Some(0) => return receipts::refuse(conn, Records::CheckIns, c.id, &hash, NOT_TAKING_PART_REASON).await,
        Some(_) => {}
    }
    let inserted = crate::db::query(
        "INSERT INTO check_ins (id, activity_id, volunteer_id, kind, at, lat, lon, accuracy,
                                device_id, received_at, content_hash, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(c.id.to_string())
    .bind(c.activity_id.to_string())
    .bind(&me)
    .bind(match c.kind {
        CheckKind::In => "in",
        CheckKind::Out => "out",
    })
    .bind(ts(c.at))
    .bind(c.location.map(|l| l.lat))
    .bind(c.location.map(|l| l.lon))
    .bind(c.location.map(|l| l.accuracy_m))
    .bind(device_id.to_string())
    .bind(ts(now))
    .bind(&hash)
    .bind(&body)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    receipts::decided(conn, Records::CheckIns, c.id, &hash, inserted, now).await
}

// ---------------------------------------------------------------------------
// Reading

/// The tables every summary reads.
const SUMMARY_FROM: &str = "activities a
    JOIN members m ON m.id = a.recorder_id
    JOIN units u ON u.id = a.unit_id
    LEFT JOIN teams t ON t.id = a.team_id
    LEFT JOIN activity_kinds k ON k.code = a.kind";

/// The columns of [`RawActivity`].
const SUMMARY_COLUMNS: &str = "a.id, a.date, a.start_time, a.received_at, a.body,
    m.name AS recorder_name, u.name AS unit_name, u.path AS unit_path, u.kind AS unit_kind,
    t.name AS team_name, k.label_zh AS kind_label,
    (SELECT COUNT(*) FROM photos p WHERE p.activity_id = a.id AND p.complete = 1) AS photos_received,
    (SELECT COUNT(*) FROM check_ins c WHERE c.activity_id = a.id) AS check_ins";

/// Newest first; the id breaks ties so pages never overlap.
const ORDER: &str = "a.date DESC, a.start_time DESC, a.id DESC";

/// Where a page ended: the last row's date, start time and id.
pub type Cursor = (String, String, String);

/// An activity as read for lists.
#[derive(sqlx::FromRow)]
pub struct RawActivity {
    pub id: String,
    pub date: String,
    pub start_time: String,
    pub received_at: String,
    pub body: String,
    pub recorder_name: String,
    pub unit_name: String,
    pub unit_path: String,
    pub unit_kind: String,
    pub team_name: Option<String>,
    pub kind_label: Option<String>,
    pub photos_received: i64,
    pub check_ins: i64,
}

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

impl RawActivity {
    pub fn load(self) -> Result<Loaded, AppError> {
        let activity: Activity = serde_json::from_str(&self.body)?;
        let summary = ActivitySummary {
            id: activity.id,
            kind: activity.kind.clone(),
            kind_label: self.kind_label.unwrap_or_else(|| activity.kind.clone()),
            date: activity.date,
            start: activity.start,
            end: activity.end,
            place: activity.place.clone(),
            team_name: self.team_name,
            recorder_name: self.recorder_name,
            unit_name: self.unit_name,
            attendance: activity.attendance(),
            served: activity.served,
            photos: count(activity.photos.len()),
            photos_received: count(self.photos_received),
            check_ins: count(self.check_ins),
        };
        Ok(Loaded {
            summary,
            activity,
            received_at: parse_ts(&self.received_at)?,
            cursor: (self.date, self.start_time, self.id),
            area: scope::village_area(&self.unit_path, parse_unit_kind(&self.unit_kind)?),
        })
    }
}

/// A filter checked against the caller's subtree, as SQL over [`SUMMARY_FROM`].
#[derive(Clone, Debug)]
pub struct ActivityQuery {
    conditions: Vec<String>,
    binds: Vec<String>,
}

impl ActivityQuery {
    /// Checks a filter: its unit and team must be in the subtree (404 otherwise), the
    /// kind a possible code and the dates in order (400).
    pub async fn new(
        conn: &mut Conn,
        subtree: &Subtree,
        filter: &ActivityFilter,
    ) -> Result<ActivityQuery, AppError> {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        let glob = match filter.unit_id {
            Some(id) => Subtree { path: scope::unit(conn, subtree, id).await?.path }.glob(),
            None => subtree.glob(),
        };
        conditions.push("a.unit_id IN (SELECT id FROM units WHERE path GLOB ?)".to_string());
        binds.push(glob);
        if let Some(team) = filter.team_id {
            let found: Option<i64> = crate::db::query_scalar(
                "SELECT 1 FROM teams t JOIN units tu ON tu.id = t.unit_id WHERE t.id = ? AND tu.path GLOB ?",
            )
            .bind(team.to_string())
            .bind(subtree.glob())
            .fetch_optional(&mut *conn)
            .await?;
            found.ok_or_else(AppError::not_found)?;
            conditions.push("a.team_id = ?".into());
            binds.push(team.to_string());
        }
        if let Some(kind) = filter.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            if !is_kind_code(kind) {
                return Err(AppError::bad_request("活动类型不对"));
            }
            conditions.push("a.kind = ?".into());
            binds.push(kind.to_string());
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                return Err(AppError::bad_request("开始日期不能晚于结束日期"));
            }
        }
        if let Some(from) = filter.from {
            conditions.push("a.date >= ?".into());
            binds.push(from.to_string());
        }
        if let Some(to) = filter.to {
            conditions.push("a.date <= ?".into());
            binds.push(to.to_string());
        }
        Ok(ActivityQuery { conditions, binds })
    }

    /// The rows after `after` (newest first), at most `limit`.
    fn sql(&self, after: bool, limit: u32) -> String {
        let mut conditions = self.conditions.clone();
        if after {
            conditions.push("(a.date, a.start_time, a.id) < (?, ?, ?)".into());
        }
        // Rewritten here for the database in use (it carries the page's limit).
        crate::db::owned_sql(format!(
            "SELECT {SUMMARY_COLUMNS} FROM {SUMMARY_FROM} WHERE {} ORDER BY {ORDER} LIMIT {limit}",
            conditions.join(" AND ")
        ))
    }

    fn arguments(&self, after: Option<&Cursor>) -> AnyArguments<'static> {
        use sqlx::Arguments;
        let mut args = AnyArguments::default();
        for b in &self.binds {
            let _ = args.add(b.clone());
        }
        if let Some((date, start, id)) = after {
            let _ = args.add(date.clone());
            let _ = args.add(start.clone());
            let _ = args.add(id.clone());
        }
        args
    }

    /// One page of matching activities, newest first, after `after`.
    pub async fn page(
        &self,
        conn: &mut Conn,
        after: Option<&Cursor>,
        limit: u32,
    ) -> Result<Vec<Loaded>, AppError> {
        let rows: Vec<RawActivity> = sqlx::query_as_with(&self.sql(after.is_some(), limit), self.arguments(after))
            .fetch_all(conn)
            .await?;
        rows.into_iter().map(RawActivity::load).collect()
    }
}

/// The caller's recent activities for the phone: recorded by them or by one of their
/// teams, dated within the last [`RECENT_DAYS`] days, newest first, at most [`RECENT_LIMIT`].
pub async fn recent(conn: &mut Conn, user: &AuthUser) -> Result<Vec<ActivitySummary>, AppError> {
    let since = china_today() - Duration::days(RECENT_DAYS);
    let rows: Vec<RawActivity> = crate::db::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM {SUMMARY_FROM}
         WHERE (a.recorder_id = ? OR a.team_id IN (SELECT team_id FROM team_members WHERE member_id = ?))
           AND a.date >= ?
         ORDER BY {ORDER} LIMIT {RECENT_LIMIT}"
    ))
    .bind(user.id.to_string())
    .bind(user.id.to_string())
    .bind(since.to_string())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|r| r.load().map(|l| l.summary)).collect()
}

/// One activity of the subtree; 404 when unknown or outside.
pub async fn one(conn: &mut Conn, subtree: &Subtree, id: Uuid) -> Result<Loaded, AppError> {
    let row: Option<RawActivity> = crate::db::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM {SUMMARY_FROM} WHERE a.id = ? AND u.path GLOB ?"
    ))
    .bind(id.to_string())
    .bind(subtree.glob())
    .fetch_optional(conn)
    .await?;
    row.ok_or_else(AppError::not_found)?.load()
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
    let rows: Vec<(String, String)> = crate::db::query_as(
        "SELECT c.body, m.name FROM check_ins c JOIN members m ON m.id = c.volunteer_id
         WHERE c.activity_id IN (SELECT value FROM json_each(?))
         ORDER BY c.at, c.id",
    )
    .bind(id_list(activities))
    .fetch_all(conn)
    .await?;
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
    let list = id_list(ids);
    let rows: Vec<(String, String)> = crate::db::query_as(
        "SELECT id, name FROM members WHERE id IN (SELECT value FROM json_each(?))
         UNION ALL SELECT id, name FROM teams WHERE id IN (SELECT value FROM json_each(?))",
    )
    .bind(&list)
    .bind(&list)
    .fetch_all(conn)
    .await?;
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
        let rows: Vec<(String, String, String, String)> = crate::db::query_as(
            "SELECT h.id, h.head_name, h.address, g.path FROM households h JOIN units g ON g.id = h.grid_id
             WHERE h.id IN (SELECT value FROM json_each(?))",
        )
        .bind(id_list(&household_ids))
        .fetch_all(&mut *conn)
        .await?;
        for (id, head_name, address, grid_path) in rows {
            let id = parse_uuid(&id)?;
            households.insert(id, (ServedHousehold { id, head_name, address }, grid_path));
        }
    }
    let mut photos: HashMap<Uuid, PhotoStatus> = HashMap::new();
    if !ids.is_empty() {
        let rows: Vec<(String, i64, i64, crate::db::Flag)> = crate::db::query_as(
            "SELECT id, bytes, received, complete FROM photos WHERE activity_id IN (SELECT value FROM json_each(?))",
        )
        .bind(id_list(&ids))
        .fetch_all(&mut *conn)
        .await?;
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
