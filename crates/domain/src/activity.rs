//! Volunteer activities (志愿服务): what was done, when, by whom; check-ins
//! (打卡) and the hours they add up to; photos; and the messages that carry
//! them between the phone and the server.
//!
//! Times of day are China Standard Time (UTC+8, no daylight saving), the one
//! time zone of every place this app serves; instants (check-ins, recorded_at)
//! are UTC.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::local::SyncState;
use crate::sync::Receipt;

/// Seconds east of UTC of China Standard Time.
pub const CHINA_OFFSET_SECS: i64 = 8 * 3600;
/// Longest place or description a volunteer can type (characters).
pub const MAX_ACTIVITY_TEXT: usize = 2000;
/// Most photos on one activity.
pub const MAX_PHOTOS: usize = 9;
/// Largest photo the server takes (bytes); the phone shrinks photos well below it.
pub const MAX_PHOTO_BYTES: u64 = 4 * 1024 * 1024;
/// Longest side of a photo after the phone shrinks it (pixels).
pub const PHOTO_LONG_SIDE: u32 = 1280;
/// Most people one activity can say it served, and most "others" who took part.
pub const MAX_COUNT: u32 = 100_000;
/// Most households or listed participants on one activity.
pub const MAX_LISTED: usize = 500;

/// A kind of activity from the list the coordinators keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityKind {
    /// Stable code, e.g. `cleanup`.
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
    /// Retired kinds stay readable on old records but are not offered.
    pub active: bool,
}

/// The kinds every new deployment starts with (from the source articles).
pub const DEFAULT_KINDS: [(&str, &str, &str); 10] = [
    ("cleanup", "环境卫生整治", "Environment clean-up"),
    ("patrol", "治安巡逻", "Security patrol"),
    ("elderly_care", "关爱老人和五保户", "Care for the elderly"),
    ("policy_talk", "政策宣讲", "Policy talk"),
    ("free_clinic", "义诊", "Free clinic"),
    ("legal_awareness", "普法宣传", "Legal awareness"),
    ("sell_produce", "帮助销售农产品", "Helping sell produce"),
    ("epidemic_duty", "防疫值守", "Epidemic duty"),
    ("vaccination_ride", "接送群众接种疫苗", "Driving people to vaccination"),
    ("other", "其他", "Other"),
];

/// A photo of an activity as the record names it; the bytes travel separately.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoRef {
    /// A v7 id made on the phone.
    pub id: Uuid,
    /// Size of the JPEG in bytes.
    pub bytes: u64,
    /// SHA-256 of the JPEG, lowercase hex: the server checks the upload against it.
    pub sha256: String,
}

/// One volunteer activity, as recorded on a phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// A v7 id made on the phone; the upload is idempotent by it.
    pub id: Uuid,
    /// The account that recorded it.
    pub recorder_id: Uuid,
    /// The team it was done as, from the recorder's teams.
    pub team_id: Option<Uuid>,
    /// An [`ActivityKind::code`].
    pub kind: String,
    /// The day it started (China time).
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub date: NaiveDate,
    /// Start and end time of day (China time); an end at or before the start is the next day.
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::time"))]
    pub start: NaiveTime,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::time"))]
    pub end: NaiveTime,
    pub place: String,
    /// Team members who took part (account ids).
    pub participants: Vec<Uuid>,
    /// People who took part but are not on the team list.
    pub others: u32,
    /// How many people were served.
    pub served: u32,
    /// Households served, when it was at a door.
    pub household_ids: Vec<Uuid>,
    pub description: String,
    pub photos: Vec<PhotoRef>,
    /// When the phone saved it.
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub recorded_at: DateTime<Utc>,
}

/// What is wrong with an activity; shown to the volunteer and sent in rejections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActivityError {
    NotV7Id,
    KindMissing,
    PlaceMissing,
    TextTooLong,
    TooManyPhotos,
    BadPhoto(usize),
    CountTooLarge,
    TooManyListed,
    /// The end is the start: no time at all (a typing mistake).
    ZeroLength,
}

impl ActivityError {
    pub fn message_zh(&self) -> String {
        match self {
            ActivityError::NotV7Id => "记录编号不对".into(),
            ActivityError::KindMissing => "请选择活动类型".into(),
            ActivityError::PlaceMissing => "请填写活动地点".into(),
            ActivityError::TextTooLong => format!("文字太长，最多 {MAX_ACTIVITY_TEXT} 字"),
            ActivityError::TooManyPhotos => format!("照片最多 {MAX_PHOTOS} 张"),
            ActivityError::BadPhoto(i) => format!("第 {} 张照片的信息不对", i + 1),
            ActivityError::CountTooLarge => "人数太大，请检查".into(),
            ActivityError::TooManyListed => format!("参加的人或服务的户最多 {MAX_LISTED} 个"),
            ActivityError::ZeroLength => "结束时间不能和开始时间相同".into(),
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            ActivityError::NotV7Id => "The record id is not valid".into(),
            ActivityError::KindMissing => "Choose a kind of activity".into(),
            ActivityError::PlaceMissing => "Enter where it took place".into(),
            ActivityError::TextTooLong => format!("Text too long (at most {MAX_ACTIVITY_TEXT} characters)"),
            ActivityError::TooManyPhotos => format!("At most {MAX_PHOTOS} photos"),
            ActivityError::BadPhoto(i) => format!("Photo {} is not valid", i + 1),
            ActivityError::CountTooLarge => "A number is too large".into(),
            ActivityError::TooManyListed => format!("At most {MAX_LISTED} people or households"),
            ActivityError::ZeroLength => "The end cannot be the same as the start".into(),
        }
    }
}

