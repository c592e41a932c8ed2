//! The store: the SQL the server runs, one module per aggregate. Handlers and
//! services call its typed functions and hold no SQL of their own.
//!
//! One spelling serves both databases wherever SQL is standard:
//! - parameters are numbered, `$1, $2, …` (SQLite reads `$N` too); a piece of SQL
//!   shared by several queries is a function of the number its first parameter takes;
//! - "inside a subtree" is the range `path >= $a AND path < $b`
//!   ([`Subtree::lo`](crate::tree::Subtree::lo), [`hi`](crate::tree::Subtree::hi)),
//!   which both answer from the path index (paths compare byte by byte in both);
//! - SQLite's `CROSS JOIN` (which fixes the join order there) takes its condition in
//!   `WHERE`, which PostgreSQL reads as a plain join.
//!
//! Where the databases differ, [`Dialect`] gives each its own text: the rows of a
//! bound JSON array ([`Dialect::json_texts`]), SQLite's index hints, and the few
//! queries that read inside JSON documents. The dialect is a value: the store holds
//! it, and a connection tells its own ([`dialect_of`]).

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod catalogue;
pub mod exports;
pub mod households;
pub mod ledger;
pub mod matchups;
pub mod meetings;
pub mod phone_lock;
pub mod photos;
pub mod problems;
pub mod receipts;
pub mod reports;
pub mod sessions;
pub mod units;
pub mod upkeep;
pub mod visit_log;
pub mod visits;

use uuid::Uuid;

use crate::db::{Conn, Dialect, Pool, Tx};
use crate::AppError;

/// Reads a stored role back.
pub fn parse_role(s: &str) -> Result<daohu_domain::Role, AppError> {
    daohu_domain::Role::parse(s).ok_or_else(|| AppError::internal(format!("unknown stored role {s:?}")))
}

/// Reads a stored unit kind back.
pub fn parse_unit_kind(s: &str) -> Result<daohu_domain::UnitKind, AppError> {
    daohu_domain::UnitKind::parse(s).ok_or_else(|| AppError::internal(format!("unknown stored unit kind {s:?}")))
}

/// The database behind the server, and which kind it is.
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    dialect: Dialect,
}

impl Store {
    /// The store over an open, migrated pool (see [`crate::db::connect`]).
    pub fn new(pool: Pool) -> Self {
        let dialect = dialect_of_pool(&pool);
        Store { pool, dialect }
    }

    /// The pool, for reads that need no transaction.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A write transaction (see [`begin_write`]).
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        begin_write(&self.pool).await
    }
}

/// A write transaction. On SQLite `BEGIN IMMEDIATE`, which takes the database's
/// one write lock at once (waiting, with the busy timeout, for writers in other
/// processes) rather than failing busy when a read turns into a write. On
/// PostgreSQL a plain transaction: writers run side by side, and what must not
/// interleave is kept apart by unique keys (`INSERT … ON CONFLICT DO NOTHING`,
/// then the stored row decides) and by locking the one row at stake (a problem
/// while its events are replayed, the audit chain's head while it is appended).
pub async fn begin_write(pool: &Pool) -> Result<Tx, sqlx::Error> {
    match dialect_of_pool(pool) {
        Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Dialect::Postgres => pool.begin().await,
    }
}

/// The dialect of the database a pool opens (from its URL: `connect` refused any
/// other than SQLite's and PostgreSQL's).
pub fn dialect_of_pool(pool: &Pool) -> Dialect {
    Dialect::of_url(pool.connect_options().database_url.as_str()).unwrap_or(Dialect::Sqlite)
}

/// The dialect of the database behind a connection.
pub fn dialect_of(conn: &Conn) -> Dialect {
    match conn.backend_name() {
        "PostgreSQL" => Dialect::Postgres,
        _ => Dialect::Sqlite,
    }
}

/// The rows of a statement over a subtree (`$1`, `$2`: its path range) and a
/// period (`$3`, `$4`), the shape of the dashboard's and the meeting sheet's
/// "recorded in the period" reads.
pub async fn rows_in_period<T>(
    conn: &mut Conn,
    sql: &str,
    area: &crate::tree::Subtree,
    from: &str,
    to: &str,
) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(sql).bind(area.lo()).bind(area.hi()).bind(from).bind(to).fetch_all(conn).await
}

/// `%q%` for `LIKE … ESCAPE '\'`, with `%`, `_` and `\` in `q` escaped so they
/// match themselves.
pub fn like_pattern(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 2);
    out.push('%');
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A list of ids as a JSON array, for [`Dialect::json_texts`].
pub fn id_list<'a>(ids: impl IntoIterator<Item = &'a Uuid>) -> String {
    let ids: Vec<String> = ids.into_iter().map(Uuid::to_string).collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}
