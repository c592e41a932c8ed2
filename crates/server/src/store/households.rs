//! Households: who reaches which, the coordinators' list and moves, the visit
//! history of reached households, and the writes of a roster import.

use std::collections::HashMap;

use chrono::NaiveDate;
use daohu_domain::{
    AdminHousehold, Household, LinkedMember, RosterRow, ServedHousehold, SpecialGroup, Visit, VisitSummary,
};
use uuid::Uuid;

use crate::db::{parse_ts, parse_uuid, Conn};
use crate::tree::Subtree;
use crate::AppError;
use super::like_pattern;

/// The SQL condition on `households h` for "inside the subtree", with the subtree's
/// [`lo`](Subtree::lo) and [`hi`](Subtree::hi) bound as parameters `n` and `n + 1`.
pub fn household_in_subtree(n: usize) -> String {
    format!("h.grid_id IN (SELECT id FROM units WHERE path >= ${n} AND path < ${})", n + 1)
}

/// A household as read from `households h JOIN units g ON g.id = h.grid_id`.
#[derive(sqlx::FromRow)]
pub struct HouseholdRow {
    pub id: String,
    pub grid_id: String,
    pub grid_name: String,
    pub head_name: String,
    pub address: String,
    pub people: i64,
    pub phone: Option<String>,
    pub special_groups: String,
}

/// The columns of [`HouseholdRow`].
pub const HOUSEHOLD_COLUMNS: &str = "h.id, h.grid_id, g.name AS grid_name, h.head_name, h.address,
    h.people, h.phone, h.special_groups";

impl HouseholdRow {
    pub fn into_household(self) -> Result<Household, AppError> {
        let special_groups: Vec<SpecialGroup> = serde_json::from_str(&self.special_groups)?;
        Ok(Household {
            id: parse_uuid(&self.id)?,
            grid_id: parse_uuid(&self.grid_id)?,
            grid_name: self.grid_name,
            head_name: self.head_name,
            address: self.address,
            people: u16::try_from(self.people).unwrap_or(u16::MAX),
            phone: self.phone,
            special_groups,
        })
    }
}

/// Most households one list answers.
pub const MAX_LIST: usize = 5_000;

/// A set of households someone reaches, as a condition on `households h`.
#[derive(Clone, Debug)]
pub enum Reach {
    /// The households linked to this member.
    Linked(Uuid),
    /// The households of this grid.
    Grid(Uuid),
    /// The households inside this subtree.
    Subtree(Subtree),
    /// The households of the villages this volunteer's teams belong to (a team of a
    /// township names none).
    TeamVillages(Uuid),
}

impl Reach {
    /// The condition, its parameters numbered from `n` (as many as [`values`](Self::values)).
    fn condition(&self, n: usize) -> String {
        match self {
            Reach::Linked(_) => format!("h.id IN (SELECT household_id FROM member_households WHERE member_id = ${n})"),
            Reach::Grid(_) => format!("h.grid_id = ${n}"),
            Reach::Subtree(_) => household_in_subtree(n),
            Reach::TeamVillages(_) => format!(
                "h.grid_id IN (SELECT g.id FROM team_members tm
                 JOIN teams t ON t.id = tm.team_id
                 JOIN units tu ON tu.id = t.unit_id AND tu.kind = 'village'
                 JOIN units g ON g.parent_id = tu.id
                 WHERE tm.member_id = ${n})"
            ),
        }
    }

    /// The values the condition binds, in order.
    fn values(&self) -> Vec<String> {
        match self {
            Reach::Linked(id) | Reach::Grid(id) | Reach::TeamVillages(id) => vec![id.to_string()],
            Reach::Subtree(s) => vec![s.lo().to_string(), s.hi()],
        }
    }
}

