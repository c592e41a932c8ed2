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

/// What a member sends to choose a new password: the phone and the password in use
/// (a coordinator's, or their own), then the new one. Answered with a fresh session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub phone: String,
    pub current_password: String,
    pub new_password: String,
}

/// Shortest password anyone may choose.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Passwords that guessers try first: the most common ones in Chinese and English
/// leak lists, and the demo password. Compared without case.
const COMMON_PASSWORDS: &[&str] = &[
    "12345678", "123456789", "1234567890", "0123456789", "87654321", "11111111",
    "00000000", "88888888", "66666666", "12341234", "11223344", "123123123",
    "1qaz2wsx", "1q2w3e4r", "qwertyui", "qwerty123", "asdfghjk", "zxcvbnm1",
    "password", "password1", "passw0rd", "p@ssw0rd", "iloveyou", "woaini1314",
    "woaini520", "5201314520", "a1234567", "a12345678", "aa123456", "abc12345",
    "abcd1234", "abc123456", "admin123", "admin888", "administrator", "root1234",
    "qq123456", "qq5201314", "aini1314", "1314520520", "147258369", "123654789",
    "147852369", "789456123", "112233445566", "daohu123", "daohu1234", "dangyuan",
    "wanggezhang", "zhongguo", "changeme", "welcome1", "letmein1", "sunshine",
    "12qwaszx", "qazwsxedc", "1234abcd", "test1234", "user1234", "guest123",
];

/// Why a new password is refused, in plain words; `None` when it may be used.
/// Short ones, well-known ones, one repeated character, plain runs of digits or
/// letters (`23456789`, `abcdefgh`) and the phone number itself are refused.
pub fn password_problem(password: &str, phone: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Some("密码至少 8 位");
    }
    if n > 128 {
        return Some("密码太长，最多 128 位");
    }
    let lower = password.to_lowercase();
    if COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Some("这个密码太常见，容易被猜到，请换一个");
    }
    let chars: Vec<char> = lower.chars().collect();
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|w| i64::from(u32::from(w[1])) - i64::from(u32::from(w[0])))
        .collect();
    if steps.iter().all(|&d| d == 0) || steps.iter().all(|&d| d == 1) || steps.iter().all(|&d| d == -1) {
        return Some("密码不能是一串相同或连续的字符，请换一个");
    }
    let digits = normalize_phone(phone);
    if !digits.is_empty() && lower.contains(&digits) {
        return Some("密码不能含手机号，请换一个");
    }
    None
}

/// Strips the separators people type into phone numbers.
pub fn normalize_phone(raw: &str) -> String {
    raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect()
}

/// Whether a string is a mainland mobile number (11 digits starting with 1).
pub fn is_mobile_phone(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.chars().all(|c| c.is_ascii_digit())
}

named_enum! {
    /// What a person does in the organisation; decides what the server lets them see.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Role {
        Member = "member",
        GridLeader = "grid_leader",
        Volunteer = "volunteer",
        VillageCoordinator = "village_coordinator",
        TownshipCoordinator = "township_coordinator",
        CountyCoordinator = "county_coordinator",
    }
}

impl Role {
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
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub expires_at: DateTime<Utc>,
    pub member: MemberProfile,
}


/// A member linked to a household, by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkedMember {
    pub id: Uuid,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused_in_plain_words() {
        let phone = "13800000001";
        assert_eq!(password_problem("abc", phone), Some("密码至少 8 位"));
        for weak in ["12345678", "Password", "DAOHU123", "woaini1314", "88888888"] {
            assert!(password_problem(weak, phone).is_some(), "{weak} should be refused");
        }
        assert!(password_problem("aaaaaaaaaa", phone).is_some());
        assert!(password_problem("23456789", phone).is_some());
        assert!(password_problem("hgfedcba", phone).is_some());
        assert!(password_problem("x13800000001", phone).is_some());
        assert_eq!(password_problem("青山村第一网格2026", phone), None);
        assert_eq!(password_problem("tea-field-7-river", phone), None);
        assert!(password_problem(&"x".repeat(129), phone).is_some());
    }

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