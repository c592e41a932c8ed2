//! The coordinators' dashboard: the figures of one unit over a period, read from
//! the daily tallies and per-unit counts the migrations keep (the arithmetic on
//! them is in `routes::dashboard`). On PostgreSQL a key (unit, day) of a tally
//! may have several rows of changes until they are folded (migration 0011), so
//! every read sums.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use daohu_domain::{IdleMember, Intervals, OverdueHousehold, SpecialGroup, StaleDevice};
use uuid::Uuid;

use crate::db::{parse_ts, parse_uuid, ts, Conn, Dialect};
use crate::tree::Subtree;
use crate::visit_log::parse_date;
use crate::AppError;

/// Whether the unit (`$1`) has a visit dated after a day (`$2`): 1 or 0.
pub const UNIT_VISITED_AFTER: &str =
    "SELECT COUNT(*) FROM (SELECT 1 FROM visit_days WHERE unit_id = $1 AND day > $2
                           GROUP BY day HAVING SUM(visits) > 0 LIMIT 1) AS later";

/// Whether the unit has a visit dated after `day` (from its daily tallies).
pub async fn unit_visited_after(conn: &mut Conn, unit: Uuid, day: NaiveDate) -> Result<bool, AppError> {
    let later: i64 = sqlx::query_scalar(UNIT_VISITED_AFTER)
        .bind(unit.to_string())
        .bind(day.to_string())
        .fetch_one(conn)
        .await?;
    Ok(later > 0)
}

/// Whether any visit at all is dated after `day`.
pub async fn any_visit_after(conn: &mut Conn, day: NaiveDate) -> Result<bool, AppError> {
    let later: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM visits WHERE visited_on > $1 LIMIT 1) AS later",
    )
    .bind(day.to_string())
    .fetch_one(conn)
    .await?;
    Ok(later > 0)
}

/// Visits under a unit (`$1`) from one day to another (`$2`, `$3`).
pub const VISITS_IN_PERIOD: &str =
    "SELECT CAST(COALESCE(SUM(visits), 0) AS BIGINT) FROM visit_days
     WHERE unit_id = $1 AND day BETWEEN $2 AND $3";

/// Visits under a unit from `from` to `to`, summed from its daily tallies.
pub async fn visits_in_period(conn: &mut Conn, unit: Uuid, from: NaiveDate, to: NaiveDate) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar(VISITS_IN_PERIOD)
        .bind(unit.to_string())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_one(conn)
        .await?)
}

/// The visits of each day from `from` to `to` under a unit that had any (day, visits).
pub async fn visits_per_day(
    conn: &mut Conn,
    unit: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>, AppError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT day, CAST(SUM(visits) AS BIGINT) FROM visit_days
         WHERE unit_id = $1 AND day BETWEEN $2 AND $3 GROUP BY day",
    )
    .bind(unit.to_string())
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|(day, n)| Ok((parse_date(&day)?, n))).collect()
}

/// The units directly below a unit (id, name, kind as stored), in creation order.
pub async fn children(conn: &mut Conn, unit: Uuid) -> Result<Vec<(String, String, String)>, AppError> {
    Ok(sqlx::query_as("SELECT id, name, kind FROM units WHERE parent_id = $1 ORDER BY rowid")
        .bind(unit.to_string())
        .fetch_all(conn)
        .await?)
}

/// [`households_per_child`]'s text (`$1`: the first day, `$2`: the unit).
pub fn households_per_child_sql(grid: bool) -> &'static str {
    if grid {
        "SELECT unit_id, CAST(SUM(households) AS BIGINT),
                CAST(SUM(CASE WHEN day >= $1 THEN households ELSE 0 END) AS BIGINT)
         FROM household_last_visits WHERE unit_id = $2 GROUP BY unit_id"
    } else {
        "SELECT unit_id, CAST(SUM(households) AS BIGINT),
                CAST(SUM(CASE WHEN day >= $1 THEN households ELSE 0 END) AS BIGINT)
         FROM household_last_visits
         WHERE unit_id IN (SELECT id FROM units WHERE parent_id = $2) GROUP BY unit_id"
    }
}