/// Whether a string is lowercase hex SHA-256.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Activity {
    /// Every problem with the record; empty means it can be saved and uploaded.
    pub fn validate(&self) -> Result<(), Vec<ActivityError>> {
        let mut errors = Vec::new();
        if !crate::is_v7(&self.id) {
            errors.push(ActivityError::NotV7Id);
        }
        if self.kind.trim().is_empty() {
            errors.push(ActivityError::KindMissing);
        }
        if self.place.trim().is_empty() {
            errors.push(ActivityError::PlaceMissing);
        }
        let too_long = |t: &str| t.chars().count() > MAX_ACTIVITY_TEXT;
        if too_long(&self.place) || too_long(&self.description) || self.kind.len() > 40 {
            errors.push(ActivityError::TextTooLong);
        }
        if self.photos.len() > MAX_PHOTOS {
            errors.push(ActivityError::TooManyPhotos);
        }
        for (i, p) in self.photos.iter().enumerate() {
            let dup = self.photos[..i].iter().any(|q| q.id == p.id);
            if !crate::is_v7(&p.id) || p.bytes == 0 || p.bytes > MAX_PHOTO_BYTES || !is_sha256_hex(&p.sha256) || dup {
                errors.push(ActivityError::BadPhoto(i));
            }
        }
        if self.others > MAX_COUNT || self.served > MAX_COUNT {
            errors.push(ActivityError::CountTooLarge);
        }
        if self.participants.len() > MAX_LISTED || self.household_ids.len() > MAX_LISTED {
            errors.push(ActivityError::TooManyListed);
        }
        if self.start == self.end {
            errors.push(ActivityError::ZeroLength);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// When it starts and ends, China time; an end before the start is on the next day
    /// (an end equal to the start is refused by [`Activity::validate`]).
    pub fn span(&self) -> (NaiveDateTime, NaiveDateTime) {
        let start = self.date.and_time(self.start);
        let mut end = self.date.and_time(self.end);
        if end < start {
            end += Duration::days(1);
        }
        (start, end)
    }

    /// Planned length in minutes (start to end).
    pub fn minutes(&self) -> i64 {
        let (s, e) = self.span();
        (e - s).num_minutes()
    }

    /// People who took part: the listed team members, the recorder if not listed, and the others.
    pub fn attendance(&self) -> u32 {
        let listed = self.participants.len() as u32;
        let recorder = u32::from(!self.participants.contains(&self.recorder_id));
        listed.saturating_add(recorder).saturating_add(self.others)
    }
}

named_enum! {
    /// Check in at the start, check out at the end.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum CheckKind {
        In = "in",
        Out = "out",
    }
}

/// Where the phone was, when the volunteer allowed it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    /// Metres, as the phone reports it.
    pub accuracy_m: f64,
}

impl GeoPoint {
    pub fn is_valid(&self) -> bool {
        (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
            && self.accuracy_m.is_finite()
            && self.accuracy_m >= 0.0
    }
}

/// One tap of "check in" or "check out" (打卡), a record of its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// A v7 id made on the phone.
    pub id: Uuid,
    pub activity_id: Uuid,
    /// The volunteer who tapped (the account signed in on the phone).
    pub volunteer_id: Uuid,
    pub kind: CheckKind,
    /// The phone's clock at the tap.
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub at: DateTime<Utc>,
    pub location: Option<GeoPoint>,
}

/// A UTC instant as China time.
pub fn china_time(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc() + Duration::seconds(CHINA_OFFSET_SECS)
}

named_enum! {
    /// Where one volunteer's time on one activity comes from.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum HoursSource {
        /// A check-in and a check-out.
        CheckedInOut = "checked_in_out",
        /// Checked in, never out: counted to the activity's end.
        MissingCheckOut = "missing_check_out",
        /// No check-in: listed as taking part, counted start to end.
        Listed = "listed",
    }
}

/// A stretch of one volunteer's time on one activity (China time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stretch {
    pub volunteer_id: Uuid,
    pub activity_id: Uuid,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    pub source: HoursSource,
}

