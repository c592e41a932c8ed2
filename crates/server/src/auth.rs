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

use crate::db::{self, parse_ts, parse_uuid};
use crate::store::{sessions, Store};
use crate::{AppError, AppState};

/// Failed sign-ins a phone may have from one address before each next try waits.
pub const PAIR_FAILURE_LIMIT: i64 = 5;
/// Failed sign-ins a phone may have from addresses it never signed in from.
pub const PHONE_FAILURE_LIMIT: i64 = 10;
/// Failed sign-ins allowed from one client address, whatever the phone.
pub const IP_FAILURE_LIMIT: i64 = 20;
/// The first wait once a limit is reached; it doubles with each further failure.
pub const FIRST_DELAY_SECS: i64 = 30;
/// The longest wait.
pub const MAX_DELAY_SECS: i64 = 15 * 60;
/// Failures are forgotten after this long without a new one.
pub const FAILURE_MEMORY_MINUTES: i64 = 60;
/// A phone and address stay the owner's usual place this long after a sign-in there.
pub const KNOWN_PAIR_DAYS: i64 = 90;
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

/// The client's address: the socket's, or, when the socket is one of the trusted
/// reverse proxies (`--trusted-proxy`), the nearest address in `X-Forwarded-For`
/// that is not a trusted proxy. Without trusted proxies the header, which anyone
/// can write, is ignored.
pub fn peer_ip(parts: &Parts, trusted: &[ipnet::IpNet]) -> String {
    let Some(socket) = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
    else {
        return "unknown".to_string();
    };
    client_ip(socket, parts.headers.get_all("x-forwarded-for"), trusted).to_string()
}

/// The rightmost untrusted hop of the forwarded chain, walking back from the socket.
fn client_ip<'h>(
    socket: std::net::IpAddr,
    forwarded: impl IntoIterator<Item = &'h axum::http::HeaderValue>,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&socket) {
        return socket;
    }
    let hops: Vec<&str> = forwarded
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut nearest = socket;
    for hop in hops.iter().rev() {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if is_trusted(&ip) => nearest = ip,
            Ok(ip) => return ip,
            // A hop that is no address was written by someone untrusted: stop at the
            // last proxy we trust.
            Err(_) => return nearest,
        }
    }
    nearest
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
    /// When this session began: a password sign-in, an enrolment or a new password.
    pub signed_in_at: DateTime<Utc>,
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

pub use crate::store::sessions::ACCOUNT_UNIT_COLUMNS;

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
        let row = sessions::by_token(&state.pool, &token_hash).await?;
        let row = row.ok_or_else(AppError::session_expired)?;

        let now = db::now();
        let last_seen = parse_ts(&row.last_seen_at)?;
        let expired = parse_ts(&row.expires_at)? <= now
            || last_seen + state.settings.session_limits(parse_role(&row.role)?).1 <= now
            || row.disabled;
        if expired {
            sessions::end(&state.pool, &token_hash).await?;
            return Err(AppError::session_expired());
        }
        if (now - last_seen).num_seconds() >= LAST_SEEN_GRANULARITY_SECS {
            sessions::touch(&state.pool, &token_hash, now).await?;
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
            signed_in_at: parse_ts(&row.created_at)?,
        })
    }
}

// Reading stored roles and unit kinds is the store's; handlers find them here too.
pub use crate::store::{parse_role, parse_unit_kind};

/// Creates a session for a member; returns the token (shown once) and its expiry.
pub async fn create_session(
    pool: &Pool,
    member_id: Uuid,
    lifetime: chrono::Duration,
) -> Result<(String, DateTime<Utc>), AppError> {
    let token = new_token();
    let now = db::now();
    let expires_at = now + lifetime;
    sessions::create(pool, &sha256_hex(&token), member_id, now, expires_at).await?;
    Ok((token, expires_at))
}

/// The database key of a rate-limit counter; hashed so typed phone numbers are not kept.
fn limit_key(kind: &str, value: &str) -> String {
    sha256_hex(format!("{kind}:{value}"))
}

