//! The phone lock's server side: the phone key goes only to a session minutes
//! old (a stored session found on a lost phone unlocks nothing), stays the same
//! for an account and differs between accounts; a coordinator's PIN
//! requirement reaches the phones of their area and no other.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use daohu_domain::lock::PhoneLockPolicy;
use daohu_domain::OrgTree;
use daohu_server::seed::{phones, second_village_id, village_id};
use serde_json::json;

/// 张党员 (青山村), 赵书记 (青山村's coordinator), 周党员 (绿水村), 孙镇长 (township).
const ZHANG: u128 = 1;
const ZHAO: u128 = 9;
const ZHOU: u128 = 21;
const SUN: u128 = 19;

async fn policy(app: &TestApp, token: &str) -> PhoneLockPolicy {
    let answer = app.call(Method::GET, "/api/me/phone-lock", Some(token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    serde_json::from_slice(&answer.body).unwrap()
}

async fn require(app: &TestApp, token: &str, unit: &str, on: bool) -> StatusCode {
    app.call(Method::PUT, &format!("/api/org/units/{unit}/phone-lock"), Some(token), Some(json!({ "pin_required": on })))
        .await
        .status
}

#[tokio::test]
async fn the_phone_key_goes_only_to_a_fresh_sign_in() {
    let app = TestApp::new().await;
    let signed_in = app.token(phones::MEMBER_ZHANG).await;
    let first = policy(&app, &signed_in).await.key.expect("a key just after signing in");
    assert_eq!(first.len(), 64);
    assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
    // The same account gets the same key from another fresh session; another account its own.
    assert_eq!(policy(&app, &app.session(ZHANG).await).await.key.as_deref(), Some(first.as_str()));
    let zhou = policy(&app, &app.session(ZHOU).await).await.key.unwrap();
    assert_ne!(zhou, first);

    // The same session a day on: still valid, but no key.
    sqlx::query("UPDATE sessions SET created_at = $1")
        .bind(daohu_server::db::ts(chrono::Utc::now() - chrono::Duration::minutes(16)))
        .execute(&app.state.pool)
        .await
        .unwrap();
    let later = policy(&app, &signed_in).await;
    assert_eq!(later, PhoneLockPolicy { pin_required: false, key: None });
    let body = app.call(Method::GET, "/api/me/phone-lock", Some(&signed_in), None).await;
    assert!(!String::from_utf8_lossy(&body.body).contains(&first));

    let anonymous = app.call(Method::GET, "/api/me/phone-lock", None, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_pin_requirement_reaches_its_area_and_no_other() {
    let app = TestApp::new().await;
    let (zhang, zhao, zhou, sun) =
        (app.session(ZHANG).await, app.session(ZHAO).await, app.session(ZHOU).await, app.session(SUN).await);
    let (qingshan, lvshui) = (village_id().to_string(), second_village_id().to_string());
    assert!(!policy(&app, &zhang).await.pin_required);

    // 赵书记 requires it in 青山村: 张党员's phone must have a PIN, 周党员's (绿水村) need not.
    assert_eq!(require(&app, &zhao, &qingshan, true).await, StatusCode::OK);
    assert!(policy(&app, &zhang).await.pin_required);
    assert!(policy(&app, &zhao).await.pin_required);
    assert!(!policy(&app, &zhou).await.pin_required);
    let tree: OrgTree = serde_json::from_slice(&app.call(Method::GET, "/api/org", Some(&zhao), None).await.body).unwrap();
    let marked: Vec<&str> = tree.units.iter().filter(|u| u.pin_required).map(|u| u.name.as_str()).collect();
    assert_eq!(marked, ["青山村"]);

    // Outside his village, or as a member: refused, nothing changed.
    assert_eq!(require(&app, &zhao, &lvshui, true).await, StatusCode::NOT_FOUND);
    assert_eq!(require(&app, &zhang, &qingshan, false).await, StatusCode::FORBIDDEN);
    assert_eq!(require(&app, &zhao, "not-a-unit", true).await, StatusCode::NOT_FOUND);
    assert!(!policy(&app, &zhou).await.pin_required);
    assert!(policy(&app, &zhang).await.pin_required);
    let bad = app
        .call(Method::PUT, &format!("/api/org/units/{qingshan}/phone-lock"), Some(&zhao), Some(json!({ "pin_required": "yes" })))
        .await;
    assert!(bad.status.is_client_error(), "{:?}", bad.status);
    assert!(policy(&app, &zhang).await.pin_required);

    // The township's requirement reaches both villages; lifted, neither.
    let sun_tree: OrgTree = serde_json::from_slice(&app.call(Method::GET, "/api/org", Some(&sun), None).await.body).unwrap();
    let township = sun_tree.units[0].id.to_string();
    assert_eq!(require(&app, &sun, &township, true).await, StatusCode::OK);
    assert!(policy(&app, &zhou).await.pin_required);
    assert_eq!(require(&app, &sun, &township, false).await, StatusCode::OK);
    assert_eq!(require(&app, &zhao, &qingshan, false).await, StatusCode::OK);
    assert!(!policy(&app, &zhou).await.pin_required);
    assert!(!policy(&app, &zhang).await.pin_required);
    assert!(app.audit_actions().await.iter().any(|(action, _)| action == "pin_requirement"));
}
