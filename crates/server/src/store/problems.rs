//! Problems raised at the door as the console and the phones read them: lists with
//! their trails, and the open ones per level (the rules that change them are in
//! `crate::problems`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use daohu_domain::escalation::due_at;
use daohu_domain::{
    Level, LevelCount, LinkedMember, ProblemCategory, ProblemEntry, ProblemEvent, ProblemHousehold,
    ProblemStatus, ProblemView, TrailEntry, Urgency, Visit, ProblemState};
use uuid::Uuid;

use crate::db::{parse_ts, parse_uuid, ts, Conn, Dialect};
use crate::tree::Subtree;
use crate::AppError;

/// How a level is stored.
pub fn level_str(level: Level) -> &'static str {
    match level {
        Level::Village => "village",
        Level::Township => "township",
        Level::County => "county",
    }
}

/// Reads a stored level back.
pub fn parse_level(s: &str) -> Result<Level, AppError> {
    [Level::Village, Level::Township, Level::County]
        .into_iter()
        .find(|l| level_str(*l) == s)
        .ok_or_else(|| AppError::internal(format!("unknown stored level {s:?}")))
}

/// How a state is stored.
pub fn state_str(state: ProblemState) -> &'static str {
    match state {
        ProblemState::New => "new",
        ProblemState::Assigned => "assigned",
        ProblemState::InProgress => "in_progress",
        ProblemState::Resolved => "resolved",
    }
}

/// Reads a stored state back.
pub fn parse_state(s: &str) -> Result<ProblemState, AppError> {
    [
        ProblemState::New,
        ProblemState::Assigned,
        ProblemState::InProgress,
        ProblemState::Resolved,
    ]
    .into_iter()
    .find(|st| state_str(*st) == s)
    .ok_or_else(|| AppError::internal(format!("unknown stored state {s:?}")))
}

/// What deciding about one problem needs.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: Uuid,
    /// The path of the household's grid.
    pub grid_path: String,
    pub raised_by: Option<Uuid>,
    /// The cached status.
    pub status: ProblemStatus,
}


/// Which problems a list holds, besides being under its unit.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListFilter {
    /// `true`: only open (not resolved); `false`: only resolved.
    pub open: Option<bool>,
    /// `true`: only open and past their due date at `now`; `false`: only the others.
    pub overdue: Option<bool>,
    /// Only problems at this level now.
    pub level: Option<Level>,
}

