//! Daohu server (到户): the JSON API the phone app syncs with, and the built web app.
//!
//! - `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/me`: sessions with bearer tokens.
//! - `GET /api/roster`, `GET /api/households/{id}/visits`: the caller's households and history.
//! - `POST /api/sync/visits`: idempotent upload of visits, one receipt per record.
//! - `POST /api/sync/import`: a coordinator imports a phone's last-resort export file,
//!   each record decided exactly like that member's own upload.
//! - `POST /api/auth/enroll`: QR enrolment of a phone with a one-time code.
//! - Coordinators: `/api/org` (the tree), `/api/accounts` (accounts, links, enrolment
//!   codes), `/api/households` (list, move), `/api/roster/import` (CSV / XLSX),
//!   `/api/audit` (county only). Every rule of who reaches what lives in [`scope`].
//! - Coordinators' reports: `/api/visits` (the visit log, see [`visit_log`]),
//!   `/api/dashboard`, `/api/meeting-sheet`, `/api/exports` (one-time download links:
//!   XLSX, CSV, JSON lines).
//! - Problems after the door: `POST /api/problems/events` (changes, one receipt each),
//!   `GET /api/problems`, `GET /api/problems/{id}`; see [`problems`].
//! - Volunteer activities (see [`activity_log`]): `GET /api/activity-roster`,
//!   `POST /api/sync/activities`, `POST /api/sync/check-ins` (one receipt each),
//!   photos in resumable chunks (`GET`/`PUT /api/photos/{id}`, `GET /api/photos/{id}/content`),
//!   and for coordinators `/api/activities` (list, detail, `/hours`), `/api/activity-kinds`,
//!   `/api/teams`; activities download through `/api/exports` too (`dataset=activities`).
//! - `GET /healthz`, `GET /api/openapi.json`, and the app from `--dist` for every other path.
//!
//! Data lives in SQLite (one file, WAL) or PostgreSQL (`--database-url`). Run it with
//! `cargo run -p daohu-server -- --addr 127.0.0.1:8080 --data-dir ./data --dist ./dist`
//! (see `daohu-server --help`; every flag has a `DAOHU_*` environment variable).
//! A fresh database starts empty (`daohu-server admin create` makes the first
//! account); `--demo` fills it with a fictional county instead, see [`seed_demo`].
//! `daohu-server backup --out FILE` copies the database while it runs ([`backup`]);
//! `daohu-server audit verify` checks the audit log's hash chain ([`audit`]).
//!
//! Everything lives in this library so tests build the same [`app`] the binary serves.

pub mod activity_log;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod config;
pub mod db;
pub mod error;
pub mod export;
pub mod listen;
pub mod precompress;
pub mod problems;
pub mod receipts;
pub mod routes;
#[cfg(feature = "testkit")]
pub mod scale;
pub mod scope;
pub mod security_headers;
pub mod seed;
pub mod static_files;
pub mod store;
pub mod tree;
pub mod visit_log;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::{Extension, Router};
use crate::db::Pool;
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use auth::AuthUser;
pub use backup::backup_to;
pub use config::Config;
pub use error::{ApiJson, ApiQuery, AppError};
pub use seed::seed_demo;

/// Largest request body the API reads (2 MiB); larger ones answer 413.
pub const API_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Where the app is reached when `--public-url` is not given.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8080";

/// Settings the handlers read, taken from [`Config`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// Folder of the built web app.
    pub dist_dir: PathBuf,
    /// Absolute session lifetime.
    pub session_lifetime: chrono::Duration,
    /// Longest a session may go unused.
    pub session_idle: chrono::Duration,
    /// A coordinator's session lifetime: shorter, as they work online (`--coordinator-session-hours`).
    pub coordinator_session_lifetime: chrono::Duration,
    /// Longest a coordinator's session may go unused (`--coordinator-idle-hours`).
    pub coordinator_session_idle: chrono::Duration,
    /// Origin of the app as people reach it, without a trailing `/` (for enrolment links).
    pub public_url: String,
    /// Most matches a filtered log page counts ([`daohu_domain::LOG_COUNT_CAP`]).
    pub log_count_cap: u64,
    /// A text search matching more visits than this reads a page month by month
    /// ([`visit_log::WINDOWLESS_MATCHES`]; tests set 0 to use the months always).
    pub log_window_min: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`--trusted-proxy`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Bytes of photo chunks one account may send a day ([`routes::photos`]).
    pub photo_quota_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            dist_dir: PathBuf::from("./dist"),
            session_lifetime: chrono::Duration::hours(720),
            session_idle: chrono::Duration::days(14),
            coordinator_session_lifetime: chrono::Duration::days(7),
            coordinator_session_idle: chrono::Duration::hours(12),
            public_url: DEFAULT_PUBLIC_URL.to_string(),
            log_count_cap: daohu_domain::LOG_COUNT_CAP,
            log_window_min: visit_log::WINDOWLESS_MATCHES,
            trusted_proxies: Vec::new(),
            photo_quota_bytes: 200 * 1024 * 1024,
        }
    }
}

