//! Volunteer activities: what the phone needs to record them, their upload and the
//! upload of check-ins (one receipt per record, idempotent by id), the kinds, and the
//! coordinators' list, detail and hours. The rules live in [`crate::activity_log`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::activity::{is_kind_code, is_label};
use daohu_domain::{
    ActivityBatch, ActivityDetail, ActivityFilter, ActivityKind, ActivityRoster, ActivitySummary, ApiError,
    CheckInBatch, HoursReport, NewActivityKind, Receipt, ReceiptCounts, SyncResponse, MAX_BATCH,
};
use serde_json::json;
use uuid::Uuid;

use crate::activity_log::{self, ActivityQuery, LIST_LIMIT};
use crate::auth::AuthUser;
use crate::db;
use crate::{audit, scope, store, ApiJson, ApiQuery, AppError, AppState};

/// `/activity-roster`, `/sync/activities`, `/sync/check-ins`, `/activities`,
/// `/activities/hours`, `/activities/{id}`, `/activity-kinds`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(activity_roster_get))
        .routes(routes!(activities_upload))
        .routes(routes!(checkins_upload))
        .routes(routes!(activities_list))
        .routes(routes!(hours_get))
        .routes(routes!(activity_get))
        .routes(routes!(kinds_list, kinds_create))
}

fn forbid_non_recorders(user: &AuthUser) -> Result<(), AppError> {
    if user.role.records_activities() {
        Ok(())
    } else {
        Err(AppError::forbidden("你的角色不记录志愿活动"))
    }
}

/// What the phone needs to record activities offline: the kinds on offer, the
/// caller's teams with their members, the households the caller may name as served
/// (members and grid leaders: their visit roster; volunteers: every household of
/// their teams' villages; door and head's name only), and the activities the server
/// holds that the caller or one of their teams recorded in the last 30 days (newest
/// first, at most 100).
#[utoipa::path(
    get, path = "/activity-roster", tag = "activities",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's activity roster", body = ActivityRoster),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "The caller's role does not record activities", body = ApiError),
    )
)]
pub async fn activity_roster_get(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<ActivityRoster>, AppError> {
    forbid_non_recorders(&user)?;
    // One read transaction: everything from the same moment.
    let mut tx = state.pool.begin().await?;
    let kinds = store::activities::kinds(&mut tx, true).await?;
    let teams = store::units::teams_of_member(&mut tx, user.id).await?;
    let households = scope::activity_households(&mut tx, &user).await?;
    let recent = activity_log::recent(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(Json(ActivityRoster { kinds, teams, households, recent }))
}

fn counts_json(device: Uuid, receipts: &[Receipt]) -> serde_json::Value {
    let c = ReceiptCounts::of(receipts);
    json!({
        "device_id": device,
        "stored": c.stored,
        "duplicate": c.duplicate,
        "conflict": c.conflict,
        "rejected": c.rejected,
    })
}

/// Stores a batch of activities in one transaction and answers a receipt for each, in
/// order: `stored`; `duplicate` (same id and content: the first `received_at`);
/// `conflict` (same id, other content: the stored copy is kept); `rejected` with the
/// reason (invalid, someone else's, unknown kind, a team the recorder is not on, a
/// participant not on the team, a household outside the recorder's reach, a photo id
/// another activity names; stored nowhere). Photos travel separately
/// (`PUT /api/photos/{id}`) once the activity is stored.
#[utoipa::path(
    post, path = "/sync/activities", tag = "activities",
    security(("bearer" = [])),
    request_body = ActivityBatch,
    responses(
        (status = 200, description = "One receipt per activity, in order", body = SyncResponse),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "The caller's role does not record activities", body = ApiError),
        (status = 413, description = "More activities than MAX_BATCH, or body too large", body = ApiError),
        (status = 503, description = "Not stored; retry later", body = ApiError),
    )
)]
pub async fn activities_upload(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(batch): ApiJson<ActivityBatch>,
) -> Result<Json<SyncResponse>, AppError> {
    forbid_non_recorders(&user)?;
    if batch.activities.len() > MAX_BATCH {
        return Err(AppError::too_large(format!("一次最多上传 {MAX_BATCH} 条记录")));
    }
    let (_writer, mut tx) = state.write_tx().await?;
    let now = db::now();
    let mut receipts = Vec::with_capacity(batch.activities.len());
    for a in &batch.activities {
        receipts.push(activity_log::store_activity(&mut tx, &user, batch.device_id, a, now).await?);
    }
    // Last: the device's row stays locked until the commit.
    store::visits::device_synced(&mut tx, batch.device_id, user.id, now).await?;
    audit::record(&mut tx, Some(user.id), "sync_activities", counts_json(batch.device_id, &receipts)).await?;
    tx.commit().await.map_err(|e| AppError::unavailable("commit", e))?;
    tracing::info!(
        member = %user.id,
        stored = ReceiptCounts::of(&receipts).stored,
        total = receipts.len(),
        "activities uploaded"
    );
    Ok(Json(SyncResponse { receipts, server_time: now }))
}

