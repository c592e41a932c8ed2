//! A real deployment's first run, with the real binary: the server starts empty
//! (no demo accounts with a known password unless `--demo`), `daohu-server admin`
//! makes and manages the first county administrator, and the start-up log never
//! prints a password.
//!
//! Runs on SQLite, or on a new database of the PostgreSQL server named by
//! `DAOHU_TEST_POSTGRES`.

mod field;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axum::http::Method;
use daohu_server::seed::{phones, DEMO_PASSWORD};
use field::request;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_daohu-server");
const TIMEOUT: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts the server over `url` (with `extra` flags) and waits for `/healthz`.
async fn start(dir: &Path, url: &str, extra: &[&str]) -> (Child, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let mut child = Command::new(BIN)
        .args(["--addr", &addr.to_string(), "--database-url", url, "--dist"])
        .arg(dir.join("dist"))
        .args(extra)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start daohu-server");
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("server exited ({status}): {}", std::fs::read_to_string(dir.join("server.log")).unwrap_or_default());
        }
        let health = request(addr, Method::GET, "/healthz", &[], Vec::new(), Duration::from_millis(500)).await;
        if matches!(health, Ok(ref r) if r.status == 200) {
            return (child, addr);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("server did not start");
}

async fn login(addr: SocketAddr, phone: &str, password: &str) -> u16 {
    let body = serde_json::json!({ "phone": phone, "password": password }).to_string().into_bytes();
    request(addr, Method::POST, "/api/auth/login", &[("content-type", "application/json".into())], body, TIMEOUT)
        .await
        .unwrap()
        .status
}

/// `daohu-server --database-url URL admin ARGS`, with `stdin` as standard input.
async fn admin(url: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(["--database-url", url, "admin"])
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test]
async fn a_first_run_is_empty_and_the_command_line_makes_the_administrator() {
    let dir = tempfile::tempdir().unwrap();
    let url = daohu_server::db::test_database_url(dir.path()).await.unwrap();

    // Without --demo: no account at all, so the demo password opens nothing.
    let (mut server, addr) = start(dir.path(), &url, &[]).await;
    assert_eq!(login(addr, phones::COUNTY_WU, DEMO_PASSWORD).await, 401);
    assert_eq!(login(addr, phones::MEMBER_ZHANG, DEMO_PASSWORD).await, 401);
    server.kill().await.unwrap();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("admin create"), "the log says how to make the first account: {log}");

    let create = ["create", "--phone", "13900000001", "--name", "县管理员", "--county", "新安县"];
    // A weak password is refused and nothing is made.
    let (ok, text) = admin(&url, &create, "12345678\n").await;
    assert!(!ok && text.contains("常见"), "{text}");
    let (ok, text) = admin(&url, &create, "Xin-an county 2026\n").await;
    assert!(ok, "{text}");
    assert!(!text.contains("13900000001"), "the phone is masked: {text}");
    // The same phone twice is refused.
    let (ok, _) = admin(&url, &create, "Xin-an county 2026\n").await;
    assert!(!ok);

    let (mut server, addr) = start(dir.path(), &url, &[]).await;
    assert_eq!(login(addr, "13900000001", "Xin-an county 2026").await, 200);
    // Disabled from the command line: refused; enabled again: back in.
    let (ok, text) = admin(&url, &["disable", "--phone", "13900000001"], "").await;
    assert!(ok, "{text}");
    assert_eq!(login(addr, "13900000001", "Xin-an county 2026").await, 403);
    let (ok, _) = admin(&url, &["enable", "--phone", "13900000001"], "").await;
    assert!(ok);
    assert_eq!(login(addr, "13900000001", "Xin-an county 2026").await, 200);
    // A forgotten password is replaced at the server.
    let (ok, text) = admin(&url, &["set-password", "--phone", "13900000001"], "another-long-one-77\n").await;
    assert!(ok, "{text}");
    assert_eq!(login(addr, "13900000001", "Xin-an county 2026").await, 401);
    assert_eq!(login(addr, "13900000001", "another-long-one-77").await, 200);
    server.kill().await.unwrap();
}

#[tokio::test]
async fn the_demo_comes_only_when_asked_and_its_password_stays_out_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let url = daohu_server::db::test_database_url(dir.path()).await.unwrap();
    let (mut server, addr) = start(dir.path(), &url, &["--demo"]).await;
    assert_eq!(login(addr, phones::MEMBER_ZHANG, DEMO_PASSWORD).await, 200);
    server.kill().await.unwrap();
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    assert!(log.contains("--demo"), "{log}");
    assert!(!log.contains(DEMO_PASSWORD), "the password is not logged: {log}");
}
