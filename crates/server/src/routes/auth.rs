//! Sign-in, sign-out and who am I.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::auth::{normalize_phone, password_problem};
use daohu_domain::lock::PhoneLockPolicy;
use daohu_domain::{ApiError, ChangePasswordRequest, EnrollRequest, LoginRequest, MemberProfile, Session};
use serde_json::json;

use crate::auth::{
    self as authn, mask_phone, parse_role, AuthUser, LoginLimiter,
};
use crate::db::{self, parse_uuid};
use crate::store::{self, sessions::{self, LoginBy, LoginRow}};
use crate::{audit, ApiJson, AppError, AppState};

/// Longest phone or password looked at; longer input is simply wrong.
const MAX_CREDENTIAL_BYTES: usize = 1024;

/// Message for an enrolment code that is unknown, used or expired.
pub const BAD_CODE_MESSAGE: &str = "二维码已用过或已过期，请找管理员重新生成";

/// `/auth/login`, `/auth/enroll`, `/auth/logout`, `/me`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(auth_login))
        .routes(routes!(auth_enroll))
        .routes(routes!(auth_password))
        .routes(routes!(auth_logout))
        .routes(routes!(me_get))
        .routes(routes!(me_phone_lock))
}

/// How long after a password sign-in (or enrolment) the phone key is handed out:
/// long enough for the phone to open the app, short enough that a stored
/// session found on a lost phone does not unlock its records.
pub const PHONE_KEY_MINUTES: i64 = 15;

/// The client address for the per-address limits: the socket's, or the one a
/// trusted proxy forwarded (see [`authn::peer_ip`]).
pub struct PeerIp(pub String);

impl axum::extract::FromRequestParts<AppState> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(authn::peer_ip(parts, &state.settings.trusted_proxies)))
    }
}

/// 403 for a disabled account trying to sign in.
fn account_disabled() -> AppError {
    AppError::client(
        StatusCode::FORBIDDEN,
        "account_disabled",
        "账号已停用，请联系村里",
    )
}

/// Signs a member in with phone and password.
#[utoipa::path(
    post, path = "/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "Wrong phone or password", body = ApiError),
        (status = 403, description = "Account disabled", body = ApiError),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = ApiError),
    )
)]
pub async fn auth_login(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    ApiJson(request): ApiJson<LoginRequest>,
) -> Result<Json<Session>, AppError> {
    let phone = normalize_phone(&request.phone);
    let (row, attempt) = check_password(&state, &phone, request.password, &ip).await?;
    attempt.succeeded().await?;
    let member_id = parse_uuid(&row.id)?;
    if row.must_change_password {
        // The password is right, but a coordinator chose it: the owner picks their own
        // first (`POST /api/auth/password`), so a coordinator never knows a password in use.
        return Err(AppError::client(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "这是管理员给的初始密码，请先设一个自己的新密码",
        ));
    }
    let (token, expires_at) =
        authn::create_session(&state.pool, member_id, state.settings.session_limits(parse_role(&row.role)?).0).await?;
    let mut conn = state.pool.acquire().await?;
    audit::record(&mut conn, Some(member_id), "login", json!({ "ip": ip })).await?;
    tracing::info!(member = %member_id, "signed in");
    Ok(Json(session_of(row, member_id, token, expires_at)?))
}

