//! Accounts for coordinators: the list of their subtree, new accounts, role changes,
//! moves, disabling, member ↔ household links and QR enrolment codes.

use std::collections::HashSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::auth::normalize_phone;
use daohu_domain::{
    Account, AccountUpdate, AdminHousehold, ApiError, Enrollment, MemberLinks, NewAccount, Role,
};
use serde_json::json;
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::{self as authn, parse_role, AuthUser};
use crate::db::{self, ts};
use crate::routes::households::{self, Filter, MAX_LIST};
use crate::scope::{self, Subtree};
use crate::store::{self, accounts::NewMember};
use crate::{audit, ApiJson, AppError, AppState};

/// The answer to a new account whose phone an account outside the caller's reach
/// already has: it names no account and no place.
pub const PHONE_UNAVAILABLE: &str = "这个手机号不能用来开新账号，请联系上级管理员核实";

/// How long an enrolment code works.
pub const ENROLL_MINUTES: i64 = 10;

/// `/accounts`, `/accounts/{id}`, `/accounts/{id}/households`, `/accounts/{id}/enroll`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(accounts_list, account_create))
        .routes(routes!(account_update))
        .routes(routes!(account_households_set))
        .routes(routes!(account_enroll))
}

/// Whether the caller is a county coordinator acting on another county-level account
/// of their county: the one case of an account at the caller's own level they may
/// touch, and then only to disable or enable it (so a county keeps a way to stop a
/// county administrator's account; never the caller's own).
fn county_peer(user: &AuthUser, target: &scope::AccountRow) -> bool {
    user.role == Role::CountyCoordinator
        && target.role == Role::CountyCoordinator
        && target.id != user.id
}

/// The roles of the accounts the caller lists: those they manage, and for a county
/// coordinator the other county-level accounts too (see [`county_peer`]).
fn managed_roles(user: &AuthUser) -> Vec<Role> {
    [
        Role::Member,
        Role::GridLeader,
        Role::Volunteer,
        Role::VillageCoordinator,
        Role::TownshipCoordinator,
        Role::CountyCoordinator,
    ]
    .into_iter()
    .filter(|r| user.role.can_manage(*r) || (user.role == Role::CountyCoordinator && *r == user.role))
    .collect()
}

/// Accounts attached inside the subtree whose role the caller manages (or just one),
/// each with its count of linked households inside the subtree.
async fn load(
    conn: &mut Conn,
    user: &AuthUser,
    subtree: &Subtree,
    only: Option<Uuid>,
) -> Result<Vec<Account>, AppError> {
    store::accounts::list(conn, subtree, &managed_roles(user), user.id, only).await
}

async fn load_one(
    conn: &mut Conn,
    user: &AuthUser,
    subtree: &Subtree,
    id: Uuid,
) -> Result<Account, AppError> {
    load(conn, user, subtree, Some(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(AppError::not_found)
}

fn account_id(raw: &str) -> Result<Uuid, AppError> {
    // A malformed id is just another account that is not there.
    Uuid::parse_str(raw).map_err(|_| AppError::not_found())
}

fn wrong_unit(role: Role) -> AppError {
    AppError::bad_request(format!(
        "{}账号应挂在{}上",
        role.label_zh(),
        role.unit_kind().label_zh()
    ))
}

/// Accounts in the caller's subtree that the caller manages (roles below their own;
/// for a county coordinator also the other county-level accounts, which they may only
/// disable or enable).
#[utoipa::path(
    get, path = "/accounts", tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The accounts", body = Vec<Account>),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
    )
)]
pub async fn accounts_list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<Account>>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let mut conn = state.pool.acquire().await?;
    Ok(Json(load(&mut conn, &user, &subtree, None).await?))
}