/// The stretches of time an activity gives each volunteer who took part.
///
/// - A check-in and the next check-out make a stretch; a second check-in while
///   already in is the same stretch (a double tap or a retry), and a check-out
///   with no check-in before it counts nothing.
/// - A check-in never closed runs to the activity's end (or counts nothing when
///   it came after the end), marked [`HoursSource::MissingCheckOut`].
/// - A listed participant (and the recorder) with no check-ins gets the
///   activity's start to end, marked [`HoursSource::Listed`].
pub fn stretches(activity: &Activity, checks: &[CheckIn]) -> Vec<Stretch> {
    let (a_start, a_end) = activity.span();
    let mut out = Vec::new();
    let mut people: Vec<Uuid> = Vec::new();
    for c in checks.iter().filter(|c| c.activity_id == activity.id) {
        if !people.contains(&c.volunteer_id) {
            people.push(c.volunteer_id);
        }
    }
    for volunteer in &people {
        let mut mine: Vec<&CheckIn> =
            checks.iter().filter(|c| c.activity_id == activity.id && c.volunteer_id == *volunteer).collect();
        mine.sort_by_key(|c| (c.at, c.id));
        let mut open: Option<NaiveDateTime> = None;
        for c in mine {
            let t = china_time(c.at);
            match (c.kind, open) {
                (CheckKind::In, None) => open = Some(t),
                (CheckKind::In, Some(_)) => {}
                (CheckKind::Out, Some(s)) => {
                    if t > s {
                        out.push(Stretch {
                            volunteer_id: *volunteer,
                            activity_id: activity.id,
                            start: s,
                            end: t,
                            source: HoursSource::CheckedInOut,
                        });
                    }
                    open = None;
                }
                (CheckKind::Out, None) => {}
            }
        }
        if let Some(s) = open {
            out.push(Stretch {
                volunteer_id: *volunteer,
                activity_id: activity.id,
                start: s,
                end: a_end.max(s),
                source: HoursSource::MissingCheckOut,
            });
        }
    }
    let mut listed = activity.participants.clone();
    if !listed.contains(&activity.recorder_id) {
        listed.push(activity.recorder_id);
    }
    for v in listed {
        if !people.contains(&v) {
            people.push(v);
            out.push(Stretch { volunteer_id: v, activity_id: activity.id, start: a_start, end: a_end, source: HoursSource::Listed });
        }
    }
    out
}

