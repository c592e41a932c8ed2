//! Writers side by side on PostgreSQL: identical uploads reach the database at the
//! same time, and unique keys alone keep one copy. (SQLite has one writer by
//! design; the SQLite pass shows this test as ignored.)

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{device, visit, TestApp};
use daohu_domain::{ReceiptStatus, SyncResponse};
use daohu_server::db::Dialect;
use daohu_server::seed::{household_id, member_id};
use sqlx::{AnyConnection, Connection};

/// Sessions of this test's database waiting on a lock now.
async fn waiting_on_locks(watcher: &mut AnyConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(watcher)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: run with DAOHU_TEST_POSTGRES and --include-ignored"]
async fn postgres_only_identical_uploads_reach_the_database_together() {
    let app = Arc::new(TestApp::new().await);
    assert_eq!(app.state.store.dialect(), Dialect::Postgres, "PostgreSQL only: set DAOHU_TEST_POSTGRES");
    let token = Arc::new(app.zhang().await);
    let url = app.state.pool.connect_options().database_url.to_string();
    sqlx::any::install_default_drivers();

    // Another client holds the audit chain's head: every upload gets as far as
    // its audit entry (the last thing before its commit) and waits there, inside
    // the database. With a writer lock in the server only one would get in.
    let mut holder = AnyConnection::connect(&url).await.unwrap();
    let mut watcher = AnyConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT head_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
        .execute(&mut holder)
        .await
        .unwrap();

    let v = visit(9, household_id(3), member_id(1));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (app, token, v) = (app.clone(), token.clone(), v.clone());
        tasks.push(tokio::spawn(async move { app.upload(&token, device(), &[v]).await }));
    }

    // The pool holds 8 connections: up to 8 uploads are in the database at once,
    // the first waiting for the head, the others for the first one's visit row.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut most = 0;
    while Instant::now() < deadline && most < 2 {
        most = most.max(waiting_on_locks(&mut watcher).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    assert!(most >= 2, "uploads waited in the database one at a time ({most} at most)");

    let mut stored = 0;
    let mut duplicate = 0;
    let mut received_at = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
        let receipt = serde_json::from_slice::<SyncResponse>(&answer.body).unwrap().receipts.remove(0);
        match receipt.status {
            ReceiptStatus::Stored => stored += 1,
            ReceiptStatus::Duplicate => duplicate += 1,
            other => panic!("unexpected receipt {other:?}"),
        }
        received_at.push(receipt.received_at);
    }
    assert_eq!((stored, duplicate), (1, 99));
    assert!(received_at.iter().all(|t| *t == received_at[0]), "every receipt names the first copy's time");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits WHERE id = $1")
        .bind(v.id.to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    // One audit entry per upload, each chained after the one before.
    let uploads: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sync_visits'")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(uploads, 100);
    assert_eq!(daohu_server::audit::verify(&app.state.pool).await.unwrap().broken, None);
}

/// Uploads from every recorder of one county at once, each batch visiting its
/// households on other days in another order: every visit moves the county's
/// shared tallies (visits per unit per day, households by their latest visit),
/// which two uploads updating in opposite orders would deadlock on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: run with DAOHU_TEST_POSTGRES and --include-ignored"]
async fn postgres_only_one_countys_uploads_at_once_all_store() {
    let app = Arc::new(TestApp::new().await);
    assert_eq!(app.state.store.dialect(), Dialect::Postgres, "PostgreSQL only: set DAOHU_TEST_POSTGRES");
    // 张, 李 and 王 (grid leader) in 青山村, 周 in 绿水村: one county.
    let recorders: [(u128, Vec<u128>); 4] = [
        (1, (0..10).collect()),
        (2, (20..30).collect()),
        (3, (40..60).collect()),
        (21, (60..65).collect()),
    ];
    let mut tokens = Vec::new();
    for (member, _) in &recorders {
        tokens.push(Arc::new(app.session(*member).await));
    }
    let mut tasks = Vec::new();
    let mut sent = 0;
    for t in 0..40usize {
        let (member, households) = &recorders[t % 4];
        let mut batch = Vec::new();
        for i in 0..5usize {
            let seed = u8::try_from(t * 5 + i).unwrap();
            let h = households[(t * 3 + i * 7) % households.len()];
            let mut v = visit(seed, household_id(h), member_id(*member));
            v.visited_on -= chrono::Duration::days(((t * 7 + i * 11) % 20) as i64);
            batch.push(v);
        }
        sent += batch.len();
        let (app, token) = (app.clone(), tokens[t % 4].clone());
        tasks.push(tokio::spawn(async move { app.upload(&token, device(), &batch).await }));
    }
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
        let receipts = serde_json::from_slice::<SyncResponse>(&answer.body).unwrap().receipts;
        assert!(receipts.iter().all(|r| r.status == ReceiptStatus::Stored), "{receipts:?}");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits").fetch_one(&app.state.pool).await.unwrap();
    assert_eq!(rows, sent as i64);
    // The tallies agree with the visits they count.
    let tallied: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(d.visits), 0) AS BIGINT) FROM visit_days d JOIN units u ON u.id = d.unit_id
         WHERE u.parent_id IS NULL",
    )
    .fetch_one(&app.state.pool)
    .await
    .unwrap();
    assert_eq!(tallied, sent as i64);
}

