//! Opening the database (SQLite or PostgreSQL, chosen by the URL), its settings
//! and migrations, and how stored values read back.
//!
//! Stored conventions: ids are hyphenated lowercase UUID text, dates `YYYY-MM-DD`,
//! server times the fixed-width UTC text of [`ts`] (so they sort and compare as text),
//! flags 0/1 integers. Both dialects keep exactly these, so every query reads the same
//! values back from either.
//!
//! The SQL itself is in [`crate::store`], which holds the dialect as a value.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

/// The database, whichever it is.
pub type Db = sqlx::Any;
/// A pool of connections to it.
pub type Pool = sqlx::AnyPool;
/// One connection (inside a transaction, `&mut *tx`).
pub type Conn = sqlx::AnyConnection;
/// A transaction that owns its connection.
pub type Tx = sqlx::Transaction<'static, Db>;

/// The database file's name in the data folder (as [`crate::serve`] opens it,
/// and `backup` and `audit verify` find it).
pub const DB_FILE: &str = "daohu.sqlite3";

/// Connections in the pool: SQLite has one writer anyway, and a PostgreSQL server is
/// shared by every instance, so each takes a few.
const MAX_CONNECTIONS: u32 = 8;

/// Which database the URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// The embedded default: one file, one machine.
    Sqlite,
    /// A server for a county or more, shared by several instances.
    Postgres,
}

impl Dialect {
    /// The dialect of a `sqlite:` or `postgres:`/`postgresql:` URL.
    pub fn of_url(url: &str) -> Result<Dialect, sqlx::Error> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else {
            Err(sqlx::Error::Configuration(
                "the database URL must start with sqlite: or postgres:".into(),
            ))
        }
    }

    /// A table of the texts in the JSON array bound as parameter `n`, one row
    /// each, in a column named `value`.
    pub fn json_texts(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("json_each(${n})"),
            Dialect::Postgres => format!("json_array_elements_text(CAST(${n} AS json))"),
        }
    }

    /// SQLite's hint to read `table` through `index` (written after the table and
    /// its alias); PostgreSQL plans for itself, so nothing there.
    pub fn index_hint(self, index: &str) -> String {
        match self {
            Dialect::Sqlite => format!("INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }

    /// A `LIMIT` that takes every row, for an ordered subquery that must stay a
    /// subquery (a subquery with a `LIMIT` is never merged into the query around
    /// it, so its order holds).
    pub fn every_row(self) -> &'static str {
        match self {
            Dialect::Sqlite => "LIMIT -1",
            Dialect::Postgres => "LIMIT ALL",
        }
    }
}

/// A 0/1 flag column read as a `bool` (`#[sqlx(try_from = "Flag")]`): both
/// dialects store flags as integers, and the generic driver reads them as such.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub struct Flag(pub i64);

impl From<Flag> for bool {
    fn from(f: Flag) -> bool {
        f.0 != 0
    }
}

/// The URL of the SQLite file at `path`, created if missing.
pub fn file_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Opens the pool for `url` and brings the schema up to date.
pub async fn connect(url: &str) -> Result<Pool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let dialect = Dialect::of_url(url)?;
    let options = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(Duration::from_secs(10));
    let options = match dialect {
        Dialect::Sqlite => options.after_connect(|conn, _| {
            Box::pin(async move {
                // WAL lets the roster be read while an upload writes; writers queue
                // for up to 5 s instead of failing at once; a receipt promises the
                // visit is on disk, so a committed batch survives power loss.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                     PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;",
                )
                .await?;
                Ok(())
            })
        }),
        Dialect::Postgres => options.after_connect(|conn, _| {
            Box::pin(async move {
                // Statements are prepared once per connection; a plan made for any
                // value cannot tell a village's path range (a few hundred visits)
                // from a county's (a million), so each call is planned for its
                // values. JIT compiling costs more than these queries take.
                // A text search's bitmap of a county's matches (100,000 visits)
                // needs about 8 MB to stay exact: past work_mem it turns lossy and
                // every visit on a lossy page has its search keys worked out again
                // (1.8 s instead of 0.16 s); the sort of a past period's visits
                // spilled to disk at the default 4 MB too.
                conn.execute(
                    "SET plan_cache_mode = force_custom_plan; SET jit = off; SET work_mem = '64MB';",
                )
                .await?;
                Ok(())
            })
        }),
    };
    let pool = options.connect(url).await?;
    restore_checksums(&pool, dialect).await?;
    match dialect {
        Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
        Dialect::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
    }
    Ok(pool)
}

