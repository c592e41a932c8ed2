//! Calls to the server, on the browser's own `fetch` (no HTTP crate: every byte
//! of wasm counts on a rural line). Failures are typed so the screens can say
//! what went wrong in plain words.

use daohu_domain::{ApiError, LoginRequest, RosterResponse, Session, SyncBatch, SyncResponse};
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::json;

/// Why a call to the server did not give an answer to use.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiFailure {
    /// No network, or the server could not be reached.
    Offline,
    /// The session has expired or was ended; sign in again.
    SignedOut,
    /// The server answered with an error.
    Server { status: u16, error: ApiError },
    /// The answer could not be read.
    BadAnswer,
}

impl ApiFailure {
    /// Plain words for the member.
    pub fn message(&self, zh: bool) -> String {
        match (self, zh) {
            (ApiFailure::Offline, true) => "没有网络，连不上服务器。记录都在手机上，有网后会自动上传。".into(),
            (ApiFailure::Offline, false) => "No network: the server cannot be reached. Records stay on the phone and upload when the network is back.".into(),
            (ApiFailure::SignedOut, true) => "登录已过期，请重新登录。没上传的记录仍在手机上。".into(),
            (ApiFailure::SignedOut, false) => "Your sign-in has expired. Please sign in again; records not yet uploaded stay on the phone.".into(),
            (ApiFailure::Server { status, error }, true) if *status < 500 => error.message.clone(),
            (ApiFailure::Server { status, error }, false) if *status < 500 => error.english(*status).into(),
            (ApiFailure::Server { .. }, true) => "服务器暂时出了问题，稍后会自动再试。".into(),
            (ApiFailure::Server { .. }, false) => "The server had a problem; the app will try again shortly.".into(),
            (ApiFailure::BadAnswer, true) => "服务器的回答看不懂，稍后会自动再试。".into(),
            (ApiFailure::BadAnswer, false) => "The server's answer could not be read; the app will try again.".into(),
        }
    }
}

/// A request body: JSON text, or a file sent as it is.
enum Body<'a> {
    Json(String),
    Blob(&'a web_sys::Blob, &'a str),
}

/// A request's timer, cleared when the request is done with.
struct Deadline(Option<leptos::prelude::TimeoutHandle>);

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.clear();
        }
    }
}

async fn call_raw(method: &str, path: &str, token: Option<&str>, body: Option<Body<'_>>) -> Result<String, ApiFailure> {
    let window = web_sys::window().ok_or(ApiFailure::Offline)?;
    let init = RequestInit::new();
    init.set_method(method);
    let content_type = match &body {
        Some(Body::Json(text)) => {
            init.set_body(&wasm_bindgen::JsValue::from_str(text));
            Some("application/json")
        }
        Some(Body::Blob(file, ct)) => {
            init.set_body(file);
            Some(*ct)
        }
        None => None,
    };
    // Given up after REQUEST_TIMEOUT_MS (a stalled line), as if offline; the
    // timer goes when this returns.
    let abort = web_sys::AbortController::new().ok();
    if let Some(a) = &abort {
        init.set_signal(Some(&a.signal()));
    }
    let _deadline = Deadline(abort.and_then(|a| {
        leptos::prelude::set_timeout_with_handle(move || a.abort(), std::time::Duration::from_millis(daohu_domain::REQUEST_TIMEOUT_MS)).ok()
    }));
    let request = Request::new_with_str_and_init(path, &init).map_err(|_| ApiFailure::Offline)?;
    let headers = request.headers();
    let _ = headers.set("Accept", "application/json");
    if let Some(ct) = content_type {
        let _ = headers.set("Content-Type", ct);
    }
    if let Some(t) = token {
        let _ = headers.set("Authorization", &format!("Bearer {t}"));
    }
    let resp: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| ApiFailure::Offline)?
        .dyn_into()
        .map_err(|_| ApiFailure::BadAnswer)?;
    let status = resp.status();
    // An answer cut off on its way (or given up) is no answer.
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p).await.map_err(|_| ApiFailure::Offline)?.as_string().unwrap_or_default(),
        Err(_) => String::new(),
    };
    if status == 401 {
        return Err(ApiFailure::SignedOut);
    }
    if !(200..300).contains(&status) {
        let error = json::from_str::<ApiError>(&text).unwrap_or(ApiError {
            error: "http".into(),
            message: format!("HTTP {status}"),
        });
        return Err(ApiFailure::Server { status, error });
    }
    Ok(text)
}

async fn call<B: Serialize, R: DeserializeOwned>(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&B>,
) -> Result<Option<R>, ApiFailure> {
    let body = match body {
        Some(b) => Some(Body::Json(json::to_string(b).map_err(|_| ApiFailure::BadAnswer)?)),
        None => None,
    };
    let text = call_raw(method, path, token, body).await?;
    if text.is_empty() {
        return Ok(None);
    }
    json::from_str(&text).map(Some).map_err(|_| ApiFailure::BadAnswer)
}

