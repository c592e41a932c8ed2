//! Downloads: the one-time links (`export_links`), and the reading of a whole visit
//! log for a download, row by row, however many rows there are.

use std::future::Future;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Acquire;

use crate::db::{ts, Conn, Dialect, Pool};
use crate::visit_log::{LogQuery, RawLogRow};
use crate::AppError;

/// A new link as stored: only the token's hash, never the token.
pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub created_by: uuid::Uuid,
    pub format: &'a str,
    pub filter: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub dataset: &'a str,
    /// A CSV download's sheet (none: the first).
    pub sheet: Option<&'a str>,
}

/// A link taken for a download: who made it, the format, the filter and the dataset,
/// as stored.
pub struct TakenLink {
    pub created_by: String,
    pub format: String,
    pub filter: String,
    pub dataset: String,
    pub sheet: Option<String>,
}

/// Forgets links that expired before `before`.
pub async fn drop_expired(conn: &mut Conn, before: DateTime<Utc>) -> Result<(), AppError> {
    sqlx::query("DELETE FROM export_links WHERE expires_at < $1")
        .bind(ts(before))
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a new link.
pub async fn insert(conn: &mut Conn, link: &NewLink<'_>) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO export_links (token_hash, created_by, format, filter, created_at, expires_at, dataset, sheet)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(link.token_hash)
    .bind(link.created_by.to_string())
    .bind(link.format)
    .bind(link.filter)
    .bind(ts(link.created_at))
    .bind(ts(link.expires_at))
    .bind(link.dataset)
    .bind(link.sheet)
    .execute(conn)
    .await?;
    Ok(())
}

/// Marks the unused, unexpired link with this token hash used at `now` and answers
/// it; in one statement, so a second download finds it used. `None` for any other.
pub async fn take(conn: &mut Conn, token_hash: &str, now: DateTime<Utc>) -> Result<Option<TakenLink>, AppError> {
    let link: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "UPDATE export_links SET used_at = $1
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3
         RETURNING created_by, format, filter, dataset, sheet",
    )
    .bind(ts(now))
    .bind(token_hash)
    .bind(ts(now))
    .fetch_optional(conn)
    .await?;
    Ok(link.map(|(created_by, format, filter, dataset, sheet)| TakenLink { created_by, format, filter, dataset, sheet }))
}

/// A link creator's role, unit path and whether the account is disabled, as stored.
pub async fn creator(conn: &mut Conn, member: &str) -> Result<Option<(String, String, bool)>, AppError> {
    let row: Option<(String, String, crate::db::Flag)> = sqlx::query_as(
        "SELECT m.role, u.path, m.disabled FROM members m JOIN units u ON u.id = m.unit_id
         WHERE m.id = $1",
    )
    .bind(member)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(role, path, disabled)| (role, path, disabled.into())))
}

/// Rows a PostgreSQL export cursor hands over per `FETCH` (small enough that the
/// tests' 200-visit exports take several).
pub const CURSOR_ROWS: u32 = 128;

/// Reads every row of the log query, newest first, on a connection of its own,
/// handing each to `each` as it comes; stops early when `each` answers `false`.
pub async fn log_rows<F, Fut>(pool: &Pool, query: &LogQuery, mut each: F) -> Result<(), AppError>
where
    F: FnMut(RawLogRow) -> Fut,
    Fut: Future<Output = Result<bool, AppError>>,
{
    let sql = query.rows_sql(None);
    let mut conn = pool.acquire().await?;
    match crate::store::dialect_of(&conn) {
        // SQLite steps the one statement row by row as the download is written.
        Dialect::Sqlite => {
            let mut rows =
                sqlx::query_as_with::<_, RawLogRow, _>(&sql, query.arguments()).fetch(&mut *conn);
            while let Some(raw) = rows.try_next().await? {
                if !each(raw).await? {
                    // The download was abandoned: stop reading.
                    break;
                }
            }
            Ok(())
        }
        // PostgreSQL: a server-side cursor in a read-only transaction, fetched
        // CURSOR_ROWS at a time as the download takes them, so neither side holds
        // more than a few hundred rows of a million.
        Dialect::Postgres => {
            let mut tx = conn.begin().await?;
            sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
            sqlx::query_with(&format!("DECLARE daohu_export NO SCROLL CURSOR FOR {sql}"), query.arguments())
                .execute(&mut *tx)
                .await?;
            let fetch = format!("FETCH {CURSOR_ROWS} FROM daohu_export");
            loop {
                let batch: Vec<RawLogRow> = sqlx::query_as(&fetch).fetch_all(&mut *tx).await?;
                let last = batch.len() < CURSOR_ROWS as usize;
                for raw in batch {
                    if !each(raw).await? {
                        // The download was abandoned: the rollback closes the cursor.
                        return Ok(());
                    }
                }
                if last {
                    break;
                }
            }
            tx.commit().await?;
            Ok(())
        }
    }
}