/// Problems of the households under the subtree matching the filter, newest first,
/// at most `limit`, each with its whole trail.
pub async fn list(
    conn: &mut Conn,
    area: &Subtree,
    filter: ListFilter,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Vec<ProblemView>, AppError> {
    let mut conditions = vec![super::households::household_in_subtree(1)];
    let mut binds = vec![area.lo().to_string(), area.hi()];
    match filter.open {
        Some(true) => conditions.push("p.state != 'resolved'".into()),
        Some(false) => conditions.push("p.state = 'resolved'".into()),
        None => {}
    }
    if let Some(overdue) = filter.overdue {
        binds.push(ts(now));
        let test = format!("(p.state != 'resolved' AND p.due_at < ${})", binds.len());
        conditions.push(if overdue { test } else { format!("NOT {test}") });
    }
    if let Some(level) = filter.level {
        binds.push(level_str(level).into());
        conditions.push(format!("p.level = ${}", binds.len()));
    }
    views(conn, &conditions.join(" AND "), &binds, Some(limit), now).await
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    id: String,
    visit_id: String,
    household_id: String,
    head_name: String,
    address: String,
    grid_name: String,
    village_name: Option<String>,
    raised_by: Option<String>,
    raised_by_name: Option<String>,
    raised_at: String,
    category: String,
    urgency: String,
    description: String,
    level: String,
    state: String,
    assignee_id: Option<String>,
    assignee_name: Option<String>,
    answer: Option<String>,
    #[sqlx(try_from = "crate::db::Flag")]
    family_told: bool,
}

/// The select of [`ViewRow`]; `households h` and `units g` (its grid) for conditions.
const VIEW_SELECT: &str = "SELECT p.id, p.visit_id, p.household_id, h.head_name, h.address,
        g.name AS grid_name, vu.name AS village_name, p.raised_by, rm.name AS raised_by_name,
        COALESCE(p.raised_at, p.created_at) AS raised_at, p.category, p.urgency, p.description,
        p.level, p.state, p.assignee_id, am.name AS assignee_name, p.answer, p.family_told
    FROM problems p
    JOIN households h ON h.id = p.household_id
    JOIN units g ON g.id = h.grid_id
    LEFT JOIN units vu ON vu.id = g.parent_id
    LEFT JOIN members rm ON rm.id = p.raised_by
    LEFT JOIN members am ON am.id = p.assignee_id";

impl ViewRow {
    fn into_view(self, now: DateTime<Utc>) -> Result<ProblemView, AppError> {
        let urgency = Urgency::parse(&self.urgency).ok_or_else(|| {
            AppError::internal(format!("unknown stored urgency {:?}", self.urgency))
        })?;
        let category = ProblemCategory::parse(&self.category).ok_or_else(|| {
            AppError::internal(format!("unknown stored category {:?}", self.category))
        })?;
        let raised_at = parse_ts(&self.raised_at)?;
        let status = ProblemStatus {
            level: parse_level(&self.level)?,
            state: parse_state(&self.state)?,
            assignee: self.assignee_id.as_deref().map(parse_uuid).transpose()?,
            answer: self.answer,
            family_told: self.family_told,
        };
        let due = due_at(raised_at, urgency);
        Ok(ProblemView {
            id: parse_uuid(&self.id)?,
            visit_id: parse_uuid(&self.visit_id)?,
            household: ProblemHousehold {
                id: parse_uuid(&self.household_id)?,
                head_name: self.head_name,
                address: self.address,
                grid_name: self.grid_name,
                village_name: self.village_name.unwrap_or_default(),
            },
            raised_by: LinkedMember {
                id: self
                    .raised_by
                    .as_deref()
                    .map(parse_uuid)
                    .transpose()?
                    .unwrap_or_default(),
                name: self.raised_by_name.unwrap_or_default(),
            },
            raised_at,
            category,
            urgency,
            description: self.description,
            overdue: status.state.is_open() && now > due,
            status,
            assignee_name: self.assignee_name,
            due_at: due,
            trail: Vec::new(),
        })
    }
}

/// Problems matching `condition` (SQL over `problems p`, `households h`, `units g`,
/// with `binds` for its parameters `$1, $2, …`, all text), newest first, at most
/// `limit` (all: `None`), each with its whole trail.
pub async fn views(
    conn: &mut Conn,
    condition: &str,
    binds: &[String],
    limit: Option<usize>,
    now: DateTime<Utc>,
) -> Result<Vec<ProblemView>, AppError> {
    // No limit: no LIMIT clause (SQLite's `LIMIT -1` is not PostgreSQL's).
    let limit = limit.map_or(String::new(), |n| format!("LIMIT {n}"));
    let sql = format!(
        "{VIEW_SELECT} WHERE {condition} ORDER BY COALESCE(p.raised_at, p.created_at) DESC, p.id DESC
         {limit}"
    );
    let mut query = sqlx::query_as::<_, ViewRow>(&sql);
    for b in binds {
        query = query.bind(b);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut views = rows
        .into_iter()
        .map(|r| r.into_view(now))
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    let mut trails = trails(conn, &ids).await?;
    for v in &mut views {
        v.trail = trails.remove(&v.id).unwrap_or_default();
    }
    Ok(views)
}

/// The trails of these problems, each in merge order (time, then id).
pub async fn trails(
    conn: &mut Conn,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<TrailEntry>>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        problem_id: String,
        at: String,
        change: String,
        received_at: String,
        #[sqlx(try_from = "crate::db::Flag")]
        flagged: bool,
        actor_name: String,
    }
    let sql = format!(
        "SELECT e.id, e.problem_id, e.at, e.change, e.received_at, e.flagged,
                m.name AS actor_name
         FROM problem_events e JOIN members m ON m.id = e.actor_id
         WHERE e.problem_id IN (SELECT value FROM {})
         ORDER BY e.problem_id, e.at, e.id",
        crate::store::dialect_of(conn).json_texts(1)
    );
    let mut out: HashMap<Uuid, Vec<TrailEntry>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(serde_json::to_string(chunk)?)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            let problem_id = parse_uuid(&r.problem_id)?;
            out.entry(problem_id).or_default().push(TrailEntry {
                event: ProblemEvent {
                    id: parse_uuid(&r.id)?,
                    problem_id,
                    at: parse_ts(&r.at)?,
                    change: serde_json::from_str(&r.change)?,
                },
                actor_name: r.actor_name,
                received_at: parse_ts(&r.received_at)?,
                flagged: r.flagged,
            });
        }
    }
    for trail in out.values_mut() {
        trail.sort_by(|a, b| {
            a.event
                .at
                .cmp(&b.event.at)
                .then(a.event.id.cmp(&b.event.id))
        });
    }
    Ok(out)
}


