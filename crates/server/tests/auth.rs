//! Sign-in, sessions, rate limits and the audit trail.

mod common;

use axum::http::{header, Method, StatusCode};
use common::TestApp;
use daohu_server::seed::{member_id, phones, DEMO_PASSWORD};

#[tokio::test]
async fn login_answers_a_session() {
    let app = TestApp::new().await;
    let answer = app.login_as("138-0000 0001", DEMO_PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK);
    let session: daohu_domain::Session = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(session.token.len(), 64);
    assert!(session.token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(session.member.name, "张党员");
    assert_eq!(session.member.role, daohu_domain::Role::Member);
    assert_eq!(session.member.village, "青山村");
    assert_eq!(session.member.id, member_id(1));
    let days = (session.expires_at - chrono::Utc::now()).num_days();
    assert!((29..=30).contains(&days), "30-day session, got {days}");

    // only the hash is stored
    let stored: String = daohu_server::db::query_scalar("SELECT token_hash FROM sessions")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_ne!(stored, session.token);
    assert_eq!(stored, daohu_server::auth::sha256_hex(&session.token));

    let me = app
        .call(Method::GET, "/api/me", Some(&session.token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    let profile: daohu_domain::MemberProfile = serde_json::from_slice(&me.body).unwrap();
    assert_eq!(profile, session.member);
}

#[tokio::test]
async fn wrong_password_and_unknown_phone_answer_the_same() {
    let app = TestApp::new().await;
    let wrong = app.login_as(phones::MEMBER_ZHANG, "nope").await;
    let unknown = app.login_as("13912345678", DEMO_PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.json()["error"], "bad_credentials");
    assert_eq!(wrong.json()["message"], "手机号或密码不对");
}

#[tokio::test]
async fn five_failures_lock_the_phone_and_success_clears_the_counter() {
    let app = TestApp::new().await;
    // four failures, then a success clears the counter...
    for _ in 0..4 {
        assert_eq!(
            app.login_as(phones::MEMBER_ZHANG, "bad").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login_as(phones::MEMBER_ZHANG, DEMO_PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    // ...so four more failures are still allowed
    for _ in 0..4 {
        assert_eq!(
            app.login_as(phones::MEMBER_ZHANG, "bad").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // fifth failure in the window, then locked, even with the right password
    assert_eq!(
        app.login_as(phones::MEMBER_ZHANG, "bad").await.status,
        StatusCode::UNAUTHORIZED
    );
    let locked = app.login_as(phones::MEMBER_ZHANG, DEMO_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.json()["error"], "too_many_attempts");
    let retry: u64 = locked.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 15 * 60, "retry after {retry}");
    // another phone is not locked
    assert_eq!(
        app.login_as(phones::MEMBER_LI, DEMO_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn twenty_failures_lock_the_client_address() {
    let app = TestApp::new().await;
    for i in 0..20 {
        let phone = format!("1370000{:04}", i);
        assert_eq!(
            app.login_as(&phone, "bad").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let locked = app.login_as(phones::MEMBER_LI, DEMO_PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn token_is_required_and_logout_ends_it() {
    let app = TestApp::new().await;
    for token in [None, Some("abc"), Some(&*"0".repeat(64))] {
        let answer = app.call(Method::GET, "/api/me", token, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.json()["error"], "session_expired");
        assert_eq!(answer.json()["message"], "登录已过期，请重新登录");
    }
    let token = app.zhang().await;
    assert_eq!(
        app.call(Method::GET, "/api/roster", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    let out = app
        .call(Method::POST, "/api/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = app
        .call(Method::GET, "/api/roster", Some(&token), None)
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.json()["error"], "session_expired");
}

#[tokio::test]
async fn expired_idle_and_disabled_sessions_are_refused() {
    let app = TestApp::new().await;
    let pool = &app.state.pool;
    let set = |sql: &'static str| async move { daohu_server::db::query(sql).execute(pool).await.unwrap() };

    let token = app.zhang().await;
    set("UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z'").await;
    assert_eq!(
        app.call(Method::GET, "/api/me", Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let token = app.zhang().await;
    set("UPDATE sessions SET last_seen_at = '2000-01-01T00:00:00.000Z'").await;
    assert_eq!(
        app.call(Method::GET, "/api/me", Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let token = app.zhang().await;
    assert_eq!(
        app.call(Method::GET, "/api/me", Some(&token), None)
            .await
            .status,
        StatusCode::OK
    );
    set("UPDATE members SET disabled = 1 WHERE phone = '13800000001'").await;
    assert_eq!(
        app.call(Method::GET, "/api/me", Some(&token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn audit_log_records_sign_ins_without_secrets_and_is_append_only() {
    let app = TestApp::new().await;
    app.login_as(phones::MEMBER_ZHANG, "secret-guess").await;
    let token = app.zhang().await;
    app.call(Method::POST, "/api/auth/logout", Some(&token), None)
        .await;

    let rows: Vec<(String, String)> = daohu_server::db::query_as(
        "SELECT action, detail FROM audit_log WHERE action != 'seed_demo' ORDER BY id",
    )
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["login_failed", "login", "logout"]);
    assert!(rows[0].1.contains("138****0001"), "{}", rows[0].1);
    for (_, detail) in &rows {
        assert!(!detail.contains("13800000001"));
        assert!(!detail.contains("secret-guess"));
        assert!(!detail.contains(&token));
    }

    let update = daohu_server::db::query("UPDATE audit_log SET action = 'x'")
        .execute(&app.state.pool)
        .await;
    assert!(update.is_err(), "update must fail");
    let delete = daohu_server::db::query("DELETE FROM audit_log")
        .execute(&app.state.pool)
        .await;
    assert!(delete.is_err(), "delete must fail");
    let count: i64 = daohu_server::db::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(count, 4);
}
