//! Photos of activities: their rows, the chunks of unfinished uploads, and each
//! account's bytes per day (the upload rules are in `routes::photos`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{ts, Conn};
use crate::AppError;

/// A photo row with what access is decided on.
#[derive(sqlx::FromRow)]
pub struct PhotoRow {
    pub id: String,
    pub activity_id: String,
    pub bytes: i64,
    pub sha256: String,
    pub received: i64,
    #[sqlx(try_from = "crate::db::Flag")]
    pub complete: bool,
    pub recorder_id: String,
    pub unit_path: String,
}

/// A photo with its activity's recorder and unit path.
///
/// `for_update` locks the photo's row to the end of the transaction on PostgreSQL,
/// so two chunks sent at once are taken one after the other, each at the offset the
/// other left (SQLite's write transaction already holds its one write lock).
pub async fn photo(conn: &mut Conn, id: Uuid, for_update: bool) -> Result<Option<PhotoRow>, AppError> {
    let lock = match super::dialect_of(conn) {
        crate::db::Dialect::Postgres if for_update => "FOR UPDATE OF p",
        _ => "",
    };
    Ok(sqlx::query_as(&format!(
        "SELECT p.id, p.activity_id, p.bytes, p.sha256, p.received, p.complete,
                a.recorder_id, u.path AS unit_path
         FROM photos p JOIN activities a ON a.id = p.activity_id JOIN units u ON u.id = a.unit_id
         WHERE p.id = $1 {lock}"
    ))
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?)
}

/// Throws away the chunks of unfinished uploads that took none since `cutoff`, and
/// the quota days before `first_day` (`YYYY-MM-DD`); answers how many uploads went back to 0.
pub async fn sweep_stale(conn: &mut Conn, cutoff: DateTime<Utc>, first_day: &str) -> Result<u64, AppError> {
    let cutoff = ts(cutoff);
    sqlx::query(
        "DELETE FROM photo_chunks WHERE photo_id IN
           (SELECT id FROM photos WHERE complete = 0 AND received > 0 AND chunk_at < $1)",
    )
    .bind(&cutoff)
    .execute(&mut *conn)
    .await?;
    let reset = sqlx::query(
        "UPDATE photos SET received = 0, chunk_at = NULL WHERE complete = 0 AND received > 0 AND chunk_at < $1",
    )
    .bind(&cutoff)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query("DELETE FROM photo_upload_days WHERE day < $1")
        .bind(first_day)
        .execute(&mut *conn)
        .await?;
    Ok(reset)
}

/// The bytes of chunks an account sent on `day` (`YYYY-MM-DD`), if any.
pub async fn bytes_on(conn: &mut Conn, account: Uuid, day: &str) -> Result<Option<i64>, AppError> {
    Ok(sqlx::query_scalar("SELECT bytes FROM photo_upload_days WHERE account_id = $1 AND day = $2")
        .bind(account.to_string())
        .bind(day)
        .fetch_optional(conn)
        .await?)
}

/// Adds `bytes` to what an account sent on `day`.
pub async fn add_bytes(conn: &mut Conn, account: Uuid, day: &str, bytes: i64) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO photo_upload_days (account_id, day, bytes) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, day) DO UPDATE SET bytes = photo_upload_days.bytes + excluded.bytes",
    )
    .bind(account.to_string())
    .bind(day)
    .bind(bytes)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a chunk at `position` and moves the photo's `received` to `end`.
pub async fn add_chunk(
    conn: &mut Conn,
    photo: Uuid,
    position: i64,
    data: &[u8],
    end: i64,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    sqlx::query("INSERT INTO photo_chunks (photo_id, position, data) VALUES ($1, $2, $3)")
        .bind(photo.to_string())
        .bind(position)
        .bind(data)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE photos SET received = $1, chunk_at = $2 WHERE id = $3")
        .bind(end)
        .bind(ts(now))
        .bind(photo.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every chunk of a photo joined in order; the chunks are gone afterwards.
pub async fn take_chunks(conn: &mut Conn, photo: Uuid) -> Result<Vec<u8>, AppError> {
    let parts: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT data FROM photo_chunks WHERE photo_id = $1 ORDER BY position")
            .bind(photo.to_string())
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query("DELETE FROM photo_chunks WHERE photo_id = $1")
        .bind(photo.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(parts.concat())
}

/// Sends an upload back to 0 (its chunks already taken).
pub async fn reset(conn: &mut Conn, photo: Uuid) -> Result<(), AppError> {
    sqlx::query("UPDATE photos SET received = 0, chunk_at = NULL WHERE id = $1")
        .bind(photo.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Keeps the whole photo and marks it complete.
pub async fn complete(conn: &mut Conn, photo: Uuid, data: &[u8], at: DateTime<Utc>) -> Result<(), AppError> {
    sqlx::query("UPDATE photos SET data = $1, complete = 1, completed_at = $2, chunk_at = NULL WHERE id = $3")
        .bind(data)
        .bind(ts(at))
        .bind(photo.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// A complete photo's bytes (`None` while it is not complete).
pub async fn content(conn: &mut Conn, photo: Uuid) -> Result<Option<Vec<u8>>, AppError> {
    Ok(sqlx::query_scalar("SELECT data FROM photos WHERE id = $1 AND complete = 1")
        .bind(photo.to_string())
        .fetch_one(conn)
        .await?)
}
