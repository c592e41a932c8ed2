//! Matchups (产业对接, migration 0019): a household's need answered with a help
//! resource; rows are only added. And the households of an area with needs,
//! read from the ledger's current values (field `needs`).

use chrono::{DateTime, Utc};
use daohu_domain::{ItemList, MatchOutcome, Matchup, MatchupRecord, Need, NewMatchup};
use uuid::Uuid;

use crate::db::{parse_ts, parse_uuid, ts, Conn};
use crate::tree::Subtree;
use crate::AppError;

/// Stores a matchup made by `by`, with the resource's name and contact as the
/// catalogue has them now. False when its id is stored already (a retry).
pub async fn insert(
    conn: &mut Conn,
    m: &NewMatchup,
    resource_name: &str,
    contact: &str,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<bool, AppError> {
    let stored = sqlx::query(
        "INSERT INTO matchups (id, household_id, need, list, resource, resource_name, contact, matched_on,
                               outcome, note, made_by, made_at, n)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                COALESCE((SELECT MAX(n) FROM matchups WHERE household_id = $2), 0) + 1
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(m.id.to_string())
    .bind(m.household_id.to_string())
    .bind(m.need.as_str())
    .bind(m.list.as_str())
    .bind(&m.resource)
    .bind(resource_name)
    .bind(contact)
    .bind(m.on.to_string())
    .bind(m.outcome.as_str())
    .bind(&m.note)
    .bind(by.to_string())
    .bind(ts(at))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

/// A matchup's columns as [`RawMatchup`] reads them (`m`: matchups, `mb`: its maker).
const RECORD: &str = "m.id, m.household_id, m.need, m.list, m.resource, m.resource_name, m.contact, m.matched_on,
                      m.outcome, m.note, mb.name AS made_by_name, m.made_at";

#[derive(sqlx::FromRow)]
struct RawMatchup {
    id: String,
    household_id: String,
    need: String,
    list: String,
    resource: String,
    resource_name: String,
    contact: String,
    matched_on: String,
    outcome: String,
    note: String,
    made_by_name: String,
    made_at: String,
}

impl RawMatchup {
    fn record(self) -> Result<MatchupRecord, AppError> {
        let bad = |what: &str, v: &str| AppError::internal(format!("bad stored matchup {what} {v:?}"));
        Ok(MatchupRecord {
            id: parse_uuid(&self.id)?,
            household_id: parse_uuid(&self.household_id)?,
            list: ItemList::parse(&self.list).ok_or_else(|| bad("list", &self.list))?,
            resource: self.resource,
            matchup: Matchup {
                need: Need::parse(&self.need).ok_or_else(|| bad("need", &self.need))?,
                resource_name: self.resource_name,
                contact: self.contact,
                on: crate::visit_log::parse_date(&self.matched_on)?,
                outcome: MatchOutcome::parse(&self.outcome).ok_or_else(|| bad("outcome", &self.outcome))?,
                note: self.note,
            },
            made_by_name: self.made_by_name,
            made_at: parse_ts(&self.made_at)?,
        })
    }
}

/// A matchup with its household's place, for the download's 产业对接 sheet.
#[derive(sqlx::FromRow)]
pub struct PlacedMatchup {
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
    #[sqlx(flatten)]
    raw: RawMatchup,
}

impl PlacedMatchup {
    pub fn record(self) -> Result<MatchupRecord, AppError> {
        self.raw.record()
    }
}

/// Every matchup of the households under a subtree, by grid, doorplate and order made.
pub async fn in_area(conn: &mut Conn, area: &Subtree) -> Result<Vec<PlacedMatchup>, AppError> {
    Ok(sqlx::query_as(
        &format!("SELECT h.head_name, h.address, g.name AS grid_name, v.name AS village_name, {RECORD}
         FROM matchups m
         JOIN households h ON h.id = m.household_id
         JOIN units g ON g.id = h.grid_id
         JOIN units v ON v.id = g.parent_id
         JOIN members mb ON mb.id = m.made_by
         WHERE g.path >= $1 AND g.path < $2
         ORDER BY g.path, h.address, m.household_id, m.n"),
    )
    .bind(area.lo())
    .bind(area.hi())
    .fetch_all(conn)
    .await?)
}

/// Every matchup of these households (ids as text), each household's in the order made.
pub async fn of_households(conn: &mut Conn, ids: &[String]) -> Result<Vec<MatchupRecord>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let d = super::dialect_of(conn);
    let rows: Vec<RawMatchup> = sqlx::query_as(&format!(
        "SELECT {RECORD}
         FROM matchups m JOIN members mb ON mb.id = m.made_by
         WHERE m.household_id IN (SELECT value FROM {})
         ORDER BY m.household_id, m.n",
        d.json_texts(1)
    ))
    .bind(serde_json::to_string(ids)?)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(RawMatchup::record).collect()
}

/// [`unmatched_counts`]' text (`$1`/`$2`: the subtree, `$3`/`$4`: the
/// period's first and last day), read from the index by place, need and day
/// (migration 0024; SQLite is told to).
pub fn unmatched_counts_sql(dialect: crate::db::Dialect) -> String {
    let index = if dialect == crate::db::Dialect::Sqlite { "INDEXED BY unmatched_needs_place_day" } else { "" };
    format!(
        "SELECT need, CAST(COUNT(*) AS BIGINT), CAST(SUM(CASE WHEN day >= $3 AND day <= $4 THEN 1 ELSE 0 END) AS BIGINT)
         FROM unmatched_needs {index}
         WHERE unit_path >= $1 AND unit_path < $2 GROUP BY need"
    )
}

/// Per need, the households under a subtree with it unmatched: recorded in
/// their needs (`ledger_current`), and no matchup of it, or a latest one that
/// failed ([`daohu_domain::livelihood::unmatched`]), as kept by migration
/// 0021's triggers in `unmatched_needs`, so a county's households with needs
/// are not all read); and of those, the ones whose needs were recorded from
/// day `from` to day `to` (China's days, both included: the day each row
/// carries, migration 0024). (need, now, recorded in the period).
pub async fn unmatched_counts(conn: &mut Conn, area: &Subtree, from: &str, to: &str) -> Result<Vec<(String, i64, i64)>, AppError> {
    let sql = unmatched_counts_sql(crate::store::dialect_of(conn));
    Ok(crate::store::rows_in_period(conn, &sql, area, from, to).await?)
}

/// Every matchup of the households with needs under a subtree, each household's in the order made.
pub async fn of_needs_in(conn: &mut Conn, area: &Subtree) -> Result<Vec<MatchupRecord>, AppError> {
    let rows: Vec<RawMatchup> = sqlx::query_as(&format!(
        "SELECT {RECORD}
         FROM ledger_current lc
         JOIN matchups m ON m.household_id = lc.household_id
         JOIN members mb ON mb.id = m.made_by
         WHERE lc.field = 'needs' AND lc.unit_path >= $1 AND lc.unit_path < $2
         ORDER BY m.household_id, m.n"
    ))
    .bind(area.lo())
    .bind(area.hi())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(RawMatchup::record).collect()
}

/// A household of an area whose needs are recorded (not `none`), with where it
/// is and what it lives from (the words of its `needs` and `livelihood` values).
#[derive(sqlx::FromRow)]
pub struct NeedRow {
    pub household_id: String,
    pub grid_id: String,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
    pub needs: String,
    pub livelihood: Option<String>,
}

/// The households under a subtree with needs recorded, by grid and doorplate.
pub async fn needs_in(conn: &mut Conn, area: &Subtree) -> Result<Vec<NeedRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT lc.household_id, h.grid_id, h.head_name, h.address, g.name AS grid_name, v.name AS village_name,
                lc.state AS needs,
                (SELECT l2.state FROM ledger_current l2
                 WHERE l2.household_id = lc.household_id AND l2.field = 'livelihood') AS livelihood
         FROM ledger_current lc
         JOIN households h ON h.id = lc.household_id
         JOIN units g ON g.id = h.grid_id
         JOIN units v ON v.id = g.parent_id
         WHERE lc.field = 'needs' AND lc.state <> 'none' AND lc.unit_path >= $1 AND lc.unit_path < $2
         ORDER BY lc.unit_path, h.address",
    )
    .bind(area.lo())
    .bind(area.hi())
    .fetch_all(conn)
    .await?)
}
