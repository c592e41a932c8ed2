//! Opening the database (SQLite or PostgreSQL, chosen by the URL), its settings,
//! its migrations, and the one place SQL is adapted to the database in use.
//!
//! Stored conventions: ids are hyphenated lowercase UUID text, dates `YYYY-MM-DD`,
//! server times the fixed-width UTC text of [`ts`] (so they sort and compare as text),
//! flags 0/1 integers. Both dialects keep exactly these, so every query reads the same
//! values back from either.
//!
//! Queries are written once, in SQLite's spelling with `?` parameters, and go through
//! [`query`], [`query_as`] or [`query_scalar`]. On PostgreSQL [`sql`] rewrites them:
//! `?` → `$1, $2, …`, `GLOB` → `LIKE` (a subtree pattern from [`Dialect::prefix_pattern`]
//! ends in the right wildcard for each), and `json_each(?)` over a bound JSON array →
//! `json_array_elements_text`. The few queries that read inside JSON documents branch
//! on [`dialect`] instead. One process talks to one kind of database.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::any::{AnyArguments, AnyPoolOptions, AnyRow};
use sqlx::{Executor, FromRow};

/// The database, whichever it is.
pub type Db = sqlx::Any;
/// A pool of connections to it.
pub type Pool = sqlx::AnyPool;
/// One connection (inside a transaction, `&mut *tx`).
pub type Conn = sqlx::AnyConnection;
/// A transaction that owns its connection.
pub type Tx = sqlx::Transaction<'static, Db>;

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

    /// The pattern matching every text starting with `prefix` (which holds no
    /// wildcards: unit paths are UUIDs and slashes), for `GLOB ?` in a query.
    pub fn prefix_pattern(self, prefix: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{prefix}*"),
            Dialect::Postgres => format!("{prefix}%"),
        }
    }
}

static DIALECT: AtomicU8 = AtomicU8::new(0);

/// The dialect of the database this process opened (SQLite until one is opened).
pub fn dialect() -> Dialect {
    match DIALECT.load(Ordering::Relaxed) {
        1 => Dialect::Postgres,
        _ => Dialect::Sqlite,
    }
}

fn set_dialect(d: Dialect) {
    DIALECT.store(matches!(d, Dialect::Postgres) as u8, Ordering::Relaxed);
}

/// The text of `sql` for the database in use (see the module notes). Rewritten
/// texts are kept, so each distinct query is rewritten once per process; their
/// number is bounded by the code (values are always bound, never spliced in).
pub fn sql(sql: &str) -> &str {
    match dialect() {
        Dialect::Sqlite => sql,
        Dialect::Postgres => {
            static CACHE: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
            let cache = CACHE.get_or_init(Default::default);
            let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(done) = map.get(sql) {
                return done;
            }
            let done: &'static str = Box::leak(to_postgres(sql).into_boxed_str());
            map.insert(sql.to_string(), done);
            done
        }
    }
}