/// Minutes covered by a set of stretches, counting time covered twice once
/// (overlapping check-ins, or two activities at once).
pub fn union_minutes(stretches: &[(NaiveDateTime, NaiveDateTime)]) -> i64 {
    let mut v: Vec<_> = stretches.iter().filter(|(s, e)| e > s).copied().collect();
    v.sort();
    let mut total = 0;
    let mut cur: Option<(NaiveDateTime, NaiveDateTime)> = None;
    for (s, e) in v {
        cur = match cur {
            Some((cs, ce)) if s <= ce => Some((cs, ce.max(e))),
            Some((cs, ce)) => {
                total += (ce - cs).num_minutes();
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    if let Some((cs, ce)) = cur {
        total += (ce - cs).num_minutes();
    }
    total
}

/// A volunteer's minutes in one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthMinutes {
    pub volunteer_id: Uuid,
    /// `YYYY-MM`.
    pub month: String,
    pub minutes: i64,
}

/// `YYYY-MM` of a China date-time.
pub fn month_of(t: NaiveDateTime) -> String {
    format!("{:04}-{:02}", t.year(), t.month())
}

/// Each volunteer's minutes per month from all their stretches: overlaps
/// counted once, and a stretch over a month's end split between the months.
pub fn minutes_by_month(all: &[Stretch]) -> Vec<MonthMinutes> {
    use std::collections::BTreeMap;
    let mut per: BTreeMap<(Uuid, String), Vec<(NaiveDateTime, NaiveDateTime)>> = BTreeMap::new();
    for s in all {
        let mut start = s.start;
        while start < s.end {
            let next_month = {
                let (y, m) = if start.month() == 12 { (start.year() + 1, 1) } else { (start.year(), start.month() + 1) };
                NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(start.date()).and_time(NaiveTime::MIN)
            };
            let end = s.end.min(next_month);
            per.entry((s.volunteer_id, month_of(start))).or_default().push((start, end));
            if end <= start {
                break;
            }
            start = end;
        }
    }
    per.into_iter()
        .map(|((volunteer_id, month), v)| MonthMinutes { volunteer_id, month, minutes: union_minutes(&v) })
        .collect()
}

/// Months (`YYYY-MM`) a stretch of China time touches; a stretch of no length
/// touches the month it starts in.
pub fn months_covered(start: NaiveDateTime, end: NaiveDateTime) -> Vec<String> {
    let mut out = vec![month_of(start)];
    let mut at = start;
    loop {
        let (y, m) = if at.month() == 12 { (at.year() + 1, 1) } else { (at.year(), at.month() + 1) };
        let Some(next) = NaiveDate::from_ymd_opt(y, m, 1).map(|d| d.and_time(NaiveTime::MIN)) else {
            break;
        };
        if next >= end {
            break;
        }
        out.push(month_of(next));
        at = next;
    }
    out
}

/// Hours as reports show them: one decimal.
pub fn hours_one_decimal(minutes: i64) -> f64 {
    (minutes as f64 / 6.0).round() / 10.0
}

/// Builds an [`HoursReport`] one activity at a time (so a download can stream
/// activities and still end with their hours).
///
/// - A volunteer's row for a month: their minutes over every activity added
///   ([`minutes_by_month`]: overlaps counted once, stretches split at month ends),
///   the distinct activities that gave them time in that month, and their
///   stretches counted to the end because they never checked out (in the month
///   the stretch starts).
/// - A team's row for a month: the sum over volunteers of each one's minutes over
///   that team's activities only, the team's distinct activities, and the
///   missing check-outs on them. Activities without a team have no team row.
#[derive(Clone, Debug, Default)]
pub struct HoursTally {
    /// Every stretch, with the team of its activity.
    stretches: Vec<(Option<Uuid>, Stretch)>,
}

impl HoursTally {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an activity and its check-ins (others' check-ins are ignored).
    pub fn add(&mut self, activity: &Activity, checks: &[CheckIn]) {
        for s in stretches(activity, checks) {
            self.stretches.push((activity.team_id, s));
        }
    }

    /// Every volunteer and team named in the stretches (for looking up names).
    pub fn ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = Vec::new();
        for (team, s) in &self.stretches {
            ids.push(s.volunteer_id);
            if let Some(t) = team {
                ids.push(*t);
            }
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// The report; `name_of` names a volunteer or a team by id. Rows are ordered
    /// by month, then name, then id.
    pub fn report(&self, name_of: impl Fn(Uuid) -> String) -> HoursReport {
        use std::collections::BTreeMap;
        let mut by_volunteer: BTreeMap<Uuid, Vec<&Stretch>> = BTreeMap::new();
        let mut by_team: BTreeMap<Uuid, Vec<&Stretch>> = BTreeMap::new();
        for (team, s) in &self.stretches {
            by_volunteer.entry(s.volunteer_id).or_default().push(s);
            if let Some(t) = team {
                by_team.entry(*t).or_default().push(s);
            }
        }
        let rows = |groups: BTreeMap<Uuid, Vec<&Stretch>>| {
            let mut out: Vec<HoursRow> = Vec::new();
            for (id, group) in groups {
                let name = name_of(id);
                out.extend(month_rows(id, &name, &group));
            }
            out.sort_by(|a, b| (&a.month, &a.name, a.id).cmp(&(&b.month, &b.name, b.id)));
            out
        };
        HoursReport { volunteers: rows(by_volunteer), teams: rows(by_team) }
    }
}

/// The month rows of one volunteer's or one team's stretches.
fn month_rows(id: Uuid, name: &str, group: &[&Stretch]) -> Vec<HoursRow> {
    use std::collections::{BTreeMap, BTreeSet};
    let owned: Vec<Stretch> = group.iter().map(|s| (*s).clone()).collect();
    let mut minutes: BTreeMap<String, i64> = BTreeMap::new();
    // per volunteer and month (a team's are summed over its volunteers)
    for m in minutes_by_month(&owned) {
        *minutes.entry(m.month).or_default() += m.minutes;
    }
    let mut activities: BTreeMap<String, BTreeSet<Uuid>> = BTreeMap::new();
    let mut missing: BTreeMap<String, u32> = BTreeMap::new();
    for s in group {
        for month in months_covered(s.start, s.end) {
            activities.entry(month).or_default().insert(s.activity_id);
        }
        if s.source == HoursSource::MissingCheckOut {
            *missing.entry(month_of(s.start)).or_default() += 1;
        }
    }
    let mut months: BTreeSet<String> = activities.keys().cloned().collect();
    months.extend(minutes.keys().cloned());
    months
        .into_iter()
        .map(|month| HoursRow {
            id,
            name: name.to_string(),
            minutes: minutes.get(&month).copied().unwrap_or(0),
            activities: activities.get(&month).map_or(0, |a| a.len() as u32),
            missing_check_outs: missing.get(&month).copied().unwrap_or(0),
            month,
        })
        .collect()
}

/// The hours report of a set of activities with their check-ins (see [`HoursTally`]).
pub fn hours_report(activities: &[Activity], checks: &[CheckIn], name_of: impl Fn(Uuid) -> String) -> HoursReport {
    let mut tally = HoursTally::new();
    for a in activities {
        tally.add(a, checks);
    }
    tally.report(name_of)
}

impl CheckKind {
    /// 签到 / 签退.
    pub fn label_zh(self) -> &'static str {
        match self {
            CheckKind::In => "签到",
            CheckKind::Out => "签退",
        }
    }
}

/// What is wrong with a check-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckInError {
    NotV7Id,
    BadLocation,
}

impl CheckInError {
    pub fn message_zh(&self) -> String {
        match self {
            CheckInError::NotV7Id => "记录编号不对".into(),
            CheckInError::BadLocation => "位置信息不对".into(),
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            CheckInError::NotV7Id => "The record id is not valid".into(),
            CheckInError::BadLocation => "The location is not valid".into(),
        }
    }
}

impl CheckIn {
    /// Every problem with the record; empty means it can be uploaded.
    pub fn validate(&self) -> Result<(), Vec<CheckInError>> {
        let mut errors = Vec::new();
        if !crate::is_v7(&self.id) {
            errors.push(CheckInError::NotV7Id);
        }
        if self.location.is_some_and(|l| !l.is_valid()) {
            errors.push(CheckInError::BadLocation);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Longest label of an activity kind and longest team name (characters).
pub const MAX_LABEL: usize = 50;

/// Whether a string can be an [`ActivityKind::code`]: 1 to 40 of `a-z`, `0-9`, `_`.
pub fn is_kind_code(code: &str) -> bool {
    (1..=40).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether a label or team name has 1 to [`MAX_LABEL`] characters once trimmed.
pub fn is_label(s: &str) -> bool {
    let n = s.trim().chars().count();
    (1..=MAX_LABEL).contains(&n)
}

/// One upload of activities from one phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivityBatch {
    pub device_id: Uuid,
    pub activities: Vec<Activity>,
}

/// One upload of check-ins from one phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CheckInBatch {
    pub device_id: Uuid,
    pub check_ins: Vec<CheckIn>,
}

/// How much of a photo the server holds (for resuming an upload).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoStatus {
    pub id: Uuid,
    /// Bytes received so far; the next chunk starts here.
    pub received: u64,
    pub bytes: u64,
    /// All bytes are in and match the record's SHA-256.
    pub complete: bool,
}

/// A team member as the phone lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeamMember {
    pub id: Uuid,
    pub name: String,
}

/// A volunteer team (志愿服务队) with its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    /// The unit (village or township) the team belongs to.
    pub unit_id: Uuid,
    pub unit_name: String,
    pub members: Vec<TeamMember>,
}

/// A household a volunteer can name as served: door and name only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServedHousehold {
    pub id: Uuid,
    pub head_name: String,
    pub address: String,
}

