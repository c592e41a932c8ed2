//! The coordinators' dashboard: coverage, visits per week, overdue special-group
//! households, idle members and phones that stopped syncing, for one unit and period.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use chrono::{Datelike, Duration, NaiveDate};
use daohu_domain::household::SPECIAL_INTERVAL_DAYS;
use daohu_domain::{
    ApiError, CoverageRow, Dashboard, IdleMember, OverdueHousehold, SpecialGroup, StaleDevice,
    UnitKind, WeekCount,
};
use serde::Deserialize;
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::{parse_unit_kind, AuthUser};
use crate::db::{self, parse_ts, parse_uuid, ts};
use crate::scope::{self, Subtree, UnitRow};
use crate::visit_log::parse_date;
use crate::{ApiQuery, AppError, AppState};

/// Days in the default period (today and the 29 days before).
pub const DEFAULT_PERIOD_DAYS: i64 = 30;
/// Longest period a dashboard covers (about three years).
pub const MAX_PERIOD_DAYS: i64 = 1_100;
/// Most overdue households listed.
pub const MAX_OVERDUE: usize = 200;
/// A phone that has not synced for longer than this is listed.
pub const STALE_DEVICE_DAYS: i64 = 7;
/// Most such phones listed (oldest first); all are counted.
pub const MAX_STALE: usize = 200;

/// `/dashboard`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(dashboard_get))
}

/// Query of the dashboard.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    /// A unit of the caller's subtree; default the caller's own unit.
    pub unit_id: Option<Uuid>,
    /// First day; default `to` − 29 days.
    pub from: Option<NaiveDate>,
    /// Last day; default today (the server's date).
    pub to: Option<NaiveDate>,
}

