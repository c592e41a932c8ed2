//! The database as a whole: the health check, SQLite backups and their check, and
//! fresh planner statistics after a bulk load.

use sqlx::any::AnyExecutor;

use crate::db::{Conn, Dialect};
use crate::AppError;

/// A trivial query: whether the database answers.
pub async fn ping<'c>(db: impl AnyExecutor<'c>) -> Result<(), sqlx::Error> {
    let _: i64 = sqlx::query_scalar("SELECT 1").fetch_one(db).await?;
    Ok(())
}

/// SQLite: writes a consistent copy of the database to the file `path` (which
/// must not exist), while other connections keep writing.
pub async fn vacuum_into(conn: &mut Conn, path: &str) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO $1").bind(path).execute(conn).await?;
    Ok(())
}

/// SQLite: `PRAGMA integrity_check` (`"ok"` for a sound file) and how many visits
/// the file holds.
pub async fn check_file<'c>(db: impl AnyExecutor<'c> + Copy) -> Result<(String, i64), sqlx::Error> {
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(db).await?;
    let visits: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits").fetch_one(db).await?;
    Ok((integrity, visits))
}

/// Refreshes the planner's statistics (after a bulk load).
pub async fn analyze(conn: &mut Conn) -> Result<(), AppError> {
    let sql = match crate::store::dialect_of(conn) {
        Dialect::Sqlite => "PRAGMA optimize",
        Dialect::Postgres => "ANALYZE",
    };
    sqlx::query(sql).execute(conn).await?;
    Ok(())
}
