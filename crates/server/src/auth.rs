//! Passwords, session tokens, the signed-in caller extractor and sign-in rate limits.

use std::net::SocketAddr;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use daohu_domain::{MemberProfile, Role, UnitKind};
use rand::RngCore;
use sha2::{Digest, Sha256};
use crate::db::Pool;
use uuid::Uuid;

use crate::db::{self, parse_ts, parse_uuid, ts};
use crate::{AppError, AppState};

/// Failed sign-ins allowed per phone within [`FAILURE_WINDOW_MINUTES`].
pub const PHONE_FAILURE_LIMIT: i64 = 5;
/// Failed sign-ins allowed per client address within [`FAILURE_WINDOW_MINUTES`].
pub const IP_FAILURE_LIMIT: i64 = 20;
/// How far back failed sign-ins count.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// `last_seen_at` is written at most this often per session, to spare the single writer.
const LAST_SEEN_GRANULARITY_SECS: i64 = 60;

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// Hashes a password with argon2id and a fresh salt. CPU heavy: call off the async threads.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(format!("argon2 hash: {e}")))
}

/// A hash of a throwaway password, verified against when the phone is unknown so
/// an unknown phone takes as long to refuse as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut random);
        hash_password(&hex::encode(random)).unwrap_or_default()
    })
}

/// The stored "hash" of an account made without a password: it matches no password,
/// so the account signs in only through a QR enrolment code.
pub const NO_PASSWORD_HASH: &str = "!";

/// Checks a password against a stored hash (or the dummy when `hash` is `None`),
/// on a blocking thread. Always false for the dummy and for [`NO_PASSWORD_HASH`],
/// which are verified against the dummy so they take as long as a wrong password.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || {
        let hash = hash.filter(|h| h != NO_PASSWORD_HASH);
        let known = hash.is_some();
        let stored = hash.unwrap_or_else(|| dummy_hash().to_string());
        let ok = match PasswordHash::new(&stored) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        };
        known && ok
    })
    .await
    .map_err(AppError::internal)
}

/// A new session token: 32 random bytes as hex. Only its sha256 is stored.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new enrolment code: 20 random bytes (160 bits) as hex, safe in a URL.
/// Only its sha256 is stored.
pub fn new_enroll_code() -> String {
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Shows a phone number in logs and the audit trail as `138****0001`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() >= 8 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else {
        "****".to_string()
    }
}

/// The client's address as the socket saw it (never `X-Forwarded-For`, which anyone can write).
pub fn peer_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The signed-in caller, checked on every request that needs one.
///
/// Extracting it refuses a missing, unknown, expired or idle session and a
/// disabled member with 401 `session_expired`, and notes the session as used.
/// Role and unit are read from the database on every request, so a change made
/// by a coordinator applies to the very next request.
#[derive(Clone, Debug)]
pub struct AuthUser {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
    pub role: Role,
    /// The unit the account is attached to (a grid, village, township or county).
    pub unit_id: Uuid,
    pub unit_kind: UnitKind,
    /// The unit's path (`/<county>/…/<unit>/`), see `scope`.
    pub unit_path: String,
    /// The village the account belongs to (for grids their village; above villages
    /// the unit's own name), as the phone shows it.
    pub village: String,
    /// The sha256 of the caller's token, to end this session on logout.
    pub token_hash: String,
}

impl AuthUser {
    /// The caller as the phone keeps it.
    pub fn profile(&self) -> MemberProfile {
        MemberProfile {
            id: self.id,
            name: self.name.clone(),
            phone: self.phone.clone(),
            role: self.role,
            village: self.village.clone(),
        }
    }

    /// The caller's grid, for members and grid leaders.
    pub fn grid_id(&self) -> Option<Uuid> {
        (self.unit_kind == UnitKind::Grid).then_some(self.unit_id)
    }
}

/// The columns that describe an account's unit and village name, over
/// `members m JOIN units u ON u.id = m.unit_id LEFT JOIN units pu ON pu.id = u.parent_id`.
pub const ACCOUNT_UNIT_COLUMNS: &str = "u.id AS unit_id, u.kind AS unit_kind, u.path AS unit_path,
    CASE WHEN u.kind = 'grid' THEN pu.name ELSE u.name END AS village";

#[derive(sqlx::FromRow)]
struct SessionRow {
    member_id: String,
    last_seen_at: String,
    expires_at: String,
    name: String,
    phone: String,
    role: String,
    unit_id: String,
    unit_kind: String,
    unit_path: String,
    village: String,
    #[sqlx(try_from = "crate::db::Flag")]
    disabled: bool,
}

/// The token of an `Authorization: Bearer <hex>` header, if well formed.
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && token.len() == 64
        && token.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(token)
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = bearer_token(parts).ok_or_else(AppError::session_expired)?;
        let token_hash = sha256_hex(token.to_ascii_lowercase());
        let row: Option<SessionRow> = crate::db::query_as(&format!(
            "SELECT s.member_id, s.last_seen_at, s.expires_at, m.name, m.phone, m.role,
                        {ACCOUNT_UNIT_COLUMNS}, m.disabled
                 FROM sessions s
                 JOIN members m ON m.id = s.member_id
                 JOIN units u ON u.id = m.unit_id
                 LEFT JOIN units pu ON pu.id = u.parent_id
                 WHERE s.token_hash = ?"
        ))
        .bind(&token_hash)
        .fetch_optional(&state.pool)
        .await?;
        let row = row.ok_or_else(AppError::session_expired)?;

        let now = db::now();
        let last_seen = parse_ts(&row.last_seen_at)?;
        let expired = parse_ts(&row.expires_at)? <= now
            || last_seen + state.settings.session_idle <= now
            || row.disabled;
        if expired {
            crate::db::query("DELETE FROM sessions WHERE token_hash = ?")
                .bind(&token_hash)
                .execute(&state.pool)
                .await?;
            return Err(AppError::session_expired());
        }
        if (now - last_seen).num_seconds() >= LAST_SEEN_GRANULARITY_SECS {
            crate::db::query("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?")
                .bind(ts(now))
                .bind(&token_hash)
                .execute(&state.pool)
                .await?;
        }

        let id = parse_uuid(&row.member_id)?;
        // So a refusal of this request is recorded with its account (audit::record_denials).
        crate::audit::CallerSlot::note(parts, id);
        Ok(AuthUser {
            id,
            name: row.name,
            phone: row.phone,
            role: parse_role(&row.role)?,
            unit_id: parse_uuid(&row.unit_id)?,
            unit_kind: parse_unit_kind(&row.unit_kind)?,
            unit_path: row.unit_path,
            village: row.village,
            token_hash,
        })
    }
}

