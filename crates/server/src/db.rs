//! Opening the SQLite database, its settings and its migrations.
//!
//! Stored conventions: ids are hyphenated lowercase UUID text, dates `YYYY-MM-DD`,
//! server times the fixed-width UTC text of [`ts`] (so they sort and compare as text).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// Connections in the pool; SQLite has one writer anyway, a few readers are plenty.
const MAX_CONNECTIONS: u32 = 8;

/// Options for the database file `path`, created if missing.
pub fn file_options(path: &Path) -> SqliteConnectOptions {
    with_settings(SqliteConnectOptions::new().filename(path))
}

/// Options for a `sqlite:` URL.
pub fn url_options(url: &str) -> Result<SqliteConnectOptions, sqlx::Error> {
    Ok(with_settings(SqliteConnectOptions::from_str(url)?))
}

fn with_settings(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        // WAL lets the roster be read while an upload writes.
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        // Writers queue for up to 5 s instead of failing at once.
        .busy_timeout(Duration::from_secs(5))
        // A receipt promises the visit is on disk: never lose a committed batch on power loss.
        .synchronous(SqliteSynchronous::Full)
}

/// Opens the pool and brings the schema up to date.
pub async fn connect(options: SqliteConnectOptions) -> Result<SqlitePool, sqlx::Error> {
    let pool = SqlitePoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations").run(&pool).await?;
    Ok(pool)
}

/// Opens (creating if missing) the database file at `path`.
pub async fn connect_file(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    connect(file_options(path)).await
}

/// The current time, cut to milliseconds so it reads back from the database unchanged.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// A server time as stored: `2026-01-02T03:04:05.678Z`, fixed width so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Reads a stored server time back.
pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, crate::AppError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| crate::AppError::internal(format!("bad stored time {s:?}: {e}")))
}

/// Reads a stored UUID back.
pub fn parse_uuid(s: &str) -> Result<uuid::Uuid, crate::AppError> {
    uuid::Uuid::parse_str(s).map_err(|e| crate::AppError::internal(format!("bad stored id: {e}")))
}
