//! Which households a caller may see and record visits for, and their visit history.
//!
//! One rule for the roster, the history endpoint and the upload: a member sees
//! the households linked to them, a grid leader every household of their grid,
//! everyone else nothing (yet).

use daohu_domain::{Household, Role, SpecialGroup, Visit, VisitSummary};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::{parse_ts, parse_uuid};
use crate::AppError;

/// The caller's reach, as a SQL condition on `households h` with one bound value.
enum Scope {
    Linked(String),
    Grid(String),
    Nothing,
}

impl Scope {
    fn of(user: &AuthUser) -> Scope {
        match (user.role, user.grid_id) {
            (Role::Member, _) => Scope::Linked(user.id.to_string()),
            (Role::GridLeader, Some(grid)) => Scope::Grid(grid.to_string()),
            _ => Scope::Nothing,
        }
    }

    /// The condition and its value; `None` when the caller reaches no household.
    fn condition(&self) -> Option<(&'static str, &str)> {
        match self {
            Scope::Linked(member) => Some((
                "h.id IN (SELECT household_id FROM member_households WHERE member_id = ?)",
                member,
            )),
            Scope::Grid(grid) => Some(("h.grid_id = ?", grid)),
            Scope::Nothing => None,
        }
    }
}

#[derive(sqlx::FromRow)]
struct HouseholdRow {
    id: String,
    grid_id: String,
    grid_name: String,
    head_name: String,
    address: String,
    people: i64,
    phone: Option<String>,
    special_groups: String,
}

impl HouseholdRow {
    fn into_household(self) -> Result<Household, AppError> {
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

/// The households the caller reaches, in roster order.
pub async fn households(
    conn: &mut SqliteConnection,
    user: &AuthUser,
) -> Result<Vec<Household>, AppError> {
    let scope = Scope::of(user);
    let Some((condition, value)) = scope.condition() else {
        return Ok(Vec::new());
    };
    let rows: Vec<HouseholdRow> = sqlx::query_as(&format!(
        "SELECT h.id, h.grid_id, g.name AS grid_name, h.head_name, h.address, h.people,
                h.phone, h.special_groups
         FROM households h JOIN grids g ON g.id = h.grid_id
         WHERE {condition}
         ORDER BY g.rowid, h.rowid"
    ))
    .bind(value)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(HouseholdRow::into_household).collect()
}

/// Whether the caller reaches this household (false too when it does not exist).
pub async fn reaches(
    conn: &mut SqliteConnection,
    user: &AuthUser,
    household: Uuid,
) -> Result<bool, AppError> {
    let scope = Scope::of(user);
    let Some((condition, value)) = scope.condition() else {
        return Ok(false);
    };
    let found: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT 1 FROM households h WHERE {condition} AND h.id = ?"
    ))
    .bind(value)
    .bind(household.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    household_id: String,
    received_at: String,
    body: String,
    member_name: String,
}

/// Visits of the households the caller reaches (or of one of them), newest first,
/// each paired with its household id.
pub async fn history(
    conn: &mut SqliteConnection,
    user: &AuthUser,
    only: Option<Uuid>,
) -> Result<Vec<(Uuid, VisitSummary)>, AppError> {
    let scope = Scope::of(user);
    let Some((condition, value)) = scope.condition() else {
        return Ok(Vec::new());
    };
    let only_clause = if only.is_some() {
        "AND v.household_id = ?"
    } else {
        ""
    };
    let sql = format!(
        "SELECT v.household_id, v.received_at, v.body, m.name AS member_name
         FROM visits v
         JOIN households h ON h.id = v.household_id
         JOIN members m ON m.id = v.member_id
         WHERE {condition} {only_clause}
         ORDER BY v.visited_on DESC, v.recorded_at DESC, v.id DESC"
    );
    let mut query = sqlx::query_as::<_, SummaryRow>(&sql).bind(value);
    if let Some(household) = only {
        query = query.bind(household.to_string());
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter()
        .map(|row| {
            let visit: Visit = serde_json::from_str(&row.body)?;
            let summary = VisitSummary {
                id: visit.id,
                visited_on: visit.visited_on,
                member_name: row.member_name,
                sections: visit.sections.iter().map(|s| (s.kind, s.state)).collect(),
                problem_count: u32::try_from(visit.problems.len()).unwrap_or(u32::MAX),
                received_at: parse_ts(&row.received_at)?,
            };
            Ok((parse_uuid(&row.household_id)?, summary))
        })
        .collect()
}
