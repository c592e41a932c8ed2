//! The county's policy catalogue (the household ledger, issue 17): read by
//! every account of the county, edited by its county coordinator, one version
//! per edit and every version kept.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use daohu_domain::ledger::{Catalogue, CatalogueChange, CatalogueEdit};
use daohu_domain::{Local, Role};
use daohu_domain::ApiError;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db;
use crate::scope;
use crate::{audit, store, ApiJson, AppError, AppState};

/// `/catalogue`, `/catalogue/versions/{version}`, `/catalogue/changes`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalogue_get))
        .routes(routes!(catalogue_version_get))
        .routes(routes!(catalogue_edit))
}

/// The county an account belongs to: the first unit of its path (`/<county>/…`).
pub(crate) fn county_of(user: &AuthUser) -> Result<Uuid, AppError> {
    let first = crate::tree::county_of_path(&user.unit_path);
    Uuid::parse_str(first).map_err(|e| AppError::internal(format!("an account's unit path without a county: {e}")))
}

/// The caller's county's whole catalogue now, every unit's entries (the
/// empty version 0 before its first edit): what each reader gets is cut from it.
pub(crate) async fn of_county(conn: &mut crate::db::Conn, user: &AuthUser) -> Result<Catalogue, AppError> {
    Ok(store::catalogue::get(conn, county_of(user)?, None).await?.unwrap_or_else(empty))
}

/// A county with no catalogue yet has an empty one, version 0.
pub(crate) fn empty() -> Catalogue {
    Catalogue::default()
}

/// The caller's county's catalogue now, retired policies included (`active: false`).
#[utoipa::path(
    get, path = "/catalogue", tag = "catalogue",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The catalogue (version 0 and no policies before the first edit)", body = Catalogue),
        (status = 401, description = "No valid session", body = ApiError),
    )
)]
pub async fn catalogue_get(State(state): State<AppState>, user: AuthUser) -> Result<Json<Catalogue>, AppError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(of_county(&mut conn, &user).await?.seen_from(&user.unit_path)))
}

/// One past version of the caller's county's catalogue, as a stored visit made
/// with it names its policies.
#[utoipa::path(
    get, path = "/catalogue/versions/{version}", tag = "catalogue",
    security(("bearer" = [])),
    params(("version" = u32, Path, description = "Catalogue version, from 1")),
    responses(
        (status = 200, description = "That version", body = Catalogue),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 404, description = "The county has no such version", body = ApiError),
    )
)]
pub async fn catalogue_version_get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(version): Path<String>,
) -> Result<Json<Catalogue>, AppError> {
    let version: u32 = version.parse().map_err(|_| AppError::not_found())?;
    let county = county_of(&user)?;
    let mut conn = state.pool.acquire().await?;
    let catalogue = store::catalogue::get(&mut conn, county, Some(version)).await?.ok_or_else(AppError::not_found)?;
    Ok(Json(catalogue.seen_from(&user.unit_path)))
}

/// Changes the catalogue: the county coordinator anything; a township's or
/// village's coordinator adds entries that apply below their unit alone, and
/// changes only those. Each edit makes the next version. Nothing is deleted; a
/// retired policy keeps its key and names for the visits that used it.
#[utoipa::path(
    post, path = "/catalogue/changes", tag = "catalogue",
    security(("bearer" = [])),
    request_body = CatalogueEdit,
    responses(
        (status = 201, description = "The catalogue's new version", body = Catalogue),
        (status = 400, description = "A bad key, name, description or limit, or an unknown policy", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator, or a change of an entry not the caller's unit's own (or of the visit intervals) by a township or village", body = ApiError),
        (status = 409, description = "A key already used (`duplicate_key`), or another edit came first (`catalogue_changed`, `taken_meanwhile`)", body = ApiError),
    )
)]
pub async fn catalogue_edit(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(mut edit): ApiJson<CatalogueEdit>,
) -> Result<(StatusCode, Json<Catalogue>), AppError> {
    scope::coordinator(&user)?;
    let whole_county = user.role == Role::CountyCoordinator;
    // What a coordinator adds applies where they are: the county's to the
    // whole county, a township's or village's below it alone.
    let local = (!whole_county).then(|| Local { path: user.unit_path.clone(), name: user.village.clone() });
    match &mut edit.change {
        CatalogueChange::Add { policy } => policy.local = local,
        CatalogueChange::AddItem { item } => item.local = local,
        _ => {}
    }
    let county = county_of(&user)?;
    let (_writer, mut tx) = state.write_tx().await?;
    let current = of_county(&mut tx, &user).await?;
    if !current.may_change(&edit.change, &user.unit_path, whole_county) {
        return Err(AppError::forbidden("乡镇和村只能改自己加的条目；县里的条目和走访周期由县里改"));
    }
    if edit.base_version.is_some_and(|v| v != current.version) {
        return Err(AppError::conflict(
            "catalogue_changed",
            format!("政策目录已经被改成第 {} 版，请刷新后再改", current.version),
        ));
    }
    let next = current.apply(&edit.change).map_err(|e| match e {
        daohu_domain::LedgerError::DuplicateKey(_) => AppError::conflict("duplicate_key", e.message(true)),
        _ => AppError::bad_request(e.message(true)),
    })?;
    store::catalogue::add(&mut tx, county, &next, Some(&edit.change), Some(user.id), db::now()).await?;
    audit::record(
        &mut tx,
        Some(user.id),
        "policy_catalogue_changed",
        json!({ "county_id": county, "version": next.version, "change": edit.change }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(next.seen_from(&user.unit_path))))
}
