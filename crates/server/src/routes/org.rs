//! The organisation tree for coordinators: their subtree with counts, and new units.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::lock::PinRequirement;
use daohu_domain::{ApiError, NewUnit, OrgTree, OrgUnit};
use serde_json::json;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::{self, parse_uuid};
use crate::scope::{self, Subtree, UnitRow};
use crate::store;
use crate::{audit, ApiJson, AppError, AppState};

/// Longest unit name, in characters.
pub const MAX_UNIT_NAME_CHARS: usize = 50;

/// `/org`, `/org/units`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(org_get))
        .routes(routes!(org_unit_create))
        .routes(routes!(org_unit_phone_lock))
}

/// The caller's subtree, parents before children (siblings in creation order), each
/// unit with the households and accounts in it and below.
#[utoipa::path(
    get, path = "/org", tag = "org",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's part of the tree", body = OrgTree),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
    )
)]
pub async fn org_get(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<OrgTree>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let mut tx = state.pool.begin().await?;
    let units = scope::units(&mut tx, &subtree).await?;
    let households = store::households::counts_by_grid(&mut tx, &subtree).await?;
    let accounts = store::units::account_counts(&mut tx, &subtree).await?;
    let pins = store::phone_lock::required_in(&mut tx, &subtree).await?;
    tx.commit().await?;
    let mut units = tree(&user, units, &households, &accounts)?;
    for unit in &mut units {
        unit.pin_required = pins.contains(&unit.id.to_string());
    }
    Ok(Json(OrgTree { units }))
}

/// Orders units depth first from the caller's unit and sums the counts upwards.
fn tree(
    user: &AuthUser,
    units: Vec<UnitRow>,
    households: &[(String, i64)],
    accounts: &[(String, i64)],
) -> Result<Vec<OrgUnit>, AppError> {
    let mut children: HashMap<Option<Uuid>, Vec<&UnitRow>> = HashMap::new();
    for unit in &units {
        children.entry(unit.parent_id).or_default().push(unit);
    }
    let mut ordered: Vec<&UnitRow> = Vec::with_capacity(units.len());
    let mut stack: Vec<&UnitRow> = units.iter().filter(|u| u.id == user.unit_id).collect();
    while let Some(unit) = stack.pop() {
        ordered.push(unit);
        if let Some(kids) = children.get(&Some(unit.id)) {
            stack.extend(kids.iter().rev());
        }
    }
    let index: HashMap<Uuid, usize> = ordered.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    let mut out: Vec<OrgUnit> = ordered
        .iter()
        .map(|u| OrgUnit {
            id: u.id,
            kind: u.kind,
            name: u.name.clone(),
            parent_id: u.parent_id,
            households: 0,
            accounts: 0,
            pin_required: false,
        })
        .collect();
    for (id, n) in households {
        if let Some(&i) = index.get(&parse_uuid(id)?) {
            out[i].households += u32::try_from(*n).unwrap_or(u32::MAX);
        }
    }
    for (id, n) in accounts {
        if let Some(&i) = index.get(&parse_uuid(id)?) {
            out[i].accounts += u32::try_from(*n).unwrap_or(u32::MAX);
        }
    }
    // Children come after their parent, so walking backwards adds every subtotal once.
    for i in (0..out.len()).rev() {
        if let Some(&p) = out[i].parent_id.as_ref().and_then(|p| index.get(p)) {
            let (h, a) = (out[i].households, out[i].accounts);
            out[p].households = out[p].households.saturating_add(h);
            out[p].accounts = out[p].accounts.saturating_add(a);
        }
    }
    Ok(out)
}

/// Checks a unit name as typed: 1 to 50 characters, no control characters.
pub fn unit_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_UNIT_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::bad_request(format!(
            "名称应为 1 到 {MAX_UNIT_NAME_CHARS} 个字"
        )));
    }
    Ok(name.to_string())
}

/// Adds a township, village or grid under a unit in the caller's subtree.
#[utoipa::path(
    post, path = "/org/units", tag = "org",
    security(("bearer" = [])),
    request_body = NewUnit,
    responses(
        (status = 201, description = "Created", body = OrgUnit),
        (status = 400, description = "Wrong kind for the parent, or a bad name", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "Parent not in the caller's subtree", body = ApiError),
        (status = 409, description = "The parent already has a unit of that name (`conflict`)", body = ApiError),
    )
)]
pub async fn org_unit_create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(new): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<OrgUnit>), AppError> {
    let subtree: Subtree = scope::coordinator(&user)?;
    let name = unit_name(&new.name)?;
    let (_writer, mut tx) = state.write_tx().await?;
    let parent = scope::unit(&mut tx, &subtree, new.parent_id).await?;
    if parent.kind.child() != Some(new.kind) {
        return Err(AppError::bad_request(match parent.kind.child() {
            Some(child) => format!("{}下面只能建{}", parent.kind.label_zh(), child.label_zh()),
            None => "网格下面不能再建单位".to_string(),
        }));
    }
    if store::units::name_taken(&mut tx, parent.id, &name).await? {
        return Err(AppError::conflict(
            "conflict",
            format!("“{}”下面已有同名的{}", parent.name, new.kind.label_zh()),
        ));
    }
    let id = Uuid::now_v7();
    store::units::insert(&mut tx, id, new.kind, &name, Some((parent.id, &parent.path)), db::now()).await?;
    audit::record(
        &mut tx,
        Some(user.id),
        "unit_created",
        json!({ "unit_id": id, "kind": new.kind, "parent_id": parent.id }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(OrgUnit {
            id,
            kind: new.kind,
            name,
            parent_id: Some(parent.id),
            households: 0,
            accounts: 0,
            pin_required: false,
        }),
    ))
}

/// Requires (or stops requiring) a PIN on the phones of every account in a unit
/// of the caller's subtree and below; phones learn it when they next go online.
#[utoipa::path(
    put, path = "/org/units/{id}/phone-lock", tag = "org",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "A unit in the caller's subtree")),
    request_body = PinRequirement,
    responses(
        (status = 200, description = "Saved", body = PinRequirement),
        (status = 400, description = "A malformed body", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "Unit not in the caller's subtree", body = ApiError),
    )
)]
pub async fn org_unit_phone_lock(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(want): ApiJson<PinRequirement>,
) -> Result<Json<PinRequirement>, AppError> {
    let subtree: Subtree = scope::coordinator(&user)?;
    // A malformed id is just another unit that is not there.
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let (_writer, mut tx) = state.write_tx().await?;
    let unit = scope::unit(&mut tx, &subtree, id).await?;
    store::phone_lock::set_required(&mut tx, unit.id, want.pin_required).await?;
    audit::record(&mut tx, Some(user.id), "pin_requirement", json!({ "unit_id": unit.id, "pin_required": want.pin_required })).await?;
    tx.commit().await?;
    Ok(Json(want))
}