/// Today on the server's clock (its local date).
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// The Monday of the week holding `day`.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The caller's own unit, or the one asked for (404 outside the subtree).
pub async fn chosen_unit(
    conn: &mut Conn,
    subtree: &Subtree,
    user: &AuthUser,
    unit_id: Option<Uuid>,
) -> Result<UnitRow, AppError> {
    scope::unit(conn, subtree, unit_id.unwrap_or(user.unit_id)).await
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Figures for one unit of the caller's subtree (default their own) over a period
/// (default the 30 days up to today): households under it, households visited and
/// visits in the period, coverage per unit directly below (a grid: the grid itself),
/// visits per ISO week (Monday first, every week touching the period, empty ones
/// included), special-group households whose last visit ever is more than 14 days
/// before `to` or who were never visited (oldest first, at most 200), members and
/// grid leaders (enabled) with no visit in the period, and phones of accounts under
/// the unit that last synced more than 7 days ago (all counted, the oldest 200
/// listed), and open / overdue
/// problems of households under the unit per level (now, whatever the period).
#[utoipa::path(
    get, path = "/dashboard", tag = "reports",
    security(("bearer" = [])),
    params(DashboardQuery),
    responses(
        (status = 200, description = "The dashboard", body = Dashboard),
        (status = 400, description = "from after to, or a period over 1,100 days", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn dashboard_get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<DashboardQuery>,
) -> Result<Json<Dashboard>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let to = query.to.unwrap_or_else(today);
    let from = query
        .from
        .unwrap_or(to - Duration::days(DEFAULT_PERIOD_DAYS - 1));
    if from > to {
        return Err(AppError::bad_request("开始日期不能晚于结束日期"));
    }
    if (to - from).num_days() >= MAX_PERIOD_DAYS {
        return Err(AppError::bad_request(format!(
            "时间段最长 {MAX_PERIOD_DAYS} 天"
        )));
    }
    let mut tx = state.pool.begin().await?;
    let unit = chosen_unit(&mut tx, &subtree, &user, query.unit_id).await?;
    let glob = Subtree {
        path: unit.path.clone(),
    }
    .glob();
    let (from_s, to_s) = (from.to_string(), to.to_string());

    // Any visit of the unit dated after the period? If none, a household was
    // visited in the period exactly when its latest visit is on or after `from`.
    let later: i64 = crate::db::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM visit_days
                               WHERE unit_id = ? AND day > ? AND visits > 0 LIMIT 1) AS later",
    )
    .bind(unit.id.to_string())
    .bind(&to_s)
    .fetch_one(&mut *tx)
    .await?;
    let visits: i64 = crate::db::query_scalar(crate::visit_log::VISITS_IN_PERIOD)
    .bind(unit.id.to_string())
    .bind(&from_s)
    .bind(&to_s)
    .fetch_one(&mut *tx)
    .await?;

    let coverage = coverage(&mut tx, &unit, &glob, &from_s, &to_s, later == 0).await?;
    let households: i64 = coverage.iter().map(|c| i64::from(c.households)).sum();
    let visited: i64 = coverage.iter().map(|c| i64::from(c.visited)).sum();
    let weekly = weekly(&mut tx, &unit, from, to).await?;
    let overdue_special = overdue(&mut tx, &glob, to).await?;

    // No visit at all dated after the period: an account was idle in it exactly
    // when its latest visit is before `from` (one read per account).
    let any_later: i64 = crate::db::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM visits WHERE visited_on > ? LIMIT 1) AS later",
    )
    .bind(&to_s)
    .fetch_one(&mut *tx)
    .await?;
    // Otherwise the accounts that visited in the period are read from the
    // period's visits in one pass ([`seen_in_period`]), not one look-up per account.
    let (seen_join, seen_binds, idle_if, idle_binds): (&str, &[&str], &str, &[&str]) =
        if any_later == 0 {
            ("", &[], "(m.last_visit_on IS NULL OR m.last_visit_on < ?)", &[&from_s])
        } else {
            let (join, idle_if) = seen_in_period();
            (join, &[&from_s, &to_s], idle_if, &[])
        };
    let idle_sql = format!(
        "SELECT m.id, m.name, u.name FROM members m JOIN units u ON u.id = m.unit_id
         {seen_join}
         WHERE u.path GLOB ? AND m.role IN ('member', 'grid_leader') AND m.disabled = 0
           AND {idle_if}
         ORDER BY u.rowid, m.rowid"
    );
    let mut idle_query = crate::db::query_as(&idle_sql);
    for value in seen_binds {
        idle_query = idle_query.bind(*value);
    }
    idle_query = idle_query.bind(&glob);
    for value in idle_binds {
        idle_query = idle_query.bind(*value);
    }
    let idle: Vec<(String, String, String)> = idle_query.fetch_all(&mut *tx).await?;
    let idle_members = idle
        .into_iter()
        .map(|(id, name, unit_name)| {
            Ok(IdleMember {
                member_id: parse_uuid(&id)?,
                name,
                unit_name,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;

    let stale_before = ts(db::now() - Duration::days(STALE_DEVICE_DAYS));
    let stale: Vec<(String, String, String, i64)> = crate::db::query_as(&stale_devices_sql())
    .bind(&glob)
    .bind(&stale_before)
    .fetch_all(&mut *tx)
    .await?;
    let stale_count = stale.first().map_or(0, |s| s.3);
    let problems = crate::problems::level_counts(&mut tx, &glob, db::now()).await?;
    tx.commit().await?;
    let stale_devices = stale
        .into_iter()
        .map(|(id, member_name, at, _)| {
            Ok(StaleDevice {
                device_id: parse_uuid(&id)?,
                member_name,
                last_sync_at: parse_ts(&at)?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;

    Ok(Json(Dashboard {
        unit_id: unit.id,
        unit_name: unit.name,
        from,
        to,
        households: count(households),
        visited: count(visited),
        visits: count(visits),
        coverage,
        weekly,
        overdue_special,
        idle_members,
        stale_devices,
        stale_device_count: count(stale_count),
        problems,
    }))
}

/// The oldest phones of accounts under a unit that stopped syncing (`?`: the
/// subtree pattern, the cut-off time), at most [`MAX_STALE`], each row with how
/// many there are in all (`COUNT(*) OVER ()`: one pass, not a second count).
pub fn stale_devices_sql() -> String {
    format!(
        "SELECT d.device_id, m.name, d.last_sync_at, COUNT(*) OVER ()
         FROM devices d JOIN members m ON m.id = d.member_id JOIN units u ON u.id = m.unit_id
         WHERE u.path GLOB ? AND d.last_sync_at < ?
         ORDER BY d.last_sync_at, d.device_id LIMIT {MAX_STALE}"
    )
}

/// Households visited in a period per unit below (`?`: where the child's id starts
/// in the path, the subtree pattern, the first and last day), read from the
/// period's visits. Each visit carries its grid's path (migration 0005): one range
/// of `visits_day_unit`, read from the index alone, with no join per visit.
/// The distinct (child, household) pairs are hashed, then counted per child: a
/// `COUNT(DISTINCT …)` sorted all the period's visits first. SQLite's; PostgreSQL
/// reads [`VISITED_PER_CHILD_IN_PERIOD_PG`].
pub const VISITED_PER_CHILD_IN_PERIOD: &str =
    "SELECT pairs.child, COUNT(*)
     FROM (SELECT DISTINCT substr(v.unit_path, CAST(? AS INTEGER), 36) AS child, v.household_id
           FROM visits v
           WHERE v.unit_path GLOB ? AND v.visited_on BETWEEN ? AND ?) AS pairs
     GROUP BY pairs.child";

/// PostgreSQL's (`?`: the first and last day, where the child's id starts in the
/// path, the subtree pattern): from `visit_numbers` (migration 0007), a narrow
/// index of integers. Households per grid first (integers, sorted in memory),
/// then the grids' counts summed per child: 48–61 ms for a county's month, where
/// joining every (grid, household) pair to its grid took 120.
pub const VISITED_PER_CHILD_IN_PERIOD_PG: &str =
    "SELECT c.child, CAST(SUM(p.n) AS BIGINT)
     FROM (SELECT k.grid_no, COUNT(DISTINCT k.household_no) AS n FROM visit_numbers k
           WHERE k.day BETWEEN ? AND ? GROUP BY k.grid_no) AS p
     JOIN (SELECT g.rowid AS grid_no, substr(g.path, CAST(? AS INTEGER), 36) AS child
           FROM units g WHERE g.kind = 'grid' AND g.path GLOB ?) AS c ON c.grid_no = p.grid_no
     GROUP BY c.child";

/// The dashboard's idle accounts (`m`) of a past period: the join of the accounts
/// with a visit in it (`?`: first and last day) and the test that `m` is not one
/// of them. On PostgreSQL from `visit_numbers` (migration 0007), elsewhere from
/// `visits_day_unit` (0005).
pub fn seen_in_period() -> (&'static str, &'static str) {
    if crate::db::dialect() == crate::db::Dialect::Postgres {
        (
            "LEFT JOIN (SELECT DISTINCT k.member_no FROM visit_numbers k
                        WHERE k.day BETWEEN ? AND ?) seen ON seen.member_no = m.rowid",
            "seen.member_no IS NULL",
        )
    } else {
        (
            "LEFT JOIN (SELECT DISTINCT v.member_id FROM visits v
                        WHERE v.visited_on BETWEEN ? AND ?) seen ON seen.member_id = m.id",
            "seen.member_id IS NULL",
        )
    }
}

/// One row per unit directly below `unit` (a grid: the grid itself), in creation
/// order. `since_from` says no visit of the unit is dated after `to`, so a
/// household was visited in the period exactly when its latest visit is on or
/// after `from` (read from `household_last_visits`); otherwise the period's
/// visits are read.
async fn coverage(
    conn: &mut Conn,
    unit: &UnitRow,
    glob: &str,
    from: &str,
    to: &str,
    since_from: bool,
) -> Result<Vec<CoverageRow>, AppError> {
    let children: Vec<(String, String, String)> = if unit.kind == UnitKind::Grid {
        vec![(
            unit.id.to_string(),
            unit.name.clone(),
            unit.kind.as_str().to_string(),
        )]
    } else {
        crate::db::query_as("SELECT id, name, kind FROM units WHERE parent_id = ? ORDER BY rowid")
            .bind(unit.id.to_string())
            .fetch_all(&mut *conn)
            .await?
    };
    // The child a grid belongs to is the id right after the unit's own path
    // (a grid chosen itself: its own id, the last one in its path).
    let child_at = if unit.kind == UnitKind::Grid {
        unit.path.len() - 37
    } else {
        unit.path.len()
    } + 1;
    // From the per-unit counts of households by latest visit: at most one row a
    // day per child, whatever the number of households.
    let per_child: Vec<(String, i64, i64)> = crate::db::query_as(if unit.kind == UnitKind::Grid {
        "SELECT unit_id, CAST(SUM(households) AS BIGINT),
                CAST(SUM(CASE WHEN day >= ? THEN households ELSE 0 END) AS BIGINT)
         FROM household_last_visits WHERE unit_id = ? GROUP BY unit_id"
    } else {
        "SELECT unit_id, CAST(SUM(households) AS BIGINT),
                CAST(SUM(CASE WHEN day >= ? THEN households ELSE 0 END) AS BIGINT)
         FROM household_last_visits
         WHERE unit_id IN (SELECT id FROM units WHERE parent_id = ?) GROUP BY unit_id"
    })
    .bind(from)
    .bind(unit.id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let households: HashMap<String, i64> =
        per_child.iter().map(|(c, n, _)| (c.clone(), *n)).collect();
    let visited: HashMap<String, i64> = if since_from {
        per_child.into_iter().map(|(c, _, v)| (c, v)).collect()
    } else {
        // As text, like every value the benchmark binds to the same statement.
        let child_at = child_at.to_string();
        let query = if crate::db::dialect() == crate::db::Dialect::Postgres {
            crate::db::query_as(VISITED_PER_CHILD_IN_PERIOD_PG)
                .bind(from)
                .bind(to)
                .bind(child_at)
                .bind(glob)
        } else {
            crate::db::query_as(VISITED_PER_CHILD_IN_PERIOD)
                .bind(child_at)
                .bind(glob)
                .bind(from)
                .bind(to)
        };
        query.fetch_all(&mut *conn).await?.into_iter().collect()
    };
    children
        .into_iter()
        .map(|(id, name, kind)| {
            Ok(CoverageRow {
                unit_id: parse_uuid(&id)?,
                kind: parse_unit_kind(&kind)?,
                households: count(households.get(&id).copied().unwrap_or(0)),
                visited: count(visited.get(&id).copied().unwrap_or(0)),
                name,
            })
        })
        .collect()
}

/// Visits per week, every week from the one holding `from` to the one holding `to`
/// (from the unit's daily tallies: at most one row a day, whatever the unit).
async fn weekly(
    conn: &mut Conn,
    unit: &UnitRow,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<WeekCount>, AppError> {
    let per_day: Vec<(String, i64)> = crate::db::query_as(
        "SELECT day, visits FROM visit_days WHERE unit_id = ? AND day BETWEEN ? AND ?",
    )
    .bind(unit.id.to_string())
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut weeks = Vec::new();
    let mut week = monday_of(from);
    while week <= to {
        weeks.push(WeekCount {
            week_start: week,
            visits: 0,
        });
        week += Duration::days(7);
    }
    let first = monday_of(from);
    for (day, n) in per_day {
        let index = (monday_of(parse_date(&day)?) - first).num_days() / 7;
        if let Some(w) = usize::try_from(index).ok().and_then(|i| weeks.get_mut(i)) {
            w.visits = w.visits.saturating_add(count(n));
        }
    }
    Ok(weeks)
}

#[derive(sqlx::FromRow)]
struct OverdueRow {
    id: String,
    head_name: String,
    address: String,
    grid_name: String,
    special_groups: String,
    last_visit_on: Option<String>,
}

/// Special-group households whose last visit is more than 14 days before `to`, or
/// who were never visited; never visited first, then oldest visit first.
async fn overdue(
    conn: &mut Conn,
    glob: &str,
    to: NaiveDate,
) -> Result<Vec<OverdueHousehold>, AppError> {
    let limit = (to - Duration::days(SPECIAL_INTERVAL_DAYS)).to_string();
    // `last_visit_on` is the household's latest visit ever (kept by a trigger);
    // the partial index on it walks special-group households oldest first.
    let rows: Vec<OverdueRow> = crate::db::query_as(&format!(
        "SELECT h.id, h.head_name, h.address, g.name AS grid_name, h.special_groups,
                h.last_visit_on
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE g.path GLOB ? AND h.special_groups <> '[]'
           AND (h.last_visit_on IS NULL OR h.last_visit_on < ?)
         ORDER BY h.last_visit_on NULLS FIRST, g.rowid, h.rowid
         LIMIT {MAX_OVERDUE}"
    ))
    .bind(glob)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let special_groups: Vec<SpecialGroup> = serde_json::from_str(&r.special_groups)?;
            Ok(OverdueHousehold {
                household_id: parse_uuid(&r.id)?,
                head_name: r.head_name,
                address: r.address,
                grid_name: r.grid_name,
                special_groups,
                last_visit_on: r.last_visit_on.as_deref().map(parse_date).transpose()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mondays() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(monday_of(d(11, 24)), d(11, 23)); // a Tuesday
        assert_eq!(monday_of(d(11, 23)), d(11, 23));
        assert_eq!(monday_of(d(11, 29)), d(11, 23)); // Sunday
    }
}