/// Makes an account on a unit of the caller's subtree. An empty password makes an
/// account that signs in only by QR enrolment.
#[utoipa::path(
    post, path = "/accounts", tag = "accounts",
    security(("bearer" = [])),
    request_body = NewAccount,
    responses(
        (status = 201, description = "Created", body = Account),
        (status = 400, description = "Bad name, phone or password, or a unit of the wrong kind for the role", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator, or a role the caller may not make", body = ApiError),
        (status = 404, description = "Unit not in the caller's subtree", body = ApiError),
        (status = 409, description = "The phone already has an account the caller manages (`conflict`), or one outside the caller's reach (`phone_unavailable`, which names no account)", body = ApiError),
    )
)]
pub async fn account_create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(new): ApiJson<NewAccount>,
) -> Result<(StatusCode, Json<Account>), AppError> {
    let subtree = scope::coordinator(&user)?;
    new.validate().map_err(AppError::bad_request)?;
    scope::require_manage(&user, new.role)?;
    let phone = normalize_phone(&new.phone);
    let name = new.name.trim().to_string();
    // Hash before taking the writer lock: argon2 is slow.
    let hash = if new.password.is_empty() {
        authn::NO_PASSWORD_HASH.to_string()
    } else {
        let password = new.password.clone();
        tokio::task::spawn_blocking(move || authn::hash_password(&password))
            .await
            .map_err(AppError::internal)??
    };
    let (_writer, mut tx) = state.write_tx().await?;
    let unit = scope::unit(&mut tx, &subtree, new.unit_id).await?;
    if unit.kind != new.role.unit_kind() {
        return Err(wrong_unit(new.role));
    }
    let holder = store::accounts::phone_holder(&mut tx, &phone).await?;
    if let Some((role, path)) = holder {
        // An account the caller could list anyway: say so. Any other (another village,
        // a level above): one answer that names no account, so a coordinator cannot
        // learn who in the county has an account; the attempt is audited.
        if subtree.contains(&path) && user.role.can_manage(parse_role(&role)?) {
            return Err(AppError::conflict("conflict", "这个手机号已有账号"));
        }
        audit::record(
            &mut tx,
            Some(user.id),
            "account_phone_refused",
            json!({ "unit_id": unit.id, "phone": authn::mask_phone(&phone) }),
        )
        .await?;
        tx.commit().await?;
        return Err(AppError::conflict("phone_unavailable", PHONE_UNAVAILABLE));
    }
    let id = Uuid::now_v7();
    // A password the coordinator chose is only a first one: the owner must choose
    // their own at first sign-in (`POST /api/auth/password`).
    store::accounts::insert(
        &mut tx,
        &NewMember {
            id,
            phone: &phone,
            name: &name,
            password_hash: &hash,
            role: new.role,
            unit_id: unit.id,
            created_at: db::now(),
            must_change_password: !new.password.is_empty(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        Some(user.id),
        "account_created",
        json!({
            "account_id": id,
            "role": new.role,
            "unit_id": unit.id,
            "phone": authn::mask_phone(&phone),
            "enrol_only": new.password.is_empty(),
        }),
    )
    .await?;
    let account = load_one(&mut tx, &user, &subtree, id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(account)))
}

/// Changes an account's role, moves it to another unit, or disables / enables it.
/// Disabling ends its sessions at once. A member moved to another grid of the same
/// village keeps their links; a move ends every link outside the new unit's village
/// (audited with the households). A county coordinator may disable or enable another
/// county-level account of their county (nothing else of it), never their own.
#[utoipa::path(
    patch, path = "/accounts/{id}", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    request_body = AccountUpdate,
    responses(
        (status = 200, description = "The account after the change", body = Account),
        (status = 400, description = "The unit does not fit the role", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator, a role the caller may not manage, or more than disabling / enabling another county-level account", body = ApiError),
        (status = 404, description = "Account or unit not in the caller's subtree", body = ApiError),
    )
)]
pub async fn account_update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<AccountUpdate>,
) -> Result<Json<Account>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let id = account_id(&id)?;
    let (_writer, mut tx) = state.write_tx().await?;
    let target = scope::account(&mut tx, &subtree, id).await?;
    if target.id == user.id {
        // Not even a county coordinator: someone else must stop a county account.
        return Err(AppError::forbidden("不能更改自己的账号"));
    }
    let role = change.role.unwrap_or(target.role);
    if county_peer(&user, &target) {
        if role != target.role || change.unit_id.is_some_and(|u| u != target.unit_id) {
            return Err(AppError::forbidden("县级管理员账号之间只能停用或启用"));
        }
    } else {
        scope::require_manage(&user, target.role)?;
        scope::require_manage(&user, role)?;
    }
    let (unit_id, unit_kind, unit_path) = match change.unit_id {
        Some(unit) => {
            let unit = scope::unit(&mut tx, &subtree, unit).await?;
            (unit.id, unit.kind, unit.path)
        }
        None => (target.unit_id, target.unit_kind, target.unit_path.clone()),
    };
    if unit_kind != role.unit_kind() {
        return Err(wrong_unit(role));
    }
    if role != target.role {
        store::accounts::set_role(&mut tx, id, role).await?;
        audit::record(
            &mut tx,
            Some(user.id),
            "role_changed",
            json!({ "account_id": id, "from": target.role, "to": role }),
        )
        .await?;
    }
    if unit_id != target.unit_id {
        store::accounts::set_unit(&mut tx, id, unit_id).await?;
        // Its roster and uploads must not reach its old village, whose coordinator
        // could neither see nor end those links.
        let area = scope::village_area(&unit_path, unit_kind);
        let ended = store::accounts::end_links_outside(&mut tx, id, &area).await?;
        audit::record(
            &mut tx,
            Some(user.id),
            "account_moved",
            json!({
                "account_id": id,
                "from_unit_id": target.unit_id,
                "to_unit_id": unit_id,
                "links_ended": ended,
            }),
        )
        .await?;
    }
    if let Some(disabled) = change.disabled.filter(|d| *d != target.disabled) {
        store::accounts::set_disabled(&mut tx, id, disabled).await?;
        if disabled {
            // Its tokens fail on the very next request, and no code can sign it in.
            store::sessions::end_all(&mut *tx, id).await?;
            store::accounts::drop_unused_codes(&mut tx, id).await?;
        }
        audit::record(
            &mut tx,
            Some(user.id),
            if disabled {
                "account_disabled"
            } else {
                "account_enabled"
            },
            json!({ "account_id": id }),
        )
        .await?;
    }
    let account = load_one(&mut tx, &user, &subtree, id).await?;
    tx.commit().await?;
    Ok(Json(account))
}