/// Per unit (the grid itself when `grid`, else each unit directly below it): its
/// households, and those whose latest visit is on or after `from`; from the
/// per-unit counts of households by latest visit, at most one row a day per unit.
pub async fn households_per_child(
    conn: &mut Conn,
    unit: Uuid,
    grid: bool,
    from: NaiveDate,
) -> Result<Vec<(String, i64, i64)>, AppError> {
    Ok(sqlx::query_as(households_per_child_sql(grid))
        .bind(from.to_string())
        .bind(unit.to_string())
        .fetch_all(conn)
        .await?)
}

/// The stable integer number of the unit, household or account row `alias`
/// (migration 0007 on PostgreSQL: its `rowid` identity column; 0025 on SQLite:
/// its row of `numbers`, as SQLite may renumber rowids when it vacuums).
pub fn number_of(d: Dialect, alias: &str) -> String {
    match d {
        Dialect::Postgres => format!("{alias}.rowid"),
        Dialect::Sqlite => format!("(SELECT no FROM numbers WHERE id = {alias}.id)"),
    }
}

/// Households visited from `from` to `to` per unit below (`$1`: where the child's
/// id starts in the path, `$2`/`$3`: the subtree, `$4`/`$5`: the first and last
/// day), from `visit_numbers`: one range of a narrow index of integers, with no
/// join per visit. Households per grid first (integers), then the grids' counts
/// summed per child: a county's month in 25–30 ms, where the distinct (child,
/// household) pairs of `visits_day_unit` (a 150-byte path and two 36-character
/// ids an entry) took 96–160 on SQLite and 114 on PostgreSQL.
pub fn visited_per_child_sql(d: Dialect) -> String {
    format!(
        "SELECT c.child, CAST(SUM(p.n) AS BIGINT)
         FROM (SELECT k.grid_no, COUNT(DISTINCT k.household_no) AS n FROM visit_numbers k
               WHERE k.day BETWEEN $4 AND $5 GROUP BY k.grid_no) AS p
         JOIN (SELECT {} AS grid_no, substr(g.path, CAST($1 AS INTEGER), 36) AS child
               FROM units g WHERE g.kind = 'grid' AND g.path >= $2 AND g.path < $3) AS c ON c.grid_no = p.grid_no
         GROUP BY c.child",
        number_of(d, "g")
    )
}

/// Households visited from `from` to `to` per unit below the subtree's top, the
/// child's id starting at byte `child_at` (1-based) of a grid's path.
pub async fn visited_per_child(
    conn: &mut Conn,
    area: &Subtree,
    child_at: usize,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64)>, AppError> {
    let sql = visited_per_child_sql(crate::store::dialect_of(conn));
    // As text, like every value the benchmark binds to the same statement.
    Ok(sqlx::query_as(&sql)
        .bind(child_at.to_string())
        .bind(area.lo())
        .bind(area.hi())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(conn)
        .await?)
}

/// The idle accounts (`m`) of a past period: the join of the account numbers
/// with a visit in it (`$1`, `$2`: first and last day; from `visit_numbers`) and
/// the test that `m` is not one of them.
pub fn seen_in_period(d: Dialect) -> (String, &'static str) {
    (
        format!(
            "LEFT JOIN (SELECT DISTINCT k.member_no FROM visit_numbers k
                        WHERE k.day BETWEEN $1 AND $2) seen ON seen.member_no = {}",
            number_of(d, "m")
        ),
        "seen.member_no IS NULL",
    )
}

/// [`idle_members`]' text: when `none_later`, `$1`/`$2` the subtree and `$3` the
/// first day; otherwise `$1`/`$2` the first and last day and `$3`/`$4` the subtree.
pub fn idle_members_sql(d: Dialect, none_later: bool) -> String {
    if none_later {
        "SELECT m.id, m.name, u.name FROM members m JOIN units u ON u.id = m.unit_id
         WHERE u.path >= $1 AND u.path < $2 AND m.role IN ('member', 'grid_leader') AND m.disabled = 0
           AND (m.last_visit_on IS NULL OR m.last_visit_on < $3)
         ORDER BY u.rowid, m.rowid"
            .to_string()
    } else {
        let (seen_join, idle_if) = seen_in_period(d);
        format!(
            "SELECT m.id, m.name, u.name FROM members m JOIN units u ON u.id = m.unit_id
             {seen_join}
             WHERE u.path >= $3 AND u.path < $4 AND m.role IN ('member', 'grid_leader') AND m.disabled = 0
               AND {idle_if}
             ORDER BY u.rowid, m.rowid"
        )
    }
}

