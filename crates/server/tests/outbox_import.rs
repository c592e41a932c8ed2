//! `POST /api/sync/import`: a coordinator uploads a phone's last-resort export
//! file; each record is decided as if its member had uploaded it, exactly once.

mod common;

use axum::http::{Method, StatusCode};
use common::{device, visit, TestApp};
use daohu_domain::{OutboxExport, ReceiptStatus, SyncResponse, OUTBOX_EXPORT_FORMAT};
use daohu_domain::CONFLICT_REASON;
use daohu_server::routes::sync::{NOT_OWN_REASON, OUT_OF_SCOPE_REASON};
use daohu_server::seed::{household_id, member_id};
use serde_json::{json, Value};
use uuid::Uuid;

fn export(member: u128, visits: Vec<daohu_domain::Visit>) -> Value {
    serde_json::to_value(OutboxExport {
        format: OUTBOX_EXPORT_FORMAT.into(),
        device_id: device(),
        member_id: member_id(member),
        exported_at: common::phone_clock(),
        visits,
    })
    .unwrap()
}

async fn import(app: &TestApp, token: &str, body: Value) -> common::Answer {
    app.call(Method::POST, "/api/sync/import", Some(token), Some(body))
        .await
}

fn statuses(answer: &common::Answer) -> Vec<ReceiptStatus> {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    serde_json::from_slice::<SyncResponse>(&answer.body)
        .unwrap()
        .receipts
        .iter()
        .map(|r| r.status)
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

async fn visit_rows(app: &TestApp) -> Vec<(String, String, String, String)> {
    sqlx::query_as("SELECT id, content_hash, received_at, device_id FROM visits ORDER BY id")
        .fetch_all(&app.state.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn importing_an_export_stores_each_record_exactly_once() {
    let app = TestApp::new().await;
    let zhang = app.session(1).await;
    let zhao = app.session(9).await;

    // the phone synced one record before it broke; the export holds that one again
    let synced = visit(1, household_id(0), member_id(1));
    let first = app
        .upload(&zhang, device(), std::slice::from_ref(&synced))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let last_sync: String =
        sqlx::query_scalar("SELECT last_sync_at FROM devices WHERE device_id = $1")
            .bind(device().to_string())
            .fetch_one(&app.state.pool)
            .await
            .unwrap();

    let mut with_problem = visit(2, household_id(1), member_id(1));
    with_problem.problems.push(daohu_domain::ProblemEntry {
        id: daohu_domain::uuid_v7(1_773_000_000_900, [4; 10]),
        category: daohu_domain::ProblemCategory::Housing,
        urgency: daohu_domain::Urgency::High,
        description: "屋顶漏雨".into(),
        outcome: daohu_domain::ProblemOutcome::Escalate,
        action: String::new(),
    });
    let plain = visit(3, household_id(2), member_id(1));
    let file = export(1, vec![synced.clone(), with_problem.clone(), plain.clone()]);

    let answer = import(&app, &zhao, file.clone()).await;
    assert_eq!(
        statuses(&answer),
        [
            ReceiptStatus::Duplicate,
            ReceiptStatus::Stored,
            ReceiptStatus::Stored
        ]
    );
    let after_first = visit_rows(&app).await;
    assert_eq!(after_first.len(), 3);
    assert!(after_first.iter().all(|r| r.3 == device().to_string()));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM problems").await,
        1,
        "problems copied out like an upload"
    );

    // the same file again, and the phone itself syncing afterwards: nothing new
    let again = import(&app, &zhao, file).await;
    assert_eq!(statuses(&again), [ReceiptStatus::Duplicate; 3]);
    let sync_time = |app: &TestApp| {
        let pool = app.state.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT last_sync_at FROM devices WHERE device_id = $1")
                .bind(device().to_string())
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        sync_time(&app).await,
        last_sync,
        "imports are not the phone syncing"
    );
    let phone_later = app
        .upload(&zhang, device(), &[with_problem.clone(), plain.clone()])
        .await;
    assert_eq!(
        serde_json::from_slice::<SyncResponse>(&phone_later.body)
            .unwrap()
            .receipts
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [ReceiptStatus::Duplicate; 2]
    );
    assert_eq!(visit_rows(&app).await, after_first, "rows unchanged");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM problems").await, 1);

    // same id, other content: conflict, the stored copy stays
    let mut changed = plain.clone();
    changed.summary = "导出后又改过".into();
    let conflict = import(&app, &zhao, export(1, vec![changed])).await;
    let body: SyncResponse = serde_json::from_slice(&conflict.body).unwrap();
    assert_eq!(body.receipts[0].status, ReceiptStatus::Conflict);
    assert_eq!(body.receipts[0].reason.as_deref(), Some(CONFLICT_REASON));
    assert_eq!(visit_rows(&app).await, after_first);

    // the phone's own upload did count; the import after it did not
    let phone_synced = sync_time(&app).await;
    assert!(phone_synced > last_sync);
    let _ = import(&app, &zhao, export(1, vec![plain.clone()])).await;
    assert_eq!(sync_time(&app).await, phone_synced);
    let other_device = OutboxExport {
        format: OUTBOX_EXPORT_FORMAT.into(),
        device_id: Uuid::from_u128(0xbeef),
        member_id: member_id(1),
        exported_at: common::phone_clock(),
        visits: vec![visit(4, household_id(3), member_id(1))],
    };
    let answer = import(&app, &zhao, serde_json::to_value(other_device).unwrap()).await;
    assert_eq!(statuses(&answer), [ReceiptStatus::Stored]);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM devices WHERE device_id = '00000000-0000-0000-0000-00000000beef'"
        )
        .await,
        0
    );

    // audited with counts, by the coordinator
    let audit: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT action, actor_member_id, detail FROM audit_log WHERE action = 'outbox_imported' ORDER BY id",
    )
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 5);
    assert_eq!(
        audit[0].1.as_deref(),
        Some(member_id(9).to_string().as_str())
    );
    let detail: Value = serde_json::from_str(&audit[0].2).unwrap();
    assert_eq!(detail["member_id"], json!(member_id(1)));
    assert_eq!(
        (
            &detail["stored"],
            &detail["duplicate"],
            &detail["conflict"],
            &detail["rejected"]
        ),
        (&json!(2), &json!(1), &json!(0), &json!(0))
    );
    let detail: Value = serde_json::from_str(&audit[2].2).unwrap();
    assert_eq!(detail["conflict"], json!(1));
}

