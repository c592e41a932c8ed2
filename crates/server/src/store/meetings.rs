//! The reads of the weekly meeting sheet: a unit's grids, the visits and
//! problems of a week there, and the households due for a visit by its end.

use chrono::{Duration, NaiveDate};

use daohu_domain::{Intervals, OverdueHousehold};

use crate::db::Conn;
use crate::store::reports::{last_visit_before, OverdueRow, SPECIAL_THEN_OLDEST};
use crate::tree::Subtree;
use crate::AppError;

/// A grid of the sheet: (id, name, village name, households).
pub type GridRow = (String, String, String, i64);
/// A visit of the week: (grid id, day, head's name, address, member's name).
pub type VisitRow = (String, String, String, String, String);
/// A problem of the week: (grid id, head's name, category, urgency, description, outcome).
pub type ProblemRow = (String, String, String, String, String, String);

/// The grids of the subtree with their household counts, by village name then grid name.
pub async fn grids(conn: &mut Conn, under: &Subtree) -> Result<Vec<GridRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT g.id, g.name, vil.name,
                (SELECT COUNT(*) FROM households h WHERE h.grid_id = g.id)
         FROM units g JOIN units vil ON vil.id = g.parent_id
         WHERE g.kind = 'grid' AND g.path >= $1 AND g.path < $2
         ORDER BY vil.name, g.name, g.rowid",
    )
    .bind(under.lo())
    .bind(under.hi())
    .fetch_all(conn)
    .await?)
}

/// The visits to households of the subtree made from `from` to `to` (both
/// included), in the order they were made.
pub async fn visits(
    conn: &mut Conn,
    under: &Subtree,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<VisitRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT h.grid_id, v.visited_on, h.head_name, h.address, m.name
         FROM visits v
         JOIN households h ON h.id = v.household_id
         JOIN units g ON g.id = h.grid_id
         JOIN members m ON m.id = v.member_id
         WHERE g.path >= $1 AND g.path < $2 AND v.visited_on BETWEEN $3 AND $4
         ORDER BY v.visited_on, v.recorded_at, v.id",
    )
    .bind(under.lo())
    .bind(under.hi())
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(conn)
    .await?)
}

/// The problems raised in those visits, in the order of the visits.
pub async fn problems(
    conn: &mut Conn,
    under: &Subtree,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ProblemRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT h.grid_id, h.head_name, p.category, p.urgency, p.description, p.outcome
         FROM problems p
         JOIN visits v ON v.id = p.visit_id
         JOIN households h ON h.id = v.household_id
         JOIN units g ON g.id = h.grid_id
         WHERE g.path >= $1 AND g.path < $2 AND v.visited_on BETWEEN $3 AND $4
         ORDER BY v.visited_on, v.recorded_at, v.id, p.rowid",
    )
    .bind(under.lo())
    .bind(under.hi())
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(conn)
    .await?)
}

#[derive(sqlx::FromRow)]
struct DueRow {
    grid_id: String,
    #[sqlx(flatten)]
    household: OverdueRow,
}

/// The households of the subtree due for a visit by a day (`by`): last
/// visited at least their interval (the county's, by special group) before
/// it, or never visited; as (grid id, household), by grid, then special groups
/// first, never visited first, oldest visit first.
pub async fn due(
    conn: &mut Conn,
    under: &Subtree,
    intervals: &Intervals,
    by: NaiveDate,
) -> Result<Vec<(String, OverdueHousehold)>, AppError> {
    // On or before a day is before the day after it.
    let before = last_visit_before(intervals, by + Duration::days(1));
    let rows: Vec<DueRow> = sqlx::query_as(&format!(
        "SELECT h.grid_id, h.id, h.head_name, h.address, g.name AS grid_name, h.special_groups,
                h.last_visit_on
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE g.path >= $1 AND g.path < $2 AND {before}
         ORDER BY g.rowid, {SPECIAL_THEN_OLDEST}, h.rowid"
    ))
    .bind(under.lo())
    .bind(under.hi())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|r| Ok((r.grid_id, r.household.into_household()?))).collect()
}
