//! Volunteer activities: the kinds on offer, the activities and check-ins the phones
//! upload, and the reads of the log (its filtered pages, the phone's roster, detail,
//! check-ins, households and photos). The rules that decide what is stored and who
//! reads what are in `crate::activity_log`.

use chrono::{DateTime, NaiveDate, Utc};
use daohu_domain::{Activity, ActivityKind, CheckIn, CheckKind};
use uuid::Uuid;

use super::{dialect_of, id_list};
use crate::db::{ts, Conn, Flag};
use crate::tree::Subtree;
use crate::AppError;

/// The kinds, all of them or only those offered (active), in list order.
pub async fn kinds(conn: &mut Conn, only_active: bool) -> Result<Vec<ActivityKind>, AppError> {
    let rows: Vec<(String, String, String, crate::db::Flag)> = sqlx::query_as(&format!(
        "SELECT code, label_zh, label_en, active FROM activity_kinds {} ORDER BY sort_order, code",
        if only_active { "WHERE active = 1" } else { "" }
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(code, label_zh, label_en, active)| ActivityKind { code, label_zh, label_en, active: active.into() })
        .collect())
}

/// Whether a kind with this code exists (retired ones too).
pub async fn kind_exists(conn: &mut Conn, code: &str) -> Result<bool, AppError> {
    let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM activity_kinds WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?;
    Ok(taken.is_some())
}

/// Adds an active kind at the end of the list.
pub async fn add_kind(conn: &mut Conn, kind: &ActivityKind) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO activity_kinds (code, label_zh, label_en, active, sort_order)
         VALUES ($1, $2, $3, 1, (SELECT COALESCE(MAX(sort_order), 0) + 10 FROM activity_kinds))",
    )
    .bind(&kind.code)
    .bind(&kind.label_zh)
    .bind(&kind.label_en)
    .execute(conn)
    .await?;
    Ok(())
}


// ---------------------------------------------------------------------------
// Storing uploads

/// The unit a team belongs to (the team exists: checked before).
pub async fn team_unit(conn: &mut Conn, team: Uuid) -> Result<String, AppError> {
    Ok(sqlx::query_scalar("SELECT unit_id FROM teams WHERE id = $1")
        .bind(team.to_string())
        .fetch_one(conn)
        .await?)
}

/// The path of a team's unit (the team exists: checked before).
pub async fn team_unit_path(conn: &mut Conn, team: Uuid) -> Result<String, AppError> {
    Ok(sqlx::query_scalar("SELECT u.path FROM teams t JOIN units u ON u.id = t.unit_id WHERE t.id = $1")
        .bind(team.to_string())
        .fetch_one(conn)
        .await?)
}

/// How many of these households have their grid inside `area`.
pub async fn households_inside(conn: &mut Conn, households: &[Uuid], area: &Subtree) -> Result<i64, AppError> {
    let sql = format!(
        "SELECT COUNT(*) FROM households h JOIN units g ON g.id = h.grid_id
         WHERE h.id IN (SELECT value FROM {}) AND g.path >= $2 AND g.path < $3",
        dialect_of(conn).json_texts(1)
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(id_list(households))
        .bind(area.lo())
        .bind(area.hi())
        .fetch_one(conn)
        .await?)
}

