//! County-scale benchmark (issue 8, SQLite; not a test): generates a county
//! (`daohu_server::scale`, default the largest in the domain: 247 villages, 2,425
//! grids, 12,761 members, 245,641 households, 1,000,000 visits) into a temporary
//! SQLite database, serves the app on a loopback port and measures, in one run:
//!
//! 1. ingest through `POST /api/sync/visits`: P phones at once (each signed in as a
//!    different generated member, sessions written straight into `sessions` as
//!    sign-in would: SHA-256 of the token only), each uploading K batches of B new
//!    valid visits of its own households, over its own keep-alive connection;
//! 2. the same number of rows written straight into the same database without HTTP,
//!    one transaction per batch: (a) the upload's SQL (device, visits, problems,
//!    audit) and (b) the upload's own `store_visits` (plus validation and reach);
//! 3. sync-down: `GET /api/roster` for a member and for the grid leader of a grid
//!    with 1,000 households — time and bytes, gzip and plain;
//! 4. `GET /api/dashboard` and `GET /api/visits` with filters at county, township
//!    and village scope (median of up to 5), with the query plans.
//!
//! `cargo run --release -p daohu-server --example scale_bench -- [--households N]
//! [--visits N] [--phones 200] [--batch 20] [--batches-per-phone 5]
//! [--export csv,jsonl,xlsx | -] [--queries-only] [--instances 1]`
//! (`--queries-only` with `--database-url`: the queries and exports alone, on a
//! county an earlier run left in that database)
//! (`BENCH_DB=path` keeps the database for a look with sqlite3.)
//! (`--instances N`: N servers, each an `AppState` over its own pool to the same
//! database, as N server processes would be, each on its own loopback port; the
//! ingest step's phones are dealt round-robin between them, in passes that
//! alternate with passes through the first alone: 1, N, 1, N, and the ratio of the
//! means. Sync-down, queries and exports use the first. Default 1.)
//! `--database-url postgres://…` runs it all on PostgreSQL instead (the database
//! named must be empty; `scripts/scale-bench.sh` starts a throwaway server).

use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use daohu_domain::{ReceiptStatus, SyncBatch, SyncResponse, VisitFilter};
use daohu_server::db::{self, ts};
use daohu_server::scale::{self, CountyIds, ScaleAccount, ScaleRng, ScaleSpec};
use daohu_server::scope::Subtree;
use daohu_server::{app, AppState, Settings};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

struct Args {
    households: usize,
    visits: usize,
    phones: usize,
    batch: usize,
    batches_per_phone: usize,
    database_url: Option<String>,
    /// Export formats to download at the end (`-`: none).
    export: Vec<String>,
    /// Only the queries and exports, on the county already in `--database-url`.
    queries_only: bool,
    /// Server instances the ingest step's phones are spread over, each with its own pool.
    instances: usize,
}

fn args() -> Args {
    let full = ScaleSpec::largest_county();
    let mut a = Args {
        households: full.households,
        visits: full.visits,
        phones: 200,
        batch: 20,
        batches_per_phone: 5,
        database_url: None,
        export: vec!["csv".into(), "jsonl".into(), "xlsx".into()],
        queries_only: false,
        instances: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--database-url" {
            a.database_url = it.next();
            continue;
        }
        if flag == "--queries-only" {
            a.queries_only = true;
            continue;
        }
        if flag == "--export" {
            let list = it.next().unwrap_or_default();
            a.export = list.split(',').filter(|f| !f.is_empty() && *f != "-").map(str::to_string).collect();
            continue;
        }
        let value: usize = it
            .next()
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or_else(|| panic!("{flag} needs a number"));
        match flag.as_str() {
            "--households" => a.households = value,
            "--visits" => a.visits = value,
            "--phones" => a.phones = value,
            "--batch" => a.batch = value,
            "--batches-per-phone" => a.batches_per_phone = value,
            "--instances" => a.instances = value,
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(a.instances >= 1, "--instances needs at least 1");
    a
}

mod bench_common;

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(port: u16) -> Sender {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// One request on a connection; answers the status and the body as sent (compressed or not).
async fn send(
    sender: &mut Sender,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Bytes>,
    gzip: bool,
) -> (u16, Bytes) {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {token}"));
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let req = req.body(Full::new(body.unwrap_or_default())).unwrap();
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, bytes)
}

/// A GET on a fresh connection: status, body bytes on the wire, body, seconds.
async fn get(port: u16, path: &str, token: &str, gzip: bool) -> (u16, usize, Bytes, f64) {
    let t = Instant::now();
    let mut sender = connect(port).await;
    let (status, body) = send(&mut sender, "GET", path, token, None, gzip).await;
    (status, body.len(), body, t.elapsed().as_secs_f64())
}

/// Uploads every phone's batches at once, phone `i` through `ports[i % len]`,
/// each over its own keep-alive connection: (visits stored, seconds, latencies).
async fn ingest(ports: &[u16], http_batches: Vec<Vec<Bytes>>, tokens: &[String]) -> (usize, f64, Vec<f64>) {
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (i, (bodies, token)) in http_batches.into_iter().zip(tokens.iter().cloned()).enumerate() {
        let port = ports[i % ports.len()];
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(port).await;
            let mut latencies = Vec::new();
            let mut stored = 0usize;
            for body in bodies {
                let t = Instant::now();
                let (status, answer) = send(&mut sender, "POST", "/api/sync/visits", &token, Some(body), false).await;
                latencies.push(t.elapsed().as_secs_f64());
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
                let response: SyncResponse = serde_json::from_slice(&answer).unwrap();
                for r in &response.receipts {
                    assert_eq!(r.status, ReceiptStatus::Stored, "{r:?}");
                }
                stored += response.receipts.len();
            }
            (stored, latencies)
        }));
    }
    let mut stored = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        let (s, l) = task.await.unwrap();
        stored += s;
        latencies.extend(l);
    }
    (stored, t.elapsed().as_secs_f64(), latencies)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// `batches` batches of `batch` new visits of the phone's own households, saved today.
