//! Sign-in, sign-out and who am I.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use daohu_domain::auth::normalize_phone;
use daohu_domain::{ApiError, LoginRequest, MemberProfile, Role, Session};
use serde_json::json;

use crate::auth::{self as authn, mask_phone, AuthUser, LoginLimiter};
use crate::db::parse_uuid;
use crate::{audit, ApiJson, AppError, AppState};

/// Longest phone or password looked at; longer input is simply wrong.
const MAX_CREDENTIAL_BYTES: usize = 1024;

/// `/auth/login`, `/auth/logout`, `/me`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth_login))
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
    disabled: bool,
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

    let oversized =
        phone.len() > MAX_CREDENTIAL_BYTES || request.password.len() > MAX_CREDENTIAL_BYTES;
    let row: Option<LoginRow> = if oversized {
        None
    } else {
        sqlx::query_as(
            "SELECT m.id, m.name, m.phone, m.password_hash, m.role, v.name AS village, m.disabled
             FROM members m JOIN villages v ON v.id = m.village_id
             WHERE m.phone = ?",
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
    let role = Role::parse(&row.role)
        .ok_or_else(|| AppError::internal(format!("unknown stored role {:?}", row.role)))?;
    if row.disabled {
        let mut conn = state.pool.acquire().await?;
        audit::record(
            &mut conn,
            Some(member_id),
            "login_disabled",
            json!({ "ip": ip }),
        )
        .await?;
        return Err(AppError::client(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "账号已停用，请联系村里",
        ));
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
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
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
