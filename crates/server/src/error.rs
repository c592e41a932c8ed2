//! The one error type every handler returns, and the JSON body extractor that
//! turns malformed input into it.
//!
//! Every failure answers `daohu_domain::ApiError` as JSON, so the phone can always
//! read a code and show a plain Chinese message. Internal failures are logged here
//! and answered with a generic message: details of the database never leave the server.

use axum::extract::rejection::{BytesRejection, FailedToBufferBody, JsonRejection, QueryRejection};
use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use daohu_domain::ApiError;

/// A failed request, as the API answers it.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller did something wrong; answered as is.
    #[error("{code}: {message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    /// Too many failed sign-ins; answered 429 with `Retry-After`.
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    /// The database is busy or could not commit; the phone should retry later.
    /// The cause is kept (logged in full, never answered).
    #[error("unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything unexpected; logged with its causes, answered 500 with a generic message.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// The cause an [`AppError`] keeps.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A cause with what was being done when it happened ("commit"), keeping the
/// cause itself as its `source()`.
#[derive(Debug, thiserror::Error)]
#[error("{what}")]
pub struct Context {
    what: &'static str,
    #[source]
    source: BoxError,
}

/// An error and its causes on one line, for the log.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl AppError {
    /// A 4xx answer with a stable code and a message for people.
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        AppError::Client {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 for input the server cannot use.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401 for a missing, unknown or expired session.
    pub fn session_expired() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "登录已过期，请重新登录",
        )
    }

    /// 401 for a wrong phone or password (never says which).
    pub fn bad_credentials() -> Self {
        Self::client(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "手机号或密码不对",
        )
    }

    /// 403 for a signed-in caller whose role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::client(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404; also used for things outside the caller's scope, so existence never leaks.
    pub fn not_found() -> Self {
        Self::client(StatusCode::NOT_FOUND, "not_found", "找不到该内容")
    }

    /// 409 for a request that clashes with what is stored (a taken name or phone, a stale preview).
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, message)
    }

    /// 413 for a body or batch larger than the server takes.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::client(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// Logs an unexpected failure and hides its details from the caller.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        AppError::Internal(err.to_string().into())
    }

    /// 503 (retry later) for a database that could not do `what` (e.g. "commit"), keeping the cause.
    pub fn unavailable(what: &'static str, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::Unavailable(Box::new(Context { what, source: Box::new(err) }))
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Client { status, .. } => *status,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The answer to a change that lost a race for a unique key (see `From<sqlx::Error>`).
pub const TAKEN_MEANWHILE: &str = "刚有人同时做了同样的修改，请刷新后再看";

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        // A locked database or an exhausted pool is transient: tell the phone to retry.
        let transient = match &err {
            sqlx::Error::PoolTimedOut => true,
            sqlx::Error::Database(db) => matches!(
                db.code().as_deref(),
                // SQLite: busy and locked; PostgreSQL: serialization failure, deadlock,
                // lock not available, too many connections, server starting or stopping.
                Some("5" | "6" | "261" | "262" | "517" | "773"
                    | "40001" | "40P01" | "55P03" | "53300" | "57P01" | "57P03")
            ),
            _ => false,
        };
        if let sqlx::Error::Database(db) = &err {
            // A unique key another request took between this one's check and its
            // insert (writers run side by side on PostgreSQL): the same change made
            // twice at once. Uploads never get here (they insert with ON CONFLICT and
            // let the stored row decide); this is two people saving the same thing.
            if matches!(db.code().as_deref(), Some("23505" | "2067" | "1555")) {
                tracing::warn!(error = %db, "unique key taken meanwhile");
                return AppError::conflict("taken_meanwhile", TAKEN_MEANWHILE);
            }
            // Text PostgreSQL cannot hold (a NUL character) is the sender's mistake, not ours.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return AppError::client(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_text",
                    "内容里有无法保存的字符，请删掉后再试",
                );
            }
        }
        if transient {
            AppError::Unavailable(Box::new(err))
        } else {
            AppError::Internal(Box::new(err))
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        AppError::Internal(Box::new(Context { what: "json", source: Box::new(err) }))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (code, message): (&str, String) = match &self {
            AppError::Client { code, message, .. } => (code, message.clone()),
            AppError::TooManyAttempts { retry_after_secs } => {
                let minutes = retry_after_secs.div_ceil(60).max(1);
                (
                    "too_many_attempts",
                    format!("尝试次数太多，请 {minutes} 分钟后再试"),
                )
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %chain(cause.as_ref()), "database unavailable");
                ("unavailable", "服务器正忙，请稍后再试".to_string())
            }
            AppError::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "internal error");
                ("internal", "服务器出错了，请稍后再试".to_string())
            }
        };
        let body = ApiError {
            error: code.to_string(),
            message,
        };
        let mut response = (status, axum::Json(body)).into_response();
        match &self {
            AppError::TooManyAttempts { retry_after_secs } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            AppError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        // The rejection's own text may quote the input; keep it in the debug log only.
        tracing::debug!(rejection = %rejection.body_text(), "json body rejected");
        match rejection {
            JsonRejection::MissingJsonContentType(_) => AppError::client(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求内容必须是 JSON（Content-Type: application/json）",
            ),
            JsonRejection::JsonSyntaxError(_) => AppError::client(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "请求内容不是有效的 JSON",
            ),
            JsonRejection::JsonDataError(_) => AppError::client(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "请求内容的格式不对",
            ),
            JsonRejection::BytesRejection(BytesRejection::FailedToBufferBody(
                FailedToBufferBody::LengthLimitError(_),
            )) => AppError::too_large("请求内容太大"),
            other => {
                let status = other.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::too_large("请求内容太大")
                } else if status.is_client_error() {
                    AppError::client(StatusCode::BAD_REQUEST, "bad_request", "请求内容读取失败")
                } else {
                    AppError::Internal(format!("reading body: {}", other.body_text()).into())
                }
            }
        }
    }
}

/// A JSON body whose every failure (bad JSON, wrong type, unknown field, wrong
/// content type, too large) answers as [`AppError`] instead of axum's plain text.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        tracing::debug!(rejection = %rejection.body_text(), "query rejected");
        AppError::bad_request("请求参数不对")
    }
}

/// Query parameters whose failures answer as [`AppError`] (400 `bad_request`).
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// A raw body whose failures (too large, unreadable) answer as [`AppError`].
pub fn body_error(rejection: BytesRejection) -> AppError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            AppError::too_large("文件太大")
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => AppError::too_large("文件太大"),
        other => {
            tracing::debug!(rejection = %other.body_text(), "body rejected");
            AppError::bad_request("请求内容读取失败")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[tokio::test]
    async fn causes_are_kept_for_the_log_and_never_answered() {
        let disk = std::io::Error::other("disk I/O error at page 7");
        let err = AppError::unavailable("commit", disk);
        let context = err.source().expect("the context is the source");
        assert_eq!(context.to_string(), "commit");
        assert_eq!(context.source().unwrap().to_string(), "disk I/O error at page 7");
        assert_eq!(chain(&err), "unavailable: commit: disk I/O error at page 7");

        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("unavailable") && !text.contains("disk"), "{text}");

        let err = AppError::from(sqlx::Error::Protocol("bad frame from 10.0.0.9".into()));
        assert!(matches!(err, AppError::Internal(_)));
        assert!(chain(&err).contains("bad frame from 10.0.0.9"));
        let body = axum::body::to_bytes(err.into_response().into_body(), 4096).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("10.0.0.9"));
    }
}
