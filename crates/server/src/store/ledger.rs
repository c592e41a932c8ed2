//! The household ledger's SQL (migration 0014): changes stored once by id, each
//! household's current value per field kept as they arrive, and the lists by
//! area the coordinators read.

use chrono::NaiveDate;
use daohu_domain::{LedgerChange, LedgerEntry, LedgerField, LedgerValue, PolicyState};
use uuid::Uuid;

use crate::db::{parse_ts, parse_uuid, ts, Conn};
use crate::tree::Subtree;
use crate::AppError;

/// Stores a change unless its id is taken; whether it went in.
pub async fn insert(
    conn: &mut Conn,
    change: &LedgerChange,
    member: Uuid,
    device: Uuid,
    hash: &str,
) -> Result<bool, AppError> {
    let stored = sqlx::query(
        "INSERT INTO ledger_changes (id, household_id, field, value, at, received_at, effective_at,
                                     visit_id, member_id, device_id, content_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(change.id.to_string())
    .bind(change.household_id.to_string())
    .bind(change.field.word())
    .bind(serde_json::to_string(&serde_json::json!({ "value": change.value.word(), "since": change.value.since() }))?)
    .bind(ts(change.at))
    .bind(ts(change.received_at))
    .bind(ts(change.effective_at()))
    .bind(change.visit_id.map(|v| v.to_string()))
    .bind(member.to_string())
    .bind(device.to_string())
    .bind(hash)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

/// Makes a stored change its field's current value unless a later one (by
/// [`LedgerChange::effective_at`], then id: daohu_domain::ledger::current) holds it.
pub async fn make_current(conn: &mut Conn, change: &LedgerChange) -> Result<(), AppError> {
    let since = match &change.value {
        LedgerValue::Policy(status) => status.applying_since.map(|d| d.to_string()),
        _ => None,
    };
    sqlx::query(
        "INSERT INTO ledger_current (household_id, field, change_id, effective_at, state, applying_since, unit_path)
         SELECT $1, $2, $3, $4, $5, $6, g.path
         FROM households h JOIN units g ON g.id = h.grid_id WHERE h.id = $1
         ON CONFLICT (household_id, field) DO UPDATE SET
             change_id = excluded.change_id, effective_at = excluded.effective_at,
             state = excluded.state, applying_since = excluded.applying_since
         WHERE (excluded.effective_at, excluded.change_id) > (ledger_current.effective_at, ledger_current.change_id)",
    )
    .bind(change.household_id.to_string())
    .bind(change.field.word())
    .bind(change.id.to_string())
    .bind(ts(change.effective_at()))
    .bind(change.value.word())
    .bind(since)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: String,
    household_id: String,
    value: String,
    field: String,
    at: String,
    received_at: String,
    visit_id: Option<String>,
    by_name: String,
}

/// Reads a stored field word back (LedgerField::word).
fn parse_field(word: &str) -> Result<LedgerField, AppError> {
    LedgerField::parse(word).ok_or_else(|| AppError::internal(format!("bad stored ledger field {word:?}")))
}

/// A stored value (`{"value": word, "since": day}`) of `field`.
fn parse_value(field: &LedgerField, json: &str) -> Result<LedgerValue, AppError> {
    #[derive(serde::Deserialize)]
    struct Stored {
        value: String,
        since: Option<NaiveDate>,
    }
    let stored: Stored = serde_json::from_str(json)?;
    LedgerValue::parse(field, &stored.value, stored.since)
        .ok_or_else(|| AppError::internal(format!("bad stored ledger value {json:?}")))
}

/// Every change of one household, with who made it (in no order).
pub async fn history(conn: &mut Conn, household: Uuid) -> Result<Vec<LedgerEntry>, AppError> {
    let rows: Vec<ChangeRow> = sqlx::query_as(
        "SELECT c.id, c.household_id, c.value, c.field, c.at, c.received_at, c.visit_id, m.name AS by_name
         FROM ledger_changes c JOIN members m ON m.id = c.member_id
         WHERE c.household_id = $1",
    )
    .bind(household.to_string())
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let field = parse_field(&r.field)?;
            Ok(LedgerEntry {
                change: LedgerChange {
                    id: parse_uuid(&r.id)?,
                    household_id: parse_uuid(&r.household_id)?,
                    value: parse_value(&field, &r.value)?,
                    field,
                    at: parse_ts(&r.at)?,
                    received_at: parse_ts(&r.received_at)?,
                    visit_id: r.visit_id.as_deref().map(parse_uuid).transpose()?,
                },
                by_name: r.by_name,
            })
        })
        .collect()
}

/// Households in a gap state for a policy, under a subtree, applications first
/// (oldest first), at most `limit`: (household, head, doorplate, grid, policy
/// key, state, applying since).
pub type GapRow = (Uuid, String, String, String, String, PolicyState, Option<NaiveDate>);