/// What the phone needs to record activities: kinds, the caller's teams, households.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityRoster {
    pub kinds: Vec<ActivityKind>,
    pub teams: Vec<Team>,
    pub households: Vec<ServedHousehold>,
    /// The caller's own activities the server holds (newest first, at most 100).
    pub recent: Vec<ActivitySummary>,
}

/// An activity as lists show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivitySummary {
    pub id: Uuid,
    pub kind: String,
    pub kind_label: String,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub date: NaiveDate,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::time"))]
    pub start: NaiveTime,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::time"))]
    pub end: NaiveTime,
    pub place: String,
    pub team_name: Option<String>,
    pub recorder_name: String,
    pub unit_name: String,
    pub attendance: u32,
    pub served: u32,
    /// Photos named / photos whose bytes are all in.
    pub photos: u32,
    pub photos_received: u32,
    pub check_ins: u32,
}

/// An activity in full, for the console.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityDetail {
    pub summary: ActivitySummary,
    pub activity: Activity,
    pub participant_names: Vec<String>,
    pub households: Vec<ServedHousehold>,
    pub check_ins: Vec<CheckInView>,
    pub photos: Vec<PhotoStatus>,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub received_at: DateTime<Utc>,
}

/// A check-in as the console shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInView {
    pub volunteer_name: String,
    pub kind: CheckKind,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub at: DateTime<Utc>,
    pub location: Option<GeoPoint>,
}

/// One line of the hours table: a volunteer (or a team) in a month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoursRow {
    /// A volunteer's or a team's id.
    pub id: Uuid,
    pub name: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Whole hours and minutes are shown from this.
    pub minutes: i64,
    pub activities: u32,
    /// Stretches counted to the activity's end because nobody checked out.
    pub missing_check_outs: u32,
}

/// Hours per volunteer and per team per month for an area.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoursReport {
    pub volunteers: Vec<HoursRow>,
    pub teams: Vec<HoursRow>,
}

/// Filters of the console's activity list, hours and downloads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ActivityFilter {
    pub unit_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub kind: Option<String>,
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::date_opt"))]
    pub from: Option<NaiveDate>,
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::date_opt"))]
    pub to: Option<NaiveDate>,
}

impl ActivityFilter {
    /// The filter as a URL query string (without `?`).
    pub fn to_query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(u) = self.unit_id {
            parts.push(format!("unit_id={u}"));
        }
        if let Some(t) = self.team_id {
            parts.push(format!("team_id={t}"));
        }
        if let Some(k) = self.kind.as_deref().filter(|k| !k.is_empty()) {
            let safe: String = k.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            parts.push(format!("kind={safe}"));
        }
        if let Some(f) = self.from {
            parts.push(format!("from={f}"));
        }
        if let Some(t) = self.to {
            parts.push(format!("to={t}"));
        }
        parts.join("&")
    }
}

/// A new team, made by a coordinator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    pub unit_id: Uuid,
    pub name: String,
    pub member_ids: Vec<Uuid>,
}

/// A new activity kind, made by a coordinator (county-wide list).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewActivityKind {
    pub code: String,
    pub label_zh: String,
    pub label_en: String,
}

named_enum! {
    /// Where a photo kept on the phone stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum PhotoState {
        /// Waiting to upload (or part-way).
        Pending = "pending",
        /// The server has every byte.
        Uploaded = "uploaded",
    }
}

