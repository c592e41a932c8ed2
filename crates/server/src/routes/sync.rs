//! Uploading visits from the phone's outbox: one receipt per record, idempotent by visit id.

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use daohu_domain::{ApiError, Receipt, ReceiptStatus, SyncBatch, SyncResponse, Visit, MAX_BATCH};
use serde_json::json;
use sqlx::SqliteConnection;

use crate::auth::{sha256_hex, AuthUser};
use crate::db::{self, parse_ts, ts};
use crate::{audit, scope, ApiJson, AppError, AppState};

/// Reason given when the same id already holds other content.
pub const CONFLICT_REASON: &str = "服务器上已有同一编号的不同记录，已保留服务器上的版本";
/// Reason given for a visit recorded under someone else's name.
pub const NOT_OWN_REASON: &str = "只能上传自己的走访记录";
/// Reason given for a household the caller does not look after.
pub const OUT_OF_SCOPE_REASON: &str = "这户不在你的联系范围内";

/// `/sync/visits`.
pub fn router() -> Router<AppState> {
    Router::new().route("/sync/visits", post(sync_visits_upload))
}

/// Stores a batch of visits in one transaction and answers a receipt for each, in order.
///
/// A visit already stored with the same content answers `duplicate` with the
/// original `received_at`, so a retried batch gets the very same receipts.
#[utoipa::path(
    post, path = "/api/sync/visits", tag = "sync",
    security(("bearer" = [])),
    request_body = SyncBatch,
    responses(
        (status = 200, description = "One receipt per visit, in order", body = SyncResponse),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "The caller's role does not record visits", body = ApiError),
        (status = 413, description = "More visits than MAX_BATCH, or body too large", body = ApiError),
        (status = 503, description = "Not stored; retry later", body = ApiError),
    )
)]
pub async fn sync_visits_upload(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(batch): ApiJson<SyncBatch>,
) -> Result<Json<SyncResponse>, AppError> {
    if !user.role.records_visits() {
        return Err(AppError::forbidden("你的角色不能上传走访记录"));
    }
    if batch.visits.len() > MAX_BATCH {
        return Err(AppError::too_large(format!(
            "一次最多上传 {MAX_BATCH} 条记录"
        )));
    }

    // One writer at a time in this process; BEGIN IMMEDIATE (with the busy timeout)
    // does the same across processes. Either way a batch never races itself.
    let _writer = state.write_lock.lock().await;
    let now = db::now();
    let mut tx = state.pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query(
        "INSERT INTO devices (device_id, member_id, last_sync_at) VALUES (?, ?, ?)
         ON CONFLICT (device_id) DO UPDATE
         SET member_id = excluded.member_id, last_sync_at = excluded.last_sync_at",
    )
    .bind(batch.device_id.to_string())
    .bind(user.id.to_string())
    .bind(ts(now))
    .execute(&mut *tx)
    .await?;

    let mut receipts = Vec::with_capacity(batch.visits.len());
    for visit in &batch.visits {
        receipts.push(store_visit(&mut tx, &user, &batch, visit, now).await?);
    }
    let count = |status: ReceiptStatus| receipts.iter().filter(|r| r.status == status).count();
    audit::record(
        &mut tx,
        Some(user.id),
        "sync_visits",
        json!({
            "device_id": batch.device_id,
            "stored": count(ReceiptStatus::Stored),
            "duplicate": count(ReceiptStatus::Duplicate),
            "conflict": count(ReceiptStatus::Conflict),
            "rejected": count(ReceiptStatus::Rejected),
        }),
    )
    .await?;
    // No receipts unless the batch is on disk: the phone keeps its outbox and retries.
    tx.commit()
        .await
        .map_err(|e| AppError::Unavailable(format!("commit: {e}")))?;
    tracing::info!(
        member = %user.id,
        stored = count(ReceiptStatus::Stored),
        total = receipts.len(),
        "visits uploaded"
    );
    Ok(Json(SyncResponse {
        receipts,
        server_time: now,
    }))
}

