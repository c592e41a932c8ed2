//! The coordinators' dashboard: coverage, visits per week, overdue special-group
//! households, idle members, phones that stopped syncing, and the 回访 满意率, for one unit and period.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use chrono::{Datelike, Duration, NaiveDate};
use daohu_domain::{ApiError, Catalogue, CoverageRow, Dashboard, Satisfaction, SatisfactionCount, ServiceCount, UnitKind, WeekCount};
use serde::Deserialize;
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::{parse_unit_kind, AuthUser};
use crate::db::{self, parse_uuid};
use crate::scope::{self, Subtree, UnitRow};
use crate::store::{self, reports};
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
    /// Last day; default today (China's date, UTC+8).
    pub to: Option<NaiveDate>,
}

/// Today, as the reports count days.
pub fn today() -> NaiveDate {
    // China's day (UTC+8), as the reports count days: the server's own zone
    // (often UTC) ends the day eight hours late, and a verdict given in that
    // evening fell outside "the period up to today".
    crate::activity_log::china_today()
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
    let area = Subtree {
        path: unit.path.clone(),
    };

    // Any visit of the unit dated after the period? If none, a household was
    // visited in the period exactly when its latest visit is on or after `from`.
    let later = reports::unit_visited_after(&mut tx, unit.id, to).await?;
    let visits = reports::visits_in_period(&mut tx, unit.id, from, to).await?;

    let mut coverage = coverage(&mut tx, &unit, &area, from, to, !later).await?;
    let households: i64 = coverage.iter().map(|c| i64::from(c.households)).sum();
    let visited: i64 = coverage.iter().map(|c| i64::from(c.visited)).sum();
    let weekly = weekly(&mut tx, &unit, from, to).await?;
    let catalogue = crate::routes::catalogue::of_county(&mut tx, &user).await?;
    let overdue = reports::overdue_households(&mut tx, &area, &catalogue.intervals, to, MAX_OVERDUE).await?;

    // No visit at all dated after the period: an account was idle in it exactly
    // when its latest visit is before `from`; otherwise the period's visits are read.
    let any_later = reports::any_visit_after(&mut tx, to).await?;
    let idle_members = reports::idle_members(&mut tx, &area, from, to, !any_later).await?;

    let stale_before = db::now() - Duration::days(STALE_DEVICE_DAYS);
    let (stale_devices, stale_count) = reports::stale_devices(&mut tx, &area, stale_before, MAX_STALE).await?;
    let problems = store::problems::level_counts(&mut tx, &area, db::now()).await?;
    let ledger = crate::routes::ledger::panel(&mut tx, &user, &area, from, to).await?;
    let satisfaction = satisfaction(&mut tx, &unit, &area, from, to, &mut coverage).await?;
    let services = services(&mut tx, &catalogue, &area, from, to).await?;
    let (unmatched_needs, unmatched_needs_in_period) = crate::routes::matchups::unmatched_counts(&mut tx, &area, from, to).await?;
    tx.commit().await?;

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
        overdue,
        idle_members,
        stale_devices,
        stale_device_count: count(stale_count),
        problems,
        ledger,
        satisfaction,
        services,
        unmatched_needs,
        unmatched_needs_in_period,
    }))
}

/// The services given in the period under the area, per kind, named as the
/// county's catalogue names them now.
async fn services(conn: &mut Conn, catalogue: &Catalogue, area: &Subtree, from: NaiveDate, to: NaiveDate) -> Result<Vec<ServiceCount>, AppError> {
    let rows = store::visits::service_counts(conn, area, from, to).await?;
    Ok(rows
        .into_iter()
        .map(|(kind, services, households)| ServiceCount {
            name_zh: catalogue.item_name(daohu_domain::ItemList::Service, &kind, true),
            name_en: catalogue.item_name(daohu_domain::ItemList::Service, &kind, false),
            kind,
            services,
            households,
        })
        .collect())
}

/// The 回访 verdicts given from the first day of the period to the end of its
/// last, days in China's time (the events' times are UTC): the area's, and each
/// coverage row's (the units directly below; a grid: itself).
async fn satisfaction(
    conn: &mut Conn,
    unit: &UnitRow,
    area: &Subtree,
    from: NaiveDate,
    to: NaiveDate,
    rows: &mut [CoverageRow],
) -> Result<SatisfactionCount, AppError> {
    let start = |day: NaiveDate| {
        let local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        let utc = local.and_local_timezone(crate::visit_log::report_offset()).single().expect("a fixed offset").to_utc();
        crate::problems::event_ts(utc)
    };
    let child_at = child_at(unit);
    let mut all = SatisfactionCount::default();
    for (child, level, n) in store::problems::feedback_counts(conn, area, child_at, &start(from), &start(to + Duration::days(1))).await? {
        let level = Satisfaction::parse(&level).ok_or_else(|| AppError::internal(format!("bad stored verdict {level:?}")))?;
        all.add(level, count(n));
        if let Some(row) = rows.iter_mut().find(|r| r.unit_id.to_string() == child) {
            row.satisfaction.add(level, count(n));
        }
    }
    Ok(all)
}

/// Where a coverage row's unit id starts (1-based) in a grid path under `unit`:
/// right after the unit's own path (a grid chosen itself: its own id, the last
/// one in its path).
fn child_at(unit: &UnitRow) -> usize {
    (if unit.kind == UnitKind::Grid { unit.path.len() - 37 } else { unit.path.len() }) + 1
}

/// One row per unit directly below `unit` (a grid: the grid itself), in creation
/// order. `since_from` says no visit of the unit is dated after `to`, so a
/// household was visited in the period exactly when its latest visit is on or
/// after `from` (read from `household_last_visits`); otherwise the period's
/// visits are read.
async fn coverage(
    conn: &mut Conn,
    unit: &UnitRow,
    area: &Subtree,
    from: NaiveDate,
    to: NaiveDate,
    since_from: bool,
) -> Result<Vec<CoverageRow>, AppError> {
    let grid = unit.kind == UnitKind::Grid;
    let children: Vec<(String, String, String)> = if grid {
        vec![(
            unit.id.to_string(),
            unit.name.clone(),
            unit.kind.as_str().to_string(),
        )]
    } else {
        reports::children(&mut *conn, unit.id).await?
    };
    let child_at = child_at(unit);
    // From the per-unit counts of households by latest visit: at most one row a
    // day per child, whatever the number of households.
    let per_child = reports::households_per_child(&mut *conn, unit.id, grid, from).await?;
    let households: HashMap<String, i64> =
        per_child.iter().map(|(c, n, _)| (c.clone(), *n)).collect();
    let visited: HashMap<String, i64> = if since_from {
        per_child.into_iter().map(|(c, _, v)| (c, v)).collect()
    } else {
        reports::visited_per_child(&mut *conn, area, child_at, from, to)
            .await?
            .into_iter()
            .collect()
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
                satisfaction: SatisfactionCount::default(),
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
    let per_day = reports::visits_per_day(conn, unit.id, from, to).await?;
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
        let index = (monday_of(day) - first).num_days() / 7;
        if let Some(w) = usize::try_from(index).ok().and_then(|i| weeks.get_mut(i)) {
            w.visits = w.visits.saturating_add(count(n));
        }
    }
    Ok(weeks)
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