/// A migration whose text changed after a release had run it: the file (the
/// text of the latest release) and the SHA-384 of each other text a database
/// may hold.
struct Reworded {
    version: i64,
    file: &'static [u8],
    others: &'static [&'static str],
}

/// Texts that releases ran and the files no longer hold: SQLite's 0017 with
/// one comment other; 0019 with its append-only trigger (the files' text has
/// none; 0022 makes it whether or not it is there); 0021 with its unmatched
/// needs written out instead of read through a view (the same rows). The
/// files hold the latest release's text.
const REWORDED_SQLITE: [Reworded; 3] = [
    Reworded {
        version: 17,
        file: include_bytes!("../migrations/sqlite/0017_ledger_tallies.sql"),
        others: &["c01f7ccc66c73afcafe648ce9df2c4db2bfc97d895aa0f09295c025265df77cc71cd6f3aaa38ca5dd0fd0ddc6ca07261"],
    },
    Reworded {
        version: 19,
        file: include_bytes!("../migrations/sqlite/0019_matchups.sql"),
        others: &["9406feee15b66d10f00811832e5aec21891f516492f91da0ab7da1b4cebc2f5680ec57828f067aa5ecb6eba7fe0806a1"],
    },
    Reworded {
        version: 21,
        file: include_bytes!("../migrations/sqlite/0021_service_need_tallies.sql"),
        others: &["d742fe0fc21da7a497f816af23fa5247324981730a020b73d08d424ec0a8773d5232051ac049a3c46b4260dc3556ad6d"],
    },
];
const REWORDED_POSTGRES: [Reworded; 2] = [
    Reworded {
        version: 19,
        file: include_bytes!("../migrations/postgres/0019_matchups.sql"),
        others: &["87cac3e097525ba0432071d58a0196c15bddd741daa83431ef88db592afb16fa2fd83b430d013fa78672c15c5bf446cb"],
    },
    Reworded {
        version: 21,
        file: include_bytes!("../migrations/postgres/0021_service_need_tallies.sql"),
        others: &["995d82cf8b87eef37df3e3afe2ae87e4be1430777ca42baaa960d1241689188860a7283ac9a388fa275cc7355d9842f2"],
    },
];

/// A database migrated by a release with another text of a [`Reworded`]
/// migration keeps that text's checksum, which would stop the server at
/// start: it gets the file's checksum instead.
async fn restore_checksums(pool: &Pool, dialect: Dialect) -> Result<(), sqlx::Error> {
    use sha2::Digest;
    let (exists, hex, reworded): (&str, &str, &[Reworded]) = match dialect {
        Dialect::Sqlite => (
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            "lower(hex(checksum))",
            &REWORDED_SQLITE,
        ),
        Dialect::Postgres => (
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'",
            "encode(checksum, 'hex')",
            &REWORDED_POSTGRES,
        ),
    };
    let migrated: i64 = sqlx::query_scalar(exists).fetch_one(pool).await?;
    if migrated == 0 {
        return Ok(());
    }
    for r in reworded {
        for other in r.others {
            sqlx::query(&format!("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2 AND {hex} = $3"))
                .bind(sha2::Sha384::digest(r.file).to_vec())
                .bind(r.version)
                .bind(*other)
                .execute(pool)
                .await?;
        }
    }
    Ok(())
}

/// Opens (creating if missing) the SQLite database file at `path`.
pub async fn connect_file(path: &Path) -> Result<Pool, sqlx::Error> {
    connect(&file_url(path)).await
}

#[cfg(feature = "testkit")]
/// The variable naming a PostgreSQL server for the test suite (any database on it;
/// each test gets a new database of its own there).
pub const TEST_POSTGRES_VAR: &str = "DAOHU_TEST_POSTGRES";