/// How long the next try waits after `failures` counted failures against a key whose
/// limit is `limit`: nothing below the limit, then [`FIRST_DELAY_SECS`] doubling with
/// each further failure, up to [`MAX_DELAY_SECS`].
pub fn delay_after(failures: i64, limit: i64) -> i64 {
    if failures < limit {
        return 0;
    }
    let doublings = u32::try_from(failures - limit).unwrap_or(u32::MAX).min(16);
    FIRST_DELAY_SECS
        .saturating_mul(1i64 << doublings)
        .min(MAX_DELAY_SECS)
}

/// A sign-in attempt already counted against its keys (see [`LoginLimiter::begin`]);
/// settle it with [`Attempt::succeeded`], or drop it to leave it counted as a failure.
pub struct Attempt<'a> {
    store: &'a Store,
    /// Each key counted, with the block this attempt set on it (0 for none).
    charged: Vec<(String, i64)>,
    pair_key: Option<String>,
}

/// Sign-in limits, kept in the database so every server instance shares them.
///
/// Three counters: the phone from this address (limit [`PAIR_FAILURE_LIMIT`]), the
/// phone from anywhere (limit [`PHONE_FAILURE_LIMIT`]) and the address whatever the
/// phone (limit [`IP_FAILURE_LIMIT`]). Past a limit each further try waits, longer
/// after each failure ([`delay_after`]). A phone and address that signed in before
/// (the owner's usual place) count only against their own pair, so a stranger
/// guessing from elsewhere, or spraying phones from a shared address, cannot lock
/// the owner out.
pub struct LoginLimiter<'a> {
    store: &'a Store,
    phone: Option<String>,
    ip: String,
}

impl<'a> LoginLimiter<'a> {
    /// The counters for one phone and one client address.
    pub fn new(store: &'a Store, phone: &str, ip: &str) -> Self {
        LoginLimiter {
            store,
            phone: Some(phone.to_string()),
            ip: ip.to_string(),
        }
    }

    /// The counter of one client address only (QR enrolment has no phone).
    pub fn for_address(store: &'a Store, ip: &str) -> Self {
        LoginLimiter {
            store,
            phone: None,
            ip: ip.to_string(),
        }
    }

    fn pair_key(&self) -> Option<String> {
        self.phone
            .as_ref()
            .map(|phone| limit_key("pair", &format!("{phone}\u{0}{}", self.ip)))
    }

    /// The counters this attempt is charged to, with their limits, in one fixed
    /// order (so two transactions never lock the same rows in opposite orders).
    async fn keys(&self, now_ms: i64) -> Result<Vec<(String, i64)>, AppError> {
        let mut keys = Vec::new();
        if let Some(pair) = self.pair_key() {
            keys.push((pair.clone(), PAIR_FAILURE_LIMIT));
            let known = sessions::known_pair(self.store.pool(), &pair).await?;
            let usual_place = known.is_some_and(|at| at > now_ms - KNOWN_PAIR_DAYS * 86_400_000);
            if !usual_place {
                let phone = self.phone.as_deref().unwrap_or_default();
                keys.push((limit_key("phone", phone), PHONE_FAILURE_LIMIT));
                keys.push((limit_key("ip", &self.ip), IP_FAILURE_LIMIT));
            }
        } else {
            keys.push((limit_key("ip", &self.ip), IP_FAILURE_LIMIT));
        }
        keys.sort();
        Ok(keys)
    }