/// Rewrites SQLite's spelling into PostgreSQL's, leaving quoted text alone.
pub fn to_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            // A quoted literal, with '' inside it, copied as it is.
            let mut end = 1;
            let bytes = rest.as_bytes();
            loop {
                match bytes[end..].iter().position(|&b| b == b'\'') {
                    Some(p) => {
                        end += p + 1;
                        if bytes.get(end) == Some(&b'\'') {
                            end += 1;
                        } else {
                            break;
                        }
                    }
                    None => {
                        end = bytes.len();
                        break;
                    }
                }
            }
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if rest.starts_with("json_each(?)") {
            n += 1;
            out.push_str(&format!("json_array_elements_text(CAST(${n} AS json))"));
            rest = &rest["json_each(?)".len()..];
        } else if starts_with_word(rest, "CROSS JOIN") {
            // SQLite's way to fix the join order; PostgreSQL plans joins itself.
            out.push_str("JOIN");
            rest = &rest["CROSS JOIN".len()..];
        } else if starts_with_word(rest, "INDEXED BY") {
            // SQLite's index hint: dropped with its index name.
            rest = rest["INDEXED BY".len()..].trim_start();
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
            rest = &rest[end..];
            if out.ends_with(' ') && rest.starts_with(' ') {
                rest = &rest[1..];
            }
        } else if rest.starts_with("LIMIT -1") {
            out.push_str("LIMIT ALL");
            rest = &rest["LIMIT -1".len()..];
        } else if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
            rest = &rest[1..];
        } else if starts_with_word(rest, "GLOB") && !out.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            out.push_str("LIKE");
            rest = &rest[4..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn starts_with_word(s: &str, word: &str) -> bool {
    s.starts_with(word)
        && !s[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
}

/// [`sql`] for a query text made at run time with numbers in it (a page's
/// `LIMIT`), which is rewritten each time rather than kept.
pub fn owned_sql(sql: String) -> String {
    match dialect() {
        Dialect::Sqlite => sql,
        Dialect::Postgres => to_postgres(&sql),
    }
}

/// `sqlx::query` over [`sql`].
pub fn query(q: &str) -> sqlx::query::Query<'_, Db, AnyArguments<'_>> {
    sqlx::query(sql(q))
}

/// `sqlx::query_as` over [`sql`].
pub fn query_as<'q, O>(q: &'q str) -> sqlx::query::QueryAs<'q, Db, O, AnyArguments<'q>>
where
    O: for<'r> FromRow<'r, AnyRow>,
{
    sqlx::query_as(sql(q))
}

/// `sqlx::query_scalar` over [`sql`].
pub fn query_scalar<'q, O>(q: &'q str) -> sqlx::query::QueryScalar<'q, Db, O, AnyArguments<'q>>
where
    (O,): for<'r> FromRow<'r, AnyRow>,
{
    sqlx::query_scalar(sql(q))
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
    set_dialect(dialect);
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
                // value would not use the path index for `path LIKE $1` (the
                // prefix is only known per call), so each call is planned for its
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
    match dialect {
        Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
        Dialect::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
    }
    Ok(pool)
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
    fn postgres_spelling() {
        assert_eq!(
            to_postgres("SELECT a FROM t WHERE p GLOB ? AND b = ? AND c = 'x?''GLOB' AND d IN (SELECT value FROM json_each(?))"),
            "SELECT a FROM t WHERE p LIKE $1 AND b = $2 AND c = 'x?''GLOB' AND d IN (SELECT value FROM json_array_elements_text(CAST($3 AS json)))"
        );
        assert_eq!(
            to_postgres("FROM visits v INDEXED BY visits_day CROSS JOIN units g ON g.id = v.x LIMIT -1"),
            "FROM visits v JOIN units g ON g.id = v.x LIMIT ALL"
        );
        // A text already rewritten stays as it is (a query may pass twice).
        let once = to_postgres("SELECT 1 FROM v CROSS JOIN u ON u.g GLOB ? WHERE x IN (SELECT value FROM json_each(?)) LIMIT -1");
        assert_eq!(to_postgres(&once), once);
        // Words that merely contain GLOB stay as they are.
        assert_eq!(to_postgres("SELECT globs, xGLOB FROM t"), "SELECT globs, xGLOB FROM t");
    }

    #[test]
    fn database_replaced_in_url() {
        assert_eq!(with_database("postgres://u@h:5/postgres", "t1"), "postgres://u@h:5/t1");
        assert_eq!(with_database("postgres://u@h:5", "t1"), "postgres://u@h:5/t1");
        assert_eq!(with_database("postgres://u@h/d?sslmode=disable", "t"), "postgres://u@h/t?sslmode=disable");
    }

    #[test]
    fn patterns_end_in_each_wildcard() {
        assert_eq!(Dialect::Sqlite.prefix_pattern("/a/"), "/a/*");
        assert_eq!(Dialect::Postgres.prefix_pattern("/a/"), "/a/%");
        assert!(Dialect::of_url("mysql://x").is_err());
    }
}
