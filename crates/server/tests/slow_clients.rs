//! Clients that hold the server on a real socket: headers that never finish, a body
//! that stalls, a large body before sign-in, more connections than allowed.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use daohu_server::listen::{Limits, ANONYMOUS_BODY_LIMIT};
use daohu_server::{app, test_state};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server on loopback with these limits; the temp folder lives as long as the test.
async fn server(limits: Limits) -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let state = test_state(dir.path()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(daohu_server::listen::serve(listener, app(state), limits, std::future::pending()));
    (addr, dir)
}

fn limits(header: u64, body: u64, connections: usize) -> Limits {
    Limits {
        header_timeout: Duration::from_secs(header),
        body_timeout: Duration::from_secs(body),
        max_connections: connections,
    }
}

/// What the server sends until it closes the connection, or `None` if it is
/// still open after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut answer = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

/// The status line's code of the first answer on the connection, within `wait`.
async fn status_within(stream: &mut TcpStream, wait: Duration) -> Option<u16> {
    let mut buf = vec![0u8; 4096];
    let mut have = 0;
    let deadline = Instant::now() + wait;
    while have < 12 {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf[have..])).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(n)) => have += n,
        }
    }
    std::str::from_utf8(&buf[9..12]).ok()?.parse().ok()
}

#[tokio::test]
async fn headers_that_never_finish_are_cut_off_after_the_timeout() {
    let (addr, _dir) = server(limits(1, 30, 64)).await;
    // half a request, then nothing
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: daohu\r\nX-Slow: ").await.unwrap();
    // a connection that sends nothing at all
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    assert!(read_until_closed(&mut half, Duration::from_secs(5)).await.is_some(), "half headers held open");
    assert!(read_until_closed(&mut silent, Duration::from_secs(5)).await.is_some(), "silent connection held open");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");
    // a prompt request is served as ever
    let mut prompt = TcpStream::connect(addr).await.unwrap();
    prompt.write_all(b"GET /healthz HTTP/1.1\r\nHost: daohu\r\n\r\n").await.unwrap();
    assert_eq!(status_within(&mut prompt, Duration::from_secs(5)).await, Some(200));
    // and then kept alive but idle: closed after the timeout too
    assert!(read_until_closed(&mut prompt, Duration::from_secs(5)).await.is_some(), "idle connection held open");
}

#[tokio::test]
async fn a_body_that_stalls_is_cut_off_after_the_timeout() {
    let (addr, _dir) = server(limits(10, 1, 64)).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: daohu\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"phone\":",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut slow, Duration::from_secs(6)).await;
    let took = started.elapsed();
    let answer = answer.expect("a stalled body held the connection");
    assert!(took >= Duration::from_millis(900), "{took:?}");
    // a plain 400 (not "too large"), if the answer gets out at all
    if let Some(code) = answer.get(9..12) {
        assert_eq!(code, "400", "{answer}");
    }
}

#[tokio::test]
async fn a_large_body_without_a_session_is_refused_before_it_is_read() {
    let (addr, _dir) = server(Limits::default()).await;
    // 100 KiB declared, not one byte of it sent: the answer comes at once
    let mut big = TcpStream::connect(addr).await.unwrap();
    big.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: daohu\r\nContent-Type: application/json\r\nContent-Length: 102400\r\n\r\n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    assert_eq!(status_within(&mut big, Duration::from_secs(2)).await, Some(413));
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    // the same without a length (chunked) stops at the limit
    let mut chunked = TcpStream::connect(addr).await.unwrap();
    let mut request =
        b"POST /api/auth/enroll HTTP/1.1\r\nHost: daohu\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let piece = vec![b' '; 8192];
    for _ in 0..4 {
        request.extend(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend(&piece);
        request.extend(b"\r\n");
    }
    chunked.write_all(&request).await.unwrap();
    assert_eq!(status_within(&mut chunked, Duration::from_secs(5)).await, Some(413));
    // a sign-in body well under the limit is read as before (wrong password: 401)
    let login = format!("{{\"phone\":\"13800000000\",\"password\":\"{}\"}}", "x".repeat(ANONYMOUS_BODY_LIMIT / 2));
    let mut ok = TcpStream::connect(addr).await.unwrap();
    ok.write_all(
        format!(
            "POST /api/auth/login HTTP/1.1\r\nHost: daohu\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{login}",
            login.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let code = status_within(&mut ok, Duration::from_secs(10)).await.unwrap();
    assert!(code != 413 && (400..500).contains(&code), "{code}");
    // with a bearer token the API's own limit (2 MiB) applies: 100 KiB is read (and
    // the unknown token answered 401)
    let body = format!("{{\"device_id\":\"x\",\"visits\":[],\"pad\":\"{}\"}}", "x".repeat(100 * 1024));
    let mut authed = TcpStream::connect(addr).await.unwrap();
    authed
        .write_all(
            format!(
                "POST /api/sync/visits HTTP/1.1\r\nHost: daohu\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                "ab".repeat(32),
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(status_within(&mut authed, Duration::from_secs(10)).await, Some(401));
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_one() {
    let (addr, _dir) = server(limits(20, 30, 2)).await;
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: daohu\r\n\r\n").await.unwrap();
    assert_eq!(status_within(&mut third, Duration::from_millis(800)).await, None, "served past the limit");
    // one of the two leaves: the waiting connection is served
    drop(first);
    let mut third = third;
    assert_eq!(status_within(&mut third, Duration::from_secs(5)).await, Some(200));
}
