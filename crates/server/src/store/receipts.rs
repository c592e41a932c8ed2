//! What the server already holds under an uploaded record's id (see [`crate::receipts`]).

use uuid::Uuid;

use crate::db::Conn;
use crate::AppError;

/// The tables uploaded records are kept in, each with `id`, `content_hash` and
/// `received_at` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Records {
    Visits,
    Activities,
    CheckIns,
    ProblemEvents,
    LedgerChanges,
}

impl Records {
    fn held_query(self) -> &'static str {
        match self {
            Records::Visits => "SELECT content_hash, received_at FROM visits WHERE id = $1",
            Records::Activities => "SELECT content_hash, received_at FROM activities WHERE id = $1",
            Records::CheckIns => "SELECT content_hash, received_at FROM check_ins WHERE id = $1",
            Records::ProblemEvents => "SELECT content_hash, received_at FROM problem_events WHERE id = $1",
            Records::LedgerChanges => "SELECT content_hash, received_at FROM ledger_changes WHERE id = $1",
        }
    }
}

/// The content hash and receipt time of the record stored under `id`, if any.
pub async fn held(conn: &mut Conn, records: Records, id: Uuid) -> Result<Option<(String, String)>, AppError> {
    Ok(sqlx::query_as(records.held_query())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?)
}
