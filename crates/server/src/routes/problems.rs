//! Problems raised at the door, resolved on the spot or escalated village → township →
//! county, and the answer back to the phone. The rules live in [`crate::problems`].

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::{ApiError, Level, ProblemEventBatch, ProblemView, ReceiptStatus, SyncResponse};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db;
use crate::problems::{self, MAX_EVENTS, MAX_LIST};
use crate::routes::dashboard::chosen_unit;
use crate::scope::{self, Subtree};
use crate::{audit, store, ApiJson, ApiQuery, AppError, AppState};

/// `/problems`, `/problems/{id}`, `/problems/events`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(problems_list))
        .routes(routes!(problem_events_upload))
        .routes(routes!(problem_get))
}

/// Stores changes of problems (from a phone's outbox or the console) in one
/// transaction and answers a receipt for each, in order, exactly once by event id:
/// the same id and content again → `duplicate` with the first `received_at`; the same
/// id with other content → `conflict`; invalid, unknown / out-of-reach problems
/// (找不到这个问题) and changes the sender may not make (这个问题不在你这一级处理, …) →
/// `rejected`. Coordinators may send anything for problems of their subtree at or
/// below their level; the member who raised a problem `family_told` and `note`; the
/// account it is assigned to `start`, `answer` and `note`. A change that does not fit
/// the problem's state (an answer after it was resolved) is `stored` and flagged, with
/// the reason. Every problem touched is replayed from all its events in time order.
#[utoipa::path(
    post, path = "/problems/events", tag = "problems",
    security(("bearer" = [])),
    request_body = ProblemEventBatch,
    responses(
        (status = 200, description = "One receipt per event, in order", body = SyncResponse),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 413, description = "More than 1,000 events, or body too large", body = ApiError),
        (status = 503, description = "Not stored; retry later", body = ApiError),
    )
)]
pub async fn problem_events_upload(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(batch): ApiJson<ProblemEventBatch>,
) -> Result<Json<SyncResponse>, AppError> {
    if batch.events.len() > MAX_EVENTS {
        return Err(AppError::too_large(format!(
            "一次最多上传 {MAX_EVENTS} 条办理记录"
        )));
    }
    let (_writer, mut tx) = state.write_tx().await?;
    let now = db::now();
    let receipts =
        problems::store_events(&mut tx, &user, batch.device_id, &batch.events, now).await?;
    if user.role.records_visits() {
        // The phone synced (the console of a coordinator is not a phone to watch);
        // last, since the device's row stays locked until the commit.
        crate::store::visits::device_synced(&mut tx, batch.device_id, user.id, now).await?;
    }
    let count = |status: ReceiptStatus| receipts.iter().filter(|r| r.status == status).count();
    let flagged = receipts
        .iter()
        .filter(|r| r.status == ReceiptStatus::Stored && r.reason.is_some())
        .count();
    audit::record(
        &mut tx,
        Some(user.id),
        "problem_event",
        json!({
            "device_id": batch.device_id,
            "events": receipts.len(),
            "stored": count(ReceiptStatus::Stored),
            "flagged": flagged,
            "duplicate": count(ReceiptStatus::Duplicate),
            "conflict": count(ReceiptStatus::Conflict),
            "rejected": count(ReceiptStatus::Rejected),
        }),
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| AppError::unavailable("commit", e))?;
    tracing::info!(
        member = %user.id,
        stored = count(ReceiptStatus::Stored),
        total = receipts.len(),
        "problem events uploaded"
    );
    Ok(Json(SyncResponse {
        receipts,
        server_time: now,
    }))
}

/// Query of the problem list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProblemQuery {
    /// `true`: only open (not resolved); `false`: only resolved.
    pub open: Option<bool>,
    /// `true`: only open and past their due date; `false`: only the others.
    pub overdue: Option<bool>,
    /// Only problems at this level now.
    pub level: Option<Level>,
    /// A unit of the caller's subtree; default the caller's own unit.
    pub unit_id: Option<Uuid>,
}

/// Problems of the households under a unit of the caller's subtree (default their own
/// unit), at any level (each level sees what came up to it and what is below), newest
/// first, at most 1,000, each with its whole trail, due date and whether it is overdue.
#[utoipa::path(
    get, path = "/problems", tag = "problems",
    security(("bearer" = [])),
    params(ProblemQuery),
    responses(
        (status = 200, description = "The problems, newest first", body = Vec<ProblemView>),
        (status = 400, description = "Bad query", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn problems_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ProblemQuery>,
) -> Result<Json<Vec<ProblemView>>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let now = db::now();
    let mut tx = state.pool.begin().await?;
    let unit = chosen_unit(&mut tx, &subtree, &user, query.unit_id).await?;
    let filter = store::problems::ListFilter {
        open: query.open,
        overdue: query.overdue,
        level: query.level,
    };
    let list = store::problems::list(&mut tx, &Subtree { path: unit.path }, filter, MAX_LIST, now).await?;
    tx.commit().await?;
    let detail = json!({ "unit_id": query.unit_id, "rows": list.len() });
    audit::record_alone(&state, user.id, "read_problems", detail).await?;
    Ok(Json(list))
}

/// One problem with its trail: for coordinators over its household, the member who
/// raised it and the account it is assigned to; 404 for everyone else, like an
/// unknown id.
#[utoipa::path(
    get, path = "/problems/{id}", tag = "problems",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Problem id")),
    responses(
        (status = 200, description = "The problem", body = ProblemView),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 404, description = "No such problem in the caller's reach", body = ApiError),
    )
)]
pub async fn problem_get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<ProblemView>, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let mut tx = state.pool.begin().await?;
    let view = problems::view_for(&mut tx, &user, id, db::now()).await?;
    tx.commit().await?;
    let view = view.ok_or_else(AppError::not_found)?;
    audit::record_alone(&state, user.id, "read_problem", json!({ "problem_id": id })).await?;
    Ok(Json(view))
}