#[derive(sqlx::FromRow)]
struct RawGap {
    household_id: String,
    head_name: String,
    address: String,
    grid_name: String,
    field: String,
    state: String,
    applying_since: Option<String>,
}

pub async fn gap_households(
    conn: &mut Conn,
    subtree: &Subtree,
    policy: Option<&str>,
    limit: u32,
) -> Result<Vec<GapRow>, AppError> {
    // Applications oldest first, then 应享未享 by place: each read in the state
    // index's own order (state, applying_since, unit_path, field) and stopped at
    // the page, so a county's 350,000 gaps are not all joined and sorted.
    let one = if policy.is_some() { "AND lc.field = $4" } else { "" };
    // SQLite's planner, seeing the state and the area, sorts a county's
    // matches (0.2–0.4 s at county scale, stats or none); read in the state
    // index's order, a county or township stops at its page at once, while a
    // village or grid is quickest by area. PostgreSQL chooses well alone.
    let index = match crate::store::dialect_of(conn) {
        crate::db::Dialect::Sqlite if subtree.is_wide() => "INDEXED BY ledger_current_state",
        crate::db::Dialect::Sqlite => "INDEXED BY ledger_current_area",
        _ => "",
    };
    let mut out = Vec::new();
    for state in ["applying", "entitled_not_receiving"] {
        let left = limit.saturating_sub(u32::try_from(out.len()).unwrap_or(u32::MAX));
        if left == 0 {
            break;
        }
        let query = format!(
            "SELECT lc.household_id, h.head_name, h.address, g.name AS grid_name, lc.field, lc.state, lc.applying_since
             FROM (SELECT household_id, field, state, applying_since FROM ledger_current lc {index}
                   WHERE lc.state = $3 AND lc.unit_path >= $1 AND lc.unit_path < $2
                     AND lc.field >= 'policy:' AND lc.field < 'policy;' {one}
                   ORDER BY lc.state, lc.applying_since, lc.unit_path, lc.field
                   LIMIT {left}) AS lc
             CROSS JOIN households h
             CROSS JOIN units g
             WHERE h.id = lc.household_id AND g.id = h.grid_id"
        );
        let mut q = sqlx::query_as::<_, RawGap>(&query).bind(subtree.lo()).bind(subtree.hi()).bind(state);
        if let Some(key) = policy {
            q = q.bind(format!("policy:{key}"));
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    out.into_iter()
        .map(|r| {
            Ok((
                parse_uuid(&r.household_id)?,
                r.head_name,
                r.address,
                r.grid_name,
                r.field.strip_prefix("policy:").unwrap_or(&r.field).to_string(),
                PolicyState::parse(&r.state)
                    .ok_or_else(|| AppError::internal(format!("bad stored policy state {:?}", r.state)))?,
                r.applying_since.as_deref().map(crate::visit_log::parse_date).transpose()?,
            ))
        })
        .collect()
}

/// Where the counts by state, area and field come from: the per-grid tallies
/// (migration 0017, kept by triggers; on PostgreSQL a key may have several rows
/// of changes until folded, so they are summed either way).
const COUNTED: &str = "CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM ledger_tallies";

/// [`gap_counts`]' texts (`$1`: the area's unit): 应享未享 per policy field, and
/// applications per field and first day, from the per-unit tallies (migration
/// 0026; on PostgreSQL a key may have several rows of changes until folded).
pub const GAP_COUNTS: [&str; 2] = [
    "SELECT field, CAST(SUM(n) AS BIGINT) FROM policy_tallies
     WHERE unit_id = $1 AND state = 'entitled_not_receiving'
     GROUP BY field HAVING SUM(n) <> 0",
    "SELECT field, NULLIF(since, ''), CAST(SUM(n) AS BIGINT) FROM policy_tallies
     WHERE unit_id = $1 AND state = 'applying'
     GROUP BY field, since HAVING SUM(n) <> 0",
];

/// Per policy key under a subtree: households entitled and not receiving, and
/// applications by the day they started (for each policy's own overdue limit).
pub async fn gap_counts(
    conn: &mut Conn,
    subtree: &Subtree,
) -> Result<(Vec<(String, i64)>, Vec<(String, Option<String>, i64)>), AppError> {
    let unit = subtree.unit_id().to_string();
    let entitled: Vec<(String, i64)> = sqlx::query_as(GAP_COUNTS[0]).bind(&unit).fetch_all(&mut *conn).await?;
    let applying: Vec<(String, Option<String>, i64)> = sqlx::query_as(GAP_COUNTS[1]).bind(&unit).fetch_all(conn).await?;
    Ok((entitled, applying))
}

/// The current ledger of these households (ids as text), field by field.
pub async fn now_of(conn: &mut Conn, ids: &[String]) -> Result<Vec<(Uuid, daohu_domain::LedgerNow)>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let d = super::dialect_of(conn);
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT household_id, field, state, applying_since FROM ledger_current
         WHERE household_id IN (SELECT value FROM {})",
        d.json_texts(1)
    ))
    .bind(serde_json::to_string(ids)?)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (household, field, state, since) in rows {
        let field = parse_field(&field)?;
        let since = since.as_deref().map(crate::visit_log::parse_date).transpose()?;
        if let Some(value) = LedgerValue::parse(&field, &state, since) {
            out.push((parse_uuid(&household)?, daohu_domain::LedgerNow { field, value }));
        }
    }
    Ok(out)
}

