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

/// Texts that releases ran and the files no longer hold. SQLite's 0017 with
/// one comment other; 0019 with its append-only trigger (the files' text has
/// none; 0022 makes it whether or not it is there); 0021 with its unmatched
/// needs written out instead of read through a view (the same rows);
/// PostgreSQL's 0019 and 0021 likewise. The files hold the latest landing's
/// text, the others are an earlier landing's (`ae2aa2d`).
const REWORDED_SQLITE: [Reworded; 3] = [
    Reworded {
        version: 17,
        file: include_bytes!("../migrations/sqlite/0017_ledger_tallies.sql"),
        others: &["457a8647eeda529a33bbe5c881974ce1d5c2d90d45cb598b147787f0db33fb32acd5a5416dc351d25ca3f5dc1000b543"],
    },
    Reworded {
        version: 19,
        file: include_bytes!("../migrations/sqlite/0019_matchups.sql"),
        others: &["b54817c46bf2c10e0df41d611bbb7e90847dd3554ad0a7141b7bcd8cbd0b9272e56d295910b0b625f699b2b4602ba85d"],
    },
    Reworded {
        version: 21,
        file: include_bytes!("../migrations/sqlite/0021_service_need_tallies.sql"),
        others: &["355c46f2b90c57b51954332bf89b2089e12664f9e0f8ce180d862c7db65332a21a56dec12e8191f2cb811e6809da4330"],
    },
];
const REWORDED_POSTGRES: [Reworded; 2] = [
    Reworded {
        version: 19,
        file: include_bytes!("../migrations/postgres/0019_matchups.sql"),
        others: &["b54817c46bf2c10e0df41d611bbb7e90847dd3554ad0a7141b7bcd8cbd0b9272e56d295910b0b625f699b2b4602ba85d"],
    },
    Reworded {
        version: 21,
        file: include_bytes!("../migrations/postgres/0021_service_need_tallies.sql"),
        others: &["255fcdca5b29061b8c50d7f8a4310459415a87263d0006c110b60f4c2741efde43a8765af025cfe9c3e7ec05e72eb185"],
    },
];

/// A migration an earlier landing ran with a text that did less than the
/// file's: such a database is given `undo`, its row goes, and the file's text
/// runs when the migrations run (sqlx runs a missing one out of order).
struct Rerun {
    version: i64,
    /// SHA-384 of the earlier text.
    text: &'static str,
    /// What the earlier text made that the file's text does not.
    undo: &'static str,
}

/// `ae2aa2d`'s 0024 was one index on `ledger_current`, read by nothing now;
/// the file's 0024 makes `ledger_days` and dates the unmatched needs.
/// PostgreSQL's 0023 there rewrote only the needs trigger, which the file's
/// 0023 writes again with the functions it uses.
const RERUN_SQLITE: [Rerun; 1] = [Rerun {
    version: 24,
    text: "346068548d4691c86fded539b024d56bc463dac277430ff1f73487d2260e94a358ffeb297e90aa11547d0437f6d9fc76",
    undo: "DROP INDEX IF EXISTS ledger_current_recorded",
}];
const RERUN_POSTGRES: [Rerun; 2] = [
    Rerun {
        version: 23,
        text: "fa003a7f8140c379adbaabaeb0d68d0a44d25fcc2228a9add84bb7cb04e20e8f6a564610b2afb511e46e433033c57990",
        undo: "SELECT 1",
    },
    Rerun {
        version: 24,
        text: "346068548d4691c86fded539b024d56bc463dac277430ff1f73487d2260e94a358ffeb297e90aa11547d0437f6d9fc76",
        undo: "DROP INDEX IF EXISTS ledger_current_recorded",
    },
];

/// A database migrated by a release with another text of a [`Reworded`]
/// migration keeps that text's checksum, which would stop the server at
/// start: it gets the file's checksum instead. One that ran a [`Rerun`]'s
/// earlier text has it undone, to run the file's.
async fn restore_checksums(pool: &Pool, dialect: Dialect) -> Result<(), sqlx::Error> {
    use sha2::Digest;
    let (exists, hex, reworded, rerun): (&str, &str, &[Reworded], &[Rerun]) = match dialect {
        Dialect::Sqlite => (
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            "lower(hex(checksum))",
            &REWORDED_SQLITE,
            &RERUN_SQLITE,
        ),
        Dialect::Postgres => (
            "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations'",
            "encode(checksum, 'hex')",
            &REWORDED_POSTGRES,
            &RERUN_POSTGRES,
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
    for r in rerun {
        let ran: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = $1 AND {hex} = $2"))
            .bind(r.version)
            .bind(r.text)
            .fetch_one(pool)
            .await?;
        if ran > 0 {
            let mut tx = pool.begin().await?;
            sqlx::query(r.undo).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1").bind(r.version).execute(&mut *tx).await?;
            tx.commit().await?;
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

    /// A database that ran `ae2aa2d`'s 0024 (one index, no `ledger_days`)
    /// starts, loses the index and gets what the file's 0024 makes.
    #[tokio::test]
    async fn a_database_that_ran_an_earlier_0024_gets_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        let pool = connect_file(&path).await.unwrap();
        // What the earlier 0024 left: no ledger_days, no day on unmatched needs, its index.
        for sql in [
            "DROP TRIGGER ledger_days_added",
            "DROP TRIGGER ledger_days_removed",
            "DROP TRIGGER ledger_days_changed",
            "DROP VIEW ledger_day_change",
            "DROP TABLE ledger_days",
            "DROP TRIGGER unmatched_needs_day",
            "DROP INDEX unmatched_needs_place_day",
            "ALTER TABLE unmatched_needs DROP COLUMN day",
            "CREATE INDEX ledger_current_recorded ON ledger_current(state, effective_at, unit_path, field)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        sqlx::query(&format!("UPDATE _sqlx_migrations SET checksum = X'{}' WHERE version = 24", RERUN_SQLITE[0].text))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let p = connect_file(&path).await.unwrap();
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE name IN ('ledger_days', 'ledger_current_recorded', 'unmatched_needs_day') ORDER BY name",
        )
        .fetch_all(&p)
        .await
        .unwrap();
        assert_eq!(names, ["ledger_days", "unmatched_needs_day"]);
        let day: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info('unmatched_needs') WHERE name = 'day'")
            .fetch_one(&p)
            .await
            .unwrap();
        assert_eq!(day, 1);
        let stored: String = sqlx::query_scalar("SELECT lower(hex(checksum)) FROM _sqlx_migrations WHERE version = 24")
            .fetch_one(&p)
            .await
            .unwrap();
        assert_ne!(stored, RERUN_SQLITE[0].text);
    }

    #[test]
    fn dialects_by_url() {
        assert_eq!(Dialect::of_url("sqlite://x.db").unwrap(), Dialect::Sqlite);
        assert_eq!(Dialect::of_url("postgresql://u@h/d").unwrap(), Dialect::Postgres);
        assert!(Dialect::of_url("mysql://x").is_err());
    }
}
