//! Export benchmark (not a test): generates N visits into a temporary SQLite
//! database, serves the app on a loopback port and downloads the CSV, XLSX and
//! JSON-lines exports of the whole county over real HTTP, printing time, rows/s and
//! the process's peak resident memory (VmHWM, reset before each download).
//!
//! `cargo run --release -p daohu-server --example export_bench -- 100000 [csv,jsonl,xlsx]`
//! (`-` as the format list measures the log and dashboard only).
//! `DATABASE_URL=postgres://…` (an empty database) runs it on PostgreSQL instead.

use std::time::Instant;

use chrono::{Duration, NaiveDate};
use daohu_domain::{
    uuid_v7, ProblemCategory, ProblemEntry, ProblemOutcome, SectionState, Urgency, Visit,
};
use daohu_server::db::{self, ts};
use daohu_server::seed::{household_id, member_id};
use daohu_server::{app, seed_demo, AppState, Settings};

mod bench_common;
use bench_common::{http, peak_rss_kb};

const SUMMARIES: [&str; 5] = [
    "家里一切正常，老人身体还好",
    "反映饮水问题，已上报村里",
    "=1+1",
    "孩子上学的事已办好",
    "种植大棚蔬菜，需要技术指导",
];

fn member_for(n: u128) -> u128 {
    match n {
        0..=19 => 1,
        20..=39 => 2,
        40..=59 => 3,
        _ => 21,
    }
}

