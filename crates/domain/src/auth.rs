//! Sign-in messages and roles.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a member types to sign in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
}

impl LoginRequest {
    /// The phone number with spaces and dashes taken out, as stored on the server.
    pub fn normalized_phone(&self) -> String {
        normalize_phone(&self.phone)
    }
}

/// Strips the separators people type into phone numbers.
pub fn normalize_phone(raw: &str) -> String {
    raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect()
}

/// Whether a string is a mainland mobile number (11 digits starting with 1).
pub fn is_mobile_phone(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.chars().all(|c| c.is_ascii_digit())
}

/// What a person does in the organisation; decides what the server lets them see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    GridLeader,
    Volunteer,
    VillageCoordinator,
    TownshipCoordinator,
    CountyCoordinator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::GridLeader => "grid_leader",
            Role::Volunteer => "volunteer",
            Role::VillageCoordinator => "village_coordinator",
            Role::TownshipCoordinator => "township_coordinator",
            Role::CountyCoordinator => "county_coordinator",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        [
            Role::Member,
            Role::GridLeader,
            Role::Volunteer,
            Role::VillageCoordinator,
            Role::TownshipCoordinator,
            Role::CountyCoordinator,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Member => "联户党员",
            Role::GridLeader => "网格长",
            Role::Volunteer => "志愿者",
            Role::VillageCoordinator => "村级管理员",
            Role::TownshipCoordinator => "乡镇管理员",
            Role::CountyCoordinator => "县级管理员",
        }
    }
    /// Whether this role walks door to door and so records visits.
    pub fn records_visits(self) -> bool {
        matches!(self, Role::Member | Role::GridLeader)
    }
    /// Whether this role records volunteer activities and checks in (members too).
    pub fn records_activities(self) -> bool {
        matches!(self, Role::Member | Role::GridLeader | Role::Volunteer)
    }
}

/// Who is signed in, as the phone keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberProfile {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub village: String,
}

/// The server's answer to a good sign-in. The phone keeps it so the app works offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub member: MemberProfile,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalized_and_checked() {
        assert_eq!(normalize_phone("138-0000 0001"), "13800000001");
        assert!(is_mobile_phone("13800000001"));
        assert!(!is_mobile_phone("1380000000"));
        assert!(!is_mobile_phone("23800000001"));
        assert!(!is_mobile_phone("1380000000a"));
    }

    #[test]
    fn roles_round_trip() {
        for r in [Role::Member, Role::GridLeader, Role::CountyCoordinator] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        assert_eq!(Role::parse("admin"), None);
        assert!(Role::GridLeader.records_visits());
        assert!(!Role::Volunteer.records_visits());
        assert!(Role::Volunteer.records_activities() && Role::Member.records_activities());
        assert!(!Role::VillageCoordinator.records_activities());
    }
}
