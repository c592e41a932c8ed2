//! A bad network between the phones and the server: a TCP proxy on loopback that,
//! for a seeded share of connections, drops the request before forwarding it, cuts
//! the request body in the middle, or forwards the request and throws the answer
//! away after the server committed; every connection gets random delays.
//! 1,000 records on 10 phones, three seeds: every record ends up on the server
//! exactly once and every outbox empties.

mod field;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use field::{phone_accounts, rng, serve_in_process, verify, Phone};
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SEEDS: [u64; 3] = [1, 2, 3];
const PHONES: usize = 10;
const RECORDS_PER_PHONE: usize = 100;
const BATCH: usize = 10;
/// Biggest request the proxy reads (uploads are far smaller).
const MAX_REQUEST: usize = 4 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Pass,
    /// Read the request, then close both ways without forwarding anything.
    DropRequest,
    /// Forward the headers and half the body, then hang up on both sides.
    CutBody,
    /// Forward the whole request, wait for the whole answer, then hang up on the phone.
    DropAnswer,
}

#[derive(Default)]
struct ProxyStats {
    connections: AtomicU64,
    pass: AtomicU64,
    drop_request: AtomicU64,
    cut_body: AtomicU64,
    drop_answer: AtomicU64,
    /// What the server answered to a cut body (the phone never sees it).
    cut_answered_4xx: AtomicU64,
    cut_answered_other: AtomicU64,
    cut_unanswered: AtomicU64,
}

/// Reads one HTTP/1 request (headers and `Content-Length` body) from the phone.
async fn read_request(client: &mut TcpStream) -> Option<(Vec<u8>, usize)> {
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16384];
    let mut head_end = None;
    let mut length = 0usize;
    loop {
        if let Some(end) = head_end {
            if buf.len() >= end + length {
                return Some((buf, end));
            }
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
        let n = client.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if head_end.is_none() {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let end = pos + 4;
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                head_end = Some(end);
            }
        }
    }
}

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    fate: Fate,
    delays: [u64; 2],
    stats: Arc<ProxyStats>,
) {
    let Ok(Some((request, head_end))) =
        tokio::time::timeout(Duration::from_secs(10), read_request(&mut client)).await
    else {
        return;
    };
    tokio::time::sleep(Duration::from_millis(delays[0])).await;
    if fate == Fate::DropRequest {
        return; // both sockets close here
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if fate == Fate::CutBody {
        let body_len = request.len() - head_end;
        let cut = head_end + body_len / 2;
        let _ = server.write_all(&request[..cut]).await;
        // the server sees the body end early; what does it say? (the phone hears nothing)
        let _ = server.shutdown().await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), server.read_to_end(&mut answer)).await;
        let status = std::str::from_utf8(answer.get(9..12).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse::<u16>().ok());
        let counter = match status {
            Some(400..=499) => &stats.cut_answered_4xx,
            Some(_) => &stats.cut_answered_other,
            None => &stats.cut_unanswered,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if server.write_all(&request).await.is_err() {
        return;
    }
    // the phone asked for `Connection: close`, so the answer ends when the server hangs up
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), server.read_to_end(&mut answer)).await;
    if !matches!(read, Ok(Ok(_))) {
        return;
    }
    if fate == Fate::DropAnswer {
        return; // committed on the server, never heard of on the phone
    }
    tokio::time::sleep(Duration::from_millis(delays[1])).await;
    let _ = client.write_all(&answer).await;
    let _ = client.shutdown().await;
}

/// The proxy: accepts until the listener task is aborted; fates drawn in accept order.
async fn proxy(listener: TcpListener, upstream: SocketAddr, seed: u64, stats: Arc<ProxyStats>) {
    let mut rng = rng(seed);
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let roll: f64 = rng.gen();
        let fate = if roll < 0.15 {
            stats.drop_request.fetch_add(1, Ordering::Relaxed);
            Fate::DropRequest
        } else if roll < 0.30 {
            stats.cut_body.fetch_add(1, Ordering::Relaxed);
            Fate::CutBody
        } else if roll < 0.45 {
            stats.drop_answer.fetch_add(1, Ordering::Relaxed);
            Fate::DropAnswer
        } else {
            stats.pass.fetch_add(1, Ordering::Relaxed);
            Fate::Pass
        };
        let delays = [rng.gen_range(0..30), rng.gen_range(0..30)];
        tokio::spawn(handle(client, upstream, fate, delays, stats.clone()));
    }
}

