//! Helpers of the reliability tests, which talk to a server over real loopback
//! sockets: a small HTTP/1 client (hyper), simulated phones that keep an outbox
//! and retry like the app, a server in this process on a loopback port, and the
//! final check of the database (nothing lost, nothing twice, nothing half-written).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{header, Method, Request};
use chrono::{DateTime, NaiveDate, Utc};
use daohu_domain::{
    ProblemCategory, ProblemEntry, ProblemOutcome, ReceiptStatus, SectionState, SyncResponse,
    Urgency, Visit,
};
use daohu_server::auth::sha256_hex;
use daohu_server::seed::{household_id, member_id};
use daohu_server::{app, AppState};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::json;
use daohu_server::db::Pool;
use uuid::Uuid;

/// An answer: status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

/// One request on a fresh connection (`Connection: close`), the whole exchange
/// bounded by `timeout`. Any transport failure is an `Err` with a short reason.
pub async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Reply, String> {
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let driver = tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, addr.to_string())
            .header(header::CONNECTION, "close");
        for (name, value) in headers {
            builder = builder.header(*name, value.as_str());
        }
        let req = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request: {e}"))?;
        let result = async {
            let res = sender
                .send_request(req)
                .await
                .map_err(|e| format!("send: {e}"))?;
            let status = res.status().as_u16();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes();
            Ok(Reply { status, body })
        }
        .await;
        driver.abort();
        result
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or_else(|_| Err("timeout".into()))
}

/// A JSON POST with a bearer token.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    token: &str,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<Reply, String> {
    request(
        addr,
        Method::POST,
        path,
        &[
            ("authorization", format!("Bearer {token}")),
            ("content-type", "application/json".into()),
        ],
        body.to_string().into_bytes(),
        timeout,
    )
    .await
}

/// The app over `state`, served on a loopback port by this process.
pub async fn serve_in_process(state: AppState) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        daohu_server::listen::serve(listener, app(state), Default::default(), std::future::pending())
            .await
            .unwrap();
    });
    (addr, handle)
}

/// What one demo account may record: its households.
pub fn households_of(member: u128) -> Vec<Uuid> {
    let range = match member {
        1 => 0..10,
        2 => 20..30,
        3 => 40..60,
        21 => 60..65,
        other => panic!("account {other} does not record visits"),
    };
    range.map(household_id).collect()
}

/// The phones of the tests: `count` phones spread over the four demo accounts that
/// record visits (张, 李, 王, 周), each account with one session shared by its phones.
pub fn phone_accounts(count: usize) -> Vec<u128> {
    [1u128, 2, 3, 21].into_iter().cycle().take(count).collect()
}

/// A valid visit, the `n`th of phone `phone`: unique id per (phone, n), some with a
/// problem, some Chinese text (so a cut body can split a character).
pub fn field_visit(phone: u16, n: u32, household: Uuid, member: Uuid) -> Visit {
    let millis = 1_773_000_000_000 + u64::from(phone) * 10_000_000 + u64::from(n);
    let mut random = [0u8; 10];
    random[..2].copy_from_slice(&phone.to_be_bytes());
    random[2..6].copy_from_slice(&n.to_be_bytes());
    random[9] = 0xa5;
    let id = daohu_domain::uuid_v7(millis, random);
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Days::new(u64::from(n % 28));
    let recorded = DateTime::<Utc>::from_timestamp_millis(millis as i64).unwrap();
    let mut v = Visit::new(id, household, member, day, recorded);
    for (i, s) in v.sections.iter_mut().enumerate() {
        s.state = Some(if (n as usize + i).is_multiple_of(4) {
            SectionState::NextTime
        } else {
            SectionState::Done
        });
        s.notes = format!("第{n}次走访，事项{i}");
    }
    v.summary = format!("手机{phone}的第{n}条记录：一切正常，群众满意。");
    if n.is_multiple_of(3) {
        random[9] = 0x5a;
        v.problems.push(ProblemEntry {
            id: daohu_domain::uuid_v7(millis, random),
            category: ProblemCategory::Water,
            urgency: Urgency::Normal,
            description: format!("第{n}户自来水压力不足"),
            outcome: ProblemOutcome::Escalate,
            action: String::new(),
        });
    }
    assert!(v.validate().is_ok(), "test visit invalid");
    v
}

