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
