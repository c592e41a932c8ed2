//! Browser protections on every response: a Content-Security-Policy made for this
//! wasm app, no framing, no referrer, one browsing-context group, only the
//! device features the app uses, and HSTS when the app is reached over HTTPS.
//!
//! Trunk writes an inline `<script type="module">` loader into each built
//! `index.html` (member app, `/activities`, `/admin`, `/account`), different in every build.
//! The policy allows exactly those scripts by their SHA-256, read from `dist` when
//! the app is built and again whenever one of the pages changes on disk (checked
//! when a page is served), so a new build needs no restart and no `'unsafe-inline'`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::extract::{Request, State};
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The pages whose inline scripts the policy allows, under `dist`.
pub const PAGES: [&str; 4] = ["index.html", "activities/index.html", "admin/index.html", "account/index.html"];

/// HSTS for a year once the app is reached over HTTPS (subdomains are not ours to pin).
const HSTS: &str = "max-age=31536000";

const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");
const PERMISSIONS: HeaderName = HeaderName::from_static("permissions-policy");
/// The device features a page may ask for: the place at a check-in and the
/// camera (photos), for the app's own pages only; nothing else, so a script
/// slipped in could not listen or pay.
pub const PERMISSIONS_POLICY: &str = "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()";

/// The headers for one `dist` folder, kept in step with its pages.
#[derive(Debug)]
pub struct Protections {
    dist: PathBuf,
    https: bool,
    current: Mutex<Current>,
}

#[derive(Debug)]
struct Current {
    /// Modification time and size of each of [`PAGES`] when the policy was made.
    stamps: Vec<Option<(SystemTime, u64)>>,
    policy: HeaderValue,
}

impl Protections {
    /// The protections for the app in `dist`, reached at `public_url`.
    pub fn new(dist: &Path, public_url: &str) -> Arc<Self> {
        let stamps = stamps(dist);
        let policy = policy_for(dist);
        Arc::new(Protections {
            dist: dist.to_path_buf(),
            https: public_url.trim_start().to_ascii_lowercase().starts_with("https://"),
            current: Mutex::new(Current { stamps, policy }),
        })
    }

    /// The policy now in force, remade first if a page changed on disk.
    fn refreshed_policy(&self) -> HeaderValue {
        let now = stamps(&self.dist);
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.stamps != now {
            current.policy = policy_for(&self.dist);
            current.stamps = now;
        }
        current.policy.clone()
    }

    fn policy(&self) -> HeaderValue {
        self.current.lock().unwrap_or_else(|e| e.into_inner()).policy.clone()
    }
}

fn stamps(dist: &Path) -> Vec<Option<(SystemTime, u64)>> {
    PAGES
        .iter()
        .map(|page| {
            let meta = std::fs::metadata(dist.join(page)).ok()?;
            Some((meta.modified().ok()?, meta.len()))
        })
        .collect()
}

/// The Content-Security-Policy for the pages in `dist` as they are now.
pub fn policy_for(dist: &Path) -> HeaderValue {
    let mut hashes: Vec<String> = PAGES
        .iter()
        .filter_map(|page| std::fs::read_to_string(dist.join(page)).ok())
        .flat_map(|html| inline_scripts(&html).into_iter().map(script_hash).collect::<Vec<_>>())
        .collect();
    hashes.sort();
    hashes.dedup();
    let scripts: String = hashes.iter().map(|h| format!(" '{h}'")).collect();
    let policy = format!(
        "default-src 'self'; \
         script-src 'self' 'wasm-unsafe-eval'{scripts}; \
         style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; \
         font-src 'self'; \
         connect-src 'self'; \
         worker-src 'self'; \
         manifest-src 'self'; \
         frame-ancestors 'none'; \
         base-uri 'none'; \
         form-action 'self'; \
         object-src 'none'"
    );
    HeaderValue::from_str(&policy).expect("the policy is ASCII")
}

/// The CSP source of a script's text: `sha256-<base64>`.
pub fn script_hash(script: &str) -> String {
    let digest = Sha256::digest(script.as_bytes());
    format!("sha256-{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

/// The text of each `<script>` without a `src` in a page, exactly as written.
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| at + i) {
        let after_name = start + "<script".len();
        // `<scripts>` or `<script-x>` is another element
        if !lower[after_name..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace() || c == '/') {
            at = after_name;
            continue;
        }
        let Some(open_end) = lower[after_name..].find('>').map(|i| after_name + i) else {
            break;
        };
        let Some(close) = lower[open_end..].find("</script").map(|i| open_end + i) else {
            break;
        };
        if !has_src(&lower[after_name..open_end]) {
            found.push(&html[open_end + 1..close]);
        }
        at = close;
    }
    found
}

/// Whether a start tag's attributes (lowercased) include `src`.
fn has_src(attributes: &str) -> bool {
    attributes
        .split(|c: char| c.is_ascii_whitespace())
        .any(|a| a == "src" || a.starts_with("src="))
}

/// Sets the protections on a response (the layer in [`crate::app`]).
pub async fn protect(State(protections): State<Arc<Protections>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // Only a page runs the inline loader, so only serving one checks for a new build.
    let policy = if is_page {
        protections.refreshed_policy()
    } else {
        protections.policy()
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, policy);
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(COOP, HeaderValue::from_static("same-origin"));
    headers.insert(PERMISSIONS, HeaderValue::from_static(PERMISSIONS_POLICY));
    if protections.https {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_found_and_hashed_like_a_browser() {
        let html = "<html><head><script defer src=\"/register-sw.js\"></script>\
            <SCRIPT type=\"module\">import init from '/a.js';\nawait init();</SCRIPT>\
            <script>x()</script><scripts>no</scripts><script data-src=\"y\">z()</script></head></html>";
        assert_eq!(
            inline_scripts(html),
            ["import init from '/a.js';\nawait init();", "x()", "z()"]
        );
        // the value a browser reports for `alert(1)` (echo -n 'alert(1)' | openssl sha256 -binary | base64)
        assert_eq!(script_hash("alert(1)"), "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=");
    }
}