/// One household's current value of one field, as a download lists it.
#[derive(sqlx::FromRow)]
pub struct LedgerRow {
    pub household_id: String,
    pub field: String,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
    pub state: String,
    pub applying_since: Option<String>,
    pub effective_at: String,
    pub by_name: String,
}

/// Rows of `ledger_current` under a subtree after the key `after` (household id,
/// field), in that order, at most `limit`: a download reads them page by page.
pub async fn rows_page(
    conn: &mut Conn,
    subtree: &Subtree,
    after: Option<&(String, String)>,
    limit: u32,
) -> Result<Vec<LedgerRow>, AppError> {
    let (h, f) = after.cloned().unwrap_or_default();
    Ok(sqlx::query_as(&format!(
        "SELECT lc.household_id, lc.field, h.head_name, h.address, g.name AS grid_name,
                vil.name AS village_name, lc.state, lc.applying_since, lc.effective_at, m.name AS by_name
         FROM ledger_current lc
         JOIN households h ON h.id = lc.household_id
         JOIN units g ON g.id = h.grid_id
         JOIN units vil ON vil.id = g.parent_id
         JOIN ledger_changes c ON c.id = lc.change_id
         JOIN members m ON m.id = c.member_id
         WHERE lc.unit_path >= $1 AND lc.unit_path < $2
           AND (lc.household_id > $3 OR (lc.household_id = $3 AND lc.field > $4))
         ORDER BY lc.household_id, lc.field
         LIMIT {limit}"
    ))
    .bind(subtree.lo())
    .bind(subtree.hi())
    .bind(h)
    .bind(f)
    .fetch_all(conn)
    .await?)
}

/// Households under a subtree in each of `states` of one profile field
/// (`housing`, `water`): (condition word, households), the conditions with
/// none left out. One range of the state index each, so a county's safe
/// houses (most of its 245,000) are never counted row by row.
pub async fn condition_counts(
    conn: &mut Conn,
    subtree: &Subtree,
    field: &str,
    states: &[&str],
) -> Result<Vec<(String, i64)>, AppError> {
    let mut out = Vec::new();
    let source = COUNTED;
    for state in states {
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT {source} WHERE state = $3 AND unit_path >= $1 AND unit_path < $2 AND field = $4"
        ))
        .bind(subtree.lo())
        .bind(subtree.hi())
        .bind(*state)
        .bind(field)
        .fetch_one(&mut *conn)
        .await?;
        if n > 0 {
            out.push((state.to_string(), n));
        }
    }
    Ok(out)
}

/// [`recorded_counts`]' text (`$1`: the unit, `$2`/`$3`: first and last day).
pub const RECORDED_COUNTS: &str = "SELECT field, state, CAST(SUM(n) AS BIGINT) FROM ledger_days
         WHERE unit_id = $1 AND day >= $2 AND day <= $3
         GROUP BY field, state HAVING SUM(n) <> 0";

/// Under a subtree, the unsafe housing and water conditions and the 应享未享
/// pairs whose current value was recorded from day `from` to day `to` (China's
/// days, both included): (field, state, count), from the subtree's own rows of
/// `ledger_days` (migration 0024), a row per day, field and state at most.
pub async fn recorded_counts(
    conn: &mut Conn,
    subtree: &Subtree,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, i64)>, AppError> {
    Ok(sqlx::query_as(RECORDED_COUNTS).bind(subtree.unit_id()).bind(from).bind(to).fetch_all(conn).await?)
}

/// The meeting sheet's ledger rows under a subtree: policies recorded 应享未享
/// with an effective time in [`from`, `to`), and every application running:
/// (grid id, head, doorplate, field, state, applying since).
pub async fn sheet_rows(
    conn: &mut Conn,
    subtree: &Subtree,
    from: &str,
    to: &str,
) -> Result<Vec<(String, String, String, String, String, Option<String>)>, AppError> {
    let sql = "SELECT h.grid_id, h.head_name, h.address, lc.field, lc.state, lc.applying_since
         FROM ledger_current lc JOIN households h ON h.id = lc.household_id
         WHERE lc.unit_path >= $1 AND lc.unit_path < $2
           AND lc.field >= 'policy:' AND lc.field < 'policy;'
           AND ((lc.state = 'entitled_not_receiving' AND lc.effective_at >= $3 AND lc.effective_at < $4)
                OR lc.state = 'applying')
         ORDER BY h.address, lc.field";
    Ok(crate::store::rows_in_period(conn, sql, subtree, from, to).await?)
}
