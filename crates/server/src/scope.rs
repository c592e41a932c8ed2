//! Who reaches what: the one module every handler asks.
//!
//! - A member reaches the households linked to them, a grid leader every
//!   household of their grid, a volunteer no household. On volunteer activities
//!   a volunteer may also name (door and head's name only) the households of the
//!   villages of their teams ([`activity_households`]).
//! - A coordinator reaches their subtree: their unit and every unit below it,
//!   with the households and accounts attached there. The tree is stored as
//!   paths (`/<county>/<township>/<village>/<grid>/`), so "inside" is a prefix
//!   test that both databases answer from an index: the range
//!   [`Subtree::lo`]`..`[`Subtree::hi`]. The SQL itself is in [`crate::store`].
//!
//! Something outside the caller's reach answers 404, exactly like something that
//! does not exist, so existence never leaks. Something inside it that the role
//! may not act on answers 403.

use daohu_domain::{Household, Role, SpecialGroup, UnitKind, VisitSummary};
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::parse_uuid;
use crate::store::{self, households::Reach};
use crate::AppError;

/// A coordinator's subtree: their unit and everything below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subtree {
    /// The path of the subtree's top unit, ending in `/`.
    pub path: String,
}

impl Subtree {
    /// The lowest path inside: the top unit's own.
    pub fn lo(&self) -> &str {
        &self.path
    }

    /// The first path past the subtree: its path with the final `/` raised to
    /// `0`, the next byte, so `lo() <= path < hi()` holds exactly for the paths
    /// starting with `lo()` (paths compare byte by byte in both databases).
    pub fn hi(&self) -> String {
        format!("{}0", self.path.strip_suffix('/').unwrap_or(&self.path))
    }

    /// The id of the top unit: the last one in its path (ids are 36 characters).
    pub fn unit_id(&self) -> &str {
        let end = self.path.len().saturating_sub(1);
        self.path.get(end.saturating_sub(36)..end).unwrap_or_default()
    }

    /// Whether a unit with this path is inside.
    pub fn contains(&self, unit_path: &str) -> bool {
        unit_path.starts_with(&self.path)
    }
}

/// The path of a unit under a parent with path `parent` (`None` for a county).
pub fn unit_path(parent: Option<&str>, id: Uuid) -> String {
    format!("{}{id}/", parent.unwrap_or("/"))
}

/// The village (or higher unit) an account on this unit works in: a grid's village,
/// any other unit itself. Links and activities of the account stay inside it.
pub fn village_area(unit_path: &str, kind: UnitKind) -> Subtree {
    let path = if kind == UnitKind::Grid {
        // `/…/<village>/<grid>/` → `/…/<village>/`
        let inner = unit_path.trim_end_matches('/');
        inner.rsplit_once('/').map_or(inner, |(parent, _)| parent)
    } else {
        unit_path.trim_end_matches('/')
    };
    Subtree { path: format!("{path}/") }
}

/// The caller's subtree; 403 for roles that are not coordinators.
pub fn coordinator(user: &AuthUser) -> Result<Subtree, AppError> {
    if user.role.is_coordinator() {
        Ok(Subtree {
            path: user.unit_path.clone(),
        })
    } else {
        Err(AppError::forbidden("只有管理员可以这样做"))
    }
}

/// The caller's subtree when they are a county coordinator; 403 otherwise.
pub fn county_coordinator(user: &AuthUser) -> Result<Subtree, AppError> {
    if user.role == Role::CountyCoordinator {
        coordinator(user)
    } else {
        Err(AppError::forbidden("只有县级管理员可以这样做"))
    }
}

/// 403 unless the caller may create or change an account with this role.
pub fn require_manage(user: &AuthUser, role: Role) -> Result<(), AppError> {
    if user.role.can_manage(role) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "你不能管理{}账号",
            role.label_zh()
        )))
    }
}

/// A unit as stored.
#[derive(Clone, Debug)]
pub struct UnitRow {
    pub id: Uuid,
    pub kind: UnitKind,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub path: String,
}

/// A unit inside the subtree; 404 when unknown or outside.
pub async fn unit(
    conn: &mut Conn,
    subtree: &Subtree,
    id: Uuid,
) -> Result<UnitRow, AppError> {
    store::units::unit(conn, subtree, id).await
}

/// Every unit inside the subtree, in creation order.
pub async fn units(
    conn: &mut Conn,
    subtree: &Subtree,
) -> Result<Vec<UnitRow>, AppError> {
    store::units::units(conn, subtree).await
}

/// An account as stored, with its unit.
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub unit_id: Uuid,
    pub unit_kind: UnitKind,
    pub unit_path: String,
    pub disabled: bool,
}

/// An account attached inside the subtree; 404 when unknown or outside.
/// (Whether the caller may change it is [`require_manage`]'s question: 403.)
pub async fn account(
    conn: &mut Conn,
    subtree: &Subtree,
    id: Uuid,
) -> Result<AccountRow, AppError> {
    store::accounts::account(conn, subtree, id).await
}