/// Whether the account is on the team.
pub async fn on_team(conn: &mut Conn, team: Uuid, member: Uuid) -> Result<bool, AppError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM team_members WHERE team_id = $1 AND member_id = $2")
        .bind(team.to_string())
        .bind(member.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// How many different accounts among `members` are on the team.
pub async fn members_on_team(conn: &mut Conn, team: Uuid, members: &[Uuid]) -> Result<i64, AppError> {
    let sql = format!(
        "SELECT COUNT(DISTINCT member_id) FROM team_members
         WHERE team_id = $1 AND member_id IN (SELECT value FROM {})",
        dialect_of(conn).json_texts(2)
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(team.to_string())
        .bind(id_list(members))
        .fetch_one(conn)
        .await?)
}

/// Whether an activity other than `activity` names one of these photos.
pub async fn photo_taken(conn: &mut Conn, photos: &[Uuid], activity: Uuid) -> Result<bool, AppError> {
    let sql = format!(
        "SELECT 1 FROM photos WHERE id IN (SELECT value FROM {}) AND activity_id != $2",
        dialect_of(conn).json_texts(1)
    );
    let taken: Option<i64> = sqlx::query_scalar(&sql)
        .bind(id_list(photos))
        .bind(activity.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(taken.is_some())
}

/// Stores an activity (its JSON `body` and the body's `hash`) filed under `unit_id`
/// unless its id is taken, and then its households, participants and photo rows
/// (waiting for their bytes); `true` when it was stored now.
pub async fn insert(
    conn: &mut Conn,
    a: &Activity,
    unit_id: &str,
    device_id: Uuid,
    hash: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let inserted = sqlx::query(
        "INSERT INTO activities (id, recorder_id, team_id, unit_id, kind, date, start_time, end_time,
                                 device_id, recorded_at, received_at, content_hash, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(a.id.to_string())
    .bind(a.recorder_id.to_string())
    .bind(a.team_id.map(|t| t.to_string()))
    .bind(unit_id)
    .bind(&a.kind)
    .bind(a.date.to_string())
    .bind(a.start.format("%H:%M:%S").to_string())
    .bind(a.end.format("%H:%M:%S").to_string())
    .bind(device_id.to_string())
    .bind(ts(a.recorded_at))
    .bind(ts(now))
    .bind(hash)
    .bind(body)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !inserted {
        return Ok(false);
    }
    for household in &a.household_ids {
        sqlx::query("INSERT INTO activity_households (activity_id, household_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(a.id.to_string())
            .bind(household.to_string())
            .execute(&mut *conn)
            .await?;
    }
    for member in &a.participants {
        sqlx::query("INSERT INTO activity_participants (activity_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(a.id.to_string())
            .bind(member.to_string())
            .execute(&mut *conn)
            .await?;
    }
    for photo in &a.photos {
        sqlx::query(
            "INSERT INTO photos (id, activity_id, bytes, sha256) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(photo.id.to_string())
        .bind(a.id.to_string())
        .bind(photo.bytes as i64)
        .bind(&photo.sha256)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

/// Whether the account takes part in the activity: recorded it, is listed on it, or
/// is on its team. `None` when the server does not hold the activity.
pub async fn takes_part(conn: &mut Conn, activity: Uuid, member: Uuid) -> Result<Option<bool>, AppError> {
    let me = member.to_string();
    let allowed: Option<i64> = sqlx::query_scalar(
        "SELECT CASE WHEN a.recorder_id = $1
             OR EXISTS (SELECT 1 FROM activity_participants p WHERE p.activity_id = a.id AND p.member_id = $2)
             OR EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = a.team_id AND tm.member_id = $3)
             THEN 1 ELSE 0 END
         FROM activities a WHERE a.id = $4",
    )
    .bind(&me)
    .bind(&me)
    .bind(&me)
    .bind(activity.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(allowed.map(|a| a != 0))
}

/// Stores a check-in (its JSON `body` and the body's `hash`) unless its id is taken;
/// `true` when it was stored now.
pub async fn insert_check_in(
    conn: &mut Conn,
    c: &CheckIn,
    device_id: Uuid,
    hash: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let stored = sqlx::query(
        "INSERT INTO check_ins (id, activity_id, volunteer_id, kind, at, lat, lon, accuracy,
                                device_id, received_at, content_hash, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(c.id.to_string())
    .bind(c.activity_id.to_string())
    .bind(c.volunteer_id.to_string())
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
    .bind(hash)
    .bind(body)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(stored == 1)
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

/// Which activities a list reads, already checked against the caller's subtree.
#[derive(Clone, Debug)]
pub struct Filter {
    /// Where their unit lies.
    pub area: Subtree,
    pub team: Option<Uuid>,
    /// A kind code.
    pub kind: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Whether the team's unit lies inside the subtree (false when unknown).
pub async fn team_in(conn: &mut Conn, subtree: &Subtree, team: Uuid) -> Result<bool, AppError> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM teams t JOIN units tu ON tu.id = t.unit_id WHERE t.id = $1 AND tu.path >= $2 AND tu.path < $3",
    )
    .bind(team.to_string())
    .bind(subtree.lo())
    .bind(subtree.hi())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// One page of the activities matching the filter, newest first, after `after`, at
/// most `limit`.
pub async fn page(
    conn: &mut Conn,
    filter: &Filter,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<Vec<RawActivity>, AppError> {
    // Each condition takes the next parameter numbers, bound in the same order.
    let mut conditions = vec!["a.unit_id IN (SELECT id FROM units WHERE path >= $1 AND path < $2)".to_string()];
    let mut binds = vec![filter.area.lo().to_string(), filter.area.hi()];
    if let Some(team) = filter.team {
        binds.push(team.to_string());
        conditions.push(format!("a.team_id = ${}", binds.len()));
    }
    if let Some(kind) = &filter.kind {
        binds.push(kind.clone());
        conditions.push(format!("a.kind = ${}", binds.len()));
    }
    if let Some(from) = filter.from {
        binds.push(from.to_string());
        conditions.push(format!("a.date >= ${}", binds.len()));
    }
    if let Some(to) = filter.to {
        binds.push(to.to_string());
        conditions.push(format!("a.date <= ${}", binds.len()));
    }
    if let Some((date, start, id)) = after {
        let n = binds.len() + 1;
        binds.extend([date.clone(), start.clone(), id.clone()]);
        conditions.push(format!("(a.date, a.start_time, a.id) < (${n}, ${}, ${})", n + 1, n + 2));
    }
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM {SUMMARY_FROM} WHERE {} ORDER BY {ORDER} LIMIT {limit}",
        conditions.join(" AND ")
    );
    let mut query = sqlx::query_as::<_, RawActivity>(&sql);
    for b in &binds {
        query = query.bind(b);
    }
    Ok(query.fetch_all(conn).await?)
}

/// The activities recorded by the account or by one of its teams, dated `since` or
/// later, newest first, at most `limit`.
pub async fn recent(
    conn: &mut Conn,
    member: Uuid,
    since: NaiveDate,
    limit: u32,
) -> Result<Vec<RawActivity>, AppError> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM {SUMMARY_FROM}
         WHERE (a.recorder_id = $1 OR a.team_id IN (SELECT team_id FROM team_members WHERE member_id = $2))
           AND a.date >= $3
         ORDER BY {ORDER} LIMIT {limit}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(member.to_string())
        .bind(member.to_string())
        .bind(since.to_string())
        .fetch_all(conn)
        .await?)
}

/// One activity whose unit lies inside the subtree (`None` when unknown or outside).
pub async fn one(conn: &mut Conn, subtree: &Subtree, id: Uuid) -> Result<Option<RawActivity>, AppError> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM {SUMMARY_FROM} WHERE a.id = $1 AND u.path >= $2 AND u.path < $3");
    Ok(sqlx::query_as(&sql)
        .bind(id.to_string())
        .bind(subtree.lo())
        .bind(subtree.hi())
        .fetch_optional(conn)
        .await?)
}

/// The check-ins of these activities (their JSON bodies) with the volunteer's name,
/// in time order.
pub async fn check_ins(conn: &mut Conn, activities: &[Uuid]) -> Result<Vec<(String, String)>, AppError> {
    let sql = format!(
        "SELECT c.body, m.name FROM check_ins c JOIN members m ON m.id = c.volunteer_id
         WHERE c.activity_id IN (SELECT value FROM {})
         ORDER BY c.at, c.id",
        dialect_of(conn).json_texts(1)
    );
    Ok(sqlx::query_as(&sql).bind(id_list(activities)).fetch_all(conn).await?)
}

/// The names of the accounts and teams among these ids, as `(id, name)`.
pub async fn names(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<(String, String)>, AppError> {
    let d = dialect_of(conn);
    let sql = format!(
        "SELECT id, name FROM members WHERE id IN (SELECT value FROM {})
         UNION ALL SELECT id, name FROM teams WHERE id IN (SELECT value FROM {})",
        d.json_texts(1),
        d.json_texts(2)
    );
    let list = id_list(ids);
    Ok(sqlx::query_as(&sql).bind(&list).bind(&list).fetch_all(conn).await?)
}

/// These households as `(id, head's name, address, path of the grid)`.
pub async fn served(conn: &mut Conn, households: &[Uuid]) -> Result<Vec<(String, String, String, String)>, AppError> {
    let sql = format!(
        "SELECT h.id, h.head_name, h.address, g.path FROM households h JOIN units g ON g.id = h.grid_id
         WHERE h.id IN (SELECT value FROM {})",
        dialect_of(conn).json_texts(1)
    );
    Ok(sqlx::query_as(&sql).bind(id_list(households)).fetch_all(conn).await?)
}

/// The photo rows of these activities as `(id, bytes, received, complete)`.
pub async fn photos(conn: &mut Conn, activities: &[Uuid]) -> Result<Vec<(String, i64, i64, Flag)>, AppError> {
    let sql = format!(
        "SELECT id, bytes, received, complete FROM photos WHERE activity_id IN (SELECT value FROM {})",
        dialect_of(conn).json_texts(1)
    );
    Ok(sqlx::query_as(&sql).bind(id_list(activities)).fetch_all(conn).await?)
}