/// [`level_counts`]' text (`$1`: now, `$2`/`$3`: the subtree).
pub const LEVEL_COUNTS: &str =
    "SELECT p.level, COUNT(*), COUNT(CASE WHEN p.due_at < $1 THEN 1 END)
     FROM problems p WHERE p.unit_path >= $2 AND p.unit_path < $3 AND p.state <> 'resolved'
     GROUP BY p.level";

/// Open and overdue problems per level (village, township, county, zeros included) for
/// households under the subtree, from each problem's copy of its household's grid
/// path (migration 0006), on the partial index of open problems.
pub async fn level_counts(
    conn: &mut Conn,
    area: &Subtree,
    now: DateTime<Utc>,
) -> Result<Vec<LevelCount>, AppError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(LEVEL_COUNTS)
        .bind(ts(now))
        .bind(area.lo())
        .bind(area.hi())
        .fetch_all(conn)
        .await?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    let mut out: Vec<LevelCount> = [Level::Village, Level::Township, Level::County]
        .into_iter()
        .map(|level| LevelCount {
            level,
            open: 0,
            overdue: 0,
        })
        .collect();
    for (level, open, overdue) in rows {
        let level = parse_level(&level)?;
        if let Some(c) = out.iter_mut().find(|c| c.level == level) {
            c.open = count(open);
            c.overdue = count(overdue);
        }
    }
    Ok(out)
}


// ---------------------------------------------------------------------------
// Writing (the rules deciding what is written are in `crate::problems`)

