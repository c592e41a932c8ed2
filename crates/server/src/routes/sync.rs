//! Uploading visits from the phone's outbox: one receipt per record, idempotent by visit id.

use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use chrono::{DateTime, Utc};
use daohu_domain::{
    ApiError, LedgerChange, OutboxExport, Receipt, ReceiptCounts, SyncBatch, SyncResponse, Visit, MAX_BATCH,
    OUTBOX_EXPORT_FORMAT,
};
use serde_json::json;
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::{sha256_hex, AuthUser};
use crate::db;
use crate::receipts::{self, Records};
use crate::{audit, scope, store, ApiJson, AppError, AppState};

/// Reason given for a visit recorded under someone else's name.
pub const NOT_OWN_REASON: &str = "只能上传自己的走访记录";
pub use crate::scope::OUT_OF_SCOPE_REASON;
/// Reason given for a visit listing a problem id another household's problem already has.
pub const PROBLEM_ELSEWHERE_REASON: &str = "记录里的问题编号已被别的户使用，不能上传";

/// Most records one imported export file may hold (the 2 MiB body limit comes first
/// in practice).
pub const MAX_IMPORT: usize = 10_000;

/// `/sync/visits`, `/sync/import`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sync_visits_upload))
        .routes(routes!(sync_outbox_import))
}

/// Stores a batch of visits in one transaction and answers a receipt for each, in order.
///
/// A visit already stored with the same content answers `duplicate` with the
/// original `received_at`, so a retried batch gets the very same receipts.
#[utoipa::path(
    post, path = "/sync/visits", tag = "sync",
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
    let (_writer, mut tx) = state.write_tx().await?;
    store::units::lock_county(&mut tx, &user.unit_path, store::units::CountyHold::Shared).await?;
    let now = db::now();
    let receipts = store_visits(&mut tx, &user, batch.device_id, &batch.visits, now).await?;
    // Late in the transaction: the device's row stays locked until the commit,
    // and another upload from the same phone need not wait on it any longer.
    store::visits::device_synced(&mut tx, batch.device_id, user.id, now).await?;
    let counts = ReceiptCounts::of(&receipts);
    audit::record(
        &mut tx,
        Some(user.id),
        "sync_visits",
        json!({
            "device_id": batch.device_id,
            "stored": counts.stored,
            "duplicate": counts.duplicate,
            "conflict": counts.conflict,
            "rejected": counts.rejected,
        }),
    )
    .await?;
    // No receipts unless the batch is on disk: the phone keeps its outbox and retries.
    tx.commit()
        .await
        .map_err(|e| AppError::unavailable("commit", e))?;
    tracing::info!(
        member = %user.id,
        stored = counts.stored,
        total = receipts.len(),
        "visits uploaded"
    );
    Ok(Json(SyncResponse {
        receipts,
        server_time: now,
    }))
}