#[cfg(feature = "testkit")]
/// The PostgreSQL server the tests run against, if `DAOHU_TEST_POSTGRES` names one.
pub fn test_postgres() -> Option<String> {
    std::env::var(TEST_POSTGRES_VAR).ok().filter(|u| !u.trim().is_empty())
}

#[cfg(feature = "testkit")]
/// A new, empty, migrated database for one test: a SQLite file in `dir`, or a new
/// database on the server `DAOHU_TEST_POSTGRES` names.
pub async fn test_database(dir: &Path) -> Result<Pool, sqlx::Error> {
    connect(&test_database_url(dir).await?).await
}

#[cfg(feature = "testkit")]
/// The URL of a new, empty database for one test (not yet migrated): a SQLite
/// file in `dir`, or a new database on the server `DAOHU_TEST_POSTGRES` names.
pub async fn test_database_url(dir: &Path) -> Result<String, sqlx::Error> {
    match test_postgres() {
        None => Ok(file_url(&dir.join("daohu.sqlite3"))),
        Some(base) => {
            let name = format!("daohu_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(&base).await?;
            admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
            admin.close().await;
            Ok(with_database(&base, &name))
        }
    }
}

/// `url` (a `postgres://` URL) with its database replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (main, query) = match url.split_once('?') {
        Some((m, q)) => (m, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = main.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match main[after_scheme..].find('/') {
        Some(i) => &main[..after_scheme + i],
        None => main,
    };
    format!("{base}/{name}{query}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_replaced_in_url() {
        assert_eq!(with_database("postgres://u@h:5/postgres", "t1"), "postgres://u@h:5/t1");
        assert_eq!(with_database("postgres://u@h:5", "t1"), "postgres://u@h:5/t1");
        assert_eq!(with_database("postgres://u@h/d?sslmode=disable", "t"), "postgres://u@h/t?sslmode=disable");
    }

    /// A database migrated by a release with another text of 0017, 0019 or
    /// 0021 starts and holds the files' checksums afterwards; one from before
    /// 0022 (0019 without its append-only trigger) gets the trigger from 0022.
    #[tokio::test]
    async fn a_database_with_another_text_of_a_reworded_migration_starts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let pool = connect_file(&path).await.unwrap();
        let stored = |version: i64| {
            let path = path.clone();
            async move {
                let p = connect_file(&path).await.unwrap();
                let hex: String = sqlx::query_scalar("SELECT lower(hex(checksum)) FROM _sqlx_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_one(&p)
                    .await
                    .unwrap();
                p.close().await;
                hex
            }
        };
        let versions: Vec<i64> = REWORDED_SQLITE.iter().map(|r| r.version).collect();
        let mut files = Vec::new();
        for v in &versions {
            files.push(stored(*v).await);
        }
        for r in &REWORDED_SQLITE {
            sqlx::query(&format!("UPDATE _sqlx_migrations SET checksum = X'{}' WHERE version = {}", r.others[0], r.version))
                .execute(&pool)
                .await
                .unwrap();
        }
        sqlx::query("DROP TRIGGER matchups_keep").execute(&pool).await.unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = 22").execute(&pool).await.unwrap();
        pool.close().await;
        let mut after = Vec::new();
        for v in &versions {
            after.push(stored(*v).await);
        }
        assert_eq!(after, files, "opened again, it starts and holds the files' checksums");
        assert!(REWORDED_SQLITE.iter().all(|r| r.others.iter().all(|o| !files.contains(&o.to_string()))));
        let p = connect_file(&path).await.unwrap();
        let ran: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = 22").fetch_one(&p).await.unwrap();
        let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'matchups_keep'")
            .fetch_one(&p)
            .await
            .unwrap();
        assert_eq!((ran, kept), (1, 1));
    }

    #[test]
    fn dialects_by_url() {
        assert_eq!(Dialect::of_url("sqlite://x.db").unwrap(), Dialect::Sqlite);
        assert_eq!(Dialect::of_url("postgresql://u@h/d").unwrap(), Dialect::Postgres);
        assert!(Dialect::of_url("mysql://x").is_err());
    }
}
