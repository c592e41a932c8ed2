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

use daohu_domain::{Household, Role, VisitSummary};
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::store::{self, households::Reach};
pub use crate::store::accounts::AccountRow;
pub use crate::store::households::{household_in_subtree, HouseholdRow, HOUSEHOLD_COLUMNS};
pub use crate::store::units::UnitRow;
use crate::AppError;

pub use crate::tree::{unit_path, village_area, Subtree};

/// Reason given for a household the caller does not look after (a visit, a
/// ledger change).
pub const OUT_OF_SCOPE_REASON: &str = "这户不在你的联系范围内";

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

