//! Sign-in, sign-out and who am I.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use daohu_domain::auth::normalize_phone;
use daohu_domain::{ApiError, EnrollRequest, LoginRequest, MemberProfile, Session};
use serde_json::json;

use crate::auth::{
    self as authn, mask_phone, parse_role, AuthUser, LoginLimiter, ACCOUNT_UNIT_COLUMNS,
};
use crate::db::{self, parse_uuid, ts};
use crate::{audit, ApiJson, AppError, AppState};

/// Longest phone or password looked at; longer input is simply wrong.
const MAX_CREDENTIAL_BYTES: usize = 1024;

/// Message for an enrolment code that is unknown, used or expired.
pub const BAD_CODE_MESSAGE: &str = "二维码已用过或已过期，请找管理员重新生成";

/// `/auth/login`, `/auth/enroll`, `/auth/logout`, `/me`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth_login))
        .route("/auth/enroll", post(auth_enroll))
        .route("/auth/logout", post(auth_logout))
        .route("/me", get(me_get))
}

/// The client address, read from the socket, for the per-address limit.
pub struct PeerIp(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerIp(authn::peer_ip(parts)))
    }
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    id: String,
    name: String,
    phone: String,
    password_hash: String,
    role: String,
    village: String,
    #[sqlx(try_from = "crate::db::Flag")]
    disabled: bool,
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
    post, path = "/api/auth/login", tag = "auth",
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
    let limiter = LoginLimiter::new(&state.pool, &phone, &ip);
    limiter.check().await?;

    // A NUL can be in no stored phone (and PostgreSQL refuses it as text): simply wrong.
    let oversized = phone.len() > MAX_CREDENTIAL_BYTES
        || request.password.len() > MAX_CREDENTIAL_BYTES
        || phone.contains('\0');
    let row: Option<LoginRow> = if oversized {
        None
    } else {
        crate::db::query_as(
            &format!(
                "SELECT m.id, m.name, m.phone, m.password_hash, m.role, {ACCOUNT_UNIT_COLUMNS}, m.disabled
                 FROM members m
                 JOIN units u ON u.id = m.unit_id
                 LEFT JOIN units pu ON pu.id = u.parent_id
                 WHERE m.phone = ?"
            ),
        )
        .bind(&phone)
        .fetch_optional(&state.pool)
        .await?
    };
    // Verify even for an unknown phone, against a dummy hash, so timing says nothing.
    let password = if oversized {
        String::new()
    } else {
        request.password
    };
    let good =
        authn::verify_password(password, row.as_ref().map(|r| r.password_hash.clone())).await?;

    let row = match row {
        Some(row) if good => row,
        _ => {
            limiter.record_failure().await?;
            let mut conn = state.pool.acquire().await?;
            audit::record(
                &mut conn,
                None,
                "login_failed",
                json!({ "phone": mask_phone(&phone), "ip": ip }),
            )
            .await?;
            tracing::info!("sign-in refused");
            return Err(AppError::bad_credentials());
        }
    };
    let member_id = parse_uuid(&row.id)?;
    let role = parse_role(&row.role)?;
    if row.disabled {
        let mut conn = state.pool.acquire().await?;
        audit::record(
            &mut conn,
            Some(member_id),
            "login_disabled",
            json!({ "ip": ip }),
        )
        .await?;
        return Err(account_disabled());
    }

    limiter.clear_phone().await?;
    let (token, expires_at) =
        authn::create_session(&state.pool, member_id, state.settings.session_lifetime).await?;
    let mut conn = state.pool.acquire().await?;
    audit::record(&mut conn, Some(member_id), "login", json!({ "ip": ip })).await?;
    tracing::info!(member = %member_id, "signed in");
    Ok(Json(Session {
        token,
        expires_at,
        member: MemberProfile {
            id: member_id,
            name: row.name,
            phone: row.phone,
            role,
            village: row.village,
        },
    }))
}

/// Signs a phone in with a one-time enrolment code (from the QR code a coordinator
/// made, see `POST /api/accounts/{id}/enroll`). A code works once and for 10 minutes;
/// failures count toward the per-address sign-in limit.
#[utoipa::path(
    post, path = "/api/auth/enroll", tag = "auth",
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
    let limiter = LoginLimiter::for_address(&state.pool, &ip);
    limiter.check().await?;
    let code = request.code.trim();
    let well_formed = !code.is_empty() && code.len() <= MAX_CREDENTIAL_BYTES;
    let now = db::now();
    // Used up in the same statement that finds it, so a code signs in once even when raced.
    let member: Option<String> = if well_formed {
        crate::db::query_scalar(
            "UPDATE enrollment_codes SET used_at = ?
             WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?
             RETURNING member_id",
        )
        .bind(ts(now))
        .bind(authn::sha256_hex(code))
        .bind(ts(now))
        .fetch_optional(&state.pool)
        .await?
    } else {
        None
    };
    let Some(member) = member else {
        limiter.record_failure().await?;
        let mut conn = state.pool.acquire().await?;
        audit::record(&mut conn, None, "enroll_failed", json!({ "ip": ip })).await?;
        return Err(AppError::client(
            StatusCode::UNAUTHORIZED,
            "bad_code",
            BAD_CODE_MESSAGE,
        ));
    };
    let row: LoginRow = crate::db::query_as(&format!(
        "SELECT m.id, m.name, m.phone, m.password_hash, m.role, {ACCOUNT_UNIT_COLUMNS}, m.disabled
         FROM members m
         JOIN units u ON u.id = m.unit_id
         LEFT JOIN units pu ON pu.id = u.parent_id
         WHERE m.id = ?"
    ))
    .bind(&member)
    .fetch_one(&state.pool)
    .await?;
    let member_id = parse_uuid(&row.id)?;
    if row.disabled {
        return Err(account_disabled());
    }
    let (token, expires_at) =
        authn::create_session(&state.pool, member_id, state.settings.session_lifetime).await?;
    let mut conn = state.pool.acquire().await?;
    audit::record(&mut conn, Some(member_id), "enrolled", json!({ "ip": ip })).await?;
    tracing::info!(member = %member_id, "phone enrolled");
    Ok(Json(Session {
        token,
        expires_at,
        member: MemberProfile {
            id: member_id,
            name: row.name,
            phone: row.phone,
            role: parse_role(&row.role)?,
            village: row.village,
        },
    }))
}

/// Ends the caller's session; the token stops working at once.
#[utoipa::path(
    post, path = "/api/auth/logout", tag = "auth",
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
    crate::db::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(&user.token_hash)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut tx, Some(user.id), "logout", json!({})).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in member.
#[utoipa::path(
    get, path = "/api/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The signed-in member", body = MemberProfile),
        (status = 401, description = "No valid session", body = ApiError),
    )
)]
pub async fn me_get(user: AuthUser) -> Json<MemberProfile> {
    Json(user.profile())
}
