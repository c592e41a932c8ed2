//! The built web app: files from `dist`, `index.html` for the app's own routes,
//! and cache headers that let hashed files live forever in the phone's cache.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, VARY};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use std::path::{Path, PathBuf};

use crate::{precompress, AppError, AppState};

/// Cache header for files whose name carries a content hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache header for everything else (`index.html`, `sw.js`, the manifest, icons).
pub const NO_CACHE: &str = "no-cache";

/// Whether a file name carries a Trunk content hash: `-` then 16 hex digits,
/// then `.`, `_` or the end (`daohu-3f2a9c0d1e2b4a5c_bg.wasm`, `main-abcdef0123456789.css`).
pub fn is_hashed_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.windows(18).enumerate().any(|(i, w)| {
        w[0] == b'-'
            && w[1..17]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && matches!(bytes.get(i + 17), None | Some(b'.') | Some(b'_'))
    })
}

/// Paths (their first part) answered by another bundle's page than the visit
/// app's, and that bundle's folder in `dist`. The phone's service worker maps
/// the same paths (`public/sw.js`), and `AppRoute::bundle` in the app.
const BUNDLE_PATHS: [(&str, &str); 5] = [
    ("admin", "admin"),
    ("activities", "activities"),
    ("account", "account"),
    ("login", "account"),
    ("enroll", "account"),
];

/// Serves the app for every path the API and health check do not take.
pub async fn app_shell_get(State(state): State<AppState>, request: Request) -> Response {
    let dist = &state.settings.dist_dir;
    // The coordinators' console is a bundle of its own under /admin, so the
    // members' first screen does not carry its code.
    let path = request.uri().path();
    // The volunteer activities are another bundle, under /activities, and
    // signing in and out a third (its files under /account).
    let mut index = dist.join("index.html");
    for (prefix, bundle) in BUNDLE_PATHS {
        let under = path.strip_prefix('/').and_then(|p| p.strip_prefix(prefix));
        if under.is_some_and(|rest| rest.is_empty() || rest.starts_with('/')) {
            let own = dist.join(bundle).join("index.html");
            if tokio::fs::try_exists(&own).await.unwrap_or(false) {
                index = own;
            }
        }
    }
    if request.uri().path().starts_with("/api/") {
        return AppError::not_found().into_response();
    }
    if !tokio::fs::try_exists(&index).await.unwrap_or(false) {
        return AppError::client(
            StatusCode::SERVICE_UNAVAILABLE,
            "app_not_built",
            "网页应用还没有构建（dist 目录里没有 index.html）",
        )
        .into_response();
    }

    let name = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    // `.br`/`.gz` copies written by [`crate::precompress`] go out as they are,
    // unless the file was replaced after them.
    let mut service = ServeDir::new(dist).append_index_html_on_directories(true);
    let mut index_file = ServeFile::new(&index);
    if precompress::copies_current(&served_file(dist, path, &index)) {
        service = service.precompressed_br().precompressed_gzip();
        index_file = index_file.precompressed_br().precompressed_gzip();
    } else {
        precompress::refresh_in_background(dist.clone());
    }
    let response = service.fallback(index_file).oneshot(request).await;
    let mut response = match response {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };

    // The index fallback keeps no-cache even under a hashed-looking name, so a
    // missing asset never gets pinned for a year.
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let cache = if response.status().is_success() && is_hashed_name(&name) && !is_html {
        IMMUTABLE
    } else {
        NO_CACHE
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    // The body depends on Accept-Encoding: caches in between must keep them apart.
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// The file a path is answered with: itself, its folder's `index.html`, or the
/// app's index. Only used to look at the compressed copies' age.
fn served_file(dist: &Path, path: &str, index: &Path) -> PathBuf {
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|part| part == "..") {
        return index.to_path_buf();
    }
    let candidate = dist.join(relative);
    if candidate.is_file() {
        candidate
    } else if candidate.join("index.html").is_file() {
        candidate.join("index.html")
    } else {
        index.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::is_hashed_name;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed_name("daohu-3f2a9c0d1e2b4a5c_bg.wasm"));
        assert!(is_hashed_name("daohu-3f2a9c0d1e2b4a5c.js"));
        assert!(is_hashed_name("main-abcdef0123456789.css"));
        assert!(!is_hashed_name("index.html"));
        assert!(!is_hashed_name("sw.js"));
        assert!(!is_hashed_name("manifest.webmanifest"));
        assert!(!is_hashed_name("icon-192.png"));
        assert!(!is_hashed_name("main-abcdef012345678.css"));
        assert!(!is_hashed_name("main-ABCDEF0123456789.css"));
    }
}