/// Reads a stored role back.
pub fn parse_role(s: &str) -> Result<Role, AppError> {
    Role::parse(s).ok_or_else(|| AppError::internal(format!("unknown stored role {s:?}")))
}

/// Reads a stored unit kind back.
pub fn parse_unit_kind(s: &str) -> Result<UnitKind, AppError> {
    UnitKind::parse(s).ok_or_else(|| AppError::internal(format!("unknown stored unit kind {s:?}")))
}

/// Creates a session for a member; returns the token (shown once) and its expiry.
pub async fn create_session(
    pool: &Pool,
    member_id: Uuid,
    lifetime: chrono::Duration,
) -> Result<(String, DateTime<Utc>), AppError> {
    let token = new_token();
    let now = db::now();
    let expires_at = now + lifetime;
    crate::db::query(
        "INSERT INTO sessions (token_hash, member_id, created_at, last_seen_at, expires_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(sha256_hex(&token))
    .bind(member_id.to_string())
    .bind(ts(now))
    .bind(ts(now))
    .bind(ts(expires_at))
    .execute(pool)
    .await?;
    Ok((token, expires_at))
}

/// The database key of a rate-limit counter; hashed so typed phone numbers are not kept.
fn limit_key(kind: &str, value: &str) -> String {
    sha256_hex(format!("{kind}:{value}"))
}

/// Sign-in failure counters, kept in the database.
pub struct LoginLimiter<'a> {
    pool: &'a Pool,
    phone_key: Option<String>,
    ip_key: String,
}

impl<'a> LoginLimiter<'a> {
    /// The counters for one phone and one client address.
    pub fn new(pool: &'a Pool, phone: &str, ip: &str) -> Self {
        LoginLimiter {
            pool,
            phone_key: Some(limit_key("phone", phone)),
            ip_key: limit_key("ip", ip),
        }
    }

    /// The counter of one client address only (QR enrolment has no phone).
    pub fn for_address(pool: &'a Pool, ip: &str) -> Self {
        LoginLimiter {
            pool,
            phone_key: None,
            ip_key: limit_key("ip", ip),
        }
    }

    fn keys(&self) -> impl Iterator<Item = (&String, i64)> {
        self.phone_key
            .iter()
            .map(|k| (k, PHONE_FAILURE_LIMIT))
            .chain([(&self.ip_key, IP_FAILURE_LIMIT)])
    }

    /// Refuses with 429 while either counter is at its limit.
    pub async fn check(&self) -> Result<(), AppError> {
        let now_ms = Utc::now().timestamp_millis();
        let since = now_ms - FAILURE_WINDOW_MINUTES * 60_000;
        let mut wait_ms = 0i64;
        for (key, limit) in self.keys() {
            // The failure whose expiry brings the count back under the limit.
            let blocking: Option<i64> = crate::db::query_scalar(
                "SELECT failed_at FROM login_failures WHERE key_hash = ? AND failed_at > ?
                 ORDER BY failed_at DESC LIMIT 1 OFFSET ?",
            )
            .bind(key)
            .bind(since)
            .bind(limit - 1)
            .fetch_optional(self.pool)
            .await?;
            if let Some(at) = blocking {
                wait_ms = wait_ms.max(at + FAILURE_WINDOW_MINUTES * 60_000 - now_ms);
            }
        }
        if wait_ms > 0 {
            let retry_after_secs = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000).max(1);
            return Err(AppError::TooManyAttempts { retry_after_secs });
        }
        Ok(())
    }

    /// Counts one failure against both the phone and the address, and forgets old ones.
    pub async fn record_failure(&self) -> Result<(), AppError> {
        let now_ms = Utc::now().timestamp_millis();
        let mut tx = self.pool.begin().await?;
        crate::db::query("DELETE FROM login_failures WHERE failed_at <= ?")
            .bind(now_ms - FAILURE_WINDOW_MINUTES * 60_000)
            .execute(&mut *tx)
            .await?;
        for (key, _) in self.keys() {
            crate::db::query("INSERT INTO login_failures (key_hash, failed_at) VALUES (?, ?)")
                .bind(key)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the phone's failures after a good sign-in.
    pub async fn clear_phone(&self) -> Result<(), AppError> {
        if let Some(key) = &self.phone_key {
            crate::db::query("DELETE FROM login_failures WHERE key_hash = ?")
                .bind(key)
                .execute(self.pool)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13800000001"), "138****0001");
        assert_eq!(mask_phone("123"), "****");
    }

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("daohu123").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(rt
            .block_on(verify_password("daohu123".into(), Some(hash.clone())))
            .unwrap());
        assert!(!rt
            .block_on(verify_password("wrong".into(), Some(hash)))
            .unwrap());
        assert!(!rt.block_on(verify_password("x".into(), None)).unwrap());
    }
}