/// Counters of one phone.
#[derive(Clone, Debug, Default)]
pub struct PhoneStats {
    pub requests: u64,
    /// Requests that got no usable answer (refused, reset, cut, timed out, non-200).
    pub failed: u64,
    pub stored: u64,
    /// Receipts saying the record had been stored before: a retry after a lost answer.
    pub duplicate: u64,
    /// Conflict or rejected receipts: never expected here.
    pub unexpected: Vec<String>,
}

/// A simulated phone: records visits into its outbox and uploads them in
/// batches; a record leaves the outbox only with a `stored` / `duplicate` receipt.
pub struct Phone {
    pub index: u16,
    pub token: String,
    pub device: Uuid,
    pub member: Uuid,
    pub households: Vec<Uuid>,
    pub outbox: Vec<Visit>,
    pub recorded: Vec<Visit>,
    pub stats: PhoneStats,
}

impl Phone {
    pub fn new(index: u16, account: u128, token: String) -> Phone {
        Phone {
            index,
            token,
            device: Uuid::from_u128(0x00de_71ce_0000 + u128::from(index)),
            member: member_id(account),
            households: households_of(account),
            outbox: Vec::new(),
            recorded: Vec::new(),
            stats: PhoneStats::default(),
        }
    }

    /// Records one more visit (saved on the phone, waiting in the outbox).
    pub fn record(&mut self) {
        let n = self.recorded.len() as u32;
        let household = self.households[n as usize % self.households.len()];
        let v = field_visit(self.index, n, household, self.member);
        self.outbox.push(v.clone());
        self.recorded.push(v);
    }

