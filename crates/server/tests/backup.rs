//! Online backup while uploads run: the copy is sound, holds only whole batches,
//! every row in it is identical to the live one, and a copy taken when uploads have
//! stopped equals the live database. Also the `daohu-server backup` command and a
//! restore from its file.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::TestApp;
use daohu_server::auth::sha256_hex;
use daohu_server::backup::{backup_to, check_backup};
use daohu_server::seed::{household_id, member_id};
use daohu_server::db::Pool;

/// A read-only pool over a backup file.
async fn open_copy(path: &Path) -> Pool {
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .unwrap()
}

/// Every visit row, ordered by id.
async fn rows(pool: &Pool) -> Vec<(String, String, String, String)> {
    sqlx::query_as("SELECT id, content_hash, body, received_at FROM visits ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// Row count and one sha256 over every row (id, hash, body, received_at) in id order.
async fn fingerprint(pool: &Pool) -> (usize, String) {
    let rows = rows(pool).await;
    let mut text = String::new();
    for (id, hash, body, at) in &rows {
        text.push_str(&format!("{id}\t{hash}\t{at}\t{body}\n"));
    }
    (rows.len(), sha256_hex(text.as_bytes()))
}

/// A valid visit of 张党员 (households 0–9), unique per n.
fn upload_visit(n: u32) -> daohu_domain::Visit {
    let mut random = [0u8; 10];
    random[..4].copy_from_slice(&n.to_be_bytes());
    let id = daohu_domain::uuid_v7(1_773_000_000_000 + u64::from(n), random);
    let mut v = daohu_domain::Visit::new(
        id,
        household_id(u128::from(n % 10)),
        member_id(1),
        common::day(),
        common::phone_clock(),
    );
    for s in &mut v.sections {
        s.state = Some(daohu_domain::SectionState::Done);
    }
    v.summary = format!("备份测试第{n}条");
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_only_backup_while_uploading_is_consistent() {
    // This backup copies a SQLite file (PostgreSQL has pg_dump): the test command's
    // PostgreSQL pass leaves it out by name (`--skip sqlite_only`), visibly.
    assert!(daohu_server::db::test_postgres().is_none(), "SQLite only: unset DAOHU_TEST_POSTGRES");
    let app = Arc::new(TestApp::new().await);
    let token = Arc::new(app.zhang().await);
    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(AtomicU64::new(0));

    // uploads through the API, batch after batch, until told to stop (bounded anyway)
    let uploader = {
        let (app, token, stop, batches) =
            (app.clone(), token.clone(), stop.clone(), batches.clone());
        tokio::spawn(async move {
            let mut n = 0u32;
            for _ in 0..5_000 {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let batch: Vec<_> = (0..10).map(|i| upload_visit(n + i)).collect();
                n += 10;
                let answer = app.upload(&token, common::device(), &batch).await;
                assert_eq!(answer.status, StatusCode::OK);
                batches.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    // let some batches land first
    let wait = Instant::now();
    while batches.load(Ordering::SeqCst) < 60 && wait.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let out = app.dir.path().join("backups");
    std::fs::create_dir_all(&out).unwrap();
    let during = out.join("during.sqlite3");
    let t = Instant::now();
    let batches_before = batches.load(Ordering::SeqCst);
    backup_to(&app.state.pool, &during).await.unwrap();
    let backup_ms = t.elapsed().as_millis();
    let batches_during = batches.load(Ordering::SeqCst) - batches_before;
    assert!(!uploader.is_finished(), "uploads were running all along");

    // a second backup to the same name is refused, the first one untouched
    let refused = backup_to(&app.state.pool, &during).await;
    assert!(refused.is_err());

    let copy = open_copy(&during).await;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(integrity, "ok");
    let copied = rows(&copy).await;
    let live_now = rows(&app.state.pool).await;
    assert!(
        copied.len() <= live_now.len(),
        "the copy is a snapshot of the past"
    );
    assert_eq!(copied.len() % 10, 0, "only whole batches: {}", copied.len());
    let live: std::collections::HashMap<_, _> = live_now
        .iter()
        .map(|(id, hash, body, at)| (id.clone(), (hash.clone(), body.clone(), at.clone())))
        .collect();
    for (id, hash, body, at) in &copied {
        let (live_hash, live_body, live_at) = live.get(id).expect("row of the copy is live");
        assert_eq!(
            (hash, body, at),
            (live_hash, live_body, live_at),
            "row {id}"
        );
        assert_eq!(sha256_hex(body.as_bytes()), *hash);
    }
    // the problems and audit rows of each copied batch came with it
    let audits: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'sync_visits'")
            .fetch_one(&copy)
            .await
            .unwrap();
    assert_eq!(
        audits as usize * 10,
        copied.len(),
        "batch and its audit entry together"
    );
    copy.close().await;

    // quiescent: stop uploads, back up again, the copy equals the live database
    stop.store(true, Ordering::SeqCst);
    uploader.await.unwrap();
    let quiet = out.join("quiet.sqlite3");
    backup_to(&app.state.pool, &quiet).await.unwrap();
    let copy = open_copy(&quiet).await;
    let (copy_rows, copy_hash) = fingerprint(&copy).await;
    let (live_rows, live_hash) = fingerprint(&app.state.pool).await;
    copy.close().await;
    assert_eq!((copy_rows, &copy_hash), (live_rows, &live_hash));
    let summary = check_backup(&quiet).await.unwrap();
    assert_eq!(summary.integrity, "ok");
    assert_eq!(summary.visits as usize, live_rows);
    println!(
        "backup: during uploads {} of then {} live rows copied in {backup_ms} ms \
         ({batches_during} batches committed meanwhile; integrity ok, every row identical, whole batches only); after uploads stopped \
         {copy_rows} rows = {live_rows} live, hash {} = {}; {} batches uploaded in all",
        copied.len(),
        live_now.len(),
        &copy_hash[..16],
        &live_hash[..16],
        batches.load(Ordering::SeqCst)
    );
}

#[tokio::test]
async fn sqlite_only_backup_command_and_restore() {
    // This backup copies a SQLite file (PostgreSQL has pg_dump): the test command's
    // PostgreSQL pass leaves it out by name (`--skip sqlite_only`), visibly.
    assert!(daohu_server::db::test_postgres().is_none(), "SQLite only: unset DAOHU_TEST_POSTGRES");
    let app = TestApp::new().await;
    let token = app.zhang().await;
    let visits: Vec<_> = (0..5).map(upload_visit).collect();
    assert_eq!(
        app.upload(&token, common::device(), &visits).await.status,
        StatusCode::OK
    );

    // the command, against the live database the app still holds open
    let out = app.dir.path().join("nightly.sqlite3");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_daohu-server"))
        .arg("backup")
        .arg("--data-dir")
        .arg(app.dir.path())
        .arg("--out")
        .arg(&out)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("5 visits") && stdout.contains("integrity ok"),
        "{stdout}"
    );
    // again to the same file: refused, exit code 1
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_daohu-server"))
        .args(["backup", "--out"])
        .arg(&out)
        .arg("--data-dir")
        .arg(app.dir.path())
        .output()
        .unwrap();
    assert!(!again.status.success());
    // a folder without a database: an error, and no empty database made there
    let empty = tempfile::tempdir().unwrap();
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_daohu-server"))
        .args(["backup", "--out"])
        .arg(empty.path().join("x.sqlite3"))
        .arg("--data-dir")
        .arg(empty.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(!empty.path().join("daohu.sqlite3").exists());

    // restore, as docs/operations.md says: the file becomes daohu.sqlite3 of a data folder
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&out, restored.path().join("daohu.sqlite3")).unwrap();
    let pool = daohu_server::db::connect_file(&restored.path().join("daohu.sqlite3"))
        .await
        .unwrap();
    let state = daohu_server::AppState::new(pool, daohu_server::Settings::default());
    let router = daohu_server::app(state.clone());
    // the old session still works and the history is there
    let answer = tower::ServiceExt::oneshot(
        router,
        axum::http::Request::builder()
            .uri(format!("/api/households/{}/visits", household_id(0)))
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let (rows, _) = fingerprint(&state.pool).await;
    assert_eq!(rows, 5);
    let (live_rows, live_hash) = fingerprint(&app.state.pool).await;
    assert_eq!(
        (rows, fingerprint(&state.pool).await.1),
        (live_rows, live_hash)
    );
}
