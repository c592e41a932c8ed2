//! Households as coordinators see them: the list of their subtree and moves between grids.

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::{AdminHousehold, ApiError, HouseholdMove, UnitKind};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::scope::{self, Subtree};
use crate::store;
use crate::{audit, ApiJson, ApiQuery, AppError, AppState};

// The list and its filter live in the store; these names stay for their callers.
pub use crate::store::households::{load, Filter, MAX_LIST};

/// `/households`, `/households/{id}` (the history, `/households/{id}/visits`, is in `roster`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(households_list))
        .routes(routes!(household_update))
}

/// Query of the household list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// Only households under this unit (which must be in the caller's subtree).
    pub unit_id: Option<String>,
    /// Text to look for in the head's name or the address.
    pub q: Option<String>,
}

/// Households of the caller's subtree (or under one of its units), with linked
/// members and last visit, in grid order; at most 5,000.
#[utoipa::path(
    get, path = "/households", tag = "households",
    security(("bearer" = [])),
    params(HouseholdQuery),
    responses(
        (status = 200, description = "The households", body = Vec<AdminHousehold>),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn households_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<HouseholdQuery>,
) -> Result<Json<Vec<AdminHousehold>>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let mut tx = state.pool.begin().await?;
    let under = match query.unit_id.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => {
            let id = Uuid::parse_str(raw).map_err(|_| AppError::not_found())?;
            let unit = scope::unit(&mut tx, &subtree, id).await?;
            Subtree { path: unit.path }
        }
        None => subtree.clone(),
    };
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let list = load(&mut tx, &subtree, Filter::Under { unit: under, q }).await?;
    tx.commit().await?;
    // The search text may hold a name: only that there was one is kept.
    let detail = json!({
        "unit_id": query.unit_id.as_deref().filter(|s| !s.is_empty()),
        "text_search": q.is_some(),
        "rows": list.len(),
    });
    audit::record_alone(&state, user.id, "read_households", detail).await?;
    Ok(Json(list))
}

/// Moves a household to another grid of the caller's subtree; its visits and links stay with it.
#[utoipa::path(
    patch, path = "/households/{id}", tag = "households",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Household id")),
    request_body = HouseholdMove,
    responses(
        (status = 200, description = "Moved", body = AdminHousehold),
        (status = 400, description = "The target is not a grid", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "Household or grid not in the caller's subtree", body = ApiError),
    )
)]
pub async fn household_update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<HouseholdMove>,
) -> Result<Json<AdminHousehold>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let (_writer, mut tx) = state.write_tx().await?;
    store::units::lock_county(&mut tx, &subtree.path, store::units::CountyHold::Alone).await?;
    scope::household_in(&mut tx, &subtree, id).await?;
    let grid = scope::unit(&mut tx, &subtree, change.grid_id).await?;
    if grid.kind != UnitKind::Grid {
        return Err(AppError::bad_request("农户只能放在网格里"));
    }
    let from = store::households::grid_of(&mut tx, id).await?;
    if from != grid.id.to_string() {
        store::households::set_grid(&mut tx, id, grid.id).await?;
        audit::record(
            &mut tx,
            Some(user.id),
            "household_moved",
            json!({ "household_id": id, "from_grid_id": from, "to_grid_id": grid.id }),
        )
        .await?;
    }
    let moved = load(&mut tx, &subtree, Filter::One(id)).await?;
    tx.commit().await?;
    moved
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(AppError::not_found)
}