    /// One upload attempt of up to `batch` records from the outbox.
    pub async fn sync_once(
        &mut self,
        addr: SocketAddr,
        batch: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        let take = batch.min(self.outbox.len());
        if take == 0 {
            return Ok(());
        }
        let visits = &self.outbox[..take];
        self.stats.requests += 1;
        let body = json!({ "device_id": self.device, "visits": visits });
        let reply = match post_json(addr, "/api/sync/visits", &self.token, &body, timeout).await {
            Ok(r) if r.status == 200 => r,
            Ok(r) => {
                self.stats.failed += 1;
                return Err(format!(
                    "status {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ));
            }
            Err(e) => {
                self.stats.failed += 1;
                return Err(e);
            }
        };
        let response: SyncResponse = serde_json::from_slice(&reply.body)
            .map_err(|e| format!("answer is not a SyncResponse: {e}"))?;
        assert_eq!(response.receipts.len(), take, "one receipt per record");
        let mut acknowledged = Vec::new();
        for (visit, receipt) in visits.iter().zip(&response.receipts) {
            assert_eq!(visit.id, receipt.id, "receipts in order");
            match receipt.status {
                ReceiptStatus::Stored => self.stats.stored += 1,
                ReceiptStatus::Duplicate => self.stats.duplicate += 1,
                other => self
                    .stats
                    .unexpected
                    .push(format!("{} {other:?} {:?}", visit.id, receipt.reason)),
            }
            if receipt.acknowledges() {
                acknowledged.push(visit.id);
            }
        }
        self.outbox.retain(|v| !acknowledged.contains(&v.id));
        Ok(())
    }
}

/// What the database holds compared with what the phones recorded.
#[derive(Debug, Default)]
pub struct Verdict {
    pub integrity: String,
    pub rows: i64,
    pub distinct_ids: i64,
    pub expected: usize,
    pub missing: usize,
    pub unexpected: usize,
    /// Ids with more than one row (impossible by the primary key, counted anyway).
    pub duplicated: i64,
    /// Rows whose body is not a visit, whose hash is not the body's, or whose body
    /// is not what the phone sent.
    pub half_written: Vec<String>,
    pub problem_rows: i64,
    pub problems_expected: usize,
    pub problem_mismatches: Vec<String>,
}

impl Verdict {
    pub fn is_perfect(&self) -> bool {
        self.integrity == "ok"
            && self.rows as usize == self.expected
            && self.distinct_ids as usize == self.expected
            && self.missing == 0
            && self.unexpected == 0
            && self.duplicated == 0
            && self.half_written.is_empty()
            && self.problem_rows as usize == self.problems_expected
            && self.problem_mismatches.is_empty()
    }
}

/// Checks every visit row and problem row against what the phones recorded.
pub async fn verify(pool: &Pool, recorded: &[Visit]) -> Verdict {
    let expected: HashMap<String, &Visit> =
        recorded.iter().map(|v| (v.id.to_string(), v)).collect();
    assert_eq!(
        expected.len(),
        recorded.len(),
        "test made the same id twice"
    );
    let mut verdict = Verdict {
        expected: expected.len(),
        ..Verdict::default()
    };
    verdict.integrity = match daohu_server::store::dialect_of_pool(pool) {
        daohu_server::db::Dialect::Sqlite => sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(pool)
            .await
            .unwrap(),
        // PostgreSQL checks its pages itself (and has no such statement).
        daohu_server::db::Dialect::Postgres => "ok".to_string(),
    };
    (verdict.rows, verdict.distinct_ids) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT id) FROM visits")
            .fetch_one(pool)
            .await
            .unwrap();
    verdict.duplicated = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT id FROM visits GROUP BY id HAVING COUNT(*) > 1) AS twice",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, content_hash, body FROM visits ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut seen = std::collections::HashSet::new();
    for (id, hash, body) in &rows {
        seen.insert(id.clone());
        let Some(sent) = expected.get(id) else {
            verdict.unexpected += 1;
            continue;
        };
        let parsed: Result<Visit, _> = serde_json::from_str(body);
        if parsed.as_ref().ok() != Some(*sent) {
            verdict
                .half_written
                .push(format!("{id}: body is not the visit sent"));
        }
        if sha256_hex(body.as_bytes()) != *hash {
            verdict
                .half_written
                .push(format!("{id}: content_hash is not the body's"));
        }
        if *body != serde_json::to_string(*sent).unwrap() {
            verdict
                .half_written
                .push(format!("{id}: body differs from the JSON sent"));
        }
    }
    verdict.missing = expected.keys().filter(|id| !seen.contains(*id)).count();

    // problems: exactly the problems of the stored visits, each on its visit
    let problems: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
        "SELECT id, visit_id, household_id, category, description, outcome, action FROM problems",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    verdict.problem_rows = problems.len() as i64;
    let mut wanted: BTreeMap<String, (String, &ProblemEntry, Uuid)> = BTreeMap::new();
    for v in recorded {
        for p in &v.problems {
            wanted.insert(p.id.to_string(), (v.id.to_string(), p, v.household_id));
        }
    }
    verdict.problems_expected = wanted.len();
    for (id, visit_id, household, category, description, outcome, action) in &problems {
        match wanted.get(id) {
            Some((v, p, h))
                if v == visit_id
                    && h.to_string() == *household
                    && p.category.as_str() == category
                    && p.description == *description
                    && p.outcome.as_str() == outcome
                    && p.action == *action => {}
            _ => verdict
                .problem_mismatches
                .push(format!("problem {id} of visit {visit_id}")),
        }
    }
    verdict
}

/// A deterministic source of choices for a test (seeded `StdRng`).
pub fn rng(seed: u64) -> rand::rngs::StdRng {
    <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed)
}

/// Resident memory of this process in KiB (`VmRSS` of /proc/self/status).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