/// Enabled members and grid leaders under the subtree with no visit from `from` to
/// `to`, in unit and account order. `none_later` says no visit at all is dated after
/// `to`: then an account was idle exactly when its latest visit is before `from`
/// (one read per account); otherwise the period's visits are read in one pass
/// ([`seen_in_period`]), not one look-up per account.
pub async fn idle_members(
    conn: &mut Conn,
    area: &Subtree,
    from: NaiveDate,
    to: NaiveDate,
    none_later: bool,
) -> Result<Vec<IdleMember>, AppError> {
    let d = crate::store::dialect_of(conn);
    let (from_s, to_s) = (from.to_string(), to.to_string());
    let sql = idle_members_sql(d, none_later);
    let query = sqlx::query_as(&sql);
    let query = if none_later {
        query.bind(area.lo()).bind(area.hi()).bind(from_s)
    } else {
        query.bind(from_s).bind(to_s).bind(area.lo()).bind(area.hi())
    };
    let rows: Vec<(String, String, String)> = query.fetch_all(conn).await?;
    rows.into_iter()
        .map(|(id, name, unit_name)| {
            Ok(IdleMember {
                member_id: parse_uuid(&id)?,
                name,
                unit_name,
            })
        })
        .collect()
}

/// [`stale_devices`]' text (`$1`/`$2`: the subtree, `$3`: the cut-off time).
pub fn stale_devices_sql(limit: usize) -> String {
    format!(
        "SELECT d.device_id, m.name, d.last_sync_at, COUNT(*) OVER ()
         FROM devices d JOIN members m ON m.id = d.member_id JOIN units u ON u.id = m.unit_id
         WHERE u.path >= $1 AND u.path < $2 AND d.last_sync_at < $3
         ORDER BY d.last_sync_at, d.device_id LIMIT {limit}"
    )
}

