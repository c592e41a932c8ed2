//! The server killed with SIGKILL at random (seeded) moments while phones upload:
//! nothing recorded is lost, nothing is stored twice, nothing is half-written.
//!
//! Runs the real `daohu-server` binary on a loopback port over a temp data folder.
//! Phones record visits all the while and keep uploading, each from its own outbox,
//! retrying until every record has a receipt. After `KILLS` kills and restarts the
//! phones stop recording and drain their outboxes; then the server is killed once
//! more and the database file is opened and checked row by row.

mod field;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Method;
use daohu_server::seed::member_id;
use field::{phone_accounts, request, rng, verify, Phone};
use rand::Rng;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

const SEED: u64 = 0x6b11_6c39;
const KILLS: usize = 50;
const PHONES: usize = 8;
/// Records a phone makes at most (they record while the server is being killed).
const MAX_RECORDS_PER_PHONE: usize = 400;
/// A phone records a visit every this many milliseconds (a random pick in the range).
const RECORD_EVERY_MS: std::ops::Range<u64> = 40..120;
const BATCH: usize = 8;

/// A free loopback port (the kernel's pick; the server binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
}

/// Starts the binary and waits (at most 20 s) until `/healthz` answers 200.
async fn start(dir: &Path, addr: SocketAddr) -> Server {
    for attempt in 0..5 {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("server.log"))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_daohu-server"))
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--dist")
            .arg(dir.join("dist"))
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("start daohu-server");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("server exited at start ({status}), attempt {attempt}");
                break;
            }
            let health = request(
                addr,
                Method::GET,
                "/healthz",
                &[],
                Vec::new(),
                Duration::from_millis(500),
            )
            .await;
            if matches!(health, Ok(ref r) if r.status == 200) {
                return Server { child };
            }
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "daohu-server did not start; log:\n{}",
        std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
    );
}

impl Server {
    /// SIGKILL, and wait for the process to be gone.
    async fn kill9(mut self) {
        self.child.start_kill().expect("kill -9");
        self.child.wait().await.expect("reap");
    }
}

/// A seeded database with a session per account, made before the server first runs.
async fn prepare(dir: &Path) -> Vec<(u128, String)> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let pool = daohu_server::db::connect_file(&data.join("daohu.sqlite3"))
        .await
        .unwrap();
    daohu_server::seed_demo(&pool).await.unwrap();
    let mut tokens = Vec::new();
    for account in [1u128, 2, 3, 21] {
        let (token, _) = daohu_server::auth::create_session(
            &pool,
            member_id(account),
            chrono::Duration::hours(2),
        )
        .await
        .unwrap();
        tokens.push((account, token));
    }
    pool.close().await;
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_kill9s_lose_and_duplicate_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let tokens = prepare(dir.path()).await;
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut server = start(dir.path(), addr).await;

    let recording = Arc::new(AtomicBool::new(true));
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut phones = Vec::new();
    for (i, account) in phone_accounts(PHONES).into_iter().enumerate() {
        let token = tokens
            .iter()
            .find(|(a, _)| *a == account)
            .unwrap()
            .1
            .clone();
        let phone = Arc::new(Mutex::new(Phone::new(i as u16, account, token)));
        let recording = recording.clone();
        let task_phone = phone.clone();
        let task = tokio::spawn(async move {
            let mut rng = rng(SEED ^ (i as u64 + 1));
            let mut phone = task_phone.lock().await;
            let mut next_record = Instant::now();
            // bounded by time and by count: a stuck phone fails the test, it does not hang
            for _ in 0..200_000 {
                if Instant::now() > deadline {
                    break;
                }
                let still_recording = recording.load(Ordering::SeqCst);
                while still_recording
                    && phone.recorded.len() < MAX_RECORDS_PER_PHONE
                    && Instant::now() >= next_record
                {
                    phone.record();
                    next_record += Duration::from_millis(rng.gen_range(RECORD_EVERY_MS));
                }
                if phone.outbox.is_empty() {
                    if !still_recording {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                if phone
                    .sync_once(addr, BATCH, Duration::from_secs(3))
                    .await
                    .is_err()
                {
                    // the app backs off with jitter; short waits keep the test quick
                    tokio::time::sleep(Duration::from_millis(rng.gen_range(10..60))).await;
                } else {
                    tokio::time::sleep(Duration::from_millis(rng.gen_range(0..25))).await;
                }
            }
        });
        phones.push((phone, task));
    }

    // the killer: up for a random while, kill -9, start again at once
    let mut killer = rng(SEED);
    let mut uptimes = Vec::new();
    for _ in 0..KILLS {
        let up = killer.gen_range(40..400);
        uptimes.push(up);
        tokio::time::sleep(Duration::from_millis(up)).await;
        server.kill9().await;
        server = start(dir.path(), addr).await;
    }
    let kills_done = started.elapsed();
    recording.store(false, Ordering::SeqCst);

    let mut recorded = Vec::new();
    let mut stats = Vec::new();
    for (phone, task) in phones {
        tokio::time::timeout(Duration::from_secs(160), task)
            .await
            .expect("phone finished")
            .expect("phone task");
        let phone = phone.lock().await;
        assert!(
            phone.outbox.is_empty(),
            "phone {} still holds {} records",
            phone.index,
            phone.outbox.len()
        );
        assert!(
            phone.stats.unexpected.is_empty(),
            "phone {}: {:?}",
            phone.index,
            phone.stats.unexpected
        );
        recorded.extend(phone.recorded.iter().cloned());
        stats.push(phone.stats.clone());
    }
    // and once more, with nothing in flight
    server.kill9().await;

    let pool = daohu_server::db::connect_file(&dir.path().join("data").join("daohu.sqlite3"))
        .await
        .unwrap();
    let verdict = verify(&pool, &recorded).await;
    let devices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;

    let sum = |f: fn(&field::PhoneStats) -> u64| stats.iter().map(f).sum::<u64>();
    println!(
        "kill -9: {KILLS} kills (uptime {}–{} ms, seed {SEED:#x}) in {:.1} s; {} phones recorded {} visits \
         ({} problems); {} upload requests, {} failed (refused / reset / timed out), \
         {} stored receipts, {} duplicate receipts (answers lost to a kill, retried); \
         database: {} rows, {} distinct ids, {} missing, {} unknown, {} duplicated, {} half-written, \
         {} problem rows (expected {}), {} devices, integrity {}; total {:.1} s",
        uptimes.iter().min().unwrap(),
        uptimes.iter().max().unwrap(),
        kills_done.as_secs_f64(),
        PHONES,
        recorded.len(),
        verdict.problems_expected,
        sum(|s| s.requests),
        sum(|s| s.failed),
        sum(|s| s.stored),
        sum(|s| s.duplicate),
        verdict.rows,
        verdict.distinct_ids,
        verdict.missing,
        verdict.unexpected,
        verdict.duplicated,
        verdict.half_written.len(),
        verdict.problem_rows,
        verdict.problems_expected,
        devices,
        verdict.integrity,
        started.elapsed().as_secs_f64(),
    );
    assert!(verdict.is_perfect(), "{verdict:#?}");
    assert_eq!(
        (sum(|s| s.stored) + sum(|s| s.duplicate)) as usize,
        recorded.len(),
        "each record acknowledged once"
    );
    assert!(
        sum(|s| s.failed) > 0,
        "no upload was ever cut by a kill: the test proved nothing"
    );
}