async fn run(seed: u64) {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let state = daohu_server::test_state(dir.path()).await.unwrap();
    let (server_addr, server) = serve_in_process(state.clone()).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = listener.local_addr().unwrap();
    let stats = Arc::new(ProxyStats::default());
    let proxy_task = tokio::spawn(proxy(listener, server_addr, seed, stats.clone()));

    let mut tasks = Vec::new();
    for (i, account) in phone_accounts(PHONES).into_iter().enumerate() {
        let (token, _) = daohu_server::auth::create_session(
            &state.pool,
            daohu_server::seed::member_id(account),
            chrono::Duration::hours(1),
        )
        .await
        .unwrap();
        let mut phone = Phone::new(i as u16, account, token);
        for _ in 0..RECORDS_PER_PHONE {
            phone.record();
        }
        let mut backoff = rng(seed * 1000 + i as u64);
        tasks.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(90);
            for _ in 0..5_000 {
                if phone.outbox.is_empty() || Instant::now() > deadline {
                    break;
                }
                if phone
                    .sync_once(proxy_addr, BATCH, Duration::from_secs(5))
                    .await
                    .is_err()
                {
                    tokio::time::sleep(Duration::from_millis(backoff.gen_range(5..40))).await;
                }
            }
            phone
        }));
    }
    let mut recorded = Vec::new();
    let mut phones = Vec::new();
    for task in tasks {
        let phone = task.await.unwrap();
        assert!(
            phone.outbox.is_empty(),
            "seed {seed}: phone {} still holds {} records",
            phone.index,
            phone.outbox.len()
        );
        assert!(
            phone.stats.unexpected.is_empty(),
            "{:?}",
            phone.stats.unexpected
        );
        recorded.extend(phone.recorded.iter().cloned());
        phones.push(phone.stats);
    }
    proxy_task.abort();
    server.abort();

    let verdict = verify(&state.pool, &recorded).await;
    let sum = |f: fn(&field::PhoneStats) -> u64| phones.iter().map(f).sum::<u64>();
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "bad network, seed {seed}: {} connections (passed {}, request dropped {}, body cut {} \
         (server answered {} of them 4xx, {} otherwise, {} not at all), answer dropped after commit {}); {} upload requests, {} failed, {} stored receipts, \
         {} duplicate receipts; database: {} rows, {} distinct ids of {} recorded, {} missing, \
         {} duplicated, {} half-written, {} problem rows (expected {}); {:.1} s",
        get(&stats.connections),
        get(&stats.pass),
        get(&stats.drop_request),
        get(&stats.cut_body),
        get(&stats.cut_answered_4xx),
        get(&stats.cut_answered_other),
        get(&stats.cut_unanswered),
        get(&stats.drop_answer),
        sum(|s| s.requests),
        sum(|s| s.failed),
        sum(|s| s.stored),
        sum(|s| s.duplicate),
        verdict.rows,
        verdict.distinct_ids,
        recorded.len(),
        verdict.missing,
        verdict.duplicated,
        verdict.half_written.len(),
        verdict.problem_rows,
        verdict.problems_expected,
        started.elapsed().as_secs_f64(),
    );
    assert_eq!(recorded.len(), PHONES * RECORDS_PER_PHONE);
    assert!(verdict.is_perfect(), "seed {seed}: {verdict:#?}");
    assert_eq!(verdict.distinct_ids, 1_000);
    assert_eq!(
        (sum(|s| s.stored) + sum(|s| s.duplicate)) as usize,
        recorded.len(),
        "each record acknowledged once"
    );
    // every kind of fault happened, or the run proved less than it says
    for (what, n) in [
        ("request dropped", get(&stats.drop_request)),
        ("body cut", get(&stats.cut_body)),
        ("answer dropped", get(&stats.drop_answer)),
    ] {
        assert!(n > 0, "seed {seed}: no connection had “{what}”");
    }
    assert!(
        sum(|s| s.duplicate) > 0,
        "seed {seed}: no answer lost after a commit"
    );
    assert_eq!(
        get(&stats.cut_answered_other),
        0,
        "seed {seed}: a cut body got a non-4xx answer"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_records_through_a_bad_network_arrive_exactly_once() {
    for seed in SEEDS {
        run(seed).await;
    }
}