/// An activity as stored on the phone (local storage; photos are in IndexedDB).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalActivity {
    pub schema: u32,
    pub activity: Activity,
    pub sync: SyncState,
    /// Per photo of `activity.photos`, in order.
    #[serde(default)]
    pub photo_states: Vec<PhotoState>,
}

impl LocalActivity {
    pub fn draft(activity: Activity) -> LocalActivity {
        LocalActivity { schema: crate::LOCAL_SCHEMA_VERSION, activity, sync: SyncState::Draft, photo_states: Vec::new() }
    }

    /// Applies the server's receipt; returns whether anything changed.
    pub fn apply_receipt(&mut self, receipt: &Receipt) -> bool {
        if receipt.id != self.activity.id || !self.sync.in_outbox() {
            return false;
        }
        self.sync = SyncState::from_receipt(receipt);
        true
    }

    /// Photos not yet on the server: (index, photo).
    pub fn photos_waiting(&self) -> impl Iterator<Item = (usize, &PhotoRef)> {
        self.activity
            .photos
            .iter()
            .enumerate()
            .filter(|(i, _)| self.photo_states.get(*i) != Some(&PhotoState::Uploaded))
    }

    /// Bytes of photos still to upload.
    pub fn photo_bytes_waiting(&self) -> u64 {
        self.photos_waiting().map(|(_, p)| p.bytes).sum()
    }
}

