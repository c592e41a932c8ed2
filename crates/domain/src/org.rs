//! The organisation: county → township → village → grid, the accounts in it,
//! links between members and households, and phone enrolment.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::Role;
// Defined with the accounts, where problems (which name their raiser) can reach it
// without depending on the organisation.
pub use crate::auth::LinkedMember;
use crate::household::Household;

named_enum! {
    /// A level of the organisation tree.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum UnitKind {
        County = "county",
        Township = "township",
        Village = "village",
        Grid = "grid",
    }
}

impl UnitKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            UnitKind::County => "县",
            UnitKind::Township => "乡镇",
            UnitKind::Village => "村(社区)",
            UnitKind::Grid => "网格",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            UnitKind::County => "County",
            UnitKind::Township => "Township",
            UnitKind::Village => "Village",
            UnitKind::Grid => "Grid",
        }
    }

    /// The kind of unit directly below this one.
    pub fn child(self) -> Option<UnitKind> {
        match self {
            UnitKind::County => Some(UnitKind::Township),
            UnitKind::Township => Some(UnitKind::Village),
            UnitKind::Village => Some(UnitKind::Grid),
            UnitKind::Grid => None,
        }
    }
}

impl Role {
    /// The kind of unit an account with this role is attached to.
    pub fn unit_kind(self) -> UnitKind {
        match self {
            Role::Member | Role::GridLeader => UnitKind::Grid,
            Role::Volunteer | Role::VillageCoordinator => UnitKind::Village,
            Role::TownshipCoordinator => UnitKind::Township,
            Role::CountyCoordinator => UnitKind::County,
        }
    }

    pub fn is_coordinator(self) -> bool {
        matches!(
            self,
            Role::VillageCoordinator | Role::TownshipCoordinator | Role::CountyCoordinator
        )
    }

    /// Whether an account with this role may create or change an account with `other`.
    /// Coordinators manage every role strictly below their own level.
    pub fn can_manage(self, other: Role) -> bool {
        let rank = |r: Role| match r {
            Role::Member | Role::GridLeader | Role::Volunteer => 0,
            Role::VillageCoordinator => 1,
            Role::TownshipCoordinator => 2,
            Role::CountyCoordinator => 3,
        };
        self.is_coordinator() && rank(other) < rank(self)
    }
}

/// One unit of the tree, with counts for the console.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgUnit {
    pub id: Uuid,
    pub kind: UnitKind,
    pub name: String,
    pub parent_id: Option<Uuid>,
    /// Households in this unit and below.
    pub households: u32,
    /// Accounts attached to this unit and below.
    pub accounts: u32,
    /// This unit's coordinators require a PIN on every phone here and below.
    #[serde(default)]
    pub pin_required: bool,
}

/// The caller's part of the tree, parents before children.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgTree {
    pub units: Vec<OrgUnit>,
}

/// A new township, village or grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    pub kind: UnitKind,
    pub name: String,
    pub parent_id: Uuid,
}

/// An account as coordinators see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub unit_id: Uuid,
    pub unit_name: String,
    pub disabled: bool,
    /// Households linked to this account (members).
    pub households: u32,
}

/// A new account, made by a coordinator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub unit_id: Uuid,
    /// At least 8 characters; or leave empty and enrol the phone by QR code.
    pub password: String,
}

/// Changes to an account; fields left out stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AccountUpdate {
    pub role: Option<Role>,
    /// Move to another unit (e.g. a member to another grid).
    pub unit_id: Option<Uuid>,
    pub disabled: Option<bool>,
}

/// The households a member is linked to (一联一 is a list of one, 一联多 several).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberLinks {
    pub household_ids: Vec<Uuid>,
}

/// Moves a household to another grid; its visit history stays with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HouseholdMove {
    pub grid_id: Uuid,
}

/// A household as coordinators see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdminHousehold {
    pub household: Household,
    pub village_id: Uuid,
    pub members: Vec<LinkedMember>,
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::date_opt"))]
    pub last_visit_on: Option<NaiveDate>,
}

/// A one-time code that signs a new phone in when scanned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrollment {
    pub code: String,
    /// The address the QR code holds: the app's enrol screen with the code.
    pub url: String,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub expires_at: DateTime<Utc>,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// What the phone sends after scanning an enrolment code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
}

/// One line of the audit log, as county coordinators read it (newest first).
/// `detail` never holds a password, a token or a full phone number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub at: DateTime<Utc>,
    /// Who did it; none for failed sign-ins and the server itself.
    pub actor_id: Option<Uuid>,
    pub actor_name: Option<String>,
    /// What happened, e.g. `login`, `role_changed`, `roster_import`.
    pub action: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

/// Shortest password a coordinator may set.
pub use crate::auth::MIN_PASSWORD_CHARS;

impl NewAccount {
    /// Checks the fields a person typed; the server also checks scope and role.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() || self.name.chars().count() > 50 {
            return Err("请填写姓名（50 字以内）".into());
        }
        if !crate::auth::is_mobile_phone(&crate::auth::normalize_phone(&self.phone)) {
            return Err("手机号应为 11 位数字".into());
        }
        if !self.password.is_empty() {
            if let Some(problem) = crate::auth::password_problem(&self.password, &self.phone) {
                return Err(problem.into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinators_manage_only_lower_roles() {
        assert!(Role::VillageCoordinator.can_manage(Role::Member));
        assert!(Role::VillageCoordinator.can_manage(Role::Volunteer));
        assert!(!Role::VillageCoordinator.can_manage(Role::VillageCoordinator));
        assert!(!Role::VillageCoordinator.can_manage(Role::TownshipCoordinator));
        assert!(Role::CountyCoordinator.can_manage(Role::TownshipCoordinator));
        assert!(!Role::GridLeader.can_manage(Role::Member));
        assert!(!Role::Member.can_manage(Role::Member));
    }

    #[test]
    fn roles_sit_at_their_level() {
        assert_eq!(Role::Member.unit_kind(), UnitKind::Grid);
        assert_eq!(Role::Volunteer.unit_kind(), UnitKind::Village);
        assert_eq!(Role::CountyCoordinator.unit_kind(), UnitKind::County);
        assert_eq!(UnitKind::Village.child(), Some(UnitKind::Grid));
        assert_eq!(UnitKind::Grid.child(), None);
        for k in [UnitKind::County, UnitKind::Township, UnitKind::Village, UnitKind::Grid] {
            assert_eq!(UnitKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn new_account_checks_what_was_typed() {
        let mut a = NewAccount {
            name: "刘党员".into(),
            phone: "138 0000 0011".into(),
            role: Role::Member,
            unit_id: Uuid::nil(),
            password: String::new(),
        };
        assert!(a.validate().is_ok(), "an empty password means QR enrolment");
        a.password = "short".into();
        assert!(a.validate().unwrap_err().contains("8"));
        a.password = "longenough".into();
        a.phone = "12345".into();
        assert!(a.validate().is_err());
    }
}
