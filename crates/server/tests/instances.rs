//! Two server instances on one database, as a county runs them behind a load
//! balancer: nothing one instance needs is kept in the other's memory.
//!
//! Starts the real `daohu-server` binary twice, on two loopback ports, over the
//! same database (PostgreSQL when `DAOHU_TEST_POSTGRES` is set, else one SQLite
//! file). Phones upload alternately to both; a batch is sent to both at the same
//! moment; a session made on one is used and ended on the other; sign-in failures
//! on both add up to one lock, and guesses sent to both at once cannot get past it;
//! an export link made on one is spent on the other.

mod field;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::http::Method;
use daohu_domain::{ReceiptStatus, SyncResponse};
use daohu_server::seed::{member_id, DEMO_PASSWORD};
use field::{post_json, request, verify, Phone};
use tokio::process::{Child, Command};

const TIMEOUT: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts one instance on `url` and waits (at most 20 s) for `/healthz`.
async fn start(dir: &Path, name: &str, url: &str) -> (Child, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_daohu-server"))
        .arg("--addr")
        .arg(addr.to_string())
        .arg("--database-url")
        .arg(url)
        .arg("--dist")
        .arg(dir.join("dist"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start daohu-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{name} exited ({status}): {}",
                std::fs::read_to_string(dir.join(format!("{name}.log"))).unwrap_or_default()
            );
        }
        let health = request(addr, Method::GET, "/healthz", &[], Vec::new(), Duration::from_millis(500)).await;
        if matches!(health, Ok(ref r) if r.status == 200) {
            return (child, addr);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{name} did not start");
}

async fn login(addr: SocketAddr, phone: &str, password: &str) -> field::Reply {
    request(
        addr,
        Method::POST,
        "/api/auth/login",
        &[("content-type", "application/json".into())],
        serde_json::json!({ "phone": phone, "password": password }).to_string().into_bytes(),
        TIMEOUT,
    )
    .await
    .unwrap()
}

async fn get(addr: SocketAddr, path: &str, token: &str) -> field::Reply {
    request(addr, Method::GET, path, &[("authorization", format!("Bearer {token}"))], Vec::new(), TIMEOUT)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_everything_through_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = daohu_server::db::test_database_url(dir.path()).await.unwrap();
    let pool = daohu_server::db::connect(&url).await.unwrap();
    daohu_server::seed_demo(&pool).await.unwrap();
    let mut tokens = Vec::new();
    for account in [1u128, 2, 3, 21] {
        let (token, _) =
            daohu_server::auth::create_session(&pool, member_id(account), chrono::Duration::hours(2))
                .await
                .unwrap();
        tokens.push((account, token));
    }
    let (_a, a) = start(dir.path(), "a", &url).await;
    let (_b, b) = start(dir.path(), "b", &url).await;
    let both = [a, b];

    // Phones upload batch after batch, to a and b in turn; the last batch of each
    // phone is sent again to the other instance (an answer lost on the way back).
    let mut phones: Vec<Phone> = tokens
        .iter()
        .enumerate()
        .map(|(i, (account, token))| Phone::new(i as u16, *account, token.clone()))
        .collect();
    let mut turn = 0;
    for phone in &mut phones {
        for _ in 0..60 {
            phone.record();
        }
        while !phone.outbox.is_empty() {
            phone.sync_once(both[turn % 2], 8, TIMEOUT).await.unwrap();
            turn += 1;
        }
        let again = serde_json::json!({ "device_id": phone.device, "visits": &phone.recorded[52..] });
        let reply = post_json(both[turn % 2], "/api/sync/visits", &phone.token, &again, TIMEOUT).await.unwrap();
        let answer: SyncResponse = serde_json::from_slice(&reply.body).unwrap();
        assert!(answer.receipts.iter().all(|r| r.status == ReceiptStatus::Duplicate), "{answer:?}");
    }

    // One batch to both instances at the same moment: stored once, a duplicate once.
    let phone = &mut phones[0];
    for _ in 0..8 {
        phone.record();
    }
    let batch = serde_json::json!({ "device_id": phone.device, "visits": &phone.outbox });
    let (ra, rb) = tokio::join!(
        post_json(a, "/api/sync/visits", &phone.token, &batch, TIMEOUT),
        post_json(b, "/api/sync/visits", &phone.token, &batch, TIMEOUT)
    );
    let mut stored = 0;
    let mut duplicate = 0;
    for reply in [ra.unwrap(), rb.unwrap()] {
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.body));
        let answer: SyncResponse = serde_json::from_slice(&reply.body).unwrap();
        for r in &answer.receipts {
            match r.status {
                ReceiptStatus::Stored => stored += 1,
                ReceiptStatus::Duplicate => duplicate += 1,
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!((stored, duplicate), (8, 8));
    phone.outbox.clear();

    let recorded: Vec<_> = phones.iter().flat_map(|p| p.recorded.clone()).collect();
    let verdict = verify(&pool, &recorded).await;
    assert!(verdict.is_perfect(), "{verdict:?}");

    // A session made on a is good on b, and ended on b it is ended on a.
    let signed_in = login(a, "13800000002", DEMO_PASSWORD).await;
    assert_eq!(signed_in.status, 200);
    let token = serde_json::from_slice::<serde_json::Value>(&signed_in.body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(b, "/api/roster", &token).await.status, 200);
    let out = request(b, Method::POST, "/api/auth/logout", &[("authorization", format!("Bearer {token}"))], Vec::new(), TIMEOUT)
        .await
        .unwrap();
    assert!(out.status == 200 || out.status == 204, "{}", out.status);
    assert_eq!(get(a, "/api/roster", &token).await.status, 401);

    // Failed sign-ins on both instances add up: three on a, two on b, then locked on a.
    for (i, addr) in [a, a, a, b, b].into_iter().enumerate() {
        assert_eq!(login(addr, "13800000021", "wrong").await.status, 401, "attempt {i}");
    }
    assert_eq!(login(a, "13800000021", DEMO_PASSWORD).await.status, 429);
    assert_eq!(login(b, "13800000021", DEMO_PASSWORD).await.status, 429);

    // Sixteen wrong passwords for one phone sent at once, half to each instance:
    // the limit holds across both (before the count came first, all were checked).
    let guesses = (0..16).map(|i| {
        let addr = both[i % 2];
        async move { login(addr, "13800000001", &format!("guess-{i}")).await.status }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(checked + statuses.iter().filter(|&&s| s == 429).count(), 16, "{statuses:?}");
    assert!(checked <= daohu_server::auth::PAIR_FAILURE_LIMIT as usize, "{checked} checked: {statuses:?}");

    // An export link made on a downloads once, on b; a second try on a finds nothing.
    let zhao = serde_json::from_slice::<serde_json::Value>(&login(a, "13800000009", DEMO_PASSWORD).await.body)
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let made = request(a, Method::POST, "/api/exports?format=csv", &[("authorization", format!("Bearer {zhao}"))], Vec::new(), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let link = serde_json::from_slice::<serde_json::Value>(&made.body).unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let first = request(b, Method::GET, &link, &[], Vec::new(), TIMEOUT).await.unwrap();
    assert_eq!(first.status, 200);
    assert!(String::from_utf8_lossy(&first.body).lines().count() > 1);
    let second = request(a, Method::GET, &link, &[], Vec::new(), TIMEOUT).await.unwrap();
    assert_eq!(second.status, 404);
    pool.close().await;
}