#[tokio::test]
async fn import_uses_the_members_own_scope() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let sun = app.session(19).await;
    let zhang = app.session(1).await;

    // 张党员's reach: households 0–9; another member's visit and another grid's household are rejected
    let own = visit(1, household_id(4), member_id(1));
    let other_grid = visit(2, household_id(20), member_id(1));
    let someone_else = visit(3, household_id(5), member_id(2));
    let mut invalid = visit(4, household_id(6), member_id(1));
    invalid.sections[0].state = None;
    let answer = import(
        &app,
        &zhao,
        export(1, vec![own.clone(), other_grid, someone_else, invalid]),
    )
    .await;
    let receipts = serde_json::from_slice::<SyncResponse>(&answer.body)
        .unwrap()
        .receipts;
    assert_eq!(
        receipts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [
            ReceiptStatus::Stored,
            ReceiptStatus::Rejected,
            ReceiptStatus::Rejected,
            ReceiptStatus::Rejected
        ]
    );
    assert_eq!(receipts[1].reason.as_deref(), Some(OUT_OF_SCOPE_REASON));
    assert_eq!(receipts[2].reason.as_deref(), Some(NOT_OWN_REASON));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visits").await, 1);

    // an account outside the caller's subtree is not found, and nothing is stored
    let zhou = export(21, vec![visit(5, household_id(60), member_id(21))]);
    let answer = import(&app, &zhao, zhou.clone()).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.json()["error"], "not_found");
    let unknown = export(77, vec![]);
    let answer = import(&app, &zhao, unknown).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visits").await, 1);
    // the township coordinator reaches 绿水村
    let answer = import(&app, &sun, zhou).await;
    assert_eq!(statuses(&answer), [ReceiptStatus::Stored]);

    // members cannot import; a volunteer's export is not a thing
    let answer = import(&app, &zhang, export(1, vec![])).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = import(&app, &zhao, export(5, vec![])).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    // a disabled account's phone can still be rescued
    sqlx::query("UPDATE members SET disabled = 1 WHERE id = $1")
        .bind(member_id(1).to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    let answer = import(
        &app,
        &zhao,
        export(1, vec![visit(6, household_id(7), member_id(1))]),
    )
    .await;
    assert_eq!(statuses(&answer), [ReceiptStatus::Stored]);
}

#[tokio::test]
async fn wrong_format_and_malformed_files_store_nothing() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let v = visit(1, household_id(0), member_id(1));

    let mut wrong = export(1, vec![v.clone()]);
    wrong["format"] = json!("daohu-outbox/2");
    let answer = import(&app, &zhao, wrong).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.json()["error"], "bad_request");
    assert!(answer.json()["message"]
        .as_str()
        .unwrap()
        .contains(OUTBOX_EXPORT_FORMAT));

    let mut extra = export(1, vec![v.clone()]);
    extra["note"] = json!("x");
    assert_eq!(
        import(&app, &zhao, extra).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let batch_instead = json!({ "device_id": device(), "visits": [v] });
    assert_eq!(
        import(&app, &zhao, batch_instead).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let not_json = app
        .raw(
            Method::POST,
            "/api/sync/import",
            Some(&zhao),
            "application/json",
            b"{\"format\":\"daohu-outbox/1\",".to_vec(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    let anonymous = app
        .call(
            Method::POST,
            "/api/sync/import",
            None,
            Some(export(1, vec![])),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visits").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'outbox_imported'"
        )
        .await,
        0
    );
}