/// Two recorders of one county upload visits of the same day, and the first
/// upload is held just before its commit, its visit and the county's tallies
/// already written: the second is stored meanwhile. With a lock per county, or
/// tallies of one row per county and day updated in place, it would wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: run with DAOHU_TEST_POSTGRES and --include-ignored"]
async fn postgres_only_one_countys_uploads_do_not_wait_on_each_other() {
    let app = Arc::new(TestApp::new().await);
    assert_eq!(app.state.store.dialect(), Dialect::Postgres, "PostgreSQL only: set DAOHU_TEST_POSTGRES");
    let zhang = Arc::new(app.session(1).await);
    let li = app.session(2).await;
    let url = app.state.pool.connect_options().database_url.to_string();
    sqlx::any::install_default_drivers();
    let first_phone = uuid::Uuid::from_u128(0xf1257);
    // The first phone synced once, so its row exists to be held.
    let warm = app.upload(&zhang, first_phone, &[visit(1, household_id(1), member_id(1))]).await;
    assert_eq!(warm.status, StatusCode::OK);

    // Another client holds the first phone's row: its upload writes its visit,
    // then waits to note the phone's sync, which comes last before the commit.
    let mut holder = AnyConnection::connect(&url).await.unwrap();
    let mut watcher = AnyConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("SELECT device_id FROM devices WHERE device_id = $1 FOR UPDATE")
        .bind(first_phone.to_string())
        .execute(&mut holder)
        .await
        .unwrap();
    let first = {
        let (app, zhang) = (app.clone(), zhang.clone());
        tokio::spawn(async move { app.upload(&zhang, first_phone, &[visit(2, household_id(2), member_id(1))]).await })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while waiting_on_locks(&mut watcher).await == 0 {
        assert!(Instant::now() < deadline, "the first upload never reached the phone's row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let second = tokio::time::timeout(
        Duration::from_secs(20),
        app.upload(&li, device(), &[visit(3, household_id(20), member_id(2))]),
    )
    .await
    .expect("the second upload waited for the first one's commit");
    assert_eq!(second.status, StatusCode::OK, "{}", String::from_utf8_lossy(&second.body));
    let receipts = serde_json::from_slice::<SyncResponse>(&second.body).unwrap().receipts;
    assert_eq!(receipts[0].status, ReceiptStatus::Stored);

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::OK, "{}", String::from_utf8_lossy(&first.body));
    let receipts = serde_json::from_slice::<SyncResponse>(&first.body).unwrap().receipts;
    assert_eq!(receipts[0].status, ReceiptStatus::Stored);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits").fetch_one(&app.state.pool).await.unwrap();
    assert_eq!(rows, 3);
}