/// Stores a problem row from a visit, with the status it has at the door, unless
/// its id is taken (a problem id seen before keeps its first row).
pub async fn insert_from_visit(
    conn: &mut Conn,
    visit: &Visit,
    p: &ProblemEntry,
    status: &ProblemStatus,
    raised_at: DateTime<Utc>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO problems (id, visit_id, household_id, category, urgency, description,
                               outcome, action, created_at, raised_by, raised_at, due_at,
                               level, state, assignee_id, answer, family_told)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(p.id.to_string())
    .bind(visit.id.to_string())
    .bind(visit.household_id.to_string())
    .bind(p.category.as_str())
    .bind(p.urgency.as_str())
    .bind(&p.description)
    .bind(p.outcome.as_str())
    .bind(&p.action)
    .bind(ts(now))
    .bind(visit.member_id.to_string())
    .bind(ts(raised_at))
    .bind(ts(due))
    .bind(level_str(status.level))
    .bind(state_str(status.state))
    .bind(status.assignee.map(|a| a.to_string()))
    .bind(status.answer.as_deref())
    .bind(i64::from(status.family_told))
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether one of these problem ids belongs to a problem of another household than
/// `household` that another visit than `visit` raised.
pub async fn held_elsewhere(conn: &mut Conn, ids: &[Uuid], household: Uuid, visit: Uuid) -> Result<bool, AppError> {
    let d = crate::store::dialect_of(conn);
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    let found: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT 1 FROM problems
         WHERE id IN (SELECT value FROM {}) AND household_id <> $2 AND visit_id <> $3
         LIMIT 1",
        d.json_texts(1)
    ))
    .bind(serde_json::to_string(&ids)?)
    .bind(household.to_string())
    .bind(visit.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// A problem by id, whoever may see it.
pub async fn target(conn: &mut Conn, id: Uuid, for_update: bool) -> Result<Option<Target>, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        grid_path: String,
        raised_by: Option<String>,
        level: String,
        state: String,
        assignee_id: Option<String>,
        answer: Option<String>,
        #[sqlx(try_from = "crate::db::Flag")]
        family_told: bool,
    }
    // Locked to the end of the transaction on PostgreSQL, so an event is checked
    // against, and replayed onto, a state no other event changes meanwhile (on
    // SQLite the write transaction already holds the database's one write lock).
    let lock = match super::dialect_of(conn) {
        Dialect::Postgres if for_update => "FOR UPDATE OF p",
        _ => "",
    };
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT g.path AS grid_path, p.raised_by, p.level, p.state, p.assignee_id, p.answer,
                p.family_told
         FROM problems p JOIN households h ON h.id = p.household_id JOIN units g ON g.id = h.grid_id
         WHERE p.id = $1 {lock}"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(Target {
            id,
            grid_path: r.grid_path,
            raised_by: r.raised_by.as_deref().map(parse_uuid).transpose()?,
            status: ProblemStatus {
                level: parse_level(&r.level)?,
                state: parse_state(&r.state)?,
                assignee: r.assignee_id.as_deref().map(parse_uuid).transpose()?,
                answer: r.answer,
                family_told: r.family_told,
            },
        })
    })
    .transpose()
}

/// An account attached inside the subtree: whether it is disabled (`None` when
/// unknown or outside).
pub async fn account_disabled(conn: &mut Conn, area: &Subtree, id: Uuid) -> Result<Option<bool>, AppError> {
    let disabled: Option<i64> = sqlx::query_scalar(
        "SELECT m.disabled FROM members m JOIN units u ON u.id = m.unit_id
         WHERE m.id = $1 AND u.path >= $2 AND u.path < $3",
    )
    .bind(id.to_string())
    .bind(area.lo())
    .bind(area.hi())
    .fetch_optional(conn)
    .await?;
    Ok(disabled.map(|d| d != 0))
}

/// A problem event as stored: who sent it from which device, its time as
/// stored, its content hash and JSON, and a verdict's level (the 回访).
pub struct NewEvent<'a> {
    pub id: Uuid,
    pub problem: Uuid,
    pub actor: Uuid,
    pub device: Uuid,
    pub at: &'a str,
    pub hash: &'a str,
    pub change: &'a str,
    pub feedback: Option<&'a str>,
}

/// Stores an event of a problem (not yet flagged: [`set_flagged`] does that);
/// `false` when an event with its id is already stored.
pub async fn insert_event(conn: &mut Conn, e: &NewEvent<'_>, now: DateTime<Utc>) -> Result<bool, AppError> {
    let done = sqlx::query(
        "INSERT INTO problem_events (id, problem_id, actor_id, device_id, at, received_at,
                                     content_hash, change, flagged, feedback)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(e.id.to_string())
    .bind(e.problem.to_string())
    .bind(e.actor.to_string())
    .bind(e.device.to_string())
    .bind(e.at)
    .bind(ts(now))
    .bind(e.hash)
    .bind(e.change)
    .bind(e.feedback)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The 回访 verdicts given in `[from, to)` (event times, as stored) on problems
/// of households under `area`: (the unit id at `child_at` in the problem's grid
/// path, level, count); flagged ones (given before an answer) do not count.
pub async fn feedback_counts(
    conn: &mut Conn,
    area: &Subtree,
    child_at: usize,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, i64)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT substr(p.unit_path, $5, 36) AS child, e.feedback, COUNT(*)
         FROM problem_events e JOIN problems p ON p.id = e.problem_id
         WHERE e.feedback IS NOT NULL AND e.at >= $1 AND e.at < $2 AND e.flagged = 0
           AND p.unit_path >= $3 AND p.unit_path < $4
         GROUP BY 1, 2",
    )
    .bind(from)
    .bind(to)
    .bind(area.lo())
    .bind(area.hi())
    .bind(i32::try_from(child_at).unwrap_or(i32::MAX))
    .fetch_all(conn)
    .await?)
}

