//! Rosters and household history follow the caller's reach.

mod common;

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use common::{device, visit, TestApp};
use daohu_domain::{RosterResponse, VisitSummary};
use daohu_server::seed::{household_id, member_id, phones};
use uuid::Uuid;

async fn roster(app: &TestApp, token: &str) -> RosterResponse {
    let answer = app
        .call(Method::GET, "/api/roster", Some(token), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    serde_json::from_slice(&answer.body).unwrap()
}

#[tokio::test]
async fn member_sees_exactly_their_linked_households() {
    let app = TestApp::new().await;
    let zhang = roster(&app, &app.zhang().await).await;
    let li = roster(&app, &app.token(phones::MEMBER_LI).await).await;
    let zhang_ids: HashSet<Uuid> = zhang.households.iter().map(|h| h.household.id).collect();
    let li_ids: HashSet<Uuid> = li.households.iter().map(|h| h.household.id).collect();
    assert_eq!(zhang_ids, (0..10).map(household_id).collect());
    assert_eq!(li_ids, (20..30).map(household_id).collect());
    assert!(zhang_ids.is_disjoint(&li_ids));
    let first = &zhang.households[0];
    assert_eq!(first.household.grid_name, "第一网格");
    assert!(first.household.address.starts_with("青山村一组"));
    assert!(first.last_visit_on.is_none() && first.history.is_empty());
    assert!(zhang.households.iter().any(|h| h.household.is_special()));
}

#[tokio::test]
async fn grid_leader_sees_the_grid_and_others_see_nothing() {
    let app = TestApp::new().await;
    let wang = roster(&app, &app.token(phones::GRID_LEADER_WANG).await).await;
    assert_eq!(wang.households.len(), 20);
    assert!(wang
        .households
        .iter()
        .all(|h| h.household.grid_name == "第三网格"));
    for phone in [phones::VOLUNTEER_CHEN, phones::COORDINATOR_ZHAO] {
        assert!(roster(&app, &app.token(phone).await)
            .await
            .households
            .is_empty());
    }
}

#[tokio::test]
async fn history_is_shared_newest_first_and_scoped() {
    let app = TestApp::new().await;
    let token = app.zhang().await;
    let h = household_id(3);
    let mut older = visit(1, h, member_id(1));
    older.visited_on = older.visited_on.pred_opt().unwrap();
    let newer = visit(2, h, member_id(1));
    let answer = app
        .upload(&token, device(), &[older.clone(), newer.clone()])
        .await;
    assert_eq!(answer.status, StatusCode::OK);

    let r = roster(&app, &token).await;
    let entry = r.households.iter().find(|x| x.household.id == h).unwrap();
    assert_eq!(entry.last_visit_on, Some(newer.visited_on));
    let ids: Vec<Uuid> = entry.history.iter().map(|v| v.id).collect();
    assert_eq!(ids, [newer.id, older.id]);
    assert_eq!(entry.history[0].member_name, "张党员");
    assert_eq!(entry.history[0].sections.len(), 5);

    let list = app
        .call(
            Method::GET,
            &format!("/api/households/{h}/visits"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(list.status, StatusCode::OK);
    let list: Vec<VisitSummary> = serde_json::from_slice(&list.body).unwrap();
    assert_eq!(list, entry.history);

    // another member's household, an unknown one and a malformed id all answer the same 404
    let li = app.token(phones::MEMBER_LI).await;
    let mut bodies = Vec::new();
    for path in [
        format!("/api/households/{h}/visits"),
        format!("/api/households/{}/visits", Uuid::from_u128(12345)),
        "/api/households/abc/visits".to_string(),
    ] {
        let answer = app.call(Method::GET, &path, Some(&li), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.json()["error"], "not_found");
        bodies.push(answer.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
}