/// Sets the households a member (or grid leader) is linked to: one (一联一) or
/// several (一联多). Every household must be in the caller's subtree, or nothing
/// changes (404). Links to households outside the caller's subtree are neither
/// shown nor touched. Answers the links after the change.
#[utoipa::path(
    put, path = "/accounts/{id}/households", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id (a member or grid leader)")),
    request_body = MemberLinks,
    responses(
        (status = 200, description = "The account's linked households after the change", body = Vec<AdminHousehold>),
        (status = 400, description = "The account does not visit households, or too many households", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator, or a role the caller may not manage", body = ApiError),
        (status = 404, description = "Account or a household not in the caller's subtree", body = ApiError),
    )
)]
pub async fn account_households_set(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(links): ApiJson<MemberLinks>,
) -> Result<Json<Vec<AdminHousehold>>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let id = account_id(&id)?;
    let mut seen = HashSet::new();
    let wanted: Vec<String> = links
        .household_ids
        .iter()
        .filter(|h| seen.insert(**h))
        .map(Uuid::to_string)
        .collect();
    if wanted.len() > MAX_LIST {
        return Err(AppError::bad_request(format!(
            "一个人最多联系 {MAX_LIST} 户"
        )));
    }
    let (_writer, mut tx) = state.write_tx().await?;
    let target = scope::account(&mut tx, &subtree, id).await?;
    scope::require_manage(&user, target.role)?;
    if !target.role.records_visits() {
        return Err(AppError::bad_request("只有联户党员和网格长可以联系农户"));
    }
    let found = store::households::count_in_subtree(&mut tx, &subtree, &wanted).await?;
    if usize::try_from(found).ok() != Some(wanted.len()) {
        return Err(AppError::not_found());
    }
    let before = store::accounts::links_in(&mut tx, id, &subtree).await?;
    store::accounts::relink_in(&mut tx, id, &subtree, &wanted).await?;
    let before: HashSet<&str> = before.iter().map(String::as_str).collect();
    let after: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    audit::record(
        &mut tx,
        Some(user.id),
        "links_changed",
        json!({
            "account_id": id,
            "before": before.len(),
            "after": after.len(),
            "added": after.difference(&before).count(),
            "removed": before.difference(&after).count(),
        }),
    )
    .await?;
    let linked = households::load(&mut tx, &subtree, Filter::LinkedTo(id)).await?;
    tx.commit().await?;
    Ok(Json(linked))
}

/// The QR code of an address, as an SVG document.
pub fn qr_svg(url: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(AppError::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build())
}

/// Makes a one-time code (and its QR code) that signs a phone in as this account:
/// valid for 10 minutes, once. Any older unused code of the account stops working.
#[utoipa::path(
    post, path = "/accounts/{id}/enroll", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Account id")),
    responses(
        (status = 200, description = "The code, its address and QR code", body = Enrollment),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator, or a role the caller may not manage", body = ApiError),
        (status = 404, description = "Account not in the caller's subtree", body = ApiError),
        (status = 409, description = "The account is disabled (`account_disabled`)", body = ApiError),
    )
)]
pub async fn account_enroll(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Enrollment>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let id = account_id(&id)?;
    let (_writer, mut tx) = state.write_tx().await?;
    let target = scope::account(&mut tx, &subtree, id).await?;
    scope::require_manage(&user, target.role)?;
    if target.disabled {
        return Err(AppError::conflict(
            "account_disabled",
            "账号已停用，请先启用再生成二维码",
        ));
    }
    let code = authn::new_enroll_code();
    let now = db::now();
    let expires_at = now + chrono::Duration::minutes(ENROLL_MINUTES);
    store::accounts::drop_unused_codes(&mut tx, id).await?;
    store::accounts::insert_enroll_code(&mut tx, &authn::sha256_hex(&code), id, user.id, now, expires_at).await?;
    audit::record(
        &mut tx,
        Some(user.id),
        "enroll_code_created",
        json!({ "account_id": id, "expires_at": ts(expires_at) }),
    )
    .await?;
    tx.commit().await?;
    let url = format!("{}/enroll/{code}", state.settings.public_url);
    let qr_svg = qr_svg(&url)?;
    Ok(Json(Enrollment {
        code,
        url,
        expires_at,
        qr_svg,
    }))
}