    /// Counts this attempt as a failure on every counter before the password is
    /// checked, in one transaction: refused with 429 (and nothing counted) while a
    /// counter waits. Counting first is what makes the limit hold when many guesses
    /// arrive at once: each takes its number in turn, and the one that reaches a
    /// limit blocks the key for everyone after it.
    pub async fn begin(&self) -> Result<Attempt<'a>, AppError> {
        let now_ms = Utc::now().timestamp_millis();
        let keys = self.keys(now_ms).await?;
        let mut tx = match self.store.dialect() {
            // Takes SQLite's one write lock at once instead of upgrading later (which can fail busy).
            db::Dialect::Sqlite => self.store.pool().begin_with("BEGIN IMMEDIATE").await?,
            // Row locks of the UPDATE below are enough: no instance-wide lock.
            db::Dialect::Postgres => self.store.pool().begin().await?,
        };
        let mut charged = Vec::with_capacity(keys.len());
        for (key, limit) in &keys {
            let failures = sessions::charge(&mut tx, key, now_ms, now_ms - FAILURE_MEMORY_MINUTES * 60_000).await?;
            let Some(failures) = failures else {
                let until = sessions::blocked_until(&mut tx, key).await?;
                drop(tx);
                let wait_ms = u64::try_from(until - now_ms).unwrap_or(0);
                return Err(AppError::TooManyAttempts {
                    retry_after_secs: wait_ms.div_ceil(1000).max(1),
                });
            };
            let delay = delay_after(failures, *limit);
            let blocked_until = if delay > 0 { now_ms + delay * 1000 } else { 0 };
            if blocked_until > 0 {
                sessions::block(&mut tx, key, blocked_until).await?;
            }
            charged.push((key.clone(), blocked_until));
        }
        tx.commit().await?;
        Ok(Attempt {
            store: self.store,
            charged,
            pair_key: self.pair_key(),
        })
    }
}

impl Attempt<'_> {
    /// The password was right: gives back what this attempt counted (the pair's
    /// counter starts afresh), lifts the waits it set, and remembers the phone and
    /// address as the owner's usual place.
    pub async fn succeeded(self) -> Result<(), AppError> {
        let now_ms = Utc::now().timestamp_millis();
        let mut tx = self.store.pool().begin().await?;
        for (key, blocked_until) in &self.charged {
            let fresh = self.pair_key.as_ref() == Some(key);
            sessions::give_back(&mut tx, key, fresh, *blocked_until).await?;
        }
        if let Some(pair) = &self.pair_key {
            sessions::remember_pair(&mut tx, pair, now_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The attempt failed: it stays counted. Old counters and old usual places are
    /// forgotten here, so the tables stay small.
    pub async fn failed(self) -> Result<(), AppError> {
        let now_ms = Utc::now().timestamp_millis();
        let mut conn = self.store.pool().acquire().await?;
        sessions::forget_old(
            &mut conn,
            now_ms,
            now_ms - FAILURE_MEMORY_MINUTES * 60_000,
            now_ms - KNOWN_PAIR_DAYS * 86_400_000,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        use axum::http::HeaderValue;
        let proxy: std::net::IpAddr = "10.0.0.5".parse().unwrap();
        let trusted = vec!["10.0.0.0/24".parse::<ipnet::IpNet>().unwrap()];
        let xff = [HeaderValue::from_static("1.2.3.4, 203.0.113.9, 10.0.0.7")];
        // No trusted proxies: the header is ignored.
        assert_eq!(client_ip(proxy, &xff, &[]), proxy);
        // Behind trusted ones: the nearest untrusted hop (not the left-most, which the client wrote).
        assert_eq!(client_ip(proxy, &xff, &trusted).to_string(), "203.0.113.9");
        // A socket that is not a trusted proxy is the client, whatever it claims.
        let stranger: std::net::IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &xff, &trusted), stranger);
        // Garbage in the chain stops at the last trusted hop.
        let bad = [HeaderValue::from_static("1.2.3.4, nonsense")];
        assert_eq!(client_ip(proxy, &bad, &trusted), proxy);
    }

    #[test]
    fn waits_grow_past_the_limit_and_stop_at_the_longest() {
        assert_eq!(delay_after(4, 5), 0);
        assert_eq!(delay_after(5, 5), FIRST_DELAY_SECS);
        assert_eq!(delay_after(6, 5), 2 * FIRST_DELAY_SECS);
        assert_eq!(delay_after(7, 5), 4 * FIRST_DELAY_SECS);
        assert_eq!(delay_after(40, 5), MAX_DELAY_SECS);
        assert_eq!(delay_after(i64::MAX, 5), MAX_DELAY_SECS);
    }

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
