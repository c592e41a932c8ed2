//! Problems raised at the door as the console and the phones read them: lists with
//! their trails, and the open ones per level (the rules that change them are in
//! `crate::problems`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use daohu_domain::escalation::due_at;
use daohu_domain::{
    Level, LevelCount, LinkedMember, ProblemCategory, ProblemEvent, ProblemHousehold, ProblemStatus,
    ProblemView, TrailEntry, Urgency,
};
use uuid::Uuid;

use crate::db::{parse_ts, parse_uuid, ts, Conn};
use crate::problems::{level_str, parse_level, parse_state};
use crate::scope::Subtree;
use crate::AppError;

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
    let mut conditions = vec![crate::scope::household_in_subtree(1)];
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


/// Open and overdue problems per level (village, township, county, zeros included) for
/// households under the subtree, from each problem's copy of its household's grid
/// path (migration 0006), on the partial index of open problems.
pub async fn level_counts(
    conn: &mut Conn,
    area: &Subtree,
    now: DateTime<Utc>,
) -> Result<Vec<LevelCount>, AppError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT p.level, COUNT(*), COUNT(CASE WHEN p.due_at < $1 THEN 1 END)
         FROM problems p WHERE p.unit_path >= $2 AND p.unit_path < $3 AND p.state <> 'resolved'
         GROUP BY p.level",
    )
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

