//! Reading the audit log (county coordinators only). There is no endpoint that
//! changes or deletes it, and the table refuses both by trigger.

use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::{ApiError, AuditEntry};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::db::{parse_ts, parse_uuid};
use crate::{scope, ApiQuery, AppError, AppState};

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

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: String,
    actor_member_id: Option<String>,
    actor_name: Option<String>,
    action: String,
    detail: String,
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
    let rows: Vec<AuditRow> = crate::db::query_as(
        "SELECT a.id, a.at, a.actor_member_id, m.name AS actor_name, a.action, a.detail
         FROM audit_log a
         LEFT JOIN members m ON m.id = a.actor_member_id
         LEFT JOIN units u ON u.id = m.unit_id
         WHERE a.actor_member_id IS NULL OR u.path GLOB ?
         ORDER BY a.id DESC
         LIMIT ?",
    )
    .bind(subtree.glob())
    .bind(i64::from(limit))
    .fetch_all(&state.pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(AuditEntry {
                id: r.id,
                at: parse_ts(&r.at)?,
                actor_id: r.actor_member_id.as_deref().map(parse_uuid).transpose()?,
                actor_name: r.actor_name,
                action: r.action,
                detail: serde_json::from_str(&r.detail)?,
            })
        })
        .collect::<Result<_, AppError>>()
        .map(Json)
}