/// Every event of a problem, as sent (unsorted).
pub async fn events_of(conn: &mut Conn, problem: Uuid) -> Result<Vec<ProblemEvent>, AppError> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, at, change FROM problem_events WHERE problem_id = $1")
            .bind(problem.to_string())
            .fetch_all(conn)
            .await?;
    rows.into_iter()
        .map(|(id, at, change)| {
            Ok(ProblemEvent {
                id: parse_uuid(&id)?,
                problem_id: problem,
                at: parse_ts(&at)?,
                change: serde_json::from_str(&change)?,
            })
        })
        .collect()
}

/// What was decided at the door: the outcome (as stored) and the action taken.
pub async fn door(conn: &mut Conn, problem: Uuid) -> Result<(String, String), AppError> {
    Ok(sqlx::query_as("SELECT outcome, action FROM problems WHERE id = $1")
        .bind(problem.to_string())
        .fetch_one(conn)
        .await?)
}

/// Rewrites a problem's cached status.
pub async fn set_status(conn: &mut Conn, problem: Uuid, status: &ProblemStatus) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE problems SET level = $1, state = $2, assignee_id = $3, answer = $4, family_told = $5
         WHERE id = $6",
    )
    .bind(level_str(status.level))
    .bind(state_str(status.state))
    .bind(status.assignee.map(|a| a.to_string()))
    .bind(status.answer.as_deref())
    .bind(i64::from(status.family_told))
    .bind(problem.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

/// Flags exactly these events of a problem (rows already right are not written).
pub async fn set_flagged(conn: &mut Conn, problem: Uuid, flagged: &[Uuid]) -> Result<(), AppError> {
    let d = crate::store::dialect_of(conn);
    let ids = d.json_texts(1);
    sqlx::query(&format!(
        "UPDATE problem_events
         SET flagged = CASE WHEN id IN (SELECT value FROM {ids}) THEN 1 ELSE 0 END
         WHERE problem_id = $2
           AND flagged <> CASE WHEN id IN (SELECT value FROM {ids}) THEN 1 ELSE 0 END"
    ))
    .bind(serde_json::to_string(flagged)?)
    .bind(problem.to_string())
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Exports

/// A problem's row as a download reads it.
#[derive(sqlx::FromRow)]
pub struct ExportRow {
    pub id: String,
    pub household_id: String,
    pub level: String,
    pub state: String,
    pub assignee_id: Option<String>,
    pub answer: Option<String>,
    #[sqlx(try_from = "crate::db::Flag")]
    pub family_told: bool,
    pub due_at: Option<String>,
}

/// The rows of these problems (at most a few hundred ids at once).
pub async fn export_rows(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<ExportRow>, AppError> {
    let d = crate::store::dialect_of(conn);
    Ok(sqlx::query_as(&format!(
        "SELECT id, household_id, level, state, assignee_id, answer, family_told, due_at
         FROM problems WHERE id IN (SELECT value FROM {})",
        d.json_texts(1)
    ))
    .bind(serde_json::to_string(ids)?)
    .fetch_all(conn)
    .await?)
}

/// The names of these accounts (at most a few hundred ids at once), by id.
pub async fn member_names(conn: &mut Conn, ids: &[Uuid]) -> Result<Vec<(String, String)>, AppError> {
    let d = crate::store::dialect_of(conn);
    Ok(sqlx::query_as(&format!(
        "SELECT id, name FROM members WHERE id IN (SELECT value FROM {})",
        d.json_texts(1)
    ))
    .bind(serde_json::to_string(ids)?)
    .fetch_all(conn)
    .await?)
}