impl Settings {
    /// A role's session lifetime and idle limit: members and volunteers work
    /// offline for weeks; coordinators, who see whole areas, sign in more often.
    pub fn session_limits(&self, role: daohu_domain::Role) -> (chrono::Duration, chrono::Duration) {
        if role.is_coordinator() {
            (self.coordinator_session_lifetime, self.coordinator_session_idle)
        } else {
            (self.session_lifetime, self.session_idle)
        }
    }

    /// The settings a configuration asks for.
    pub fn from_config(config: &Config) -> Self {
        Settings {
            dist_dir: config.dist.clone(),
            session_lifetime: config.session_lifetime(),
            session_idle: config.session_idle(),
            coordinator_session_lifetime: config.coordinator_session().0,
            coordinator_session_idle: config.coordinator_session().1,
            public_url: config.public_url.trim_end_matches('/').to_string(),
            trusted_proxies: config.trusted_proxies.clone(),
            photo_quota_bytes: u64::from(config.photo_quota_mb) * 1024 * 1024,
            ..Settings::default()
        }
    }
}

/// What every handler shares: the database pool and the settings.
#[derive(Clone, Debug)]
pub struct AppState {
    pub pool: Pool,
    /// Every query goes through here (see [`store`]).
    pub store: store::Store,
    pub settings: Arc<Settings>,
    /// SQLite has one writer: this process's writers queue here, in order,
    /// rather than in SQLite's busy handler (which polls, and gives up after its
    /// timeout). PostgreSQL takes no such lock (see [`store::begin_write`]).
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
}

/// Held for as long as a write transaction from [`AppState::write_tx`]: this
/// process's SQLite writer turn, or nothing on PostgreSQL.
pub type WriterTurn = Option<tokio::sync::OwnedMutexGuard<()>>;

impl AppState {
    /// State over an open, migrated pool (see [`db::connect`]).
    pub fn new(pool: Pool, settings: Settings) -> Self {
        AppState {
            store: store::Store::new(pool.clone()),
            pool,
            settings: Arc::new(settings),
            sqlite_writer: Arc::default(),
        }
    }

    /// A write transaction ([`store::begin_write`]), on SQLite after this
    /// process's earlier writers. Hold the turn until the transaction is
    /// committed or dropped.
    pub async fn write_tx(&self) -> Result<(WriterTurn, sqlx::Transaction<'static, sqlx::Any>), AppError> {
        let turn = match self.store.dialect() {
            db::Dialect::Sqlite => Some(self.sqlite_writer.clone().lock_owned().await),
            db::Dialect::Postgres => None,
        };
        let tx = self.store.begin_write().await?;
        Ok((turn, tx))
    }
}

#[cfg(feature = "testkit")]
/// A state for tests: a fresh database file in `dir`, seeded with the demo data,
/// and the web app expected in `dir/dist`.
///
/// With `DAOHU_TEST_POSTGRES` set to a PostgreSQL server's URL, the database is
/// instead a new, empty database on that server (see [`db::test_database`]).
pub async fn test_state(dir: &std::path::Path) -> Result<AppState, AppError> {
    let pool = db::test_database(dir).await?;
    seed_demo(&pool).await?;
    let settings = Settings {
        dist_dir: dir.join("dist"),
        ..Settings::default()
    };
    Ok(AppState::new(pool, settings))
}

/// The whole HTTP application: `/api`, `/healthz` and the web app.
/// Every JSON body the API takes is an object. serde would also read a struct
/// from an array (`[[]]` as `{"household_ids": []}`), so an array is refused
/// here, before any handler (found by the fuzz test).
async fn json_objects_only(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let is_json = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, API_BODY_LIMIT).await {
        Ok(b) => b,
        Err(e) if listen::is_length_limit(&e) => return AppError::too_large("请求内容太大").into_response(),
        // cut off or too slow (see [`listen`])
        Err(_) => return AppError::bad_request("请求内容读取失败").into_response(),
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return AppError::client(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "请求内容的格式不对",
        )
        .into_response();
    }
    next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await
}

