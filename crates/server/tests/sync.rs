//! Uploading visits: stored, duplicate, conflict, rejected, and concurrency.

mod common;

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::{device, visit, TestApp};
use daohu_domain::{Receipt, ReceiptStatus, SyncResponse, MAX_BATCH};
use daohu_server::seed::{household_id, member_id, phones};

fn receipts(answer: &common::Answer) -> Vec<Receipt> {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{:?}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice::<SyncResponse>(&answer.body)
        .unwrap()
        .receipts
}

async fn stored_body(app: &TestApp, id: uuid::Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT body FROM visits WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&app.state.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn stored_then_duplicate_then_conflict() {
    let app = TestApp::new().await;
    let token = app.zhang().await;
    let mut v = visit(1, household_id(0), member_id(1));
    v.problems.push(daohu_domain::ProblemEntry {
        id: daohu_domain::uuid_v7(1_773_000_000_500, [9; 10]),
        category: daohu_domain::ProblemCategory::Water,
        urgency: daohu_domain::Urgency::High,
        description: "自来水管冻裂".into(),
        outcome: daohu_domain::ProblemOutcome::Escalate,
        action: String::new(),
    });

    let first = receipts(&app.upload(&token, device(), &[v.clone()]).await);
    assert_eq!(first[0].status, ReceiptStatus::Stored);
    assert_eq!(first[0].id, v.id);
    assert!(first[0].received_at.is_some());
    let original = stored_body(&app, v.id).await.unwrap();

    let again = receipts(&app.upload(&token, device(), &[v.clone()]).await);
    assert_eq!(again[0].status, ReceiptStatus::Duplicate);
    assert_eq!(
        again[0].received_at, first[0].received_at,
        "identical receipt time"
    );
    assert_eq!(again[0].reason, None);

    let mut changed = v.clone();
    changed.summary = "改过的".into();
    let conflict = receipts(&app.upload(&token, device(), &[changed]).await);
    assert_eq!(conflict[0].status, ReceiptStatus::Conflict);
    assert_eq!(
        conflict[0].reason.as_deref(),
        Some(daohu_domain::CONFLICT_REASON)
    );
    assert_eq!(conflict[0].received_at, first[0].received_at);
    assert_eq!(
        stored_body(&app, v.id).await.unwrap(),
        original,
        "stored copy unchanged"
    );

    let problems: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM problems WHERE visit_id = $1")
        .bind(v.id.to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(problems, 1);
    let device_owner: String =
        sqlx::query_scalar("SELECT member_id FROM devices WHERE device_id = $1")
            .bind(device().to_string())
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
    assert_eq!(device_owner, member_id(1).to_string());
}

#[tokio::test]
async fn invalid_foreign_and_out_of_scope_visits_are_rejected() {
    let app = TestApp::new().await;
    let token = app.zhang().await;
    let mut invalid = visit(1, household_id(0), member_id(1));
    invalid.sections[1].state = None;
    invalid.sections[2].state = None;
    let someone_else = visit(2, household_id(0), member_id(2));
    let out_of_scope = visit(3, household_id(20), member_id(1));
    let unknown_household = visit(4, uuid::Uuid::from_u128(777), member_id(1));
    let good = visit(5, household_id(1), member_id(1));

    let r = receipts(
        &app.upload(
            &token,
            device(),
            &[
                invalid.clone(),
                someone_else.clone(),
                out_of_scope.clone(),
                unknown_household.clone(),
                good.clone(),
            ],
        )
        .await,
    );
    let statuses: Vec<ReceiptStatus> = r.iter().map(|x| x.status).collect();
    assert_eq!(
        statuses,
        [
            ReceiptStatus::Rejected,
            ReceiptStatus::Rejected,
            ReceiptStatus::Rejected,
            ReceiptStatus::Rejected,
            ReceiptStatus::Stored
        ]
    );
    let reason = r[0].reason.as_deref().unwrap();
    assert!(
        reason.contains("民情走访到户") && reason.contains("；") && reason.contains("政策落实到户"),
        "{reason}"
    );
    assert_eq!(r[1].reason.as_deref(), Some("只能上传自己的走访记录"));
    assert_eq!(r[2].reason.as_deref(), Some("这户不在你的联系范围内"));
    assert_eq!(r[3].reason.as_deref(), Some("这户不在你的联系范围内"));
    assert!(r[..4].iter().all(|x| x.received_at.is_none()));
    for v in [&invalid, &someone_else, &out_of_scope, &unknown_household] {
        assert!(
            stored_body(&app, v.id).await.is_none(),
            "rejected visit stored"
        );
    }
    assert!(stored_body(&app, good.id).await.is_some());
}

#[tokio::test]
async fn same_id_twice_in_one_batch() {
    let app = TestApp::new().await;
    let token = app.zhang().await;
    let v = visit(1, household_id(0), member_id(1));
    let mut other = v.clone();
    other.summary = "另一份".into();
    let r = receipts(
        &app.upload(&token, device(), &[v.clone(), v.clone(), other])
            .await,
    );
    assert_eq!(r[0].status, ReceiptStatus::Stored);
    assert_eq!(r[1].status, ReceiptStatus::Duplicate);
    assert_eq!(r[2].status, ReceiptStatus::Conflict);
    assert_eq!(r[1].received_at, r[0].received_at);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn roles_that_do_not_visit_are_forbidden_and_batches_are_capped() {
    let app = TestApp::new().await;
    let chen = app.token(phones::VOLUNTEER_CHEN).await;
    let answer = app.upload(&chen, device(), &[]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.json()["error"], "forbidden");

    let token = app.zhang().await;
    let batch: Vec<_> = (0..=MAX_BATCH as u8)
        .map(|i| visit(i, household_id(0), member_id(1)))
        .collect();
    let answer = app.upload(&token, device(), &batch).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["error"], "payload_too_large");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);

    // the grid leader records visits in their grid
    let wang = app.token(phones::GRID_LEADER_WANG).await;
    let r = receipts(
        &app.upload(&wang, device(), &[visit(1, household_id(45), member_id(3))])
            .await,
    );
    assert_eq!(r[0].status, ReceiptStatus::Stored);

    // no token, no upload
    let anon = app
        .call(
            Method::POST,
            "/api/sync/visits",
            None,
            Some(serde_json::json!({})),
        )
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundred_identical_uploads_at_once_store_one_copy() {
    let app = Arc::new(TestApp::new().await);
    let token = Arc::new(app.zhang().await);
    let v = visit(7, household_id(2), member_id(1));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (app, token, v) = (app.clone(), token.clone(), v.clone());
        tasks.push(tokio::spawn(async move {
            app.upload(&token, device(), &[v]).await
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        all.push(receipts(&answer).remove(0));
    }
    let stored = all
        .iter()
        .filter(|r| r.status == ReceiptStatus::Stored)
        .count();
    let duplicate = all
        .iter()
        .filter(|r| r.status == ReceiptStatus::Duplicate)
        .count();
    assert_eq!((stored, duplicate), (1, 99));
    assert!(all
        .iter()
        .all(|r| r.received_at == all[0].received_at && r.id == v.id && r.reason.is_none()));
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let original = stored_body(&app, v.id).await.unwrap();

    // the same id with changed content, 100 times at once (each copy different):
    // every one a conflict, the stored copy untouched
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (app, token) = (app.clone(), token.clone());
        let mut changed = v.clone();
        changed.summary = format!("改过的第{i}版");
        tasks.push(tokio::spawn(async move {
            app.upload(&token, device(), &[changed]).await
        }));
    }
    for task in tasks {
        let r = receipts(&task.await.unwrap()).remove(0);
        assert_eq!(r.status, ReceiptStatus::Conflict);
        assert_eq!(
            r.reason.as_deref(),
            Some(daohu_domain::CONFLICT_REASON)
        );
        assert_eq!(r.received_at, all[0].received_at, "the first copy's time");
    }
    assert_eq!(stored_body(&app, v.id).await.unwrap(), original);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}