/// The reached households, door and name only, in roster order.
pub async fn served(conn: &mut Conn, reach: &Reach) -> Result<Vec<ServedHousehold>, AppError> {
    let sql = format!(
        "SELECT h.id, h.head_name, h.address
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE {}
         ORDER BY g.rowid, h.rowid",
        reach.condition(1)
    );
    let mut query = sqlx::query_as::<_, (String, String, String)>(&sql);
    for v in reach.values() {
        query = query.bind(v);
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter()
        .map(|(id, head_name, address)| Ok(ServedHousehold { id: parse_uuid(&id)?, head_name, address }))
        .collect()
}

/// The reached households in full, in roster order.
pub async fn reached(conn: &mut Conn, reach: &Reach) -> Result<Vec<Household>, AppError> {
    let sql = format!(
        "SELECT {HOUSEHOLD_COLUMNS}
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE {}
         ORDER BY g.rowid, h.rowid",
        reach.condition(1)
    );
    let mut query = sqlx::query_as::<_, HouseholdRow>(&sql);
    for v in reach.values() {
        query = query.bind(v);
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter().map(HouseholdRow::into_household).collect()
}

/// Whether `household` is one of the reached ones (false when unknown).
pub async fn reaches(conn: &mut Conn, reach: &Reach, household: Uuid) -> Result<bool, AppError> {
    let values = reach.values();
    let sql = format!(
        "SELECT 1 FROM households h WHERE {} AND h.id = ${}",
        reach.condition(1),
        values.len() + 1
    );
    let mut query = sqlx::query_scalar::<_, i64>(&sql);
    for v in values {
        query = query.bind(v);
    }
    let found = query.bind(household.to_string()).fetch_optional(conn).await?;
    Ok(found.is_some())
}

/// Whether the household lies inside the subtree (false when unknown).
pub async fn in_subtree(conn: &mut Conn, subtree: &Subtree, household: Uuid) -> Result<bool, AppError> {
    reaches(conn, &Reach::Subtree(subtree.clone()), household).await
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    household_id: String,
    received_at: String,
    body: String,
    member_name: String,
}

/// Visits of the reached households (or of one of them), newest first, each paired
/// with its household id.
pub async fn history(
    conn: &mut Conn,
    reach: &Reach,
    only: Option<Uuid>,
) -> Result<Vec<(Uuid, VisitSummary)>, AppError> {
    let values = reach.values();
    let only_clause = if only.is_some() {
        format!("AND v.household_id = ${}", values.len() + 1)
    } else {
        String::new()
    };
    let sql = format!(
        "SELECT v.household_id, v.received_at, v.body, m.name AS member_name
         FROM visits v
         JOIN households h ON h.id = v.household_id
         JOIN members m ON m.id = v.member_id
         WHERE {} {only_clause}
         ORDER BY v.visited_on DESC, v.recorded_at DESC, v.id DESC",
        reach.condition(1)
    );
    let mut query = sqlx::query_as::<_, SummaryRow>(&sql);
    for v in values {
        query = query.bind(v);
    }
    if let Some(household) = only {
        query = query.bind(household.to_string());
    }
    let rows = query.fetch_all(conn).await?;
    // Rows come newest first: a household's first row is its latest visit, the
    // one whose notes the next visit shows.
    let mut seen = std::collections::HashSet::new();
    rows.into_iter()
        .map(|row| {
            let visit: Visit = serde_json::from_str(&row.body)?;
            let latest = seen.insert(row.household_id.clone());
            let summary = VisitSummary {
                id: visit.id,
                visited_on: visit.visited_on,
                member_name: row.member_name,
                sections: visit.sections.iter().map(|s| (s.kind, s.state)).collect(),
                problem_count: u32::try_from(visit.problems.len()).unwrap_or(u32::MAX),
                received_at: parse_ts(&row.received_at)?,
                notes: if latest {
                    visit.sections.iter().filter(|s| !s.notes.trim().is_empty()).map(|s| (s.kind, s.notes.clone())).collect()
                } else {
                    Vec::new()
                },
            };
            Ok((parse_uuid(&row.household_id)?, summary))
        })
        .collect()
}

/// Which households of the subtree to load.
pub enum Filter<'a> {
    /// Under a unit (its own subtree), optionally matching text in head name or address.
    Under { unit: Subtree, q: Option<&'a str> },
    /// Linked to this account.
    LinkedTo(Uuid),
    /// Just this one.
    One(Uuid),
}

#[derive(sqlx::FromRow)]
struct AdminRow {
    #[sqlx(flatten)]
    household: HouseholdRow,
    village_id: String,
    last_visit_on: Option<String>,
}

/// Households of the subtree with their linked members (only those attached inside
/// the subtree: names from elsewhere never leak) and last visit; at most [`MAX_LIST`].
pub async fn load(
    conn: &mut Conn,
    subtree: &Subtree,
    filter: Filter<'_>,
) -> Result<Vec<AdminHousehold>, AppError> {
    let d = super::dialect_of(conn);
    // The subtree takes $1 and $2; the filter's values follow.
    let (condition, binds): (&str, Vec<String>) = match &filter {
        Filter::Under { unit, q: None } => ("g.path >= $3 AND g.path < $4", vec![unit.lo().to_string(), unit.hi()]),
        Filter::Under { unit, q: Some(q) } => (
            "g.path >= $3 AND g.path < $4 AND (h.head_name LIKE $5 ESCAPE '\\' OR h.address LIKE $6 ESCAPE '\\')",
            vec![unit.lo().to_string(), unit.hi(), like_pattern(q), like_pattern(q)],
        ),
        Filter::LinkedTo(member) => (
            "h.id IN (SELECT household_id FROM member_households WHERE member_id = $3)",
            vec![member.to_string()],
        ),
        Filter::One(id) => ("h.id = $3", vec![id.to_string()]),
    };
    let sql = format!(
        "SELECT {HOUSEHOLD_COLUMNS}, g.parent_id AS village_id,
                (SELECT MAX(v.visited_on) FROM visits v WHERE v.household_id = h.id) AS last_visit_on
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE g.path >= $1 AND g.path < $2 AND {condition}
         ORDER BY g.rowid, h.rowid
         LIMIT {MAX_LIST}"
    );
    let mut query = sqlx::query_as::<_, AdminRow>(&sql).bind(subtree.lo()).bind(subtree.hi());
    for b in &binds {
        query = query.bind(b);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.household.id.as_str()).collect();
    let sql = format!(
        "SELECT mh.household_id, m.id, m.name
         FROM member_households mh
         JOIN members m ON m.id = mh.member_id
         JOIN units mu ON mu.id = m.unit_id
         WHERE mu.path >= $1 AND mu.path < $2 AND mh.household_id IN (SELECT value FROM {})
         ORDER BY m.rowid",
        d.json_texts(3)
    );
    let links: Vec<(String, String, String)> = sqlx::query_as(&sql)
        .bind(subtree.lo())
        .bind(subtree.hi())
        .bind(serde_json::to_string(&ids)?)
        .fetch_all(&mut *conn)
        .await?;
    let mut members: HashMap<String, Vec<LinkedMember>> = HashMap::new();
    for (household, id, name) in links {
        members.entry(household).or_default().push(LinkedMember {
            id: parse_uuid(&id)?,
            name,
        });
    }
    rows.into_iter()
        .map(|row| {
            let members = members.remove(&row.household.id).unwrap_or_default();
            let last_visit_on = row
                .last_visit_on
                .as_deref()
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|e| AppError::internal(format!("bad stored date {d:?}: {e}")))
                })
                .transpose()?;
            Ok(AdminHousehold {
                village_id: parse_uuid(&row.village_id)?,
                household: row.household.into_household()?,
                members,
                last_visit_on,
            })
        })
        .collect()
}

