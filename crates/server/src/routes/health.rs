//! Liveness: answers once the database answers.

use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use serde::Serialize;

use crate::{AppError, AppState};

/// `/healthz` (outside `/api`, where load balancers look).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health_check))
}

/// The health answer: `{"status":"ok"}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthStatus {
    pub status: &'static str,
}

/// Runs a trivial query and answers ok.
#[utoipa::path(
    get, path = "/healthz", tag = "health",
    responses(
        (status = 200, description = "Server and database up", body = HealthStatus),
        (status = 503, description = "Database unavailable", body = daohu_domain::ApiError),
    )
)]
pub async fn health_check(State(state): State<AppState>) -> Result<Json<HealthStatus>, AppError> {
    crate::store::upkeep::ping(&state.pool)
        .await
        .map_err(|e| AppError::unavailable("health check", e))?;
    Ok(Json(HealthStatus { status: "ok" }))
}
