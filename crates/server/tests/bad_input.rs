//! Malformed, hostile and oversized input answers 4xx JSON, never 5xx.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::TestApp;

async fn post_raw(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> common::Answer {
    let mut builder = Request::builder().method(Method::POST).uri(path);
    if let Some(t) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    app.send(builder.body(Body::from(body)).unwrap()).await
}

fn assert_client_error(answer: &common::Answer, what: &str) {
    assert!(
        answer.status.is_client_error(),
        "{what}: status {}",
        answer.status
    );
    let json = answer.json();
    assert!(
        json["error"].is_string() && json["message"].is_string(),
        "{what}: {json}"
    );
}

#[tokio::test]
async fn hostile_bodies_are_refused_with_json() {
    let app = TestApp::new().await;
    let token = app.zhang().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let huge = format!(
        "{{\"device_id\":\"00000000-0000-0000-0000-000000000000\",\"visits\":[],\"pad\":\"{}\"}}",
        "x".repeat(3 * 1024 * 1024)
    );
    let cases: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        (
            "malformed",
            Some("application/json"),
            b"{\"device_id\":".to_vec(),
        ),
        (
            "wrong types",
            Some("application/json"),
            br#"{"device_id":5,"visits":"no"}"#.to_vec(),
        ),
        (
            "unknown field",
            Some("application/json"),
            br#"{"device_id":"00000000-0000-0000-0000-000000000000","visits":[],"x":1}"#.to_vec(),
        ),
        (
            "nul bytes",
            Some("application/json"),
            b"{\"device_id\":\"\0\0\",\"visits\":[]}".to_vec(),
        ),
        (
            "escaped nul",
            Some("application/json"),
            br#"{"device_id":"\u0000","visits":[]}"#.to_vec(),
        ),
        ("deep array", Some("application/json"), deep.into_bytes()),
        (
            "deep object",
            Some("application/json"),
            deep_obj.into_bytes(),
        ),
        ("3 MiB", Some("application/json"), huge.into_bytes()),
        ("empty", Some("application/json"), Vec::new()),
        (
            "no content type",
            None,
            br#"{"device_id":"00000000-0000-0000-0000-000000000000","visits":[]}"#.to_vec(),
        ),
        (
            "text/plain",
            Some("text/plain"),
            br#"{"device_id":"00000000-0000-0000-0000-000000000000","visits":[]}"#.to_vec(),
        ),
        (
            "not utf-8",
            Some("application/json"),
            vec![0xff, 0xfe, 0x7b],
        ),
    ];
    for (what, ct, body) in cases {
        for (path, token) in [
            ("/api/sync/visits", Some(token.as_str())),
            ("/api/auth/login", None),
        ] {
            let answer = post_raw(&app, path, token, ct, body.clone()).await;
            assert_client_error(&answer, &format!("{what} to {path}"));
        }
    }
    // specific codes
    let huge = post_raw(
        &app,
        "/api/sync/visits",
        Some(&token),
        Some("application/json"),
        vec![b' '; 3 * 1024 * 1024],
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    let wrong_ct = post_raw(
        &app,
        "/api/auth/login",
        None,
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(wrong_ct.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad = post_raw(
        &app,
        "/api/auth/login",
        None,
        Some("application/json"),
        b"{".to_vec(),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.json()["error"], "invalid_json");
    let unknown = post_raw(
        &app,
        "/api/auth/login",
        None,
        Some("application/json"),
        br#"{"phone":"1","password":"2","x":3}"#.to_vec(),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);

    // odd but well-formed credentials are just wrong credentials
    for body in [
        serde_json::json!({"phone": "\u{0}13800000001", "password": "daohu123\u{0}"}),
        serde_json::json!({"phone": "1".repeat(10_000), "password": "x"}),
        serde_json::json!({"phone": "", "password": ""}),
    ] {
        let answer = app
            .call(Method::POST, "/api/auth/login", None, Some(body))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // but a body past 16 KiB is not read before sign-in
    let huge = serde_json::json!({"phone": "1".repeat(100_000), "password": "x"});
    let answer = app.call(Method::POST, "/api/auth/login", None, Some(huge)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["error"], "payload_too_large");

    // the server still works afterwards
    assert_eq!(
        app.call(Method::GET, "/api/me", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_api_paths_and_methods_answer_json() {
    let app = TestApp::new().await;
    let missing = app.call(Method::GET, "/api/nope", None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"], "not_found");
    let method = app.call(Method::GET, "/api/sync/visits", None, None).await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(method.json()["error"], "method_not_allowed");
    let bad_auth = Request::builder()
        .uri("/api/me")
        .header(header::AUTHORIZATION, "Basic Zm9vOmJhcg==")
        .body(Body::empty())
        .unwrap();
    let answer = app.send(bad_auth).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json()["error"], "session_expired");
}

/// serde reads a struct from an array by position, so `[[]]` would be taken as
/// `{"household_ids": []}` and unlink every household; the API refuses arrays.
#[tokio::test]
async fn an_array_is_not_taken_for_an_object() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let member = daohu_server::seed::member_id(1);
    for body in ["[[]]", "  [[]]", "[\"x\"]"] {
        let answer = app
            .raw(Method::PUT, &format!("/api/accounts/{member}/households"), Some(&zhao), "application/json", body.as_bytes().to_vec())
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_client_error(&answer, body);
    }
    // 张党员 keeps his ten households.
    let zhang = app.zhang().await;
    let roster = app.call(Method::GET, "/api/roster", Some(&zhang), None).await;
    assert_eq!(roster.json()["households"].as_array().unwrap().len(), 10);
}