/// How many of these households (ids, each once) lie inside the subtree.
pub async fn count_in_subtree(conn: &mut Conn, subtree: &Subtree, ids: &[String]) -> Result<i64, AppError> {
    let d = super::dialect_of(conn);
    let sql = format!(
        "SELECT COUNT(*) FROM households h
         WHERE {} AND h.id IN (SELECT value FROM {})",
        household_in_subtree(1),
        d.json_texts(3)
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(subtree.lo())
        .bind(subtree.hi())
        .bind(serde_json::to_string(ids)?)
        .fetch_one(conn)
        .await?)
}

/// The households of each grid of the subtree that has any: (grid id, count).
pub async fn counts_by_grid(conn: &mut Conn, subtree: &Subtree) -> Result<Vec<(String, i64)>, AppError> {
    let sql = format!(
        "SELECT h.grid_id, COUNT(*) FROM households h WHERE {} GROUP BY h.grid_id",
        household_in_subtree(1)
    );
    Ok(sqlx::query_as(&sql)
        .bind(subtree.lo())
        .bind(subtree.hi())
        .fetch_all(conn)
        .await?)
}

/// PostgreSQL: locks the rows of these households (those that exist) until the
/// transaction ends, in the order of their ids. Storing a visit locks its
/// household (migration 0011); a batch that locks all of its households first,
/// in one order for every batch, cannot deadlock with another. Nothing on
/// SQLite, whose write transaction is the only one.
pub async fn lock(conn: &mut Conn, ids: &[Uuid]) -> Result<(), AppError> {
    if super::dialect_of(conn) != crate::db::Dialect::Postgres {
        return Ok(());
    }
    let mut ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    ids.sort_unstable();
    ids.dedup();
    // Chunks in order keep the order across them.
    for chunk in ids.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id FROM households WHERE id IN ({}) ORDER BY id FOR NO KEY UPDATE",
            marks.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.as_str());
        }
        query.fetch_all(&mut *conn).await?;
    }
    Ok(())
}

