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

/// How many keys (unit, day) one [`fold_tallies`] pass folds at most per table,
/// so a pass stays short however long the server was down.
pub const FOLD_KEYS: i64 = 5_000;

/// `visit_days`' counted columns, as migration 0004 added them.
const VISIT_DAYS_COLUMNS: &str = "visits, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, any0, any1, any2";
const VISIT_DAYS_SUMS: &str = "SUM(visits), SUM(s0), SUM(s1), SUM(s2), SUM(s3), SUM(s4), SUM(s5), SUM(s6), SUM(s7), \
     SUM(s8), SUM(s9), SUM(s10), SUM(s11), SUM(s12), SUM(s13), SUM(s14), SUM(any0), SUM(any1), SUM(any2)";

/// PostgreSQL: folds the rows of changes that uploads append to the tallies
/// (migrations 0011 and 0017) into one row per key (unit and day; the ledger's
/// state, grid, field and application day), dropping keys that net to
/// nothing; readers sum a key's rows, so they read the same before and after.
/// Returns how many keys it folded ([`FOLD_KEYS`] a table at most: call again
/// while it is not 0 to fold everything), or `None` when another pass was
/// running (one at a time across instances). Nothing to do on SQLite, which
/// keeps one row a key.
pub async fn fold_tallies(conn: &mut Conn) -> Result<Option<u64>, AppError> {
    if crate::store::dialect_of(conn) != Dialect::Postgres {
        return Ok(Some(0));
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Two passes deleting the same keys in other orders could deadlock.
    let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(7100011)")
        .fetch_one(&mut *tx)
        .await?;
    if !ours {
        return Ok(None);
    }
    let mut folded = 0;
    for (table, key, columns, sums, counted) in [
        ("visit_days", &["unit_id", "day"][..], VISIT_DAYS_COLUMNS, VISIT_DAYS_SUMS, "visits"),
        ("household_last_visits", &["unit_id", "day"][..], "households", "SUM(households)", "households"),
        // The household ledger's counts (migration 0017).
        ("ledger_tallies", &["state", "unit_path", "field", "applying_since"][..], "n", "SUM(n)", "n"),
        // Services per unit, day and kind (migration 0021).
        ("service_days", &["unit_id", "day", "kind"][..], "services, households", "SUM(services), SUM(households)", "services"),
        // The ledger's counted values per unit and day of their change (migration 0024).
        ("ledger_days", &["unit_id", "day", "field", "state"][..], "n", "SUM(n)", "n"),
        // 应享未享 and applications per unit (migration 0026).
        ("policy_tallies", &["unit_id", "state", "field", "since"][..], "n", "SUM(n)", "n"),
    ] {
        let keys = key.join(", ");
        let same = key.iter().map(|k| format!("t.{k} = keys.{k}")).collect::<Vec<_>>().join(" AND ");
        // A row a change came in while this runs is not in the statement's
        // snapshot: it is neither deleted nor summed, and waits for the next pass.
        let sql = format!(
            "WITH keys AS (SELECT DISTINCT {keys} FROM {table} WHERE fresh LIMIT $1),
                  gone AS (DELETE FROM {table} t USING keys
                           WHERE {same}
                           RETURNING t.*),
                  -- Runs whether or not the last line reads it, as every
                  -- data-modifying part of a WITH does.
                  kept AS (INSERT INTO {table} ({keys}, {columns}, fresh)
                           SELECT {keys}, {sums}, false FROM gone
                           GROUP BY {keys} HAVING SUM({counted}) <> 0
                           RETURNING 1)
             SELECT CAST(COUNT(*) AS BIGINT) FROM keys"
        );
        let n: i64 = sqlx::query_scalar(&sql).bind(FOLD_KEYS).fetch_one(&mut *tx).await?;
        folded += u64::try_from(n).unwrap_or(0);
    }
    tx.commit().await?;
    Ok(Some(folded))
}
