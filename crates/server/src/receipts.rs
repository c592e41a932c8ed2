//! The answer to each uploaded record, worked out the same way for visits,
//! activities, check-ins and problem events. An id the server already holds is
//! answered from the stored copy (a duplicate if the content hash matches, else a
//! conflict: see [`Receipt::already_held`]); a refusal of a record the server
//! already holds unchanged is still a duplicate, so a retry after the rules
//! changed (the household unlinked, the volunteer out of the team) is not turned
//! into an error.

use chrono::{DateTime, Utc};
use daohu_domain::Receipt;
use uuid::Uuid;

use crate::db::{parse_ts, Conn};
use crate::AppError;

pub use crate::store::receipts::Records;

/// The receipt for `id` if the server already holds a record under it: compared
/// with `hash`, the content hash of what was sent now.
pub async fn held(conn: &mut Conn, records: Records, id: Uuid, hash: &str) -> Result<Option<Receipt>, AppError> {
    let row = crate::store::receipts::held(conn, records, id).await?;
    row.map(|(stored_hash, at)| Ok(Receipt::already_held(id, stored_hash == hash, parse_ts(&at)?)))
        .transpose()
}

/// A refusal for `reason`, stored nowhere, unless the very same record is already
/// stored: then the first answer again (a duplicate).
pub async fn refuse(
    conn: &mut Conn,
    records: Records,
    id: Uuid,
    hash: &str,
    reason: &str,
) -> Result<Receipt, AppError> {
    match held(conn, records, id, hash).await? {
        Some(receipt) if receipt.acknowledges() => Ok(receipt),
        _ => Ok(Receipt::rejected(id, reason)),
    }
}

/// After `INSERT … ON CONFLICT (id) DO NOTHING`: stored now if a row went in,
/// otherwise what the copy already stored says.
pub async fn decided(
    conn: &mut Conn,
    records: Records,
    id: Uuid,
    hash: &str,
    inserted: bool,
    now: DateTime<Utc>,
) -> Result<Receipt, AppError> {
    if inserted {
        return Ok(Receipt::stored(id, now));
    }
    held(conn, records, id, hash)
        .await?
        .ok_or_else(|| AppError::internal(format!("{records:?}: neither inserted nor found")))
}
