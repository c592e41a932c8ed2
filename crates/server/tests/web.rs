//! Health, the OpenAPI document and the built web app.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::TestApp;

fn write_dist(app: &TestApp) -> std::path::PathBuf {
    let dist = app.dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(
        dist.join("index.html"),
        "<!doctype html><title>到户</title><div id=app></div>",
    )
    .unwrap();
    let js = "export function hello() { return 'daohu'; }\n".repeat(500);
    std::fs::write(dist.join("daohu-3f2a9c0d1e2b4a5c.js"), &js).unwrap();
    std::fs::write(dist.join("daohu-3f2a9c0d1e2b4a5c_bg.wasm"), vec![0u8; 8192]).unwrap();
    std::fs::write(
        dist.join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    dist
}

async fn get(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> common::Answer {
    let mut builder = Request::builder().method(Method::GET).uri(path);
    if let Some(enc) = accept_encoding {
        builder = builder.header(header::ACCEPT_ENCODING, enc);
    }
    app.send(builder.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn healthz_is_ok() {
    let app = TestApp::new().await;
    let answer = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn openapi_lists_the_api() {
    let app = TestApp::new().await;
    let answer = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc = answer.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/sync/visits",
        "/api/auth/login",
        "/api/roster",
        "/api/households/{id}/visits",
        "/api/activity-roster",
        "/api/sync/activities",
        "/api/sync/check-ins",
        "/api/photos/{id}",
        "/api/photos/{id}/content",
        "/api/activities",
        "/api/activities/{id}",
        "/api/activities/hours",
        "/api/activity-kinds",
        "/api/teams",
        "/healthz",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    // filters and the chunk offset are query parameters; the chunk is raw bytes
    let params = |path: &str, method: &str| -> Vec<(String, String)> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap().to_string(), p["in"].as_str().unwrap().to_string()))
            .collect()
    };
    for name in ["unit_id", "team_id", "kind", "from", "to"] {
        assert!(params("/api/activities", "get").contains(&(name.into(), "query".into())), "{name}");
        assert!(params("/api/activities/hours", "get").contains(&(name.into(), "query".into())), "{name}");
    }
    assert_eq!(
        params("/api/photos/{id}", "put"),
        [("id".to_string(), "path".to_string()), ("offset".to_string(), "query".to_string())]
    );
    assert!(doc["paths"]["/api/photos/{id}"]["put"]["requestBody"]["content"]["application/octet-stream"].is_object());
    assert!(doc["components"]["schemas"]["ActivityBatch"].is_object());
    assert!(doc["components"]["schemas"]["Visit"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn without_dist_the_api_works_and_the_app_answers_503() {
    let app = TestApp::new().await;
    let root = get(&app, "/", None).await;
    assert_eq!(root.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(root.json()["error"], "app_not_built");
    assert_eq!(
        app.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn app_routes_fall_back_to_index_with_cache_headers() {
    let app = TestApp::new().await;
    write_dist(&app);

    for path in ["/", "/households/abc", "/visit/1/step/2"] {
        let answer = get(&app, path, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(
            String::from_utf8_lossy(&answer.body).contains("<title>到户</title>"),
            "{path}"
        );
        assert_eq!(answer.headers[header::CACHE_CONTROL], "no-cache", "{path}");
    }
    let js = get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", None).await;
    assert_eq!(js.status, StatusCode::OK);
    assert_eq!(
        js.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let sw = get(&app, "/sw.js", None).await;
    assert_eq!(sw.headers[header::CACHE_CONTROL], "no-cache");
    // a missing hashed file gets the index, but never pinned for a year
    let missing = get(&app, "/daohu-0000000000000000.js", None).await;
    assert_eq!(missing.headers[header::CACHE_CONTROL], "no-cache");
    // the API is not swallowed by the fallback
    let api = get(&app, "/api/unknown", None).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.json()["error"], "not_found");
}

#[tokio::test]
async fn signing_in_gets_the_account_bundles_page() {
    let app = TestApp::new().await;
    let dist = write_dist(&app);
    // Without the bundle built (a partial build), the visit app's page answers.
    assert!(String::from_utf8_lossy(&get(&app, "/login", None).await.body).contains("<title>到户</title>"));
    std::fs::create_dir_all(dist.join("account")).unwrap();
    std::fs::write(dist.join("account").join("index.html"), "<!doctype html><title>登录</title>").unwrap();
    for path in ["/login", "/enroll/abc_DEF-123", "/account/"] {
        let answer = get(&app, path, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert!(String::from_utf8_lossy(&answer.body).contains("<title>登录</title>"), "{path}");
        assert_eq!(answer.headers[header::CACHE_CONTROL], "no-cache", "{path}");
    }
    // Only whole path parts: these are the visit app's (its own "not found"), and
    // signing out and the app lock are the visit app's (they read sealed records).
    for path in ["/", "/loginx", "/outbox", "/household/login", "/signout", "/lock"] {
        let answer = get(&app, path, None).await;
        assert!(String::from_utf8_lossy(&answer.body).contains("<title>到户</title>"), "{path}");
    }
}

#[tokio::test]
async fn static_files_and_wasm_are_compressed() {
    let app = TestApp::new().await;
    write_dist(&app);
    let js = get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", Some("gzip")).await;
    assert_eq!(js.headers[header::CONTENT_ENCODING], "gzip");
    assert!(js.body.len() < 2000, "compressed to {}", js.body.len());
    let wasm = get(&app, "/daohu-3f2a9c0d1e2b4a5c_bg.wasm", Some("br")).await;
    assert_eq!(wasm.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(wasm.headers[header::CONTENT_TYPE], "application/wasm");
    let plain = get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", None).await;
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
}

fn unbrotli(body: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    brotli::Decompressor::new(body, 4096).read_to_string(&mut text).unwrap();
    text
}

#[tokio::test]
async fn precompressed_copies_are_sent_as_they_are_but_never_when_stale() {
    let app = TestApp::new().await;
    let dist = write_dist(&app);
    let summary = daohu_server::precompress::precompress_dir(&dist).unwrap();
    assert_eq!(summary.written, 4, "{summary}");
    let js_path = dist.join("daohu-3f2a9c0d1e2b4a5c.js");
    let copy = std::fs::read(dist.join("daohu-3f2a9c0d1e2b4a5c.js.br")).unwrap();

    let js = get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", Some("gzip, deflate, br")).await;
    assert_eq!(js.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(js.headers[header::VARY], "accept-encoding");
    assert_eq!(js.body.as_ref(), copy.as_slice(), "the quality-11 copy goes out as it is");
    assert_eq!(unbrotli(&js.body), std::fs::read_to_string(&js_path).unwrap());
    let gz = get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", Some("gzip")).await;
    assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gz.body.as_ref(), std::fs::read(dist.join("daohu-3f2a9c0d1e2b4a5c.js.gz")).unwrap().as_slice());
    // the app's routes get the index's copy
    let page = get(&app, "/households", Some("br")).await;
    assert_eq!(page.headers[header::CONTENT_ENCODING], "br");
    assert!(unbrotli(&page.body).contains("<title>到户</title>"));
    let plain = get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", None).await;
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain.body.as_ref(), std::fs::read(&js_path).unwrap().as_slice());

    // A deployment replaces the file but not its copies: the new text goes out.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&js_path, "export const next = 'build 2';\n".repeat(300)).unwrap();
    let fresh = get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", Some("br")).await;
    assert_eq!(fresh.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(unbrotli(&fresh.body), std::fs::read_to_string(&js_path).unwrap());
}

/// The headers of the browser protections on one answer.
fn assert_protected(answer: &common::Answer, what: &str) -> String {
    let csp = answer.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    for part in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ] {
        assert!(csp.contains(part), "{what}: {part} missing from {csp}");
    }
    // scripts only from the app and by hash: never inline or eval at will
    let scripts = csp.split(';').find(|d| d.trim().starts_with("script-src")).unwrap();
    assert!(!scripts.contains("'unsafe-inline'") && !scripts.contains("'unsafe-eval'"), "{what}: {scripts}");
    assert_eq!(answer.headers[header::REFERRER_POLICY], "no-referrer", "{what}");
    assert_eq!(answer.headers[header::X_FRAME_OPTIONS], "DENY", "{what}");
    assert_eq!(answer.headers["cross-origin-opener-policy"], "same-origin", "{what}");
    let permissions = answer.headers["permissions-policy"].to_str().unwrap();
    for part in ["geolocation=(self)", "camera=(self)", "microphone=()", "payment=()"] {
        assert!(permissions.contains(part), "{what}: {part} missing from {permissions}");
    }
    assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    csp
}

#[tokio::test]
async fn every_answer_carries_the_browser_protections_and_the_pages_scripts_hashes() {
    let app = TestApp::new().await;
    let dist = write_dist(&app);
    // pages as Trunk writes them: an inline module loader, different in each bundle
    let loader = |bundle: &str| {
        format!("\nimport init, * as bindings from '/{bundle}-3f2a9c0d1e2b4a5c.js';\nconst wasm = await init({{ module_or_path: '/{bundle}-3f2a9c0d1e2b4a5c_bg.wasm' }});\nwindow.wasmBindings = bindings;\n")
    };
    let page = |bundle: &str| {
        format!("<!doctype html><title>到户</title><script defer src=\"/register-sw.js\"></script><script type=\"module\">{}</script>", loader(bundle))
    };
    std::fs::write(dist.join("index.html"), page("daohu")).unwrap();
    for bundle in ["activities", "admin", "account"] {
        std::fs::create_dir_all(dist.join(bundle)).unwrap();
        std::fs::write(dist.join(bundle).join("index.html"), page(bundle)).unwrap();
    }
    let token = app.token(daohu_server::seed::phones::MEMBER_ZHANG).await;
    let mut answers = vec![
        ("shell", get(&app, "/", None).await),
        ("console", get(&app, "/admin/", None).await),
        ("an app route", get(&app, "/households/abc", None).await),
        ("asset", get(&app, "/daohu-3f2a9c0d1e2b4a5c.js", Some("gzip")).await),
        ("wasm", get(&app, "/daohu-3f2a9c0d1e2b4a5c_bg.wasm", None).await),
        ("service worker", get(&app, "/sw.js", None).await),
        ("health", get(&app, "/healthz", None).await),
        ("api", app.call(Method::GET, "/api/me", Some(&token), None).await),
        ("api error", app.call(Method::GET, "/api/nope", None, None).await),
    ];
    let login = app.login_as(daohu_server::seed::phones::MEMBER_ZHANG, "wrong").await;
    answers.push(("api 401", login));
    for (what, answer) in &answers {
        let csp = assert_protected(answer, what);
        for bundle in ["daohu", "activities", "admin", "account"] {
            let hash = daohu_server::security_headers::script_hash(&loader(bundle));
            assert!(csp.contains(&format!("'{hash}'")), "{what}: no hash of the {bundle} loader in {csp}");
        }
        // the registration script has a src: nothing to hash; only the four loaders are allowed
        assert_eq!(csp.matches("'sha256-").count(), 4, "{what}: {csp}");
        // served over plain HTTP: no HSTS
        assert!(!answer.headers.contains_key(header::STRICT_TRANSPORT_SECURITY), "{what}");
    }

    // a new build on disk, no restart: the next page carries its hash
    let planted = "console.log('a planted build');";
    std::fs::write(dist.join("index.html"), format!("<!doctype html><script type=module>{planted}</script>")).unwrap();
    let shell = get(&app, "/", None).await;
    let csp = assert_protected(&shell, "new build");
    let planted_hash = daohu_server::security_headers::script_hash(planted);
    assert!(csp.contains(&planted_hash), "{csp}");
    assert!(!csp.contains(&daohu_server::security_headers::script_hash(&loader("daohu"))), "{csp}");
}

#[tokio::test]
async fn hsts_only_when_the_app_is_reached_over_https() {
    for (public_url, hsts) in [("https://daohu.example.cn", true), ("http://192.0.2.1:8080", false)] {
        let app = TestApp::new()
            .await
            .with_settings(|s| s.public_url = public_url.to_string());
        write_dist(&app);
        for path in ["/", "/api/openapi.json", "/healthz"] {
            let answer = get(&app, path, None).await;
            assert_eq!(
                answer.headers.get(header::STRICT_TRANSPORT_SECURITY).map(|v| v.to_str().unwrap().to_string()),
                hsts.then(|| "max-age=31536000".to_string()),
                "{public_url} {path}"
            );
        }
    }
}