fn phone_batches(rng: &mut ScaleRng, phone: &ScaleAccount, ids: &CountyIds, batches: usize, batch: usize) -> Vec<SyncBatch> {
    let today = Utc::now().date_naive();
    (0..batches)
        .map(|b| SyncBatch {
            device_id: phone.device_id,
            visits: (0..batch)
                .map(|i| {
                    let h = phone.households[(b * batch + i) % phone.households.len()] as usize;
                    let recorded = db::now() - Duration::minutes((batches * batch - b * batch - i) as i64);
                    scale::make_visit(rng, ids.households[h], phone.id, today, recorded, 0.03)
                })
                .collect(),
        })
        .collect()
}

async fn direct_raw(pool: &daohu_server::db::Pool, user: &daohu_server::AuthUser, batch: &SyncBatch) {
    let now = db::now();
    let mut tx = daohu_server::store::begin_write(pool).await.unwrap();
    daohu_server::store::visits::device_synced(&mut tx, batch.device_id, user.id, now).await.unwrap();
    for visit in &batch.visits {
        let body = serde_json::to_string(visit).unwrap();
        let hash = daohu_server::auth::sha256_hex(body.as_bytes());
        let n = sqlx::query(
            "INSERT INTO visits (id, household_id, member_id, device_id, visited_on, recorded_at,
                                 received_at, content_hash, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(visit.id.to_string())
        .bind(visit.household_id.to_string())
        .bind(visit.member_id.to_string())
        .bind(batch.device_id.to_string())
        .bind(visit.visited_on.to_string())
        .bind(ts(visit.recorded_at))
        .bind(ts(now))
        .bind(&hash)
        .bind(&body)
        .execute(&mut *tx)
        .await
        .unwrap()
        .rows_affected();
        assert_eq!(n, 1);
        daohu_server::problems::insert_from_visit(&mut tx, visit, now).await.unwrap();
    }
    daohu_server::audit::record(
        &mut tx,
        Some(user.id),
        "sync_visits",
        json!({"device_id": batch.device_id, "stored": batch.visits.len(), "duplicate": 0, "conflict": 0, "rejected": 0}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn direct_store(pool: &daohu_server::db::Pool, user: &daohu_server::AuthUser, batch: &SyncBatch) {
    let now = db::now();
    let mut tx = daohu_server::store::begin_write(pool).await.unwrap();
    daohu_server::store::visits::device_synced(&mut tx, batch.device_id, user.id, now).await.unwrap();
    let receipts = daohu_server::routes::sync::store_visits(&mut tx, user, batch.device_id, &batch.visits, now)
        .await
        .unwrap();
    assert!(receipts.iter().all(|r| r.status == ReceiptStatus::Stored), "{receipts:?}");
    daohu_server::audit::record(
        &mut tx,
        Some(user.id),
        "sync_visits",
        json!({"device_id": batch.device_id, "stored": receipts.len(), "duplicate": 0, "conflict": 0, "rejected": 0}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn plan(conn: &mut daohu_server::db::Conn, sql: &str, args: sqlx::any::AnyArguments<'static>) -> String {
    if daohu_server::store::dialect_of(conn) == db::Dialect::Postgres {
        let rows: Vec<String> = sqlx::query_scalar_with(&format!("EXPLAIN {sql}"), args)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        return rows.iter().map(|r| r.trim()).collect::<Vec<_>>().join(" | ");
    }
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as_with(&format!("EXPLAIN QUERY PLAN {sql}"), args)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    rows.iter().map(|r| r.3.as_str()).collect::<Vec<_>>().join(" | ")
}

fn binds(values: &[&str]) -> sqlx::any::AnyArguments<'static> {
    use sqlx::Arguments;
    let mut a = sqlx::any::AnyArguments::default();
    for v in values {
        a.add(v.to_string()).unwrap();
    }
    a
}

/// Whom and what the queries ask about, read from the database (so a county an
/// earlier run generated serves as well as a new one).
struct Who {
    coordinator: uuid::Uuid,
    coordinator_path: String,
    township: uuid::Uuid,
    village: uuid::Uuid,
    /// A member of `village`, and one of their linked households.
    member: uuid::Uuid,
    household: uuid::Uuid,
    /// The latest visit date.
    last: chrono::NaiveDate,
}

impl Who {
    async fn load(pool: &daohu_server::db::Pool) -> Who {
        let one = |sql: &'static str| async move {
            let v: String = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
            v
        };
        let id = |s: String| uuid::Uuid::parse_str(&s).unwrap();
        let (coordinator, coordinator_path): (String, String) = sqlx::query_as(
            "SELECT m.id, u.path FROM members m JOIN units u ON u.id = m.unit_id
             WHERE m.role = 'county_coordinator' ORDER BY m.rowid LIMIT 1",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        let township = one("SELECT id FROM units WHERE kind = 'township' ORDER BY rowid LIMIT 1 OFFSET 1").await;
        let village = one("SELECT id FROM units WHERE kind = 'village' ORDER BY rowid LIMIT 1 OFFSET 1").await;
        let (member, household): (String, String) = sqlx::query_as(
            "SELECT m.id, mh.household_id FROM members m JOIN units g ON g.id = m.unit_id
             JOIN member_households mh ON mh.member_id = m.id
             WHERE g.parent_id = $1 AND m.role = 'member' ORDER BY m.rowid, mh.household_id LIMIT 1",
        )
        .bind(&village)
        .fetch_one(pool)
        .await
        .unwrap();
        let last = one("SELECT MAX(visited_on) FROM visits").await;
        Who {
            coordinator: id(coordinator),
            coordinator_path,
            township: id(township),
            village: id(village),
            member: id(member),
            household: id(household),
            last: last.parse().unwrap(),
        }
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    let full = ScaleSpec::largest_county();
    let spec = if a.households == full.households {
        ScaleSpec { visits: a.visits, ..full }
    } else {
        ScaleSpec::scaled(a.households, a.visits)
    };
    println!("spec: {spec:?}");
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("scale.sqlite3"));
    let pool = match &a.database_url {
        Some(url) => db::connect(url).await.unwrap(),
        None => {
            // `--queries-only` reads the county already at `BENCH_DB`.
            if !a.queries_only {
                let _ = std::fs::remove_file(&path);
            }
            db::connect_file(&path).await.unwrap()
        }
    };
    let dialect = daohu_server::store::dialect_of_pool(&pool);
    println!("database: {dialect:?}");
    let state = AppState::new(pool.clone(), Settings::default());
    // As `serve` does: the tallies' rows of changes folded every ten seconds.
    daohu_server::fold_tallies_in_background(pool.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, app(state)).await.unwrap();
    });
    // `--instances N`: N - 1 more servers on the same database, each with a pool of
    // its own (as another process would have; the schema is already migrated).
    let mut ports = vec![port];
    for _ in 1..a.instances {
        let url = a.database_url.clone().unwrap_or_else(|| db::file_url(&path));
        let state = AppState::new(db::connect(&url).await.unwrap(), Settings::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        ports.push(listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            axum::serve(listener, app(state)).await.unwrap();
        });
    }
    if !a.queries_only {
    let ids = scale::generate_county(&pool, &spec).await.unwrap();
    let bytes: i64 = match dialect {
        db::Dialect::Sqlite => {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await.unwrap();
            std::fs::metadata(&path).map(|m| m.len() as i64).unwrap_or(0)
        }
        db::Dialect::Postgres => sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&pool)
            .await
            .unwrap(),
    };
    println!(
        "database: {:.0} MB ({} households, {} members and grid leaders, {} visits, {} problems, {} activities)",
        bytes as f64 / 1e6,
        ids.households.len(),
        ids.members.len(),
        ids.visits,
        ids.problems,
        ids.activities
    );
    // The ledger before the sync-down, so a grid leader's roster carries it.
    generate_ledgers(&pool, dialect).await;
    generate_services_and_needs(&pool).await;


    // ---- 1. ingest over HTTP
    let plain: Vec<&ScaleAccount> = ids.members.iter().filter(|m| m.role == daohu_domain::Role::Member).collect();
    let phones: Vec<&ScaleAccount> = (0..a.phones.min(plain.len()))
        .map(|i| plain[i * plain.len() / a.phones.min(plain.len())])
        .collect();
    let mut tokens = Vec::new();
    for p in &phones {
        let (token, _) = daohu_server::auth::create_session(&pool, p.id, Duration::hours(4)).await.unwrap();
        tokens.push(token);
    }
    let n_rows = phones.len() * a.batches_per_phone * a.batch;
    println!(
        "\ningest: {} phones × {} batches × {} visits = {n_rows} visits a pass",
        phones.len(),
        a.batches_per_phone,
        a.batch,
    );
    // One pass through the first server; with `--instances N`, passes through the
    // first alone and through all N alternate (1, N, 1, N), each with new visits,
    // so the two compare within one run on one database.
    let plans: Vec<&[u16]> = if ports.len() > 1 {
        vec![&ports[..1], &ports[..], &ports[..1], &ports[..]]
    } else {
        vec![&ports[..]]
    };
    let mut rates_by_instances: Vec<(usize, f64)> = Vec::new();
    let mut http_rate = 0.0;
    for (pass, plan) in plans.into_iter().enumerate() {
        let mut rng = ScaleRng::new(1_001 + pass as u64 * 7_919);
        let http_batches: Vec<Vec<Bytes>> = phones
            .iter()
            .map(|p| {
                phone_batches(&mut rng, p, &ids, a.batches_per_phone, a.batch)
                    .iter()
                    .map(|b| Bytes::from(serde_json::to_vec(b).unwrap()))
                    .collect()
            })
            .collect();
        let body_bytes: usize = http_batches.iter().flatten().map(|b| b.len()).sum();
        let (stored, secs, latencies) = ingest(plan, http_batches, &tokens).await;
        let rate = stored as f64 / secs;
        if pass == 0 {
            http_rate = rate;
        }
        rates_by_instances.push((plan.len(), rate));
        println!(
            "  HTTP, {} instance(s): {stored} visits stored in {secs:.2} s = {rate:.0} visits/s ({:.0} batches/s, {:.1} KB each); batch latency median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
            plan.len(),
            latencies.len() as f64 / secs,
            body_bytes as f64 / (phones.len() * a.batches_per_phone) as f64 / 1e3,
            median(latencies.clone()) * 1e3,
            percentile(&latencies, 0.95) * 1e3,
            percentile(&latencies, 1.0) * 1e3
        );
    }
    if ports.len() > 1 {
        let mean = |n: usize| {
            let r: Vec<f64> = rates_by_instances.iter().filter(|(k, _)| *k == n).map(|(_, r)| *r).collect();
            r.iter().sum::<f64>() / r.len() as f64
        };
        let (one, many) = (mean(1), mean(ports.len()));
        println!(
            "  instances: 1 → {one:.0} visits/s, {} → {many:.0} visits/s (mean of two passes each): ratio {:.2}",
            ports.len(),
            many / one
        );
    }

    // ---- 2. the same number of rows straight into the database
    let mut rates = Vec::new();
    for (label, seed) in [("direct, upload SQL", 2_002u64), ("direct, store_visits", 3_003)] {
        let mut rng = ScaleRng::new(seed);
        let work: Vec<(daohu_server::AuthUser, Vec<SyncBatch>)> = phones
            .iter()
            .map(|p| (p.auth_user(), phone_batches(&mut rng, p, &ids, a.batches_per_phone, a.batch)))
            .collect();
        let t = Instant::now();
        // Phone after phone, batch after batch: one transaction per batch.
        for round in 0..a.batches_per_phone {
            for (user, batches) in &work {
                if seed == 2_002 {
                    direct_raw(&pool, user, &batches[round]).await;
                } else {
                    direct_store(&pool, user, &batches[round]).await;
                }
            }
        }
        let secs = t.elapsed().as_secs_f64();
        let rate = n_rows as f64 / secs;
        println!("  {label}: {n_rows} visits in {secs:.2} s = {rate:.0} visits/s");
        rates.push(rate);
    }
    println!(
        "  ratio HTTP / direct: {:.2} (upload SQL), {:.2} (store_visits)",
        http_rate / rates[0],
        http_rate / rates[1]
    );

    // ---- 3. sync-down
    println!("\nsync-down (GET /api/roster):");
    let member = plain[plain.len() / 3];
    let mut rosters: Vec<(&str, &ScaleAccount)> = vec![("member", member)];
    if let Some(g) = ids.big_grid {
        rosters.push(("grid leader", &ids.members[ids.grid_leaders[g]]));
    }
    for (label, who) in rosters {
        let (token, _) = daohu_server::auth::create_session(&pool, who.id, Duration::hours(1)).await.unwrap();
        let mut times = Vec::new();
        let (mut gz, mut raw, mut households, mut history) = (0, 0, 0, 0);
        for i in 0..5 {
            let (status, size, body, secs) = get(port, "/api/roster", &token, true).await;
            assert_eq!(status, 200);
            times.push(secs);
            gz = size;
            if i == 0 {
                let (_, size, body, _) = get(port, "/api/roster", &token, false).await;
                raw = size;
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let hs = v["households"].as_array().unwrap();
                households = hs.len();
                history = hs.iter().map(|h| h["history"].as_array().map_or(0, |a| a.len())).sum();
            }
            let _ = body;
        }
        println!(
            "  {label} ({households} households, {history} visits in history): median {:.0} ms, {:.1} KB gzip, {:.1} KB plain",
            median(times) * 1e3,
            gz as f64 / 1e3,
            raw as f64 / 1e3
        );
    }

    }

    // ---- 4. dashboard and visit log
    // Steady state for the planner: the bulk load's dead rows gone (autovacuum
    // does this on a live server), statistics fresh.
    let vacuum = match dialect {
        db::Dialect::Sqlite => "PRAGMA optimize",
        db::Dialect::Postgres => "VACUUM ANALYZE",
    };
    let t = Instant::now();
    sqlx::query(vacuum).execute(&pool).await.unwrap();
    println!("\n{vacuum}: {:.1} s", t.elapsed().as_secs_f64());
    generate_ledgers(&pool, dialect).await;
    generate_services_and_needs(&pool).await;
    let who = Who::load(&pool).await;
    let (token, _) = daohu_server::auth::create_session(&pool, who.coordinator, Duration::hours(2)).await.unwrap();
    let (village, township, household) = (who.village, who.township, who.household);
    let head: String = sqlx::query_scalar("SELECT head_name FROM households WHERE id = $1")
        .bind(household.to_string())
        .fetch_one(&pool)
        .await
        .unwrap();
    // The year up to the latest visit (uploads of the ingest step included), as
    // the dashboard's default period ends today.
    let (first, last) = (who.last - Duration::days(364), who.last);
    let month = last - Duration::days(29);
    let year = format!("from={first}&to={last}");
    let recent = format!("from={month}&to={last}");
    // Ends before the data does: households visited are counted from the visits.
    let past = format!("from={}&to={}", last - Duration::days(89), last - Duration::days(60));
    let scopes: [(&str, Option<uuid::Uuid>); 3] = [("county", None), ("township", Some(township)), ("village", Some(village))];
    let filters: Vec<(&str, String)> = vec![
        ("first page", String::new()),
        ("last 30 days", recent.clone()),
        ("group elderly_alone", "group=elderly_alone".into()),
        ("precise_service next_time", "section=precise_service&state=next_time".into()),
        ("q head's name", format!("q={}", percent(&head))),
        // In one summary of ten, and in a few section notes.
        ("q a common word", format!("q={}", percent("饮水"))),
        // In a section note of about one visit in fifteen.
        ("q a note's word", format!("q={}", percent("残疾证"))),
        // In a problem's description only, in about one visit in a hundred.
        ("q a problem's word", format!("q={}", percent("冻裂"))),
        ("state next_time", "state=next_time".into()),
        ("member_id", format!("member_id={}", who.member)),
        ("household_id", format!("household_id={household}")),
    ];
    println!("\nqueries (county coordinator; median of up to 5, ms; status 200 unless shown):");
    let mut summary: Vec<(String, f64)> = Vec::new();
    for (scope, unit) in &scopes {
        let unit_q = unit.map(|u| format!("unit_id={u}&")).unwrap_or_default();
        let mut lines = Vec::new();
        for (label, q) in [
            ("dashboard, year", &year),
            ("dashboard, 30 days", &recent),
            ("dashboard, a past month", &past),
        ] {
            let path = format!("/api/dashboard?{unit_q}{q}");
            lines.push((label.to_string(), path));
        }
        for (label, q) in &filters {
            lines.push((format!("visits, {label}"), format!("/api/visits?{unit_q}{q}")));
        }
        lines.push(("应享未享, every policy".into(), format!("/api/ledger/gaps?{unit_q}")));
        lines.push(("应享未享, 低保".into(), format!("/api/ledger/gaps?{unit_q}policy=dibao")));
        for (label, path) in lines {
            let mut times = Vec::new();
            let mut total = String::new();
            let started = Instant::now();
            while times.len() < 5 && (times.is_empty() || started.elapsed() < StdDuration::from_secs(15)) {
                let (status, _, body, secs) = get(port, &path, &token, false).await;
                assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
                times.push(secs);
                if total.is_empty() && path.starts_with("/api/visits") {
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    total = format!(" (total {})", v["total"]);
                }
            }
            let n = times.len();
            let m = median(times) * 1e3;
            println!("  {scope:>8} {label}: {m:.0} ms{total} [n={n}]");
            summary.push((format!("{scope} {label}"), m));
        }
    }
    let slow: Vec<&(String, f64)> = summary.iter().filter(|(_, m)| *m >= 200.0).collect();
    println!("  over 200 ms: {}", if slow.is_empty() { "none".to_string() } else { slow.iter().map(|(l, m)| format!("{l} {m:.0}")).collect::<Vec<_>>().join("; ") });

    // Plans at county scope.
    println!("\nquery plans (county):");
    let subtree = Subtree { path: who.coordinator_path.clone() };
    let (lo, hi) = (subtree.lo().to_string(), subtree.hi());
    let mut conn = pool.acquire().await.unwrap();
    for (label, q) in &filters {
        let filter: VisitFilter = serde_urlencoded_like(q);
        let query = daohu_server::visit_log::LogQuery::new(&mut conn, &subtree, &filter).await.unwrap();
        let (count_sql, count_args, _) = query.count(daohu_domain::LOG_COUNT_CAP);
        println!("  visits {label} count: {}", plan(&mut conn, &count_sql, count_args).await);
        println!("  visits {label} page:  {}", plan(&mut conn, &query.rows_sql(Some((50, 0))), query.arguments()).await);
    }
    let (f, l) = (first.to_string(), last.to_string());
    let county = subtree.unit_id().to_string();
    let child_at = (who.coordinator_path.len() + 1).to_string();
    // A past period's lines use the benchmark's past month, as its dashboard does.
    // The texts are the store's own, which the dashboard runs.
    use daohu_server::routes::dashboard::{MAX_OVERDUE, MAX_STALE};
    use daohu_server::store::reports;
    let idle = reports::idle_members_sql(dialect, true);
    let idle_past = reports::idle_members_sql(dialect, false);
    let visited_past = reports::visited_per_child_sql(dialect);
    let stale_sql = reports::stale_devices_sql(MAX_STALE);
    // Overdue on the period's last day by the default intervals (30 days, 14 for special groups).
    let overdue_sql = reports::overdue_households_sql(MAX_OVERDUE, &daohu_domain::Intervals::default(), last, "");
    let overdue_cut = reports::overdue_cut_sql(MAX_OVERDUE, &daohu_domain::Intervals::default(), last, dialect);
    let (pf, pl) = ((last - Duration::days(89)).to_string(), (last - Duration::days(60)).to_string());
    let unmatched_sql = daohu_server::store::matchups::unmatched_counts_sql(dialect);
    let dash: [(&str, &str, Vec<&str>); 16] = [
        ("later visits?", reports::UNIT_VISITED_AFTER, vec![&county, &l]),
        ("visits (tallies)", reports::VISITS_IN_PERIOD, vec![&county, &f, &l]),
        ("households+visited per child (tallies)", reports::households_per_child_sql(false), vec![&f, &county]),
        ("visited per child, from visit_numbers (a past period)", &visited_past, vec![&child_at, &lo, &hi, &pf, &pl]),
        ("idle", &idle, vec![&lo, &hi, &f]),
        ("idle, from visits (a past period)", &idle_past, vec![&pf, &pl, &lo, &hi]),
        ("open problems per level", daohu_server::store::problems::LEVEL_COUNTS, vec![&l, &lo, &hi]),
        ("overdue, every household read (a village's way)", &overdue_sql, vec![&lo, &hi]),
        ("overdue: the page's last special household (a county's or township's first step)", &overdue_cut, vec![&lo, &hi]),
        ("services by kind (tallies)", daohu_server::store::visits::SERVICE_TALLIES, vec![&county, &f, &l]),
        ("services by kind, from the rows (a past period)", daohu_server::store::visits::SERVICE_COUNTS, vec![&pf, &pl, &lo, &hi]),
        ("unmatched needs, now and recorded in the period", &unmatched_sql, vec![&lo, &hi, &f, &l]),
        ("recorded in the period (ledger_days)", daohu_server::store::ledger::RECORDED_COUNTS, vec![&county, &f, &l]),
        ("应享未享 per policy (policy_tallies)", daohu_server::store::ledger::GAP_COUNTS[0], vec![&county]),
        ("applications per policy and day (policy_tallies)", daohu_server::store::ledger::GAP_COUNTS[1], vec![&county]),
        ("stale devices (the oldest 200, and how many)", &stale_sql, vec![&lo, &hi, &l]),
    ];
    for (label, sql, values) in dash {
        // The statement alone, without HTTP (median of 3), to see where the dashboard's time goes.
        let mut times = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            sqlx::query_with(sql, binds(&values)).fetch_all(&mut *conn).await.unwrap();
            times.push(t.elapsed().as_secs_f64());
        }
        println!(
            "  dashboard {label} ({:.0} ms alone): {}",
            median(times) * 1e3,
            plan(&mut conn, sql, binds(&values)).await
        );
    }
    drop(conn);

    // ---- 5. export of every visit, county-wide, over HTTP
    let visits_now: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits").fetch_one(&pool).await.unwrap();
    println!("\nexport (county coordinator, every visit: {visits_now}):");
    println!("  peak RSS before the downloads: {} MiB", bench_common::peak_rss_kb() / 1024);
    for format in &a.export {
        bench_common::measure_export(port, &token, format, visits_now as u64).await;
    }
}

/// Percent-encodes a query value (UTF-8 bytes outside unreserved ASCII).
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The filter a bench query string stands for (the few keys used here).
/// Fills the household ledger, unless it holds anything: each household's twelve
/// demo policies (8 % 应享未享, 4 % applying since up to 90 days before the last
/// day, 28 % receiving, the rest not eligible or unknown) and its ten profile
/// facts (housing, water, people at home, illness, disability, income, road,
/// heating, contact), as changes by the county coordinator and their current
/// values. SQL alone, a statement a table: about 5.4 million rows each at full size.
async fn generate_ledgers(pool: &db::Pool, dialect: db::Dialect) {
    // The demo catalogue for the county, as a new county gets it.
    let county: String = sqlx::query_scalar("SELECT id FROM units WHERE parent_id IS NULL LIMIT 1").fetch_one(pool).await.unwrap();
    let county = uuid::Uuid::parse_str(&county).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    if daohu_server::store::catalogue::get(&mut conn, county, None).await.unwrap().is_none() {
        let demo = daohu_domain::Catalogue::demo();
        daohu_server::store::catalogue::add(&mut conn, county, &demo, None, None, db::now()).await.unwrap();
    }
    drop(conn);
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_current").fetch_one(pool).await.unwrap();
    if held > 0 {
        println!("\nledger: {held} current values already there");
        return;
    }
    let t = Instant::now();
    let (random, since) = match dialect {
        db::Dialect::Sqlite => ("(abs(random()) % 100)", "date('2026-11-30', '-' || ((r * 7) % 90) || ' days')"),
        db::Dialect::Postgres => (
            "CAST(floor(random() * 100) AS INTEGER)",
            "to_char(DATE '2026-11-30' - ((r * 7) % 90), 'YYYY-MM-DD')",
        ),
    };
    let policies: Vec<String> = daohu_domain::Catalogue::demo()
        .policies
        .iter()
        .map(|p| format!("SELECT 'policy:{}' AS field", p.key))
        .chain(
            ["housing", "water", "people_at_home", "chronic_ill", "serious_ill", "disability", "income", "road", "heating", "contact"]
                .map(|f| format!("SELECT '{f}'")),
        )
        .collect();
    let mut tx = pool.begin().await.unwrap();
    for sql in [
        "DROP TABLE IF EXISTS ledger_gen".to_string(),
        format!(
            "CREATE TABLE ledger_gen AS
             SELECT h.id AS hid, g.path AS path, f.field AS field, {random} AS r
             FROM households h JOIN units g ON g.id = h.grid_id CROSS JOIN ({}) f",
            policies.join(" UNION ALL ")
        ),
        format!(
            "CREATE TABLE ledger_gen_states AS
             SELECT hid, path, field, r,
                    CASE WHEN field = 'housing' THEN (CASE WHEN r < 85 THEN 'safe' WHEN r < 97 THEN 'needs_repair' ELSE 'dangerous' END)
                         WHEN field = 'water' THEN (CASE WHEN r < 90 THEN 'safe' WHEN r < 96 THEN 'unsafe' ELSE 'seasonal_shortage' END)
                         WHEN field = 'people_at_home' THEN CAST(1 + r % 5 AS TEXT)
                         WHEN field = 'chronic_ill' THEN (CASE WHEN r < 30 THEN '1' WHEN r < 36 THEN '2' ELSE '0' END)
                         WHEN field = 'serious_ill' THEN (CASE WHEN r < 5 THEN '1' ELSE '0' END)
                         WHEN field = 'disability' THEN (CASE WHEN r < 6 THEN '2' WHEN r < 9 THEN '1,4' ELSE 'none' END)
                         WHEN field = 'income' THEN (CASE WHEN r < 40 THEN 'crops,migrant_work' WHEN r < 60 THEN 'crops,livestock,pension'
                                                         WHEN r < 80 THEN 'local_work' ELSE 'pension,allowance' END)
                         WHEN field = 'road' THEN (CASE WHEN r < 70 THEN 'paved' WHEN r < 95 THEN 'gravel' ELSE 'no_vehicle' END)
                         WHEN field = 'heating' THEN (CASE WHEN r < 80 THEN 'adequate' WHEN r < 95 THEN 'difficult' ELSE 'unsafe' END)
                         WHEN field = 'contact' THEN (CASE WHEN r < 60 THEN 'phone' WHEN r < 80 THEN 'wechat' WHEN r < 95 THEN 'in_person' ELSE 'relative' END)
                         WHEN r < 8 THEN 'entitled_not_receiving' WHEN r < 12 THEN 'applying'
                         WHEN r < 40 THEN 'receiving' WHEN r < 90 THEN 'not_eligible' ELSE 'unknown' END AS state,
                    CASE WHEN field LIKE 'policy:%' AND r >= 8 AND r < 12 THEN {since} END AS since
             FROM ledger_gen"
        ),
        "INSERT INTO ledger_changes (id, household_id, field, value, at, received_at, effective_at, visit_id,
                                     member_id, device_id, content_hash)
         SELECT hid || '/' || field, hid, field,
                '{\"value\":\"' || state || '\",\"since\":' || COALESCE('\"' || since || '\"', 'null') || '}',
                '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:00.000Z', NULL,
                (SELECT id FROM members WHERE role = 'county_coordinator' LIMIT 1), 'generated', 'generated'
         FROM ledger_gen_states"
            .to_string(),
        "INSERT INTO ledger_current (household_id, field, change_id, effective_at, state, applying_since, unit_path)
         SELECT hid, field, hid || '/' || field, '2026-11-01T00:00:00.000Z', state, since, path FROM ledger_gen_states"
            .to_string(),
        "DROP TABLE ledger_gen_states".to_string(),
        "DROP TABLE ledger_gen".to_string(),
    ] {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    // PostgreSQL's tallies are rows of changes (migration 0017): folded, as a
    // running server keeps them, before anything is measured.
    let mut conn = pool.acquire().await.unwrap();
    loop {
        match daohu_server::store::upkeep::fold_tallies(&mut conn).await.unwrap() {
            Some(0) => break,
            Some(_) => {}
            None => tokio::time::sleep(StdDuration::from_millis(200)).await,
        }
    }
    drop(conn);
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_current").fetch_one(pool).await.unwrap();
    let analyze = match dialect {
        db::Dialect::Sqlite => "ANALYZE",
        db::Dialect::Postgres => "VACUUM ANALYZE ledger_current",
    };
    sqlx::query(analyze).execute(pool).await.unwrap();
    println!("\nledger: {rows} current values (and as many changes) generated in {:.1} s", t.elapsed().as_secs_f64());
}

/// Fills what issue 17 added after the ledger, unless already there: services
/// given at about 3 visits in 16 (the kind by the visit id's last digit), and
/// each household's livelihood and needs (22 % with a need) with a matchup for
/// about a third of those, under way or failed. SQL alone.
async fn generate_services_and_needs(pool: &db::Pool) {
    let t = Instant::now();
    let services: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visit_services").fetch_one(pool).await.unwrap();
    if services == 0 {
        sqlx::query(
            "INSERT INTO visit_services (visit_id, kind, note, household_id, visited_on, unit_path)
             SELECT id, CASE substr(id, 36, 1) WHEN '0' THEN 'medical' WHEN '1' THEN 'paperwork' ELSE 'daily_care' END,
                    '', household_id, visited_on, unit_path
             FROM visits WHERE substr(id, 36, 1) IN ('0', '1', '2')",
        )
        .execute(pool)
        .await
        .unwrap();
    }
    let needs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_current WHERE field = 'needs'").fetch_one(pool).await.unwrap();
    if needs == 0 {
        let coordinator = "(SELECT id FROM members WHERE role = 'county_coordinator' LIMIT 1)";
        let at = "'2026-11-01T00:00:00.000Z'";
        // Livelihood and needs by the household id's last two hex digits (256 kinds of house).
        // k: two hex digits, compared as text (lowercase hex sorts as its value in both databases).
        let word = "CASE field WHEN 'livelihood' THEN (CASE WHEN k < '50' THEN 'grain,migrant_work' WHEN k < '96' THEN 'fruit_tea'
                                                       WHEN k < 'c8' THEN 'livestock,local_work' ELSE 'none' END)
                    ELSE (CASE WHEN k < '1a' THEN 'technique' WHEN k < '2e' THEN 'market,funds' WHEN k < '38' THEN 'jobs' ELSE 'none' END) END";
        let gen = format!(
            "SELECT h.id AS hid, g.path AS path, f.field AS field,
                    substr(h.id, 35, 2) AS k
             FROM households h JOIN units g ON g.id = h.grid_id
             CROSS JOIN (SELECT 'livelihood' AS field UNION ALL SELECT 'needs') AS f"
        );
        for sql in [
            format!(
                "INSERT INTO ledger_changes (id, household_id, field, value, at, received_at, effective_at, visit_id,
                                             member_id, device_id, content_hash)
                 SELECT hid || '/' || field, hid, field, '{{\"value\":\"' || ({word}) || '\",\"since\":null}}',
                        {at}, {at}, {at}, NULL, {coordinator}, 'generated', 'generated'
                 FROM ({gen}) AS g"
            ),
            format!(
                "INSERT INTO ledger_current (household_id, field, change_id, effective_at, state, applying_since, unit_path)
                 SELECT hid, field, hid || '/' || field, {at}, {word}, NULL, path FROM ({gen}) AS g"
            ),
            // A matchup for a third of the needs: the market with the buyer, under way;
            // the technique with the technician, failed (so still unmatched). Its id
            // is the household's with the first eight digits zeroed: a UUID, one a household.
            format!(
                "INSERT INTO matchups (id, household_id, need, list, resource, resource_name, contact, matched_on,
                                       outcome, note, made_by, made_at, n)
                 SELECT '00000000' || substr(lc.household_id, 9), lc.household_id,
                        CASE WHEN lc.state = 'technique' THEN 'technique' ELSE 'market' END,
                        CASE WHEN lc.state = 'technique' THEN 'technician' ELSE 'buyer' END,
                        CASE WHEN lc.state = 'technique' THEN 'agri_station' ELSE 'county_market' END,
                        '县农产品助销中心', '', '2026-11-15',
                        CASE WHEN lc.state = 'technique' THEN 'failed' ELSE 'underway' END,
                        '', {coordinator}, {at}, 1
                 FROM ledger_current lc
                 WHERE lc.field = 'needs' AND lc.state IN ('technique', 'market,funds') AND substr(lc.household_id, 34, 1) IN ('0', '1', '2', '3', '4')"
            ),
        ] {
            sqlx::query(&sql).execute(pool).await.unwrap();
        }
    }
    println!("\nservices, livelihood, needs and matchups: generated (or already there) in {:.1} s", t.elapsed().as_secs_f64());
}

fn serde_urlencoded_like(q: &str) -> VisitFilter {
    let mut map = serde_json::Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap();
        let v = decode(v);
        map.insert(k.to_string(), serde_json::Value::String(v));
    }
    serde_json::from_value(serde_json::Value::Object(map)).unwrap()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
