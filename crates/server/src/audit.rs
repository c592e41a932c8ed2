//! The append-only audit log (the table refuses updates and deletes by trigger).

use serde_json::Value;
use crate::db::Conn;
use uuid::Uuid;

use crate::db::{self, ts};
use crate::AppError;

/// Appends one entry. `detail` must never hold a password, a token or a full phone number.
pub async fn record(
    conn: &mut Conn,
    actor: Option<Uuid>,
    action: &str,
    detail: Value,
) -> Result<(), AppError> {
    crate::db::query("INSERT INTO audit_log (at, actor_member_id, action, detail) VALUES (?, ?, ?, ?)")
        .bind(ts(db::now()))
        .bind(actor.map(|id| id.to_string()))
        .bind(action)
        .bind(detail.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
