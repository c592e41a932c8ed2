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
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM sessions")
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
    let set = |sql: &'static str| async move { sqlx::query(sql).execute(pool).await.unwrap() };

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

    let rows: Vec<(String, String)> = sqlx::query_as(
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

    let update = sqlx::query("UPDATE audit_log SET action = 'x'")
        .execute(&app.state.pool)
        .await;
    assert!(update.is_err(), "update must fail");
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(&app.state.pool)
        .await;
    assert!(delete.is_err(), "delete must fail");
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(count, 4);
}

/// A sign-in as if from `ip` (a socket address), with optional `X-Forwarded-For`.
async fn login_from(app: &TestApp, ip: &str, forwarded: Option<&str>, phone: &str, password: &str) -> common::Answer {
    use axum::extract::ConnectInfo;
    let mut builder = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(xff) = forwarded {
        builder = builder.header("x-forwarded-for", xff);
    }
    let mut request = builder
        .body(axum::body::Body::from(
            serde_json::json!({ "phone": phone, "password": password }).to_string(),
        ))
        .unwrap();
    let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    app.send(request).await
}

#[tokio::test]
async fn parallel_guesses_cannot_get_past_the_limit() {
    let app = TestApp::new().await;
    // 15 wrong passwords for one phone at once: before, all 15 were checked (401).
    let guesses = (0..15).map(|i| {
        let app = &app;
        async move { login_from(app, "192.0.2.10", None, phones::MEMBER_ZHANG, &format!("guess-{i}")).await }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers.iter().filter(|a| a.status == StatusCode::UNAUTHORIZED).count();
    let refused = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(checked + refused, 15, "only 401 and 429: {:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(checked <= daohu_server::auth::PAIR_FAILURE_LIMIT as usize, "{checked} guesses were checked");
    assert!(refused >= 10);
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_of_their_usual_address() {
    let app = TestApp::new().await;
    let home = "192.0.2.1";
    assert_eq!(login_from(&app, home, None, phones::MEMBER_ZHANG, DEMO_PASSWORD).await.status, StatusCode::OK);
    // A stranger guesses from three other addresses until every limit answers 429.
    let mut last = StatusCode::OK;
    for i in 0..30 {
        let ip = format!("198.51.100.{}", 60 + i % 3);
        last = login_from(&app, &ip, None, phones::MEMBER_ZHANG, &format!("guess-{i}")).await.status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS, "the stranger is throttled");
    // ...and from a third address the phone now waits too (a thief elsewhere).
    assert_eq!(
        login_from(&app, "203.0.113.5", None, phones::MEMBER_ZHANG, DEMO_PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The owner at home still signs in (before: locked out from every address for 15 minutes).
    assert_eq!(login_from(&app, home, None, phones::MEMBER_ZHANG, DEMO_PASSWORD).await.status, StatusCode::OK);
}

#[tokio::test]
async fn waits_grow_with_each_failure_past_the_limit() {
    let app = TestApp::new().await;
    let retry = |a: &common::Answer| -> u64 { a.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap() };
    for _ in 0..5 {
        assert_eq!(login_from(&app, "192.0.2.7", None, phones::MEMBER_LI, "bad").await.status, StatusCode::UNAUTHORIZED);
    }
    let first = login_from(&app, "192.0.2.7", None, phones::MEMBER_LI, DEMO_PASSWORD).await;
    assert_eq!(first.status, StatusCode::TOO_MANY_REQUESTS);
    assert!((25..=30).contains(&retry(&first)), "first wait {}", retry(&first));
    // The wait passes (moved back in the database), and the next guess fails too:
    sqlx::query("UPDATE login_throttle SET blocked_until_ms = 0")
        .execute(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(login_from(&app, "192.0.2.7", None, phones::MEMBER_LI, "bad").await.status, StatusCode::UNAUTHORIZED);
    let second = login_from(&app, "192.0.2.7", None, phones::MEMBER_LI, DEMO_PASSWORD).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert!((55..=60).contains(&retry(&second)), "second wait {}", retry(&second));
}

#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    for trusted in [false, true] {
        let app = TestApp::new().await.with_settings(|s| {
            if trusted {
                s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
            }
        });
        // Someone behind the proxy sprays 20 phones with wrong passwords...
        for i in 0..20 {
            let phone = format!("1370000{i:04}");
            login_from(&app, "127.0.0.1", Some("203.0.113.9"), &phone, "bad").await;
        }
        // ...then another person behind the same proxy signs in.
        let other = login_from(&app, "127.0.0.1", Some("198.51.100.7"), phones::MEMBER_LI, DEMO_PASSWORD).await;
        let expected = if trusted { StatusCode::OK } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(other.status, expected, "trusted proxy: {trusted}");
        if trusted {
            // The sprayer, connecting directly, cannot pick another address by header.
            let spoof = login_from(&app, "203.0.113.9", Some("192.0.2.200"), phones::MEMBER_ZHANG, DEMO_PASSWORD).await;
            assert_eq!(spoof.status, StatusCode::TOO_MANY_REQUESTS);
        }
    }
}

#[tokio::test]
async fn a_password_a_coordinator_set_must_be_replaced_at_first_sign_in() {
    let app = TestApp::new().await;
    let zhao = app.token(phones::COORDINATOR_ZHAO).await;
    let weak = app
        .call(
            Method::POST,
            "/api/accounts",
            Some(&zhao),
            Some(serde_json::json!({ "name": "钱党员", "phone": "13800000077", "role": "member",
                "unit_id": daohu_server::seed::grid_id(1), "password": "12345678" })),
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST, "a common password is refused");
    let made = app
        .call(
            Method::POST,
            "/api/accounts",
            Some(&zhao),
            Some(serde_json::json!({ "name": "钱党员", "phone": "13800000077", "role": "member",
                "unit_id": daohu_server::seed::grid_id(1), "password": "qianshan-first-7" })),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.json());

    let first = app.login_as("13800000077", "qianshan-first-7").await;
    assert_eq!(first.status, StatusCode::FORBIDDEN);
    assert_eq!(first.json()["error"], "password_change_required");
    assert!(first.json().get("token").is_none());

    let change = |current: &str, new: &str| {
        serde_json::json!({ "phone": "13800000077", "current_password": current, "new_password": new })
    };
    let too_common = app.call(Method::POST, "/api/auth/password", None, Some(change("qianshan-first-7", "password1"))).await;
    assert_eq!(too_common.status, StatusCode::BAD_REQUEST);
    assert_eq!(too_common.json()["error"], "weak_password");
    let wrong = app.call(Method::POST, "/api/auth/password", None, Some(change("not-it-at-all", "my-own-tea-2026"))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let done = app.call(Method::POST, "/api/auth/password", None, Some(change("qianshan-first-7", "my-own-tea-2026"))).await;
    assert_eq!(done.status, StatusCode::OK, "{:?}", done.json());
    let token = done.json()["token"].as_str().unwrap().to_string();
    assert_eq!(app.call(Method::GET, "/api/me", Some(&token), None).await.status, StatusCode::OK);

    assert_eq!(app.login_as("13800000077", "qianshan-first-7").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.login_as("13800000077", "my-own-tea-2026").await.status, StatusCode::OK);
    let actions: Vec<String> = app.audit_actions().await.into_iter().map(|(a, _)| a).collect();
    assert!(actions.contains(&"password_changed".to_string()), "{actions:?}");
}

#[tokio::test]
async fn changing_ones_password_ends_the_other_sessions() {
    let app = TestApp::new().await;
    let old = app.token(phones::MEMBER_ZHANG).await;
    let done = app
        .call(
            Method::POST,
            "/api/auth/password",
            None,
            Some(serde_json::json!({ "phone": phones::MEMBER_ZHANG, "current_password": DEMO_PASSWORD,
                "new_password": "green-hills-and-tea" })),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(app.call(Method::GET, "/api/me", Some(&old), None).await.status, StatusCode::UNAUTHORIZED);
    let new = done.json()["token"].as_str().unwrap().to_string();
    assert_eq!(app.call(Method::GET, "/api/me", Some(&new), None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn coordinators_sessions_end_sooner_than_members() {
    let app = TestApp::new().await;
    let session = |a: &common::Answer| -> daohu_domain::Session { serde_json::from_slice(&a.body).unwrap() };
    let member = session(&app.login_as(phones::MEMBER_ZHANG, DEMO_PASSWORD).await);
    let coordinator = session(&app.login_as(phones::COORDINATOR_ZHAO, DEMO_PASSWORD).await);
    let days = |s: &daohu_domain::Session| (s.expires_at - chrono::Utc::now()).num_days();
    assert!((29..=30).contains(&days(&member)), "member: {} days", days(&member));
    assert!((6..=7).contains(&days(&coordinator)), "coordinator: {} days", days(&coordinator));
    // Thirteen hours unused: the coordinator signs in again; the member, offline for days, does not.
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(daohu_server::db::ts(chrono::Utc::now() - chrono::Duration::hours(13)))
        .execute(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(app.call(Method::GET, "/api/me", Some(&coordinator.token), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::GET, "/api/me", Some(&member.token), None).await.status, StatusCode::OK);
}