/// Stores a batch of check-ins in one transaction, a receipt for each, in order, by
/// the same rules as activities. Rejected: someone else's, an id that is not v7, a
/// location out of range, an activity the server does not hold yet (`活动还没有上传`:
/// upload activities first), an activity the caller neither recorded, is listed on,
/// nor is on the team of.
#[utoipa::path(
    post, path = "/sync/check-ins", tag = "activities",
    security(("bearer" = [])),
    request_body = CheckInBatch,
    responses(
        (status = 200, description = "One receipt per check-in, in order", body = SyncResponse),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "The caller's role does not record activities", body = ApiError),
        (status = 413, description = "More check-ins than MAX_BATCH, or body too large", body = ApiError),
        (status = 503, description = "Not stored; retry later", body = ApiError),
    )
)]
pub async fn checkins_upload(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(batch): ApiJson<CheckInBatch>,
) -> Result<Json<SyncResponse>, AppError> {
    forbid_non_recorders(&user)?;
    if batch.check_ins.len() > MAX_BATCH {
        return Err(AppError::too_large(format!("一次最多上传 {MAX_BATCH} 条记录")));
    }
    let (_writer, mut tx) = state.write_tx().await?;
    let now = db::now();
    let mut receipts = Vec::with_capacity(batch.check_ins.len());
    for c in &batch.check_ins {
        receipts.push(activity_log::store_check_in(&mut tx, &user, batch.device_id, c, now).await?);
    }
    // Last: the device's row stays locked until the commit.
    store::visits::device_synced(&mut tx, batch.device_id, user.id, now).await?;
    audit::record(&mut tx, Some(user.id), "sync_check_ins", counts_json(batch.device_id, &receipts)).await?;
    tx.commit().await.map_err(|e| AppError::unavailable("commit", e))?;
    tracing::info!(
        member = %user.id,
        stored = ReceiptCounts::of(&receipts).stored,
        total = receipts.len(),
        "check-ins uploaded"
    );
    Ok(Json(SyncResponse { receipts, server_time: now }))
}

/// Activities of the caller's subtree matching the filter, newest first (date, then
/// start time), at most 1,000. `unit_id` narrows to a unit of the subtree (activities
/// count where their team is, or where the recorder is without a team), `team_id` to
/// one team, `kind` to one kind code, `from` / `to` to activity dates.
#[utoipa::path(
    get, path = "/activities", tag = "activities",
    security(("bearer" = [])),
    params(ActivityFilter),
    responses(
        (status = 200, description = "Matching activities", body = Vec<ActivitySummary>),
        (status = 400, description = "Bad filter (from after to, not a kind code)", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id or team_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn activities_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(filter): ApiQuery<ActivityFilter>,
) -> Result<Json<Vec<ActivitySummary>>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let mut tx = state.pool.begin().await?;
    let query = ActivityQuery::new(&mut tx, &subtree, &filter).await?;
    let page = query.page(&mut tx, None, LIST_LIMIT).await?;
    tx.commit().await?;
    Ok(Json(page.into_iter().map(|l| l.summary).collect()))
}