async fn generate(pool: &daohu_server::db::Pool, n: usize) {
    let start = Instant::now();
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    let received = db::now();
    let mut done = 0usize;
    while done < n {
        let mut tx = pool.begin().await.unwrap();
        let end = (done + 10_000).min(n);
        let mut batch_start = done;
        while batch_start < end {
            let batch_end = (batch_start + 100).min(end);
            let mut visits_sql = String::from(
                "INSERT INTO visits (id, household_id, member_id, device_id, visited_on, recorded_at, received_at, content_hash, body) VALUES ",
            );
            let mut problems_sql = String::from(
                "INSERT INTO problems (id, visit_id, household_id, category, urgency, description, outcome, action, created_at) VALUES ",
            );
            let mut visits = Vec::new();
            for k in batch_start..batch_end {
                let h = (k % 70) as u128;
                let day = first + Duration::days((k % 1000) as i64);
                let recorded = day.and_hms_opt(2, 0, 0).unwrap().and_utc()
                    + Duration::seconds((k % 3600) as i64);
                let mut v = Visit::new(
                    uuid_v7(1_700_000_000_000 + k as u64, [(k % 251) as u8; 10]),
                    household_id(h),
                    member_id(member_for(h)),
                    day,
                    recorded,
                );
                for (i, s) in v.sections.iter_mut().enumerate() {
                    s.state = Some(SectionState::ALL[(i + k) % 3]);
                    if i == 1 {
                        s.notes = "屋顶漏雨，需要修缮".into();
                    }
                }
                v.summary = SUMMARIES[k % SUMMARIES.len()].into();
                if k % 3 == 0 {
                    v.problems.push(ProblemEntry {
                        id: uuid_v7(1_600_000_000_000 + k as u64, [1; 10]),
                        category: ProblemCategory::ALL[k % 10],
                        urgency: Urgency::Normal,
                        description: "自来水管冻裂，需要更换".into(),
                        outcome: ProblemOutcome::Escalate,
                        action: String::new(),
                    });
                }
                visits.push(v);
            }
            // Nine parameters a row, numbered on from the statement's previous row.
            let row = |n: usize| format!("({})", (1..=9).map(|i| format!("${}", 9 * n + i)).collect::<Vec<_>>().join(","));
            let mut problem_rows = 0;
            for (i, v) in visits.iter().enumerate() {
                visits_sql.push_str(&format!("{}{}", if i == 0 { "" } else { "," }, row(i)));
                for _ in &v.problems {
                    problems_sql.push_str(&format!("{}{}", if problem_rows == 0 { "" } else { "," }, row(problem_rows)));
                    problem_rows += 1;
                }
            }
            let has_problems = problem_rows > 0;
            let mut q = sqlx::query(&visits_sql);
            for v in &visits {
                let body = serde_json::to_string(v).unwrap();
                q = q
                    .bind(v.id.to_string())
                    .bind(v.household_id.to_string())
                    .bind(v.member_id.to_string())
                    .bind("00000000-0000-0000-0000-00000000d1ce")
                    .bind(v.visited_on.to_string())
                    .bind(ts(v.recorded_at))
                    .bind(ts(received))
                    .bind(daohu_server::auth::sha256_hex(body.as_bytes()))
                    .bind(body);
            }
            q.execute(&mut *tx).await.unwrap();
            if has_problems {
                let mut q = sqlx::query(&problems_sql);
                for v in &visits {
                    for p in &v.problems {
                        q = q
                            .bind(p.id.to_string())
                            .bind(v.id.to_string())
                            .bind(v.household_id.to_string())
                            .bind(p.category.as_str())
                            .bind(p.urgency.as_str())
                            .bind(p.description.clone())
                            .bind(p.outcome.as_str())
                            .bind(p.action.clone())
                            .bind(ts(received));
                    }
                }
                q.execute(&mut *tx).await.unwrap();
            }
            batch_start = batch_end;
        }
        tx.commit().await.unwrap();
        done = end;
    }
    println!(
        "generated {n} visits in {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// One HTTP/1.0 request (no chunking: the body ends when the connection closes);
/// answers the status line, the body size, its newline count, and the body when small.
#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let formats: Vec<String> = args
        .next()
        .unwrap_or_else(|| "csv,jsonl,xlsx".into())
        .split(',')
        .filter(|f| !f.is_empty() && *f != "-")
        .map(str::to_string)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // BENCH_DB=path keeps the generated database for a look with sqlite3.
    let path = std::env::var_os("BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.sqlite3"));
    let pool = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => db::connect(&url).await.unwrap(),
        _ => {
            let _ = std::fs::remove_file(&path);
            db::connect_file(&path).await.unwrap()
        }
    };
    let dialect = daohu_server::store::dialect_of_pool(&pool);
    println!("database: {dialect:?}");
    seed_demo(&pool).await.unwrap();
    generate(&pool, n).await;
    let analyze = match dialect {
        db::Dialect::Sqlite => "PRAGMA optimize",
        db::Dialect::Postgres => "ANALYZE",
    };
    sqlx::query(analyze).execute(&pool).await.unwrap();

    let state = AppState::new(pool.clone(), Settings::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(listener, app(state)).await.unwrap();
    });
    let (token, _) = daohu_server::auth::create_session(&pool, member_id(29), Duration::hours(1))
        .await
        .unwrap();

    // The log's first page and total, county-wide.
    let t = Instant::now();
    let (status, _, _, body) = http(port, "GET", "/api/visits?limit=50", Some(&token)).await;
    let total = serde_json::from_slice::<serde_json::Value>(&body).unwrap()["total"].clone();
    println!(
        "GET /api/visits (first page, county): {status}, total {total}, {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    let (status, ..) = http(port, "GET", "/api/dashboard?from=2024-01-01&to=2026-12-31", Some(&token)).await;
    println!(
        "GET /api/dashboard (county, 3 years): {status}, {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    // The export's query alone: plan, and rows read and parsed without HTTP.
    let subtree = daohu_server::scope::Subtree {
        path: format!("/{}/", daohu_server::seed::county_id()),
    };
    let mut conn = pool.acquire().await.unwrap();
    let query = daohu_server::visit_log::LogQuery::new(&mut conn, &subtree, &Default::default())
        .await
        .unwrap();
    let sql = query.rows_sql(None);
    let plan: Vec<String> = if dialect == db::Dialect::Postgres {
        sqlx::query_scalar_with(&format!("EXPLAIN {sql}"), query.arguments())
            .fetch_all(&mut *conn)
            .await
            .unwrap()
    } else {
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as_with(&format!("EXPLAIN QUERY PLAN {sql}"), query.arguments())
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        rows.into_iter().map(|r| r.3).collect()
    };
    println!("export query plan: {}", plan.iter().map(|p| p.trim()).collect::<Vec<_>>().join(" | "));
    {
        use futures_util::TryStreamExt;
        let t = Instant::now();
        let mut rows = sqlx::query_as_with::<_, daohu_server::visit_log::RawLogRow, _>(
            &sql,
            query.arguments(),
        )
        .fetch(&mut *conn);
        let mut raw = Vec::new();
        let mut count = 0usize;
        while let Some(row) = rows.try_next().await.unwrap() {
            count += 1;
            if raw.len() < 5_000 {
                raw.push(row);
            }
        }
        drop(rows);
        let read = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let parsed = raw.len();
        for row in raw {
            row.into_row().unwrap();
        }
        println!(
            "query alone: {count} rows read in {read:.2} s ({:.0} rows/s); into_row {:.1} µs/row",
            count as f64 / read,
            t.elapsed().as_secs_f64() * 1e6 / parsed.max(1) as f64
        );
    }
    drop(conn);
    println!("peak RSS before downloads: {} MiB", peak_rss_kb() / 1024);

    for format in &formats {
        bench_common::measure_export(port, &token, format, n as u64).await;
    }
}