pub fn app(state: AppState) -> Router {
    // Routes and the OpenAPI document come from one registration (see routes::openapi).
    let (api, api_doc) = routes::api().split_for_parts();
    let (top, top_doc) = routes::health::router().split_for_parts();
    let document = Arc::new(routes::openapi::document(api_doc, top_doc));
    let api = api
        .layer(Extension(document))
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        // Refusals of signed-in callers go to the audit log with the account.
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::record_denials))
        .layer(axum::middleware::from_fn(json_objects_only))
        .layer(axum::middleware::from_fn(listen::small_bodies_without_session))
        .layer(DefaultBodyLimit::max(API_BODY_LIMIT))
        // API answers are per person and per moment: never cached.
        .layer(SetResponseHeaderLayer::overriding(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let protections =
        security_headers::Protections::new(&state.settings.dist_dir, &state.settings.public_url);
    Router::new()
        .nest("/api", api)
        .merge(top)
        .fallback(static_files::app_shell_get)
        .layer(SetResponseHeaderLayer::if_not_present(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // CSP, no framing, no referrer, HSTS behind HTTPS: see [`security_headers`].
        .layer(axum::middleware::from_fn_with_state(protections, security_headers::protect))
        // The default predicate compresses JSON, JS, CSS and application/wasm (only images,
        // gRPC and event streams are skipped).
        // XLSX downloads are zip files already: compressing them again only costs CPU.
        .layer(
            CompressionLayer::new().gzip(true).br(true).compress_when(
                DefaultPredicate::new().and(NotForContentType::const_new(
                    "application/vnd.openxmlformats-officedocument",
                )),
            ),
        )
        // Spans carry method and path only: no headers (tokens), no bodies.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %loggable_path(request.uri().path()),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}

/// The path as logs may show it: no query string (searches hold names), and the
/// one-time credentials that travel in paths (download links, enrolment codes)
/// replaced by `…`.
pub fn loggable_path(path: &str) -> String {
    for prefix in ["/api/exports/", "/enroll/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            if !rest.is_empty() {
                return format!("{prefix}…");
            }
        }
    }
    path.to_string()
}

async fn api_not_found() -> AppError {
    AppError::not_found()
}

async fn api_method_not_allowed() -> AppError {
    AppError::client(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "不支持这种请求方式",
    )
}

/// Sets up logging: `RUST_LOG` filters (default `info`), text or JSON lines.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second call (tests) finds a subscriber already set; that is fine.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The database a configuration names: `--database-url`, or the SQLite file in
/// `--data-dir` (created if missing).
pub fn database_url(config: &Config) -> std::io::Result<String> {
    Ok(match &config.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&config.data_dir)?;
            db::file_url(&config.data_dir.join("daohu.sqlite3"))
        }
    })
}

/// Opens the database, seeds it if asked and empty, and serves until Ctrl-C or SIGTERM.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let url = database_url(&config)?;
    let pool = db::connect(&url).await?;
    // Compute the dummy password hash now, so the first unknown phone is not slower than the rest.
    tokio::task::spawn_blocking(auth::dummy_hash).await?;
    if config.demo && seed_demo(&pool).await? {
        // The password is in the README; it stays out of logs.
        tracing::info!("empty database: the demo county and its accounts were added (--demo)");
    }
    if !admin::any_account(&pool).await? {
        tracing::warn!(
            "no accounts yet: create the first county administrator with \
             `daohu-server admin create --phone … --name … --county …`"
        );
    }
    if !config.dist.join("index.html").exists() {
        tracing::warn!(dist = %config.dist.display(), "web app not built; only the API is served");
    } else {
        // Until the copies exist the app is compressed on the fly (brotli 4), so
        // starting is not held up; a read-only dist just stays that way.
        precompress::refresh_in_background(config.dist.clone());
    }
    fold_tallies_in_background(pool.clone());
    let state = AppState::new(pool.clone(), Settings::from_config(&config));
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!(addr = %config.addr, "listening");
    listen::serve(listener, app(state), listen::Limits::from_config(&config), shutdown_signal()).await?;
    pool.close().await;
    Ok(())
}

/// Every ten seconds, folds the rows of changes uploads appended to the tallies
/// (PostgreSQL; see `store::upkeep::fold_tallies`), so dashboards keep summing
/// about one row a unit and day. Started by [`serve`] (and the benchmarks).
pub fn fold_tallies_in_background(pool: db::Pool) {
    if store::dialect_of_pool(&pool) != db::Dialect::Postgres {
        return;
    }
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            every.tick().await;
            let Ok(mut conn) = pool.acquire().await else { continue };
            // A few passes catch up after a busy spell; uploads never stop one.
            for _ in 0..10 {
                match store::upkeep::fold_tallies(&mut conn).await {
                    Ok(Some(0) | None) => break,
                    Ok(Some(_)) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "folding the tallies failed; trying again later");
                        break;
                    }
                }
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
    // Give in-flight uploads a moment; axum waits for open requests anyway.
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[cfg(test)]
mod log_tests {
    use super::loggable_path;

    #[test]
    fn logs_never_carry_one_time_codes() {
        assert_eq!(loggable_path("/api/exports/3f2a9c"), "/api/exports/…");
        assert_eq!(loggable_path("/enroll/abcdef0123"), "/enroll/…");
        assert_eq!(loggable_path("/api/visits"), "/api/visits");
        assert_eq!(loggable_path("/api/exports"), "/api/exports");
    }
}
