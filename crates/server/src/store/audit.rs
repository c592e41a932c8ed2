//! The audit log's rows and its chain head (see [`crate::audit`] for the chain).

use daohu_domain::AuditEntry;
use sqlx::any::AnyExecutor;

use crate::db::{parse_ts, parse_uuid, Conn, Dialect};
use crate::tree::Subtree;
use crate::AppError;

/// Locks the chain head for the rest of the transaction and reads its hash. On
/// PostgreSQL `FOR UPDATE`; on SQLite a no-op UPDATE, which takes the one write
/// lock (waiting with the busy timeout) before anything is read.
pub async fn lock_head(conn: &mut Conn) -> Result<String, AppError> {
    let sql = match crate::store::dialect_of(conn) {
        Dialect::Postgres => "SELECT head_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE",
        Dialect::Sqlite => "UPDATE audit_chain_head SET head_hash = head_hash WHERE id = 1 RETURNING head_hash",
    };
    Ok(sqlx::query_scalar(sql).fetch_one(conn).await?)
}

/// One entry to append, with its place in the chain.
pub struct NewEntry<'a> {
    pub at: &'a str,
    pub actor: Option<&'a str>,
    pub action: &'a str,
    pub detail: &'a str,
    pub prev_hash: &'a str,
    pub row_hash: &'a str,
}

/// Appends an entry and moves the chain head to it.
pub async fn append(conn: &mut Conn, e: NewEntry<'_>) -> Result<(), AppError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (at, actor_member_id, action, detail, prev_hash, row_hash)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(e.at)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.detail)
    .bind(e.prev_hash)
    .bind(e.row_hash)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_chain_head SET head_hash = $1, head_id = $2 WHERE id = 1")
        .bind(e.row_hash)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The chain head: the first chained row's predecessor, the newest hash and its row.
pub async fn head(conn: &mut Conn) -> Result<(i64, String, i64), AppError> {
    Ok(sqlx::query_as("SELECT since_id, head_hash, head_id FROM audit_chain_head WHERE id = 1")
        .fetch_one(conn)
        .await?)
}

/// A row as the chain check reads it.
#[derive(sqlx::FromRow)]
pub struct ChainRow {
    pub id: i64,
    pub at: String,
    pub actor_member_id: Option<String>,
    pub action: String,
    pub detail: String,
    pub prev_hash: Option<String>,
    pub row_hash: Option<String>,
}

/// Up to `limit` rows after id `after`, in id order.
pub async fn chain_page(conn: &mut Conn, after: i64, limit: i64) -> Result<Vec<ChainRow>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, at, actor_member_id, action, detail, prev_hash, row_hash
         FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor_member_id: Option<String>,
    actor_name: Option<String>,
    action: String,
    detail: String,
}

/// The newest `limit` entries by accounts in the subtree or by nobody, newest first.
pub async fn newest<'c>(db: impl AnyExecutor<'c>, subtree: &Subtree, limit: u32) -> Result<Vec<AuditEntry>, AppError> {
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT a.id, a.at, a.actor_member_id, m.name AS actor_name, a.action, a.detail
         FROM audit_log a
         LEFT JOIN members m ON m.id = a.actor_member_id
         LEFT JOIN units u ON u.id = m.unit_id
         WHERE a.actor_member_id IS NULL OR (u.path >= $1 AND u.path < $2)
         ORDER BY a.id DESC
         LIMIT $3",
    )
    .bind(subtree.lo())
    .bind(subtree.hi())
    .bind(i64::from(limit))
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.id,
                at: parse_ts(&r.at)?,
                actor_id: r.actor_member_id.as_deref().map(parse_uuid).transpose()?,
                actor_name: r.actor_name,
                action: r.action,
                detail: serde_json::from_str(&r.detail)?,
            })
        })
        .collect()
}