async fn call_some<B: Serialize, R: DeserializeOwned>(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&B>,
) -> Result<R, ApiFailure> {
    call(method, path, token, body).await?.ok_or(ApiFailure::BadAnswer)
}

pub async fn login(req: &LoginRequest) -> Result<Session, ApiFailure> {
    // A wrong password is a 401 too, but it is not an expired session.
    match call_some("POST", "/api/auth/login", None, Some(req)).await {
        Err(ApiFailure::SignedOut) => Err(ApiFailure::Server {
            status: 401,
            error: ApiError { error: "bad_credentials".into(), message: "手机号或密码不对".into() },
        }),
        other => other,
    }
}

/// Signs a phone in with a one-time code from a coordinator's QR code.
pub async fn enroll(code: &str) -> Result<Session, ApiFailure> {
    let req = daohu_domain::EnrollRequest { code: code.to_string() };
    match call_some("POST", "/api/auth/enroll", None, Some(&req)).await {
        Err(ApiFailure::SignedOut) => Err(ApiFailure::Server {
            status: 401,
            error: ApiError { error: "bad_code".into(), message: "二维码已用过或已过期，请找管理员重新生成".into() },
        }),
        other => other,
    }
}

/// The API as a signed-in account. Made only from a [`Session`], so a screen
/// cannot call an endpoint that needs one without having one; every call sends
/// the session's token as a bearer token.
#[derive(Clone)]
pub struct SignedIn {
    token: String,
}

impl SignedIn {
    pub fn new(session: &Session) -> SignedIn {
        SignedIn { token: session.token.clone() }
    }

    /// Calls the API and decodes the answer.
    pub async fn send<B: Serialize, R: DeserializeOwned>(&self, method: &str, path: &str, body: Option<&B>) -> Result<R, ApiFailure> {
        call_some(method, path, Some(&self.token), body).await
    }

    /// GETs a JSON answer.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, ApiFailure> {
        self.send::<(), R>("GET", path, None).await
    }

    /// Sends a file as the request body (roster import, outbox files).
    pub async fn send_file<R: DeserializeOwned>(&self, path: &str, file: &web_sys::File, content_type: &str) -> Result<R, ApiFailure> {
        self.send_blob("POST", path, file, content_type).await
    }

    /// Sends bytes as the request body (photo chunks) and decodes the answer.
    pub async fn send_blob<R: DeserializeOwned>(&self, method: &str, path: &str, blob: &web_sys::Blob, content_type: &str) -> Result<R, ApiFailure> {
        let text = call_raw(method, path, Some(&self.token), Some(Body::Blob(blob, content_type))).await?;
        json::from_str(&text).map_err(|_| ApiFailure::BadAnswer)
    }

    /// Downloads a file (a photo) and gives a `blob:` URL for it, or none.
    pub async fn object_url(&self, path: &str) -> Option<String> {
        let req = Request::new_with_str(path).ok()?;
        req.headers().set("Authorization", &format!("Bearer {}", self.token)).ok()?;
        let resp: Response = JsFuture::from(web_sys::window()?.fetch_with_request(&req)).await.ok()?.dyn_into().ok()?;
        if !resp.ok() {
            return None;
        }
        let blob: web_sys::Blob = JsFuture::from(resp.blob().ok()?).await.ok()?.dyn_into().ok()?;
        web_sys::Url::create_object_url_with_blob(&blob).ok()
    }

    /// Ends the session on the server.
    pub async fn logout(&self) -> Result<(), ApiFailure> {
        call::<(), serde::de::IgnoredAny>("POST", "/api/auth/logout", Some(&self.token), None).await.map(|_| ())
    }

    /// The member's linked households, their histories and problems, and the
    /// text they came as (which the phone stores as it is).
    pub async fn roster(&self) -> Result<(RosterResponse, String), ApiFailure> {
        let text = call_raw("GET", "/api/roster", Some(&self.token), None).await?;
        let roster = json::from_str(&text).map_err(|_| ApiFailure::BadAnswer)?;
        Ok((roster, text))
    }

    /// Uploads problem changes made on the phone.
    pub async fn upload_events(&self, batch: &daohu_domain::ProblemEventBatch) -> Result<SyncResponse, ApiFailure> {
        call_some("POST", "/api/problems/events", Some(&self.token), Some(batch)).await
    }

    /// Uploads visits.
    pub async fn upload(&self, batch: &SyncBatch) -> Result<SyncResponse, ApiFailure> {
        call_some("POST", "/api/sync/visits", Some(&self.token), Some(batch)).await
    }
}