/// The path of the household's grid (none for no such household): where the
/// catalogue's local entries that apply to it are found.
pub async fn path_of(conn: &mut Conn, id: Uuid) -> Result<Option<String>, AppError> {
    Ok(sqlx::query_scalar("SELECT g.path FROM households h JOIN units g ON g.id = h.grid_id WHERE h.id = $1")
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?)
}

/// The household's grid (the household must exist).
pub async fn grid_of(conn: &mut Conn, id: Uuid) -> Result<String, AppError> {
    Ok(sqlx::query_scalar("SELECT grid_id FROM households WHERE id = $1")
        .bind(id.to_string())
        .fetch_one(conn)
        .await?)
}

/// Moves the household to another grid.
pub async fn set_grid(conn: &mut Conn, id: Uuid, grid: Uuid) -> Result<(), AppError> {
    sqlx::query("UPDATE households SET grid_id = $1 WHERE id = $2")
        .bind(grid.to_string())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// A household of a village as a roster import compares it.
pub struct VillageHousehold {
    pub id: String,
    pub grid_id: String,
    pub address: String,
    pub head_name: String,
    pub people: i64,
    pub phone: Option<String>,
    /// The stored JSON array.
    pub special_groups: String,
}

/// The households of every grid of a village, in creation order.
pub async fn of_village(conn: &mut Conn, village: Uuid) -> Result<Vec<VillageHousehold>, AppError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(String, String, String, String, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT h.id, h.grid_id, h.address, h.head_name, h.people, h.phone, h.special_groups
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE g.parent_id = $1
         ORDER BY h.rowid",
    )
    .bind(village.to_string())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, grid_id, address, head_name, people, phone, special_groups)| VillageHousehold {
            id,
            grid_id,
            address,
            head_name,
            people,
            phone,
            special_groups,
        })
        .collect())
}

/// New households per INSERT statement (7 values each, far below SQLite's 32,766).
const INSERT_CHUNK: usize = 100;

/// Stores new households `(id, grid, row)` as multi-row INSERTs of [`INSERT_CHUNK`]
/// rows (sqlx keeps each statement prepared, so it is parsed once per import).
pub async fn insert_many(conn: &mut Conn, adds: &[(Uuid, Uuid, &RosterRow)]) -> Result<(), AppError> {
    for chunk in adds.chunks(INSERT_CHUNK) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 7;
                format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7)
            })
            .collect();
        let sql = format!(
            "INSERT INTO households (id, grid_id, head_name, address, people, phone, special_groups) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (id, grid_id, row) in chunk {
            query = query
                .bind(id.to_string())
                .bind(grid_id.to_string())
                .bind(&row.head_name)
                .bind(&row.address)
                .bind(i64::from(row.people))
                .bind(&row.phone)
                .bind(serde_json::to_string(&row.special_groups)?);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Rewrites a household's grid, head, people, phone and special groups.
pub async fn update(
    conn: &mut Conn,
    id: Uuid,
    grid_id: Uuid,
    head_name: &str,
    people: u16,
    phone: Option<&str>,
    special_groups: &[SpecialGroup],
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE households SET grid_id = $1, head_name = $2, people = $3, phone = $4, special_groups = $5
         WHERE id = $6",
    )
    .bind(grid_id.to_string())
    .bind(head_name)
    .bind(i64::from(people))
    .bind(phone)
    .bind(serde_json::to_string(special_groups)?)
    .bind(id.to_string())
    .execute(conn)
    .await?;
    Ok(())
}