/// One activity of the caller's subtree in full: the record as the phone sent it, the
/// participants' names, the households served, every check-in and each photo's state.
#[utoipa::path(
    get, path = "/activities/{id}", tag = "activities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Activity id")),
    responses(
        (status = 200, description = "The activity", body = ActivityDetail),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "Unknown, or not in the caller's subtree", body = ApiError),
    )
)]
pub async fn activity_get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<ActivityDetail>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let mut tx = state.pool.begin().await?;
    let loaded = activity_log::one(&mut tx, &subtree, id).await?;
    let mut details = activity_log::details(&mut tx, vec![loaded]).await?;
    tx.commit().await?;
    let (detail, _) = details.pop().ok_or_else(AppError::not_found)?;
    Ok(Json(detail))
}

/// Hours per volunteer and per team per month over the activities matching the
/// filter (every one of them, not only the first 1,000). A check-in and the next
/// check-out make a stretch; a check-in never closed runs to the activity's end
/// (`missing_check_outs`); a listed participant or the recorder without check-ins
/// gets start to end. A volunteer's overlapping stretches count once; a team's row
/// sums its volunteers' minutes over the team's activities.
#[utoipa::path(
    get, path = "/activities/hours", tag = "activities",
    security(("bearer" = [])),
    params(ActivityFilter),
    responses(
        (status = 200, description = "Hours per volunteer and team per month", body = HoursReport),
        (status = 400, description = "Bad filter", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id or team_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn hours_get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(filter): ApiQuery<ActivityFilter>,
) -> Result<Json<HoursReport>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let mut tx = state.pool.begin().await?;
    let query = ActivityQuery::new(&mut tx, &subtree, &filter).await?;
    let report = activity_log::hours(&mut tx, &query).await?;
    tx.commit().await?;
    Ok(Json(report))
}

/// Every activity kind, retired ones included (`active: false`), in list order.
#[utoipa::path(
    get, path = "/activity-kinds", tag = "activities",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The kinds", body = Vec<ActivityKind>),
        (status = 401, description = "No valid session", body = ApiError),
    )
)]
pub async fn kinds_list(State(state): State<AppState>, _user: AuthUser) -> Result<Json<Vec<ActivityKind>>, AppError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(store::activities::kinds(&mut conn, false).await?))
}

/// Adds a kind to the county-wide list (county coordinators only), at its end.
/// `code`: 1 to 40 of `a-z`, `0-9`, `_`; labels 1 to 50 characters.
#[utoipa::path(
    post, path = "/activity-kinds", tag = "activities",
    security(("bearer" = [])),
    request_body = NewActivityKind,
    responses(
        (status = 201, description = "The new kind", body = ActivityKind),
        (status = 400, description = "Bad code or label", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a county coordinator", body = ApiError),
        (status = 409, description = "The code is taken (`kind_exists`)", body = ApiError),
    )
)]
pub async fn kinds_create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(new): ApiJson<NewActivityKind>,
) -> Result<(StatusCode, Json<ActivityKind>), AppError> {
    scope::county_coordinator(&user)?;
    if !is_kind_code(&new.code) {
        return Err(AppError::bad_request("类型代码只能用 1 到 40 个小写字母、数字或下划线"));
    }
    if !is_label(&new.label_zh) || !is_label(&new.label_en) {
        return Err(AppError::bad_request("类型名称要 1 到 50 个字"));
    }
    let kind = ActivityKind {
        code: new.code.clone(),
        label_zh: new.label_zh.trim().to_string(),
        label_en: new.label_en.trim().to_string(),
        active: true,
    };
    let (_writer, mut tx) = state.write_tx().await?;
    if store::activities::kind_exists(&mut tx, &kind.code).await? {
        return Err(AppError::conflict("kind_exists", "已经有这个类型代码"));
    }
    store::activities::add_kind(&mut tx, &kind).await?;
    audit::record(&mut tx, Some(user.id), "activity_kind_created", json!({ "code": kind.code })).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(kind)))
}
