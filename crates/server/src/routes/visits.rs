//! The visit log for coordinators: filtered pages of their subtree's visits, and one visit in full.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::{ApiError, Visit, VisitDetail, VisitFilter, VisitLogPage};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::visit_log::{self, LogQuery, DEFAULT_LIMIT, MAX_LIMIT};
use crate::{audit, scope, store, ApiQuery, AppError, AppState};
use serde_json::json;

/// `/visits`, `/visits/{id}`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(visits_list))
        .routes(routes!(visit_get))
}

/// Visits of households in the caller's subtree that match the filter, newest first
/// (visit date, then the phone's save time). `limit` defaults to 50, at most 500;
/// `total` counts every match; past 10,000 matches of a filter with more than a
/// unit and dates, counting stops and `total_capped` says so. `state` alone
/// matches a visit with any section in that state; `section` needs `state`. `q` looks for literal text in the head's
/// name, the doorplate, the member's name, the summary and section notes.
#[utoipa::path(
    get, path = "/visits", tag = "reports",
    security(("bearer" = [])),
    params(VisitFilter),
    responses(
        (status = 200, description = "A page of the visit log", body = VisitLogPage),
        (status = 400, description = "Bad filter (from after to, section without state, q too long)", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id, member_id or household_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn visits_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(filter): ApiQuery<VisitFilter>,
) -> Result<Json<VisitLogPage>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let limit = filter.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let offset = filter.offset.unwrap_or(0);
    // One read transaction: the page and the total come from the same moment.
    let mut tx = state.pool.begin().await?;
    let query = LogQuery::new(&mut tx, &subtree, &filter).await?;
    let cap = state.settings.log_count_cap;
    let (total, exact) = store::visits::log_count(&mut tx, &query, cap).await?;
    let today = crate::routes::dashboard::today();
    let raw = query
        .page(&mut tx, (limit, offset), today, total, state.settings.log_window_min)
        .await?;
    tx.commit().await?;
    let rows = raw
        .into_iter()
        .map(|r| r.into_row().map(|(row, _)| row))
        .collect::<Result<Vec<_>, _>>()?;
    let detail = json!({
        "filter": crate::routes::exports::audit_filter(&filter),
        "offset": offset,
        "rows": rows.len(),
    });
    audit::record_alone(&state, user.id, "read_visit_log", detail).await?;
    Ok(Json(VisitLogPage {
        rows,
        total: if exact { total } else { total.min(cap) },
        total_capped: !exact && total > cap,
    }))
}

/// One visit of the caller's subtree in full: its log row and the visit as the phone sent it.
#[utoipa::path(
    get, path = "/visits/{id}", tag = "reports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Visit id")),
    responses(
        (status = 200, description = "The visit", body = VisitDetail),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "Unknown, or not in the caller's subtree", body = ApiError),
    )
)]
pub async fn visit_get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<VisitDetail>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let mut conn = state.pool.acquire().await?;
    let raw = visit_log::one(&mut conn, &subtree, id).await?;
    let catalogue = crate::routes::catalogue::of_county(&mut conn, &user).await?;
    drop(conn);
    let visit: Visit = serde_json::from_str(&raw.body)?;
    let (row, _) = raw.into_row()?;
    // The ticked items as the catalogue names them (retired ones too).
    let items = visit
        .sections
        .iter()
        .flat_map(|s| catalogue.kinds(s.kind.list()).into_iter().filter(|i| s.is_checked(&i.key)))
        .collect();
    let detail = json!({ "visit_id": id, "household_id": visit.household_id });
    audit::record_alone(&state, user.id, "read_visit", detail).await?;
    Ok(Json(VisitDetail { row, visit, items }))
}