/// The session a signed-in account gets back.
fn session_of(
    row: LoginRow,
    member_id: uuid::Uuid,
    token: String,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<Session, AppError> {
    Ok(Session {
        token,
        expires_at,
        member: MemberProfile {
            id: member_id,
            role: parse_role(&row.role)?,
            name: row.name,
            phone: row.phone,
            village: row.village,
        },
    })
}

/// Checks a phone and password under the sign-in limits: the account (enabled) and
/// the counted attempt, to settle once the caller knows the outcome; 401 for a wrong
/// phone or password, 403 for a disabled account, 429 while the limits say wait.
async fn check_password<'a>(
    state: &'a AppState,
    phone: &str,
    password: String,
    ip: &str,
) -> Result<(LoginRow, authn::Attempt<'a>), AppError> {
    let attempt = LoginLimiter::new(&state.store, phone, ip).begin().await?;

    // A NUL can be in no stored phone (and PostgreSQL refuses it as text): simply wrong.
    let oversized = phone.len() > MAX_CREDENTIAL_BYTES
        || password.len() > MAX_CREDENTIAL_BYTES
        || phone.contains('\0');
    let row: Option<LoginRow> = if oversized {
        None
    } else {
        sessions::login_row(&state.pool, LoginBy::Phone(phone)).await?
    };
    // Verify even for an unknown phone, against a dummy hash, so timing says nothing.
    let password = if oversized { String::new() } else { password };
    let good =
        authn::verify_password(password, row.as_ref().map(|r| r.password_hash.clone())).await?;

    let row = match row {
        Some(row) if good => row,
        _ => {
            attempt.failed().await?;
            let mut conn = state.pool.acquire().await?;
            audit::record(
                &mut conn,
                None,
                "login_failed",
                json!({ "phone": mask_phone(phone), "ip": ip }),
            )
            .await?;
            tracing::info!("sign-in refused");
            return Err(AppError::bad_credentials());
        }
    };
    if row.disabled {
        attempt.succeeded().await?;
        let mut conn = state.pool.acquire().await?;
        audit::record(
            &mut conn,
            Some(parse_uuid(&row.id)?),
            "login_disabled",
            json!({ "ip": ip }),
        )
        .await?;
        return Err(account_disabled());
    }
    Ok((row, attempt))
}

/// Sets a new password, given the phone and the password in use, and signs in:
/// how an account whose password a coordinator set chooses its own, and how anyone
/// changes theirs. Counted under the same limits as sign-in. Every other session of
/// the account ends, so a phone that knew the old password is signed out.
#[utoipa::path(
    post, path = "/auth/password", tag = "auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Password changed; signed in", body = Session),
        (status = 400, description = "The new password is too short, too common or the same as before (`weak_password`)", body = ApiError),
        (status = 401, description = "Wrong phone or password", body = ApiError),
        (status = 403, description = "Account disabled", body = ApiError),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = ApiError),
    )
)]
pub async fn auth_password(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
) -> Result<Json<Session>, AppError> {
    let phone = normalize_phone(&request.phone);
    let weak = |message: &str| AppError::client(StatusCode::BAD_REQUEST, "weak_password", message);
    if let Some(problem) = password_problem(&request.new_password, &phone) {
        return Err(weak(problem));
    }
    if request.new_password == request.current_password {
        return Err(weak("新密码不能和原来的一样"));
    }
    let (row, attempt) = check_password(&state, &phone, request.current_password, &ip).await?;
    attempt.succeeded().await?;
    let member_id = parse_uuid(&row.id)?;
    let new_password = request.new_password;
    let hash = tokio::task::spawn_blocking(move || authn::hash_password(&new_password))
        .await
        .map_err(AppError::internal)??;
    let mut tx = state.pool.begin().await?;
    sessions::set_password(&mut *tx, member_id, &hash).await?;
    sessions::end_all(&mut *tx, member_id).await?;
    audit::record(
        &mut tx,
        Some(member_id),
        "password_changed",
        json!({ "ip": ip, "was_initial": row.must_change_password }),
    )
    .await?;
    tx.commit().await?;
    let (token, expires_at) =
        authn::create_session(&state.pool, member_id, state.settings.session_limits(parse_role(&row.role)?).0).await?;
    tracing::info!(member = %member_id, "password changed");
    Ok(Json(session_of(row, member_id, token, expires_at)?))
}

