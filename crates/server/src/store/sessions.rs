//! Sessions, sign-in rows and the sign-in limiter's counters.
//!
//! Tokens are kept only as their SHA-256 (`token_hash`), counters only under hashed
//! keys: nothing here can sign anyone in if the database leaks.

use chrono::{DateTime, Utc};
use sqlx::any::AnyExecutor;
use uuid::Uuid;

use crate::db::{ts, Conn, Flag};
use crate::AppError;

/// The columns that describe an account's unit and village name, over
/// `members m JOIN units u ON u.id = m.unit_id LEFT JOIN units pu ON pu.id = u.parent_id`.
pub const ACCOUNT_UNIT_COLUMNS: &str = "u.id AS unit_id, u.kind AS unit_kind, u.path AS unit_path,
    CASE WHEN u.kind = 'grid' THEN pu.name ELSE u.name END AS village";

/// A session with its account, as the request guard reads it.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub member_id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub name: String,
    pub phone: String,
    pub role: String,
    pub unit_id: String,
    pub unit_kind: String,
    pub unit_path: String,
    pub village: String,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
}

/// The session whose token hashes to `token_hash`, with its account.
pub async fn by_token<'c>(db: impl AnyExecutor<'c>, token_hash: &str) -> Result<Option<SessionRow>, AppError> {
    Ok(sqlx::query_as(&format!(
        "SELECT s.member_id, s.created_at, s.last_seen_at, s.expires_at, m.name, m.phone, m.role,
                {ACCOUNT_UNIT_COLUMNS}, m.disabled
         FROM sessions s
         JOIN members m ON m.id = s.member_id
         JOIN units u ON u.id = m.unit_id
         LEFT JOIN units pu ON pu.id = u.parent_id
         WHERE s.token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(db)
    .await?)
}

/// Ends one session.
pub async fn end<'c>(db: impl AnyExecutor<'c>, token_hash: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of an account (a new password, a disabled account).
pub async fn end_all<'c>(db: impl AnyExecutor<'c>, member: Uuid) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sessions WHERE member_id = $1")
        .bind(member.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// Notes that a session was used at `now` (its idle limit counts from here).
pub async fn touch<'c>(db: impl AnyExecutor<'c>, token_hash: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(ts(now))
        .bind(token_hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores a new session.
pub async fn create<'c>(
    db: impl AnyExecutor<'c>,
    token_hash: &str,
    member: Uuid,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, member_id, created_at, last_seen_at, expires_at)
         VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(token_hash)
    .bind(member.to_string())
    .bind(ts(now))
    .bind(ts(expires_at))
    .execute(db)
    .await?;
    Ok(())
}

/// An account as sign-in reads it.
#[derive(sqlx::FromRow)]
pub struct LoginRow {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub password_hash: String,
    pub role: String,
    pub village: String,
    #[sqlx(try_from = "Flag")]
    pub disabled: bool,
    #[sqlx(try_from = "Flag")]
    pub must_change_password: bool,
}

/// Which account [`login_row`] reads.
pub enum LoginBy<'a> {
    Phone(&'a str),
    Id(&'a str),
}

/// The account with this phone or id, as sign-in reads it.
pub async fn login_row<'c>(db: impl AnyExecutor<'c>, by: LoginBy<'_>) -> Result<Option<LoginRow>, AppError> {
    let (column, value) = match by {
        LoginBy::Phone(phone) => ("m.phone", phone),
        LoginBy::Id(id) => ("m.id", id),
    };
    Ok(sqlx::query_as(&format!(
        "SELECT m.id, m.name, m.phone, m.password_hash, m.role, {ACCOUNT_UNIT_COLUMNS}, m.disabled,
                m.must_change_password
         FROM members m
         JOIN units u ON u.id = m.unit_id
         LEFT JOIN units pu ON pu.id = u.parent_id
         WHERE {column} = $1"
    ))
    .bind(value)
    .fetch_optional(db)
    .await?)
}

/// Sets an account's password (chosen by its owner, so no longer a first one).
pub async fn set_password<'c>(db: impl AnyExecutor<'c>, member: Uuid, hash: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE members SET password_hash = $1, must_change_password = 0 WHERE id = $2")
        .bind(hash)
        .bind(member.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// Uses up an unused, unexpired enrolment code in the statement that finds it (so
/// a code signs in once even when raced); the account it was for.
pub async fn use_enroll_code<'c>(db: impl AnyExecutor<'c>, code_hash: &str, now: DateTime<Utc>) -> Result<Option<String>, AppError> {
    Ok(sqlx::query_scalar(
        "UPDATE enrollment_codes SET used_at = $1
         WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1
         RETURNING member_id",
    )
    .bind(ts(now))
    .bind(code_hash)
    .fetch_optional(db)
    .await?)
}

/// When this phone and address last signed in (milliseconds), if they ever did.
pub async fn known_pair<'c>(db: impl AnyExecutor<'c>, pair_hash: &str) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar("SELECT last_ok_ms FROM login_known WHERE pair_hash = $1")
        .bind(pair_hash)
        .fetch_optional(db)
        .await?)
}