/// A check-in as stored on the phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalCheckIn {
    pub schema: u32,
    pub check_in: CheckIn,
    pub sync: SyncState,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }
    /// A UTC instant for a China time on 2026-11-`day`.
    fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        let local = d(day).and_time(t(h, m));
        DateTime::from_naive_utc_and_offset(local - Duration::seconds(CHINA_OFFSET_SECS), Utc)
    }
    fn id(n: u128) -> Uuid {
        crate::uuid_v7(1_800_000_000_000 + n as u64, [n as u8; 10])
    }

    pub fn activity() -> Activity {
        Activity {
            id: id(1),
            recorder_id: Uuid::from_u128(100),
            team_id: None,
            kind: "patrol".into(),
            date: d(10),
            start: t(20, 0),
            end: t(22, 0),
            place: "村委会".into(),
            participants: vec![Uuid::from_u128(100), Uuid::from_u128(101)],
            others: 3,
            served: 40,
            household_ids: vec![],
            description: String::new(),
            photos: vec![],
            recorded_at: at(10, 22, 5),
        }
    }
    fn check(n: u128, a: &Activity, who: u128, kind: CheckKind, when: DateTime<Utc>) -> CheckIn {
        CheckIn { id: id(n), activity_id: a.id, volunteer_id: Uuid::from_u128(who), kind, at: when, location: None }
    }

    #[test]
    fn an_activity_over_midnight_ends_the_next_day() {
        let mut a = activity();
        a.start = t(22, 0);
        a.end = t(2, 30);
        let (s, e) = a.span();
        assert_eq!(s, d(10).and_time(t(22, 0)));
        assert_eq!(e, d(11).and_time(t(2, 30)));
        assert_eq!(a.minutes(), 270);
        // same start and end: nothing, and refused
        a.end = a.start;
        assert_eq!(a.minutes(), 0);
        assert_eq!(a.validate(), Err(vec![ActivityError::ZeroLength]));
    }

    #[test]
    fn check_in_and_out_over_midnight_counts_the_real_time() {
        let mut a = activity();
        a.start = t(22, 0);
        a.end = t(2, 0);
        let checks = [check(2, &a, 100, CheckKind::In, at(10, 22, 10)), check(3, &a, 100, CheckKind::Out, at(11, 1, 40))];
        let s = stretches(&a, &checks);
        let mine: Vec<_> = s.iter().filter(|x| x.volunteer_id == Uuid::from_u128(100)).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].source, HoursSource::CheckedInOut);
        assert_eq!((mine[0].end - mine[0].start).num_minutes(), 210);
        // 101 is listed but did not check in: the planned 4 hours
        let other: Vec<_> = s.iter().filter(|x| x.volunteer_id == Uuid::from_u128(101)).collect();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].source, HoursSource::Listed);
        assert_eq!((other[0].end - other[0].start).num_minutes(), 240);
    }

    #[test]
    fn missing_check_out_runs_to_the_activity_end() {
        let a = activity(); // 20:00–22:00
        let s = stretches(&a, &[check(2, &a, 101, CheckKind::In, at(10, 20, 30))]);
        let x = s.iter().find(|x| x.volunteer_id == Uuid::from_u128(101)).unwrap();
        assert_eq!(x.source, HoursSource::MissingCheckOut);
        assert_eq!((x.end - x.start).num_minutes(), 90);
        // checked in after the end and never out: nothing counted
        let s = stretches(&a, &[check(2, &a, 101, CheckKind::In, at(10, 23, 0))]);
        let x = s.iter().find(|x| x.volunteer_id == Uuid::from_u128(101)).unwrap();
        assert_eq!(x.end, x.start);
        assert_eq!(union_minutes(&[(x.start, x.end)]), 0);
    }

    #[test]
    fn double_check_in_and_stray_check_out_do_not_add_time() {
        let a = activity();
        let checks = [
            check(2, &a, 100, CheckKind::Out, at(10, 19, 0)), // out before any in: ignored
            check(3, &a, 100, CheckKind::In, at(10, 20, 0)),
            check(4, &a, 100, CheckKind::In, at(10, 20, 15)), // tapped twice: same stretch
            check(5, &a, 100, CheckKind::Out, at(10, 21, 0)),
            check(6, &a, 100, CheckKind::Out, at(10, 21, 5)), // second out: ignored
        ];
        let s = stretches(&a, &checks);
        let mine: Vec<_> = s.iter().filter(|x| x.volunteer_id == Uuid::from_u128(100)).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!((mine[0].end - mine[0].start).num_minutes(), 60);
        // order of arrival does not matter
        let mut shuffled = checks.to_vec();
        shuffled.reverse();
        assert_eq!(stretches(&a, &shuffled), s);
    }

    #[test]
    fn overlapping_check_ins_on_two_activities_count_once() {
        let a = activity(); // 20:00–22:00
        let mut b = activity();
        b.id = id(50);
        b.start = t(21, 0);
        b.end = t(23, 0);
        let checks = [
            check(2, &a, 100, CheckKind::In, at(10, 20, 0)),
            check(3, &a, 100, CheckKind::Out, at(10, 22, 0)),
            check(4, &b, 100, CheckKind::In, at(10, 21, 0)),
            check(5, &b, 100, CheckKind::Out, at(10, 23, 0)),
        ];
        let mut all = stretches(&a, &checks);
        all.extend(stretches(&b, &checks));
        let months = minutes_by_month(&all);
        let mine = months.iter().find(|m| m.volunteer_id == Uuid::from_u128(100)).unwrap();
        assert_eq!(mine.minutes, 180, "20:00–23:00, not 2 h + 2 h");
        assert_eq!(mine.month, "2026-11");
    }

    #[test]
    fn a_stretch_over_a_month_end_is_split() {
        let mut a = activity();
        a.date = d(30);
        a.start = t(23, 0);
        a.end = t(1, 0);
        let all = stretches(&a, &[]);
        let months = minutes_by_month(&all);
        let mine: Vec<_> = months.iter().filter(|m| m.volunteer_id == Uuid::from_u128(100)).collect();
        assert_eq!(mine.len(), 2);
        assert_eq!((mine[0].month.as_str(), mine[0].minutes), ("2026-11", 60));
        assert_eq!((mine[1].month.as_str(), mine[1].minutes), ("2026-12", 60));
    }

    #[test]
    fn union_of_nothing_is_zero_and_disjoint_adds() {
        assert_eq!(union_minutes(&[]), 0);
        let s = |h: u32| d(1).and_time(t(h, 0));
        assert_eq!(union_minutes(&[(s(1), s(2)), (s(3), s(5))]), 180);
        assert_eq!(union_minutes(&[(s(1), s(4)), (s(2), s(3))]), 180);
    }

    #[test]
    fn validation_names_what_is_missing() {
        assert_eq!(activity().validate(), Ok(()));
        let mut a = activity();
        a.kind = " ".into();
        a.place = String::new();
        a.photos = vec![PhotoRef { id: Uuid::nil(), bytes: 0, sha256: "x".into() }];
        a.served = MAX_COUNT + 1;
        let errors = a.validate().unwrap_err();
        assert!(errors.contains(&ActivityError::KindMissing));
        assert!(errors.contains(&ActivityError::PlaceMissing));
        assert!(errors.contains(&ActivityError::BadPhoto(0)));
        assert!(errors.contains(&ActivityError::CountTooLarge));
        let mut a = activity();
        let p = PhotoRef { id: id(9), bytes: 10, sha256: "a".repeat(64) };
        a.photos = vec![p.clone(), p];
        assert_eq!(a.validate(), Err(vec![ActivityError::BadPhoto(1)]), "the same photo twice");
    }

    #[test]
    fn attendance_counts_the_recorder_once() {
        let mut a = activity();
        assert_eq!(a.attendance(), 2 + 3);
        a.participants = vec![Uuid::from_u128(101)];
        assert_eq!(a.attendance(), 1 + 1 + 3);
    }

    #[test]
    fn activity_refuses_unknown_fields_and_round_trips() {
        let a = activity();
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Activity>(&text).unwrap(), a);
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<Activity>(v).is_err());
    }

    #[test]
    fn photos_waiting_follow_their_states() {
        let mut la = LocalActivity::draft(activity());
        la.activity.photos = vec![
            PhotoRef { id: id(7), bytes: 100, sha256: "a".repeat(64) },
            PhotoRef { id: id(8), bytes: 50, sha256: "b".repeat(64) },
        ];
        assert_eq!(la.photo_bytes_waiting(), 150);
        la.photo_states = vec![PhotoState::Uploaded, PhotoState::Pending];
        assert_eq!(la.photo_bytes_waiting(), 50);
        assert_eq!(la.photos_waiting().map(|(i, _)| i).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn hours_report_sums_volunteers_and_teams_per_month() {
        // 2026-11-30 22:00 → 12-01 02:00, team 900; 100 checks in and out, 101 checks
        // in and never out, 102 only listed.
        let mut a = activity();
        a.team_id = Some(Uuid::from_u128(900));
        a.date = d(30);
        a.start = t(22, 0);
        a.end = t(2, 0);
        a.participants = vec![Uuid::from_u128(100), Uuid::from_u128(101), Uuid::from_u128(102)];
        let dec1 = |h: u32, m: u32| {
            let local = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_time(t(h, m));
            DateTime::from_naive_utc_and_offset(local - Duration::seconds(CHINA_OFFSET_SECS), Utc)
        };
        let checks = [
            check(2, &a, 100, CheckKind::In, at(30, 22, 10)),
            check(3, &a, 100, CheckKind::Out, dec1(1, 40)),
            check(4, &a, 101, CheckKind::In, at(30, 22, 30)),
        ];
        // a second activity of 100 with no team, overlapping nothing, in December
        let mut b = activity();
        b.id = id(60);
        b.date = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        b.start = t(9, 0);
        b.end = t(10, 30);
        b.participants = vec![];
        let names = |id: Uuid| format!("n{}", id.as_u128());
        let report = hours_report(&[a.clone(), b.clone()], &checks, names);
        let row = |rows: &[HoursRow], who: u128, month: &str| {
            rows.iter().find(|r| r.id == Uuid::from_u128(who) && r.month == month).cloned()
        };
        let v = &report.volunteers;
        assert_eq!(row(v, 100, "2026-11").unwrap().minutes, 110);
        let dec = row(v, 100, "2026-12").unwrap();
        assert_eq!((dec.minutes, dec.activities), (100 + 90, 2));
        let x = row(v, 101, "2026-11").unwrap();
        assert_eq!((x.minutes, x.missing_check_outs, x.name.as_str()), (90, 1, "n101"));
        assert_eq!(row(v, 101, "2026-12").unwrap().missing_check_outs, 0, "counted where it starts");
        assert_eq!(row(v, 101, "2026-12").unwrap().minutes, 120);
        assert_eq!(row(v, 102, "2026-11").unwrap().minutes, 120);
        assert_eq!(row(v, 102, "2026-12").unwrap().minutes, 120);
        let teams = &report.teams;
        assert_eq!(teams.len(), 2, "{teams:?}");
        let nov = row(teams, 900, "2026-11").unwrap();
        assert_eq!((nov.minutes, nov.activities, nov.missing_check_outs), (110 + 90 + 120, 1, 1));
        let dec = row(teams, 900, "2026-12").unwrap();
        assert_eq!((dec.minutes, dec.activities, dec.missing_check_outs), (100 + 120 + 120, 1, 0));
        // rows by month, then name
        let order: Vec<_> = v.iter().map(|r| (r.month.clone(), r.name.clone())).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        // the streaming tally gives the same
        let mut tally = HoursTally::new();
        tally.add(&a, &checks);
        tally.add(&b, &checks);
        assert_eq!(tally.report(names), report);
        assert_eq!(tally.ids().len(), 4);
    }

    #[test]
    fn months_covered_and_hours_rounding() {
        let s = d(30).and_time(t(23, 0));
        assert_eq!(months_covered(s, s), vec!["2026-11"]);
        assert_eq!(months_covered(s, s + Duration::hours(1)), vec!["2026-11"]);
        assert_eq!(months_covered(s, s + Duration::hours(2)), vec!["2026-11", "2026-12"]);
        let dec = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap().and_time(t(23, 0));
        assert_eq!(months_covered(dec, dec + Duration::hours(2)), vec!["2026-12", "2027-01"]);
        assert_eq!(hours_one_decimal(90), 1.5);
        assert_eq!(hours_one_decimal(100), 1.7);
        assert_eq!(hours_one_decimal(0), 0.0);
    }

    #[test]
    fn check_in_validation_and_codes() {
        let a = activity();
        let mut c = check(2, &a, 100, CheckKind::In, at(10, 20, 0));
        assert_eq!(c.validate(), Ok(()));
        c.location = Some(GeoPoint { lat: 91.0, lon: 0.0, accuracy_m: 5.0 });
        c.id = Uuid::nil();
        assert_eq!(c.validate(), Err(vec![CheckInError::NotV7Id, CheckInError::BadLocation]));
        c.location = Some(GeoPoint { lat: 30.0, lon: 120.0, accuracy_m: f64::NAN });
        assert!(c.validate().unwrap_err().contains(&CheckInError::BadLocation));
        assert!(is_kind_code("tree_planting2"));
        for bad in ["", "Tree", "a-b", "植树", &"a".repeat(41)] {
            assert!(!is_kind_code(bad), "{bad}");
        }
        assert!(is_label(" 植树 ") && !is_label("  ") && !is_label(&"字".repeat(51)));
    }

    #[test]
    fn filter_query_keeps_only_safe_kind_text() {
        let f = ActivityFilter { kind: Some("patrol&x=1".into()), from: Some(d(1)), ..Default::default() };
        assert_eq!(f.to_query(), "kind=patrolx1&from=2026-11-01");
    }
}
