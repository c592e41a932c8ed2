//! Reading the audit log (county coordinators only). There is no endpoint that
//! changes or deletes it, and the table refuses both by trigger.

use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::{ApiError, AuditEntry};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::{scope, store, ApiQuery, AppError, AppState};

/// Entries answered when no `limit` is given.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most entries one request answers.
pub const MAX_LIMIT: u32 = 1_000;

/// `/audit`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit_list))
}

/// Query of the audit list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// How many entries, newest first (default 100, at most 1,000).
    pub limit: Option<u32>,
}

/// The newest audit entries: those by accounts in the caller's subtree and those
/// without an actor (failed sign-ins, the server itself).
#[utoipa::path(
    get, path = "/audit", tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit entries, newest first", body = Vec<AuditEntry>),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a county coordinator", body = ApiError),
    )
)]
pub async fn audit_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let subtree = scope::county_coordinator(&user)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    Ok(Json(store::audit::newest(&state.pool, &subtree, limit).await?))
}