/// Signs a phone in with a one-time enrolment code (from the QR code a coordinator
/// made, see `POST /api/accounts/{id}/enroll`). A code works once and for 10 minutes;
/// failures count toward the per-address sign-in limit.
#[utoipa::path(
    post, path = "/auth/enroll", tag = "auth",
    request_body = EnrollRequest,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "Unknown, used or expired code (`bad_code`)", body = ApiError),
        (status = 403, description = "Account disabled", body = ApiError),
        (status = 429, description = "Too many failed attempts from this address; see Retry-After", body = ApiError),
    )
)]
pub async fn auth_enroll(
    State(state): State<AppState>,
    PeerIp(ip): PeerIp,
    ApiJson(request): ApiJson<EnrollRequest>,
) -> Result<Json<Session>, AppError> {
    let attempt = LoginLimiter::for_address(&state.store, &ip).begin().await?;
    let code = request.code.trim();
    let well_formed = !code.is_empty() && code.len() <= MAX_CREDENTIAL_BYTES;
    let now = db::now();
    // Used up in the same statement that finds it, so a code signs in once even when raced.
    let member: Option<String> = if well_formed {
        sessions::use_enroll_code(&state.pool, &authn::sha256_hex(code), now).await?
    } else {
        None
    };
    let Some(member) = member else {
        attempt.failed().await?;
        let mut conn = state.pool.acquire().await?;
        audit::record(&mut conn, None, "enroll_failed", json!({ "ip": ip })).await?;
        return Err(AppError::client(
            StatusCode::UNAUTHORIZED,
            "bad_code",
            BAD_CODE_MESSAGE,
        ));
    };
    let row = sessions::login_row(&state.pool, LoginBy::Id(&member))
        .await?
        .ok_or_else(|| AppError::internal("an enrolment code names no account"))?;
    attempt.succeeded().await?;
    let member_id = parse_uuid(&row.id)?;
    if row.disabled {
        return Err(account_disabled());
    }
    let (token, expires_at) =
        authn::create_session(&state.pool, member_id, state.settings.session_limits(parse_role(&row.role)?).0).await?;
    let mut conn = state.pool.acquire().await?;
    audit::record(&mut conn, Some(member_id), "enrolled", json!({ "ip": ip })).await?;
    tracing::info!(member = %member_id, "phone enrolled");
    Ok(Json(session_of(row, member_id, token, expires_at)?))
}

/// Ends the caller's session; the token stops working at once.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid session", body = ApiError),
    )
)]
pub async fn auth_logout(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<StatusCode, AppError> {
    let mut tx = state.pool.begin().await?;
    sessions::end(&mut *tx, &user.token_hash).await?;
    audit::record(&mut tx, Some(user.id), "logout", json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in member.
#[utoipa::path(
    get, path = "/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in member", body = MemberProfile),
        (status = 401, description = "No valid session", body = ApiError),
    )
)]
pub async fn me_get(user: AuthUser) -> Json<MemberProfile> {
    Json(user.profile())
}

/// The phone lock for the signed-in account: whether a coordinator requires a
/// PIN in its area, and, within minutes of a password sign-in only, the
/// account's phone key (the second wrapping of its records' key on a phone).
#[utoipa::path(
    get, path = "/me/phone-lock", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The requirement, and the key if the session is new", body = PhoneLockPolicy),
        (status = 401, description = "No valid session", body = ApiError),
    )
)]
pub async fn me_phone_lock(State(state): State<AppState>, user: AuthUser) -> Result<Json<PhoneLockPolicy>, AppError> {
    let now = db::now();
    let mut conn = state.pool.acquire().await?;
    let pin_required = store::phone_lock::required(&mut conn, &user.unit_path).await?;
    let fresh = now - user.signed_in_at <= chrono::Duration::minutes(PHONE_KEY_MINUTES);
    let key = if fresh { Some(store::phone_lock::key(&mut conn, user.id, now).await?) } else { None };
    Ok(Json(PhoneLockPolicy { pin_required, key }))
}