/// Counts one failure on a counter (made if missing), a failure older than
/// `forget_before_ms` starting it afresh: its failures now, or `None` while the
/// counter is blocked (and then nothing is counted).
pub async fn charge(conn: &mut Conn, key_hash: &str, now_ms: i64, forget_before_ms: i64) -> Result<Option<i64>, AppError> {
    sqlx::query("INSERT INTO login_throttle (key_hash) VALUES ($1) ON CONFLICT (key_hash) DO NOTHING")
        .bind(key_hash)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar(
        "UPDATE login_throttle
         SET failures = CASE WHEN last_failure_ms <= $1 THEN 1 ELSE failures + 1 END,
             last_failure_ms = $2
         WHERE key_hash = $3 AND blocked_until_ms <= $2
         RETURNING failures",
    )
    .bind(forget_before_ms)
    .bind(now_ms)
    .bind(key_hash)
    .fetch_optional(conn)
    .await?)
}

/// Until when (milliseconds) a counter is blocked.
pub async fn blocked_until(conn: &mut Conn, key_hash: &str) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar("SELECT blocked_until_ms FROM login_throttle WHERE key_hash = $1")
        .bind(key_hash)
        .fetch_one(conn)
        .await?)
}

/// Blocks a counter until `until_ms`.
pub async fn block(conn: &mut Conn, key_hash: &str, until_ms: i64) -> Result<(), AppError> {
    sqlx::query("UPDATE login_throttle SET blocked_until_ms = $1 WHERE key_hash = $2")
        .bind(until_ms)
        .bind(key_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Gives back one counted failure after a right password (all of them when
/// `fresh`), and lifts the block `blocked_until_ms` if this attempt set it.
pub async fn give_back(conn: &mut Conn, key_hash: &str, fresh: bool, blocked_until_ms: i64) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE login_throttle
         SET failures = CASE WHEN $1 = 1 OR failures <= 1 THEN 0 ELSE failures - 1 END,
             blocked_until_ms = CASE WHEN $1 = 1 OR blocked_until_ms = $2 THEN 0 ELSE blocked_until_ms END
         WHERE key_hash = $3",
    )
    .bind(i64::from(fresh))
    .bind(blocked_until_ms)
    .bind(key_hash)
    .execute(conn)
    .await?;
    Ok(())
}

/// Remembers a phone and address as the owner's usual place.
pub async fn remember_pair(conn: &mut Conn, pair_hash: &str, now_ms: i64) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO login_known (pair_hash, last_ok_ms) VALUES ($1, $2)
         ON CONFLICT (pair_hash) DO UPDATE SET last_ok_ms = excluded.last_ok_ms",
    )
    .bind(pair_hash)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets counters whose last failure is older than `failed_before_ms` and that
/// block nothing now, and usual places older than `known_before_ms`.
pub async fn forget_old(conn: &mut Conn, now_ms: i64, failed_before_ms: i64, known_before_ms: i64) -> Result<(), AppError> {
    sqlx::query("DELETE FROM login_throttle WHERE last_failure_ms <= $1 AND blocked_until_ms <= $2")
        .bind(failed_before_ms)
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM login_known WHERE last_ok_ms <= $1")
        .bind(known_before_ms)
        .execute(conn)
        .await?;
    Ok(())
}