fn receipt(
    visit: &Visit,
    status: ReceiptStatus,
    reason: Option<String>,
    at: Option<DateTime<Utc>>,
) -> Receipt {
    Receipt {
        id: visit.id,
        status,
        reason,
        received_at: at,
    }
}

/// What is already stored under a visit id: its content hash and first receive time.
async fn stored_copy(
    conn: &mut SqliteConnection,
    visit: &Visit,
) -> Result<Option<(String, DateTime<Utc>)>, AppError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT content_hash, received_at FROM visits WHERE id = ?")
            .bind(visit.id.to_string())
            .fetch_optional(conn)
            .await?;
    row.map(|(hash, at)| Ok((hash, parse_ts(&at)?))).transpose()
}

/// Decides and stores one visit inside the batch's transaction.
async fn store_visit(
    conn: &mut SqliteConnection,
    user: &AuthUser,
    batch: &SyncBatch,
    visit: &Visit,
    now: DateTime<Utc>,
) -> Result<Receipt, AppError> {
    if let Err(errors) = visit.validate() {
        let reason = errors
            .iter()
            .map(|e| e.message_zh())
            .collect::<Vec<_>>()
            .join("；");
        return Ok(receipt(visit, ReceiptStatus::Rejected, Some(reason), None));
    }
    if visit.member_id != user.id {
        return Ok(receipt(
            visit,
            ReceiptStatus::Rejected,
            Some(NOT_OWN_REASON.into()),
            None,
        ));
    }
    let body = serde_json::to_string(visit)?;
    let hash = sha256_hex(body.as_bytes());

    if !scope::reaches(conn, user, visit.household_id).await? {
        // A retry of a visit stored before the household was unlinked is still a duplicate.
        if let Some((stored_hash, at)) = stored_copy(conn, visit).await? {
            if stored_hash == hash {
                return Ok(receipt(visit, ReceiptStatus::Duplicate, None, Some(at)));
            }
        }
        return Ok(receipt(
            visit,
            ReceiptStatus::Rejected,
            Some(OUT_OF_SCOPE_REASON.into()),
            None,
        ));
    }

    let inserted = sqlx::query(
        "INSERT INTO visits (id, household_id, member_id, device_id, visited_on, recorded_at,
                             received_at, content_hash, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(visit.id.to_string())
    .bind(visit.household_id.to_string())
    .bind(visit.member_id.to_string())
    .bind(batch.device_id.to_string())
    .bind(visit.visited_on.to_string())
    .bind(ts(visit.recorded_at))
    .bind(ts(now))
    .bind(&hash)
    .bind(&body)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;

    if inserted {
        for p in &visit.problems {
            // A problem id seen before (another visit's) keeps its first row.
            sqlx::query(
                "INSERT INTO problems (id, visit_id, household_id, category, urgency, description,
                                       outcome, action, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(p.id.to_string())
            .bind(visit.id.to_string())
            .bind(visit.household_id.to_string())
            .bind(p.category.as_str())
            .bind(p.urgency.as_str())
            .bind(&p.description)
            .bind(p.outcome.as_str())
            .bind(&p.action)
            .bind(ts(now))
            .execute(&mut *conn)
            .await?;
        }
        return Ok(receipt(visit, ReceiptStatus::Stored, None, Some(now)));
    }

    match stored_copy(conn, visit).await? {
        Some((stored_hash, at)) if stored_hash == hash => {
            Ok(receipt(visit, ReceiptStatus::Duplicate, None, Some(at)))
        }
        Some((_, at)) => Ok(receipt(
            visit,
            ReceiptStatus::Conflict,
            Some(CONFLICT_REASON.into()),
            Some(at),
        )),
        None => Err(AppError::internal("visit neither inserted nor found")),
    }
}