/// Imports a phone's last-resort export file (`OutboxExport`) for one of the
/// caller's accounts: every record is decided exactly as if that account had
/// uploaded it from that phone (same validation, the account's own reach, the
/// same stored / duplicate / conflict rules), so importing a file twice, or a
/// file whose records the phone already synced, stores nothing new. The
/// device's last sync time is not touched: the phone itself did not sync.
#[utoipa::path(
    post, path = "/sync/import", tag = "sync",
    security(("bearer" = [])),
    request_body = OutboxExport,
    responses(
        (status = 200, description = "One receipt per record of the file, in order", body = SyncResponse),
        (status = 400, description = "Not a Daohu outbox export (`format`), or the account does not record visits", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "The export's account is not in the caller's subtree", body = ApiError),
        (status = 413, description = "More than MAX_IMPORT records, or body too large", body = ApiError),
        (status = 503, description = "Not stored; retry later", body = ApiError),
    )
)]
pub async fn sync_outbox_import(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(export): ApiJson<OutboxExport>,
) -> Result<Json<SyncResponse>, AppError> {
    let subtree = scope::coordinator(&user)?;
    if export.format != OUTBOX_EXPORT_FORMAT {
        return Err(AppError::bad_request(format!(
            "这不是到户的导出文件（格式应为 {OUTBOX_EXPORT_FORMAT}）"
        )));
    }
    if export.visits.len() > MAX_IMPORT {
        return Err(AppError::too_large(format!(
            "一个文件最多导入 {MAX_IMPORT} 条记录"
        )));
    }

    let (_writer, mut tx) = state.write_tx().await?;
    // The account must sit in the caller's subtree (else 404, like an unknown id);
    // a disabled account is fine: its phone's records are exactly what an import rescues.
    let member = store::visits::account_as_user(&mut tx, &subtree, export.member_id).await?;
    if !member.role.records_visits() {
        return Err(AppError::bad_request("这个账号的角色不记录走访"));
    }
    store::units::lock_county(&mut tx, &member.unit_path, store::units::CountyHold::Shared).await?;
    let now = db::now();
    let receipts = store_visits(&mut tx, &member, export.device_id, &export.visits, now).await?;
    let counts = ReceiptCounts::of(&receipts);
    audit::record(
        &mut tx,
        Some(user.id),
        "outbox_imported",
        json!({
            "member_id": member.id,
            "device_id": export.device_id,
            "exported_at": export.exported_at,
            "records": receipts.len(),
            "stored": counts.stored,
            "duplicate": counts.duplicate,
            "conflict": counts.conflict,
            "rejected": counts.rejected,
        }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| AppError::unavailable("commit", e))?;
    tracing::info!(
        coordinator = %user.id,
        member = %member.id,
        stored = counts.stored,
        total = receipts.len(),
        "outbox imported"
    );
    Ok(Json(SyncResponse {
        receipts,
        server_time: now,
    }))
}

/// Decides and stores a list of visits for `user` (the account that recorded them)
/// from `device_id`, inside the caller's write transaction: one receipt per visit, in order.
/// The one path every upload and import goes through.
pub async fn store_visits(
    conn: &mut Conn,
    user: &AuthUser,
    device_id: Uuid,
    visits: &[Visit],
    now: DateTime<Utc>,
) -> Result<Vec<Receipt>, AppError> {
    let households: Vec<Uuid> = visits.iter().map(|v| v.household_id).collect();
    store::households::lock(conn, &households).await?;
    let mut receipts = Vec::with_capacity(visits.len());
    for visit in visits {
        receipts.push(store_visit(conn, user, device_id, visit, now).await?);
    }
    Ok(receipts)
}


/// Decides and stores one visit inside the batch's transaction.
async fn store_visit(
    conn: &mut Conn,
    user: &AuthUser,
    device_id: Uuid,
    visit: &Visit,
    now: DateTime<Utc>,
) -> Result<Receipt, AppError> {
    if let Err(errors) = visit.validate() {
        let reason = errors
            .iter()
            .map(|e| e.message_zh())
            .collect::<Vec<_>>()
            .join("；");
        return Ok(Receipt::rejected(visit.id, reason));
    }
    if visit.member_id != user.id {
        return Ok(Receipt::rejected(visit.id, NOT_OWN_REASON));
    }
    let body = serde_json::to_string(visit)?;
    let hash = sha256_hex(body.as_bytes());

    if !scope::reaches(conn, user, visit.household_id).await? {
        return receipts::refuse(conn, Records::Visits, visit.id, &hash, OUT_OF_SCOPE_REASON).await;
    }
    // A problem id already held by another household's problem would tie that
    // problem (and its trail) to this visit: refused, stored nowhere.
    if crate::problems::lists_foreign_problem(conn, visit).await? {
        return receipts::refuse(conn, Records::Visits, visit.id, &hash, PROBLEM_ELSEWHERE_REASON).await;
    }
    // Its ledger changes against the county's catalogue now: an unknown or retired
    // policy refuses the visit whole, with the reason (nothing stored in part).
    let changes: Vec<LedgerChange> = visit
        .ledger
        .iter()
        .map(|c| c.at_visit(visit.household_id, visit.id, visit.recorded_at, now))
        .collect();
    // So are its services' kinds, and its ticks when one is not among the
    // items every catalogue has (the old fixed checklists): a routine visit
    // reads no catalogue.
    let own_ticks = visit.sections.iter().any(|s| s.checked.iter().any(|k| !s.kind.list().defaults().iter().any(|d| d.0 == k)));
    if !changes.is_empty() || !visit.services.is_empty() || own_ticks {
        let catalogue = crate::routes::catalogue::of_county(conn, user).await?;
        let catalogue = crate::routes::ledger::household_catalogue(conn, &catalogue, visit.household_id).await?;
        let fits = changes.iter().try_for_each(|c| c.check(&catalogue)).and_then(|()| catalogue.check_services(&visit.services));
        let fits = fits.and_then(|()| visit.sections.iter().try_for_each(|s| catalogue.check_ticks(s.kind.list(), &s.checked)));
        if let Err(e) = fits {
            return receipts::refuse(conn, Records::Visits, visit.id, &hash, &e.message(true)).await;
        }
    }

    let inserted = store::visits::insert(conn, visit, device_id, &hash, &body, now).await?;
    if inserted {
        store::visits::insert_services(conn, visit).await?;
        for change in &changes {
            let change_hash = sha256_hex(serde_json::to_string(change)?.as_bytes());
            // A change id seen before (sent alone, or in another visit) keeps its first row.
            if store::ledger::insert(conn, change, user.id, device_id, &change_hash).await? {
                store::ledger::make_current(conn, change).await?;
            }
        }
    }

    if inserted {
        // Its problems, with the status they have at the door (village level; new, or
        // resolved on the spot). A problem id seen before (another visit's) keeps its first row.
        crate::problems::insert_from_visit(conn, visit, now).await?;
        // On PostgreSQL another upload may have stored one of these problem ids for
        // another household since the check above: this batch is not stored, and
        // its retry is refused by that check.
        if crate::problems::lists_foreign_problem(conn, visit).await? {
            return Err(AppError::unavailable(
                "problem id taken meanwhile",
                std::io::Error::other(format!("visit {}: a problem id went to another household", visit.id)),
            ));
        }
    }
    receipts::decided(conn, Records::Visits, visit.id, &hash, inserted, now).await
}
