//! The phone lock's server side: each account's phone key and the units whose
//! coordinators require a PIN on every phone below them.

use chrono::{DateTime, Utc};
use rand::RngCore;
use uuid::Uuid;

use crate::db::{ts, Conn};
use crate::tree::Subtree;
use crate::AppError;

/// Whether a unit on `unit_path` (the account's unit, or one above it) requires a PIN.
pub async fn required(conn: &mut Conn, unit_path: &str) -> Result<bool, AppError> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM units WHERE pin_required = 1 AND path = substr($1, 1, length(path)) LIMIT 1",
    )
    .bind(unit_path)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// The ids of the units in the subtree that require a PIN themselves.
pub async fn required_in(conn: &mut Conn, subtree: &Subtree) -> Result<Vec<String>, AppError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM units WHERE pin_required = 1 AND path >= $1 AND path < $2")
        .bind(subtree.lo())
        .bind(subtree.hi())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Sets a unit's own requirement.
pub async fn set_required(conn: &mut Conn, unit: Uuid, on: bool) -> Result<(), AppError> {
    sqlx::query("UPDATE units SET pin_required = $1 WHERE id = $2")
        .bind(i64::from(on))
        .bind(unit.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The account's phone key (32 random bytes, hex), made on first ask.
pub async fn key(conn: &mut Conn, member: Uuid, now: DateTime<Utc>) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    // Two first asks at once: the first insert wins and both read it.
    sqlx::query("INSERT INTO phone_keys (member_id, phone_key, created_at) VALUES ($1, $2, $3) ON CONFLICT (member_id) DO NOTHING")
        .bind(member.to_string())
        .bind(hex::encode(bytes))
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
    let (key,): (String,) = sqlx::query_as("SELECT phone_key FROM phone_keys WHERE member_id = $1")
        .bind(member.to_string())
        .fetch_one(&mut *conn)
        .await?;
    Ok(key)
}