/// The oldest phones of accounts under the subtree that last synced before `before`,
/// at most `limit`, and how many there are in all (`COUNT(*) OVER ()`: one pass,
/// not a second count).
pub async fn stale_devices(
    conn: &mut Conn,
    area: &Subtree,
    before: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<StaleDevice>, i64), AppError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(&stale_devices_sql(limit))
        .bind(area.lo())
        .bind(area.hi())
        .bind(ts(before))
        .fetch_all(conn)
        .await?;
    let count = rows.first().map_or(0, |s| s.3);
    let devices = rows
        .into_iter()
        .map(|(id, member_name, at, _)| {
            Ok(StaleDevice {
                device_id: parse_uuid(&id)?,
                member_name,
                last_sync_at: parse_ts(&at)?,
            })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok((devices, count))
}

#[derive(sqlx::FromRow)]
pub(crate) struct OverdueRow {
    id: String,
    head_name: String,
    address: String,
    grid_name: String,
    special_groups: String,
    last_visit_on: Option<String>,
}

impl OverdueRow {
    pub(crate) fn into_household(self) -> Result<OverdueHousehold, AppError> {
        let special_groups: Vec<SpecialGroup> = serde_json::from_str(&self.special_groups)?;
        Ok(OverdueHousehold {
            household_id: parse_uuid(&self.id)?,
            head_name: self.head_name,
            address: self.address,
            grid_name: self.grid_name,
            special_groups,
            last_visit_on: self.last_visit_on.as_deref().map(parse_date).transpose()?,
        })
    }
}

/// A household `h` whose last visit is before `until` less its visit interval
/// (the county's, by its special groups: the shortest of them), or that was
/// never visited: the dashboard's overdue list and the weekly sheet's due list
/// (which passes the day after its last). The cut-off days are written into
/// the text (dates and group names only, never user text): one `WHEN` a
/// group, shortest interval first, so the first that matches is the shortest;
/// an ordinary household stops at the first.
pub fn last_visit_before(intervals: &Intervals, until: NaiveDate) -> String {
    let cut = |days: u32| until - Duration::days(i64::from(days));
    let mut groups: Vec<(SpecialGroup, u32)> = SpecialGroup::ALL.iter().map(|g| (*g, intervals.days_for(&[*g]))).collect();
    groups.sort_by_key(|(_, d)| *d);
    let mut text = format!("(h.last_visit_on IS NULL OR h.last_visit_on < CASE WHEN h.special_groups = '[]' THEN '{}'", cut(intervals.ordinary));
    for (g, d) in groups {
        text.push_str(&format!(" WHEN h.special_groups LIKE '%\"{}\"%' THEN '{}'", g.as_str(), cut(d)));
    }
    text.push_str(&format!(" ELSE '{}' END)", cut(intervals.ordinary)));
    text
}
/// Special groups first, then never visited, then the oldest visit.
pub(crate) const SPECIAL_THEN_OLDEST: &str =
    "CASE WHEN h.special_groups <> '[]' THEN 0 ELSE 1 END, h.last_visit_on NULLS FIRST";

/// [`overdue_households`]' text (`$1`/`$2`: the subtree; overdue on `on` by
/// `intervals`; `bound`: more conditions, on `$3` if any).
pub fn overdue_households_sql(limit: usize, intervals: &Intervals, on: NaiveDate, bound: &str) -> String {
    let before = last_visit_before(intervals, on);
    format!(
        "SELECT h.id, h.head_name, h.address, g.name AS grid_name, h.special_groups,
                h.last_visit_on
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE g.path >= $1 AND g.path < $2 AND {before}{bound}
         ORDER BY {SPECIAL_THEN_OLDEST}, g.rowid, h.rowid
         LIMIT {limit}"
    )
}

/// The last visit of the `limit`-th overdue household of the special groups
/// under the subtree, oldest first (`$1`/`$2`), read in the order of their
/// own index (`households_special_last_visit`, never visited first); no row
/// when fewer are overdue.
pub fn overdue_cut_sql(limit: usize, intervals: &Intervals, on: NaiveDate, dialect: Dialect) -> String {
    let before = last_visit_before(intervals, on);
    let index = if dialect == Dialect::Sqlite { "INDEXED BY households_special_last_visit" } else { "" };
    format!(
        "SELECT h.last_visit_on FROM households h {index} JOIN units g ON g.id = h.grid_id
         WHERE h.special_groups <> '[]' AND g.path >= $1 AND g.path < $2 AND {before}
         ORDER BY h.last_visit_on NULLS FIRST LIMIT 1 OFFSET {}",
        limit.saturating_sub(1)
    )
}

/// Households under the subtree overdue for a visit on `on`: last visited
/// longer ago than the county's interval for its groups, or never visited.
/// Special groups first; within each, never visited first, then oldest visit
/// first; at most `limit`.
pub async fn overdue_households(
    conn: &mut Conn,
    area: &Subtree,
    intervals: &Intervals,
    on: NaiveDate,
    limit: usize,
) -> Result<Vec<OverdueHousehold>, AppError> {
    // A county's or township's page is its special groups' households alone
    // (a tenth of households, most of them overdue): the page's last one,
    // found in their index's order, bounds it, so only those up to its day
    // are sorted, not every household of the area (72 ms for a county). A
    // village's few households are quicker read whole.
    let dialect = crate::store::dialect_of(conn);
    let mut cut = None;
    if area.is_wide() && limit > 0 {
        let row: Option<(Option<String>,)> = sqlx::query_as(&overdue_cut_sql(limit, intervals, on, dialect))
            .bind(area.lo())
            .bind(area.hi())
            .fetch_optional(&mut *conn)
            .await?;
        cut = row;
    }
    let bound = match &cut {
        None => "",
        Some((None,)) => " AND h.special_groups <> '[]' AND h.last_visit_on IS NULL",
        Some((Some(_),)) => " AND h.special_groups <> '[]' AND (h.last_visit_on IS NULL OR h.last_visit_on <= $3)",
    };
    // `last_visit_on` is the household's latest visit ever (kept by a trigger).
    let sql = overdue_households_sql(limit, intervals, on, bound);
    let mut query = sqlx::query_as::<_, OverdueRow>(&sql).bind(area.lo()).bind(area.hi());
    if let Some((Some(day),)) = cut {
        query = query.bind(day);
    }
    let rows: Vec<OverdueRow> = query.fetch_all(conn).await?;
    rows.into_iter().map(OverdueRow::into_household).collect()
}