/// The households the caller reaches: a member those linked to them, a grid leader
/// their grid, a coordinator their subtree; `None` for no household.
fn reach(user: &AuthUser) -> Option<Reach> {
    match user.role {
        Role::Member => Some(Reach::Linked(user.id)),
        Role::GridLeader => user.grid_id().map(Reach::Grid),
        Role::Volunteer => None,
        Role::VillageCoordinator | Role::TownshipCoordinator | Role::CountyCoordinator => {
            Some(Reach::Subtree(Subtree { path: user.unit_path.clone() }))
        }
    }
}

/// The caller's reach over households for volunteer activities: members and grid
/// leaders the households of their visit roster; volunteers every household of the
/// villages their teams belong to (a team of a township names no households);
/// nobody else any.
fn activity_reach(user: &AuthUser) -> Option<Reach> {
    match user.role {
        Role::Member | Role::GridLeader => reach(user),
        Role::Volunteer => Some(Reach::TeamVillages(user.id)),
        _ => None,
    }
}

/// The households the caller can name as served on an activity, door and name only
/// (see [`activity_reach`]), in roster order.
pub async fn activity_households(
    conn: &mut Conn,
    user: &AuthUser,
) -> Result<Vec<daohu_domain::ServedHousehold>, AppError> {
    match activity_reach(user) {
        Some(reach) => store::households::served(conn, &reach).await,
        None => Ok(Vec::new()),
    }
}

/// Whether the caller can name this household on an activity (false when unknown).
pub async fn activity_reaches(
    conn: &mut Conn,
    user: &AuthUser,
    household: Uuid,
) -> Result<bool, AppError> {
    match activity_reach(user) {
        Some(reach) => store::households::reaches(conn, &reach, household).await,
        None => Ok(false),
    }
}

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

/// The households on the caller's phone roster, in roster order: linked ones for a
/// member, the grid for a grid leader, none for anyone else (coordinators use the
/// household list of the console instead).
pub async fn roster_households(
    conn: &mut Conn,
    user: &AuthUser,
) -> Result<Vec<Household>, AppError> {
    if !user.role.records_visits() {
        return Ok(Vec::new());
    }
    match reach(user) {
        Some(reach) => store::households::reached(conn, &reach).await,
        None => Ok(Vec::new()),
    }
}

/// Whether the caller reaches this household (false too when it does not exist).
pub async fn reaches(
    conn: &mut Conn,
    user: &AuthUser,
    household: Uuid,
) -> Result<bool, AppError> {
    match reach(user) {
        Some(reach) => store::households::reaches(conn, &reach, household).await,
        None => Ok(false),
    }
}

/// A household inside the subtree; 404 when unknown or outside.
pub async fn household_in(
    conn: &mut Conn,
    subtree: &Subtree,
    household: Uuid,
) -> Result<(), AppError> {
    if store::households::in_subtree(conn, subtree, household).await? {
        Ok(())
    } else {
        Err(AppError::not_found())
    }
}

/// Visits of the households the caller reaches (or of one of them), newest first,
/// each paired with its household id. (The roster asks only for roles that visit.)
pub async fn history(
    conn: &mut Conn,
    user: &AuthUser,
    only: Option<Uuid>,
) -> Result<Vec<(Uuid, VisitSummary)>, AppError> {
    match reach(user) {
        Some(reach) => store::households::history(conn, &reach, only).await,
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_nest() {
        let county = Uuid::from_u128(1);
        let village = Uuid::from_u128(2);
        let c = unit_path(None, county);
        let v = unit_path(Some(&c), village);
        assert_eq!(c, format!("/{county}/"));
        assert!(v.starts_with(&c) && v.ends_with(&format!("{village}/")));
        let s = Subtree { path: c.clone() };
        assert!(s.contains(&v) && s.contains(&c));
        assert_eq!(s.unit_id(), county.to_string());
        assert_eq!(Subtree { path: v.clone() }.unit_id(), village.to_string());
        assert!(!Subtree { path: v.clone() }.contains(&c));
        let g = unit_path(Some(&v), Uuid::from_u128(3));
        assert_eq!(village_area(&g, UnitKind::Grid).path, v);
        assert_eq!(village_area(&v, UnitKind::Village).path, v);
    }

    #[test]
    fn range_holds_exactly_the_subtree() {
        let c = unit_path(None, Uuid::from_u128(1));
        let v = unit_path(Some(&c), Uuid::from_u128(2));
        let s = Subtree { path: v.clone() };
        let inside = |p: &str| s.lo() <= p && p < s.hi().as_str();
        assert!(inside(&v) && inside(&unit_path(Some(&v), Uuid::from_u128(3))));
        // The parent, a sibling, and a path that only shares the id's text.
        assert!(!inside(&c) && !inside(&unit_path(Some(&c), Uuid::from_u128(4))));
        assert!(!inside(v.trim_end_matches('/')) && !inside(&format!("{}-x/", v.trim_end_matches('/'))));
        assert!(!inside(&format!("{}0", v.trim_end_matches('/'))));
    }
}
