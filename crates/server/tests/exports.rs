//! Export links and downloads: one-time tokens, scope, JSON lines, and XLSX / CSV
//! files read back by LibreOffice (which must be installed: the test fails without it).

mod common;
mod report_data;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::{header, Method, StatusCode};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use common::{Answer, TestApp};
use daohu_domain::escalation::due_at;
use daohu_domain::{
    safe_cell, uuid_v7, ExportLink, ProblemCategory, ProblemEntry, ProblemOutcome, SectionKind,
    SectionState, Urgency, Visit, VisitLogPage, VisitLogRow,
};
use daohu_server::db::ts;
use daohu_server::export::visits::{PROBLEM_COLUMNS, VISIT_COLUMNS};
use daohu_server::seed::{grid_id, household_id, member_id, second_village_id, village_id};
use report_data::{insert, phone_time};
use serde_json::Value;

async fn create(app: &TestApp, token: &str, query: &str) -> Answer {
    app.call(Method::POST, &format!("/api/exports?{query}"), Some(token), None)
        .await
}

async fn link(app: &TestApp, token: &str, query: &str) -> ExportLink {
    let answer = create(app, token, query).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{query}: {:?}", answer.json());
    serde_json::from_slice(&answer.body).unwrap()
}

async fn download(app: &TestApp, url: &str) -> Answer {
    app.call(Method::GET, url, None, None).await
}

async fn log(app: &TestApp, token: &str, query: &str) -> VisitLogPage {
    let answer = app
        .call(Method::GET, &format!("/api/visits?limit=500&{query}"), Some(token), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    serde_json::from_slice(&answer.body).unwrap()
}

fn jsonl_rows(body: &[u8]) -> Vec<VisitLogRow> {
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn export_links_are_single_use_scoped_and_short_lived() {
    let app = TestApp::new().await;
    let visits = report_data::generate(200, chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(), 60, 11);
    report_data::store(&app, &visits).await;
    let zhao = app.session(9).await;
    let sun = app.session(19).await;

    // JSON lines: one row per line, exactly the filter's total, in log order.
    for query in [
        String::new(),
        format!("unit_id={}", grid_id(2)),
        "state=next_time&from=2026-02-01".to_string(),
        "q=%E5%AE%B6".to_string(),
        "from=2030-01-01".to_string(),
    ] {
        let page = log(&app, &zhao, &query).await;
        let l = link(&app, &zhao, &format!("format=jsonl&{query}")).await;
        assert!(l.url.starts_with("/api/exports/") && l.url.len() == "/api/exports/".len() + 64);
        let left = l.expires_at - Utc::now();
        assert!(left > Duration::minutes(9) && left <= Duration::minutes(10), "{left}");
        let answer = download(&app, &l.url).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.headers[header::CONTENT_TYPE], "application/x-ndjson; charset=utf-8");
        let rows = jsonl_rows(&answer.body);
        assert_eq!(rows.len() as u64, page.total, "{query}");
        assert_eq!(rows, page.rows, "{query}");
        assert!(rows.iter().all(|r| r.village_name == "青山村"));
        // Single use.
        let again = download(&app, &l.url).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
        assert_eq!(again.json()["error"], "not_found");
    }
    // The township sees both villages.
    // (200 rows: on PostgreSQL the export cursor hands them over in several fetches.)
    let all = log(&app, &sun, "").await;
    let l = link(&app, &sun, "format=jsonl").await;
    assert_eq!(jsonl_rows(&download(&app, &l.url).await.body), all.rows);
    assert_eq!(all.total, 200);

    // The file name: Chinese, percent-encoded, with today's date.
    let l = link(&app, &zhao, "format=csv").await;
    let answer = download(&app, &l.url).await;
    let today = daohu_server::routes::dashboard::today();
    let disposition = answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains(&format!(
            "filename*=UTF-8''%E8%B5%B0%E8%AE%BF%E8%AE%B0%E5%BD%95-{today}.csv"
        )),
        "{disposition}"
    );
    assert_eq!(answer.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");

    // Expired: 404.
    let l = link(&app, &zhao, "format=jsonl").await;
    sqlx::query("UPDATE export_links SET expires_at = $1")
        .bind(ts(daohu_server::db::now() - Duration::seconds(1)))
        .execute(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(download(&app, &l.url).await.status, StatusCode::NOT_FOUND);
    // Unknown and malformed tokens: 404 JSON.
    for url in [
        format!("/api/exports/{}", "ab".repeat(32)),
        "/api/exports/xyz".to_string(),
        format!("/api/exports/{}", "g".repeat(64)),
    ] {
        let answer = download(&app, &url).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{url}");
        assert_eq!(answer.json()["error"], "not_found");
    }
    // The creator disabled after making the link: 404.
    let l = link(&app, &sun, "format=jsonl").await;
    sqlx::query("UPDATE members SET disabled = 1 WHERE id = $1")
        .bind(member_id(19).to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(download(&app, &l.url).await.status, StatusCode::NOT_FOUND);
    sqlx::query("UPDATE members SET disabled = 0 WHERE id = $1")
        .bind(member_id(19).to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    // The creator's scope is applied again at download: moved down to 青山村, a link
    // for 绿水村 no longer works, and one for everything holds 青山村 only.
    let sun = app.session(19).await;
    let green = link(&app, &sun, &format!("format=jsonl&unit_id={}", second_village_id())).await;
    let everything = link(&app, &sun, "format=jsonl").await;
    sqlx::query("UPDATE members SET role = 'village_coordinator', unit_id = $1 WHERE id = $2")
        .bind(village_id().to_string())
        .bind(member_id(19).to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(download(&app, &green.url).await.status, StatusCode::NOT_FOUND);
    let rows = jsonl_rows(&download(&app, &everything.url).await.body);
    assert_eq!(rows.len() as u64, log(&app, &zhao, "").await.total);
    assert!(rows.iter().all(|r| r.village_name == "青山村"));

    // Who may make links: coordinators only; ids outside the subtree 404; bad input 400.
    for m in [1, 2, 3, 5, 21] {
        let token = app.session(m).await;
        let answer = create(&app, &token, "format=csv").await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{m}");
    }
    let answer = app.call(Method::POST, "/api/exports?format=csv", None, None).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    for (query, status) in [
        (format!("format=csv&unit_id={}", second_village_id()), StatusCode::NOT_FOUND),
        (format!("format=csv&household_id={}", household_id(60)), StatusCode::NOT_FOUND),
        (format!("format=csv&member_id={}", member_id(21)), StatusCode::NOT_FOUND),
        ("format=pdf".to_string(), StatusCode::BAD_REQUEST),
        ("".to_string(), StatusCode::BAD_REQUEST),
        ("format=csv&limit=5".to_string(), StatusCode::BAD_REQUEST),
        ("format=csv&section=member_contact".to_string(), StatusCode::BAD_REQUEST),
    ] {
        let answer = create(&app, &zhao, &query).await;
        assert_eq!(answer.status, status, "{query}");
    }

    // Audit: who, which format, the filter without search text; never the token.
    let audit = app.audit_actions().await;
    let created: Vec<&(String, String)> =
        audit.iter().filter(|(a, _)| a == "export_created").collect();
    let downloaded: Vec<&(String, String)> =
        audit.iter().filter(|(a, _)| a == "export_downloaded").collect();
    assert!(created.len() >= 10 && downloaded.len() >= 8);
    for (_, detail) in created.iter().chain(&downloaded) {
        let v: Value = serde_json::from_str(detail).unwrap();
        assert!(["csv", "jsonl", "xlsx"].contains(&v["format"].as_str().unwrap()));
        assert!(!detail.contains("家"), "no search text in the audit: {detail}");
    }
    assert!(created
        .iter()
        .any(|(_, d)| d.contains("\"text_search\":true")));
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM export_links")
        .fetch_all(&app.state.pool)
        .await
        .unwrap();
    let l = link(&app, &zhao, "format=csv").await;
    let token = l.url.rsplit('/').next().unwrap();
    assert!(!stored.iter().any(|h| h == token));
    let all: String = sqlx::query_scalar(match app.state.store.dialect() {
        daohu_server::db::Dialect::Sqlite => "SELECT group_concat(detail) FROM audit_log",
        daohu_server::db::Dialect::Postgres => "SELECT string_agg(detail, ',') FROM audit_log",
    })
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert!(!all.contains(token));
}

// ---------------------------------------------------------------------------
// LibreOffice

/// Converts `file` to CSV (UTF-8, comma, double quotes) with LibreOffice into
/// `out`; `sheet` picks a worksheet of a workbook (1-based). Each call has its own
/// profile folder so tests can run side by side.
fn soffice_csv(file: &Path, out: &Path, sheet: Option<u32>, csv_input: bool) -> Vec<Vec<String>> {
    let profile = out.join("lo-profile");
    std::fs::create_dir_all(out).unwrap();
    let options = match sheet {
        Some(n) => format!("csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,{n}"),
        None => "csv:Text - txt - csv (StarCalc):44,34,76,1".to_string(),
    };
    let mut cmd = Command::new("soffice");
    cmd.arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .arg("--headless");
    if csv_input {
        cmd.arg("--infilter=CSV:44,34,76,1");
    }
    let status = cmd
        .arg("--convert-to")
        .arg(&options)
        .arg("--outdir")
        .arg(out)
        .arg(file)
        .output()
        .expect("LibreOffice (soffice) must be installed for this test: apt-get install libreoffice-calc");
    assert!(status.status.success(), "soffice failed: {status:?}");
    let stem = file.file_stem().unwrap().to_string_lossy().to_string();
    let written: PathBuf = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && p.file_stem().unwrap().to_string_lossy().starts_with(&stem)
        })
        .unwrap_or_else(|| panic!("soffice wrote no CSV: {status:?}"));
    let bytes = std::fs::read(&written).unwrap();
    let text = String::from_utf8(bytes).expect("LibreOffice wrote UTF-8");
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn china(t: DateTime<Utc>) -> String {
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The cells a visit row should show, as text, before spreadsheet formatting.
fn expected_visit_cells(r: &VisitLogRow) -> Vec<String> {
    let mut cells = vec![
        r.visited_on.to_string(),
        safe_cell(&r.head_name).into_owned(),
        safe_cell(&r.address).into_owned(),
        safe_cell(&r.grid_name).into_owned(),
        safe_cell(&r.village_name).into_owned(),
        safe_cell(&r.member_name).into_owned(),
    ];
    for kind in SectionKind::ALL {
        let state = r.sections.iter().find(|(k, _)| *k == kind).and_then(|(_, s)| *s);
        cells.push(state.map(SectionState::label_zh).unwrap_or("").to_string());
    }
    cells.push(r.problem_count.to_string());
    cells.push(r.escalated_count.to_string());
    cells.push(safe_cell(&r.summary).into_owned());
    cells.push(china(r.recorded_at));
    cells.push(china(r.received_at));
    cells.push(if r.clock_flag { "是" } else { "" }.to_string());
    cells.push(r.id.to_string());
    // Each section's ticked items by their checklist names (in checklist order),
    // then its notes, read here from the visit as the API lists it.
    for kind in SectionKind::ALL {
        let detail = r.details.iter().find(|d| d.kind == kind);
        let names: Vec<&str> = kind
            .list()
            .defaults()
            .iter()
            .filter(|i| detail.is_some_and(|d| d.checked.iter().any(|c| c == i.0)))
            .map(|i| i.1)
            .collect();
        cells.push(names.join("、"));
        cells.push(safe_cell(detail.map_or("", |d| d.notes.as_str())).into_owned());
    }
    // The services given, by the catalogue's names, each note in brackets.
    let catalogue = daohu_domain::Catalogue::demo();
    let services: Vec<String> = r
        .services
        .iter()
        .map(|s| match s.note.as_str() {
            "" => catalogue.item_name(daohu_domain::ItemList::Service, &s.kind, true),
            note => format!("{}（{note}）", catalogue.item_name(daohu_domain::ItemList::Service, &s.kind, true)),
        })
        .collect();
    cells.push(safe_cell(&services.join("、")).into_owned());
    cells
}

/// Visits whose text looks like formulas, with Chinese, quotes, commas and line breaks.
async fn tricky_visits(app: &TestApp) -> Vec<Visit> {
    for (n, head, address) in [
        (0u128, "@张三", "青山村一组1号"),
        (1, "李四", "+86 青山村一组2号"),
        (2, "＝王五", "-3号院"),
        (3, "赵\"六\"，七", "青山村一组4号\n后院"),
    ] {
        sqlx::query("UPDATE households SET head_name = $1, address = $2 WHERE id = $3")
            .bind(head)
            .bind(address)
            .bind(household_id(n).to_string())
            .execute(&app.state.pool)
            .await
            .unwrap();
    }
    let summaries = [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "＝1+1",
        "=HYPERLINK(\"http://example.com\",\"点我\")",
        "第一行\n第二行，\"引号\",逗号",
        "老人身体不好，需要常去看看",
    ];
    let mut out = Vec::new();
    for (k, summary) in summaries.iter().enumerate() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1 + k as u32).unwrap();
        let n = (k % 4) as u128;
        let mut v = Visit::new(
            uuid_v7(1_780_000_000_000 + k as u64, [k as u8; 10]),
            household_id(n),
            member_id(1),
            day,
            phone_time(day, k as u64),
        );
        for (i, s) in v.sections.iter_mut().enumerate() {
            s.state = Some(SectionState::ALL[(i + k) % 3]);
        }
        v.summary = summary.to_string();
        // Ticked items and notes, one of them formula-looking.
        let k_items: Vec<String> = v.sections[k % 5].kind.list().defaults().iter().take(1 + k % 2).map(|i| i.0.to_string()).collect();
        v.sections[k % 5].checked = k_items;
        v.sections[k % 5].notes = if k == 1 { "=2+2".into() } else { format!("第{k}次的备注") };
        if k == 0 {
            v.sections[1].checked = vec!["drinking_water".into(), "family_facts".into()];
        }
        if k == 4 {
            // A service with a note, beside the 精准服务 tick (就学服务) an older app would send alone.
            v.services = vec![daohu_domain::ServiceGiven { kind: "medical".into(), note: "@陪同去县医院".into() }];
        }
        if k % 2 == 0 {
            v.problems.push(ProblemEntry {
                id: uuid_v7(1_781_000_000_000 + k as u64, [1; 10]),
                category: ProblemCategory::ALL[k % 10],
                urgency: Urgency::High,
                description: if k == 0 { "=1+1".into() } else { format!("屋顶漏雨{k}") },
                outcome: ProblemOutcome::ResolvedOnSpot,
                action: "@当场修好".into(),
            });
            v.problems.push(ProblemEntry {
                id: uuid_v7(1_782_000_000_000 + k as u64, [2; 10]),
                category: ProblemCategory::Water,
                urgency: Urgency::Low,
                description: "－水管冻裂".into(),
                outcome: ProblemOutcome::Escalate,
                action: String::new(),
            });
        }
        let received = v.recorded_at + if k == 3 { Duration::hours(30) } else { Duration::minutes(90) };
        insert(&app.state.pool, &v, received).await;
        out.push(v);
    }
    // And one in 绿水村, which the village coordinator's export must not hold.
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let mut v = Visit::new(uuid_v7(1_783_000_000_000, [9; 10]), household_id(60), member_id(21), day, phone_time(day, 99));
    for s in &mut v.sections {
        s.state = Some(SectionState::Done);
    }
    v.summary = "绿水村的走访".into();
    insert(&app.state.pool, &v, v.recorded_at).await;
    out
}

#[tokio::test]
async fn xlsx_and_csv_exports_read_back_in_libreoffice() {
    let app = TestApp::new().await;
    let visits = tricky_visits(&app).await;
    let zhao = app.session(9).await;
    let page = log(&app, &zhao, "").await;
    assert_eq!(page.rows.len(), visits.len());
    let out = app.dir.path().join("lo");
    std::fs::create_dir_all(&out).unwrap();

    // XLSX
    let l = link(&app, &zhao, "format=xlsx").await;
    let answer = download(&app, &l.url).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.headers[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        answer.headers[header::CONTENT_LENGTH].to_str().unwrap(),
        answer.body.len().to_string()
    );
    assert!(answer.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .ends_with(".xlsx"));
    let xlsx = out.join("visits.xlsx");
    std::fs::write(&xlsx, &answer.body).unwrap();
    let sheet = soffice_csv(&xlsx, &out.join("x1"), Some(1), false);
    assert_eq!(sheet[0], VISIT_COLUMNS);
    assert_eq!(sheet.len(), page.rows.len() + 1);
    for (got, row) in sheet[1..].iter().zip(&page.rows) {
        assert_eq!(got, &expected_visit_cells(row), "xlsx row of {}", row.summary);
    }
    // The formula-looking cells are the literal text, never evaluated.
    let all: Vec<&String> = sheet.iter().flatten().collect();
    for literal in ["'=1+1", "'@张三", "'+86 青山村一组2号", "'＝王五", "'-3号院", "'@SUM(A1)", "'＝1+1"] {
        assert!(all.iter().any(|c| *c == literal), "{literal} missing in {sheet:?}");
    }
    // Summaries (column 14) are never an evaluated result.
    assert!(sheet[1..].iter().all(|r| r[13].starts_with('\'') || r[13].starts_with('第') || r[13].starts_with('老')));
    assert!(all.iter().any(|c| *c == "第一行\n第二行，\"引号\",逗号"));
    assert!(!all.iter().any(|c| c.contains("绿水")));
    // What was done, by name, and the notes: ticked out of order, listed in the checklist's.
    assert!(all.iter().any(|c| *c == "了解家庭基本情况（在家人数、健康、收入来源）、了解饮水情况"), "{sheet:?}");
    assert!(all.iter().any(|c| *c == "'=2+2"), "a formula-looking note stays text");
    assert!(all.iter().any(|c| *c == "第3次的备注"));

    // Sheet 2: problems.
    let problems = soffice_csv(&xlsx, &out.join("x2"), Some(2), false);
    assert_eq!(problems[0], PROBLEM_COLUMNS);
    let mut expected: Vec<Vec<String>> = Vec::new();
    for row in &page.rows {
        let v = visits.iter().find(|v| v.id == row.id).unwrap();
        for p in &v.problems {
            let resolved = p.outcome == ProblemOutcome::ResolvedOnSpot;
            expected.push(vec![
                row.visited_on.to_string(),
                safe_cell(&row.head_name).into_owned(),
                safe_cell(&row.address).into_owned(),
                row.grid_name.clone(),
                row.member_name.clone(),
                p.category.label_zh().to_string(),
                p.urgency.label_zh().to_string(),
                safe_cell(&p.description).into_owned(),
                p.outcome.label_zh().to_string(),
                safe_cell(&p.action).into_owned(),
                p.id.to_string(),
                // where it stands now: no events, so the status at the door
                "村级".to_string(),
                if resolved { "已办结" } else { "待处理" }.to_string(),
                if resolved { safe_cell(&p.action).into_owned() } else { String::new() },
                if !resolved && Utc::now() > due_at(v.recorded_at, p.urgency) { "是" } else { "" }
                    .to_string(),
            ]);
        }
    }
    assert_eq!(&problems[1..], &expected[..]);
    assert!(problems.iter().flatten().any(|c| c == "'－水管冻裂"));

    // Sheet 4: the services given, one row each, the note defused.
    let services = soffice_csv(&xlsx, &out.join("x4"), Some(4), false);
    assert_eq!(services[0], daohu_server::export::visits::SERVICE_COLUMNS);
    let given = visits.iter().find(|v| !v.services.is_empty()).unwrap();
    let kinds: Vec<(&str, &str, &str)> = services[1..].iter().map(|r| (r[6].as_str(), r[7].as_str(), r[8].as_str())).collect();
    let id = given.id.to_string();
    assert_eq!(kinds, [("就医服务", "'@陪同去县医院", id.as_str()), ("就学服务", "", id.as_str())]);
    assert!(all.iter().any(|c| *c == "就医服务（@陪同去县医院）、就学服务"), "{sheet:?}");
    // The same sheet as a CSV file of its own reads back the same.
    let answer = download(&app, &link(&app, &zhao, "format=csv&sheet=services").await.url).await;
    assert!(answer.body.starts_with("\u{feff}走访日期,户主".as_bytes()));
    let disposition = answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.contains("daohu-services-") && disposition.contains(".csv"), "{disposition}");
    let services_csv = out.join("services.csv");
    std::fs::write(&services_csv, &answer.body).unwrap();
    assert_eq!(soffice_csv(&services_csv, &out.join("c4"), None, true), services);
    // And the problems' sheet.
    let answer = download(&app, &link(&app, &zhao, "format=csv&sheet=problems").await.url).await;
    assert!(answer.body.starts_with("\u{feff}走访日期,户主".as_bytes()));
    let problems_csv = out.join("problems.csv");
    std::fs::write(&problems_csv, &answer.body).unwrap();
    assert_eq!(soffice_csv(&problems_csv, &out.join("c2"), None, true), problems);

    // CSV
    let l = link(&app, &zhao, "format=csv").await;
    let answer = download(&app, &l.url).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.starts_with("\u{feff}走访日期,户主".as_bytes()));
    let text = std::str::from_utf8(&answer.body).unwrap();
    assert!(text.contains("\r\n") && text.ends_with("\r\n"));
    assert_eq!(
        text.matches("\r\n").count(),
        page.rows.len() + 1,
        "CRLF ends records; the line break inside a quoted summary is its own"
    );
    let csv_file = out.join("visits.csv");
    std::fs::write(&csv_file, &answer.body).unwrap();
    let sheet = soffice_csv(&csv_file, &out.join("c1"), None, true);
    assert_eq!(sheet[0], VISIT_COLUMNS);
    assert_eq!(sheet.len(), page.rows.len() + 1);
    for (got, row) in sheet[1..].iter().zip(&page.rows) {
        let mut expected = expected_visit_cells(row);
        // LibreOffice reads "2026-03-08 10:00" as a date-time and writes it back with seconds.
        expected[14].push_str(":00");
        expected[15].push_str(":00");
        assert_eq!(got, &expected, "csv row of {}", row.summary);
    }
}

/// A compressed download (what a browser asks for) reads to the end. The
/// compression layer polls the body once more after its end; a stream that
/// panics on that used to cut the download off and panic the server.
#[tokio::test]
async fn compressed_csv_and_jsonl_downloads_complete() {
    let app = TestApp::new().await;
    let visits = report_data::generate(40, chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(), 20, 3);
    report_data::store(&app, &visits).await;
    let zhao = app.session(9).await;
    for format in ["csv", "jsonl"] {
        let l = link(&app, &zhao, &format!("format={format}")).await;
        let request = axum::http::Request::builder()
            .method(Method::GET)
            .uri(&l.url)
            .header(axum::http::header::ACCEPT_ENCODING, "gzip")
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = app.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{format}");
        assert_eq!(answer.headers.get("content-encoding").map(|v| v.to_str().unwrap()), Some("gzip"), "{format}");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&answer.body[..]), &mut text).unwrap();
        let lines = text.lines().count();
        let total = log(&app, &zhao, "").await.total as usize;
        assert_eq!(lines, total + usize::from(format == "csv"), "{format}: every row arrived");
    }
}

// ---------------------------------------------------------------------------
// Volunteer activities

/// Activities whose text looks like formulas, one over midnight, one in 绿水村; with
/// check-ins (one with a location). Answers the two of 青山村, newest first.
async fn tricky_activities(app: &TestApp) -> Vec<daohu_domain::Activity> {
    use daohu_domain::{CheckKind, GeoPoint};
    use daohu_server::seed::team_id;
    let chen = app.session(5).await;
    let liu = app.session(6).await;
    let zhou = app.session(21).await;
    let mut a1 = common::activity(1, member_id(5), Some(team_id(1)));
    a1.participants = vec![member_id(5), member_id(6), member_id(1)];
    a1.others = 2;
    a1.place = "@村委会".into();
    a1.description = "=1+1".into();
    a1.household_ids = vec![household_id(0), household_id(1)];
    let mut a2 = common::activity(2, member_id(5), Some(team_id(1)));
    a2.date = a1.date - Duration::days(1);
    a2.start = chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap();
    a2.end = chrono::NaiveTime::from_hms_opt(2, 0, 0).unwrap();
    a2.kind = "cleanup".into();
    a2.place = "村口".into();
    a2.description = "第一行\n第二行，\"引号\",逗号".into();
    a2.served = 0;
    let mut a3 = common::activity(3, member_id(21), None);
    a3.description = "绿水村的活动".into();
    for (token, a) in [(&chen, &a1), (&chen, &a2), (&zhou, &a3)] {
        let answer = app.upload_activities(token, common::device(), &[a.clone()]).await;
        assert_eq!(answer.json()["receipts"][0]["status"], "stored", "{:?}", answer.json());
    }
    let at = |h: u32, m: u32| {
        let local = a1.date.and_time(chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap());
        DateTime::<Utc>::from_naive_utc_and_offset(local - Duration::hours(8), Utc)
    };
    let mut liu_in = common::check_in(1, a1.id, member_id(6), CheckKind::In);
    liu_in.at = at(20, 5);
    liu_in.location = Some(GeoPoint { lat: 30.25, lon: 120.16, accuracy_m: 12.0 });
    let mut liu_out = common::check_in(2, a1.id, member_id(6), CheckKind::Out);
    liu_out.at = at(21, 35);
    let answer = app.upload_check_ins(&liu, common::device(), &[liu_in, liu_out]).await;
    assert!(answer.json()["receipts"].as_array().unwrap().iter().all(|r| r["status"] == "stored"));
    vec![a1, a2]
}

#[tokio::test]
async fn activity_exports_read_back_in_libreoffice() {
    use daohu_domain::{ActivityDetail, HoursReport};
    use daohu_server::export::activities::{ACTIVITY_COLUMNS, CHECK_IN_COLUMNS, HOURS_COLUMNS, TEAM_HOURS_COLUMNS};
    let app = TestApp::new().await;
    let activities = tricky_activities(&app).await;
    let zhao = app.session(9).await;
    let out = app.dir.path().join("lo-activities");
    std::fs::create_dir_all(&out).unwrap();

    // visit-only filters with activities, activity filters with visits: refused
    for query in [
        "format=csv&dataset=activities&member_id=00000000-0000-0000-0000-000000000001",
        "format=csv&dataset=activities&q=x",
        "format=csv&team_id=00000000-0000-0000-0000-000000000001",
        "format=csv&dataset=activities&kind=NOT%20A%20CODE",
        "format=csv&dataset=people",
    ] {
        let answer = create(&app, &zhao, query).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
    }
    let answer = create(&app, &zhao, &format!("format=csv&dataset=activities&unit_id={}", second_village_id())).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    // XLSX
    let l = link(&app, &zhao, "format=xlsx&dataset=activities").await;
    let answer = download(&app, &l.url).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("daohu-activities-"));
    assert_eq!(download(&app, &l.url).await.status, StatusCode::NOT_FOUND, "single use");
    let xlsx = out.join("activities.xlsx");
    std::fs::write(&xlsx, &answer.body).unwrap();
    let sheet = soffice_csv(&xlsx, &out.join("a1"), Some(1), false);
    assert_eq!(sheet[0], ACTIVITY_COLUMNS);
    assert_eq!(sheet.len(), 3, "{sheet:?}");
    let expected_a1 = [
        "2026-03-14", "20:00", "22:00", "治安巡逻", "'@村委会", "青山村志愿服务队", "陈志愿者", "5", "10",
        "刘建国 青山村一组1号、陈永福 青山村一组2号", "'=1+1", "0", "青山村",
    ];
    let expected_a2 = [
        "2026-03-13", "22:00", "次日 02:00", "环境卫生整治", "村口", "青山村志愿服务队", "陈志愿者", "1", "0", "",
        "第一行\n第二行，\"引号\",逗号", "0", "青山村",
    ];
    assert_eq!(sheet[1], expected_a1);
    assert_eq!(sheet[2], expected_a2);
    assert!(!sheet.iter().flatten().any(|c| c.contains("绿水")));

    let checks = soffice_csv(&xlsx, &out.join("a2"), Some(2), false);
    assert_eq!(checks[0], CHECK_IN_COLUMNS);
    assert_eq!(
        &checks[1..],
        [
            ["2026-03-14", "治安巡逻", "'@村委会", "刘志愿者", "签到", "2026-03-14 20:05", "30.25000, 120.16000（误差 12 米）"],
            ["2026-03-14", "治安巡逻", "'@村委会", "刘志愿者", "签退", "2026-03-14 21:35", ""],
        ]
    );

    // hours: what /api/activities/hours says, in hours with one decimal
    let report: HoursReport = serde_json::from_slice(
        &app.call(Method::GET, "/api/activities/hours", Some(&zhao), None).await.body,
    )
    .unwrap();
    for (n, columns, rows) in [(3, HOURS_COLUMNS, &report.volunteers), (4, TEAM_HOURS_COLUMNS, &report.teams)] {
        let sheet = soffice_csv(&xlsx, &out.join(format!("a{n}")), Some(n), false);
        assert_eq!(sheet[0], columns);
        let expected: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.month.clone(),
                    format!("{:.1}", r.minutes as f64 / 60.0),
                    r.activities.to_string(),
                    r.missing_check_outs.to_string(),
                ]
            })
            .collect();
        assert_eq!(&sheet[1..], &expected[..], "sheet {n}");
    }
    // by hand: 刘志愿者 checked in 20:05–21:35 on the 14th; 陈志愿者 is listed on both
    // (20:00–22:00 on the 14th, 22:00–02:00 over the night of the 13th); 张党员 listed on the first
    let minutes = |name: &str| report.volunteers.iter().find(|r| r.name == name).map(|r| r.minutes);
    assert_eq!((minutes("刘志愿者"), minutes("陈志愿者"), minutes("张党员")), (Some(90), Some(120 + 240), Some(120)));
    assert_eq!(report.teams.iter().map(|r| r.minutes).sum::<i64>(), (90 + 120 + 120) + 240);
    assert!(report.volunteers.iter().all(|r| r.month == "2026-03"));

    // CSV
    let l = link(&app, &zhao, "format=csv&dataset=activities").await;
    let answer = download(&app, &l.url).await;
    assert!(answer.body.starts_with("\u{feff}日期,开始".as_bytes()));
    let text = std::str::from_utf8(&answer.body).unwrap();
    assert!(text.contains(",'=1+1,") && text.contains(",'@村委会,"), "{text}");
    let csv_file = out.join("activities.csv");
    std::fs::write(&csv_file, &answer.body).unwrap();
    let sheet = soffice_csv(&csv_file, &out.join("c"), None, true);
    assert_eq!(sheet[0], ACTIVITY_COLUMNS);
    // LibreOffice reads "20:00" as a time and writes it back in its locale's way
    // ("20:00:00" or "08:00:00 PM"): compare the clock it stands for
    let clock = |c: &str| -> String {
        let pm = c.ends_with(" PM");
        let bare = c.trim_end_matches(" PM").trim_end_matches(" AM");
        match chrono::NaiveTime::parse_from_str(bare, "%H:%M:%S").or_else(|_| chrono::NaiveTime::parse_from_str(bare, "%H:%M")) {
            Ok(t) if c.ends_with("M") => {
                let h = t.format("%H").to_string().parse::<u32>().unwrap() % 12 + if pm { 12 } else { 0 };
                format!("{h:02}:{}", t.format("%M"))
            }
            Ok(t) => t.format("%H:%M").to_string(),
            Err(_) => c.to_string(),
        }
    };
    let clocks = |row: &[String]| -> Vec<String> {
        row.iter().enumerate().map(|(i, c)| if i == 1 || i == 2 { clock(c) } else { c.clone() }).collect()
    };
    assert_eq!(clocks(&sheet[1]), expected_a1);
    assert_eq!(clocks(&sheet[2]), expected_a2);
    assert_eq!(sheet.len(), 3);

    // Each other sheet as a CSV file of its own reads back as the workbook's
    // (LibreOffice writes a CSV time back with its seconds).
    for (n, name, stem) in [(2, "check_ins", "check-ins"), (3, "hours", "hours"), (4, "team_hours", "team-hours")] {
        let answer = download(&app, &link(&app, &zhao, &format!("format=csv&dataset=activities&sheet={name}")).await.url).await;
        assert!(answer.body.starts_with("\u{feff}".as_bytes()), "{name}");
        assert!(answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains(&format!("daohu-{stem}-")), "{name}");
        let file = out.join(format!("{name}.csv"));
        std::fs::write(&file, &answer.body).unwrap();
        let mut expected = soffice_csv(&xlsx, &out.join(format!("w{n}")), Some(n), false);
        if n == 2 {
            expected[1..].iter_mut().for_each(|r| r[5].push_str(":00"));
        }
        let opened = soffice_csv(&file, &out.join(format!("s{n}")), None, true);
        assert!(expected.len() > 1, "{name} has rows");
        if n == 2 {
            assert_eq!(opened, expected, "{name}");
        } else {
            // LibreOffice opens "2.0" as the number 2: the hours as the file has them.
            let text = std::str::from_utf8(&answer.body["\u{feff}".len()..]).unwrap();
            let rows: Vec<Vec<String>> = text.lines().map(|l| l.split(',').map(str::to_string).collect()).collect();
            assert_eq!(rows, expected, "{name}");
            assert_eq!(opened.len(), expected.len(), "{name}");
        }
    }

    // JSON lines: one ActivityDetail per activity, newest first
    let l = link(&app, &zhao, "format=jsonl&dataset=activities").await;
    let answer = download(&app, &l.url).await;
    let lines: Vec<ActivityDetail> =
        std::str::from_utf8(&answer.body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.iter().map(|d| d.activity.clone()).collect::<Vec<_>>(), activities);
    assert_eq!(lines[0].check_ins.len(), 2);

    // the visit exports are as they were: a visit download holds no activities
    let l = link(&app, &zhao, "format=csv").await;
    let answer = download(&app, &l.url).await;
    assert!(answer.body.starts_with("\u{feff}走访日期".as_bytes()));
    let audit = app.audit_actions().await;
    assert!(audit.iter().any(|(a, d)| a == "export_downloaded" && d.contains("\"dataset\":\"activities\"")));
}

/// The ledger's download (`dataset=ledger`): each household's policy states and
/// living conditions now, in the creator's area, formula-safe, as LibreOffice
/// reads it; other filters refused, another village 404.
#[tokio::test]
async fn ledger_exports_read_back_in_libreoffice() {
    use daohu_server::export::ledger::{LIVING_COLUMNS, POLICY_COLUMNS};
    let app = TestApp::new().await;
    let (zhang, zhao, zhou) = (app.session(1).await, app.session(9).await, app.session(21).await);
    // A head whose name would be a formula.
    sqlx::query("UPDATE households SET head_name = '=1+1' WHERE id = $1")
        .bind(household_id(1).to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    let long_ago = (Utc::now() - Duration::days(45)).date_naive().to_string();
    let change = |household: uuid::Uuid, field: &str, value: &str, since: Option<&str>| {
        let mut c = serde_json::json!({ "id": uuid::Uuid::now_v7(), "household_id": household, "field": field,
                                        "value": value, "at": Utc::now() });
        if let Some(since) = since {
            c["since"] = serde_json::json!(since);
        }
        c
    };
    for (token, changes) in [
        (&zhang, vec![
            change(household_id(1), "policy:dibao", "applying", Some(&long_ago)),
            change(household_id(1), "housing", "needs_repair", None),
            change(household_id(2), "policy:gaoling", "entitled_not_receiving", None),
        ]),
        (&zhou, vec![change(household_id(60), "policy:dibao", "entitled_not_receiving", None)]),
    ] {
        let answer = app
            .call(Method::POST, "/api/sync/ledger", Some(token), Some(serde_json::json!({ "device_id": uuid::Uuid::now_v7(), "changes": changes })))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.json()["receipts"].as_array().unwrap().iter().all(|r| r["status"] == "stored"), "{:?}", answer.json());
    }
    for query in ["format=csv&dataset=ledger&q=x", "format=csv&dataset=ledger&from=2026-01-01"] {
        assert_eq!(create(&app, &zhao, query).await.status, StatusCode::BAD_REQUEST, "{query}");
    }
    let answer = create(&app, &zhao, &format!("format=csv&dataset=ledger&unit_id={}", second_village_id())).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);

    // A matchup in 青山村 (its note formula-looking) and one in 绿水村 (by the township).
    let sun = app.session(19).await;
    for (token, household, note) in [(&zhao, household_id(1), "=HYPERLINK(\"x\")"), (&sun, household_id(60), "绿水村的")] {
        let body = serde_json::json!({ "id": uuid::Uuid::now_v7(), "household_id": household, "need": "funds", "list": "fund",
                                       "resource": "microcredit", "on": "2026-12-01", "outcome": "succeeded", "note": note });
        assert_eq!(app.call(Method::POST, "/api/matchups", Some(token), Some(body)).await.status, StatusCode::CREATED);
    }
    let out = app.dir.path().join("lo-ledger");
    std::fs::create_dir_all(&out).unwrap();
    let l = link(&app, &zhao, "format=xlsx&dataset=ledger").await;
    let answer = download(&app, &l.url).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("daohu-ledger-"));
    let xlsx = out.join("ledger.xlsx");
    std::fs::write(&xlsx, &answer.body).unwrap();
    let mut policies = soffice_csv(&xlsx, &out.join("l1"), Some(1), false);
    assert_eq!(policies[0], POLICY_COLUMNS);
    policies.remove(0);
    policies.sort();
    assert_eq!(policies.len(), 2, "青山村's two policy rows, not 绿水村's: {policies:?}");
    let applying = policies.iter().find(|r| r[4] == "低保").unwrap();
    assert_eq!(applying[0], "'=1+1", "a formula-looking name stays text");
    assert_eq!((applying[5].as_str(), applying[6].as_str(), applying[7].as_str()), ("帮办代办", long_ago.as_str(), "是"));
    assert_eq!(applying[9], "张党员");
    let gap = policies.iter().find(|r| r[4] == "高龄补贴").unwrap();
    assert_eq!((gap[5].as_str(), gap[7].as_str()), ("应享未享", ""));
    let living = soffice_csv(&xlsx, &out.join("l2"), Some(2), false);
    assert_eq!(living[0], LIVING_COLUMNS);
    assert_eq!(living.len(), 2);
    assert_eq!((living[1][4].as_str(), living[1][5].as_str()), ("住房", "需要维修"));
    let made = soffice_csv(&xlsx, &out.join("l3"), Some(3), false);
    assert_eq!(made[0], daohu_server::export::ledger::MATCHUP_COLUMNS);
    assert_eq!(made.len(), 2, "青山村's matchup only: {made:?}");
    assert_eq!(&made[1][..10], ["'=1+1", made[1][1].as_str(), made[1][2].as_str(), "青山村", "资金", "农商银行小额信贷", "0571-8800 4567",
        "2026-12-01", "对接成功", "'=HYPERLINK(\"x\")"]);
    assert_eq!(made[1][10], "赵书记");

    // CSV: one file a sheet, each with a BOM, read back as the workbook's sheet
    // (times aside: LibreOffice writes those of a CSV back with seconds).
    let without = |mut rows: Vec<Vec<String>>, time: usize| {
        rows.iter_mut().for_each(|r| drop(r.remove(time)));
        rows[1..].sort();
        rows
    };
    for (sheet, xlsx_rows, time) in [("living", living, 6), ("matchups", made, 11)] {
        let answer = download(&app, &link(&app, &zhao, &format!("format=csv&dataset=ledger&sheet={sheet}")).await.url).await;
        assert!(answer.body.starts_with("\u{feff}户主,门牌".as_bytes()), "{sheet}");
        let disposition = answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
        assert!(disposition.contains(&format!("daohu-{sheet}-")), "{disposition}");
        let file = out.join(format!("{sheet}.csv"));
        std::fs::write(&file, &answer.body).unwrap();
        let rows = soffice_csv(&file, &out.join(format!("c-{sheet}")), None, true);
        assert_eq!(without(rows, time), without(xlsx_rows, time), "{sheet}");
    }
    // A sheet is for CSV, and of its own download.
    for query in ["format=xlsx&dataset=ledger&sheet=living", "format=csv&dataset=ledger&sheet=services",
                  "format=csv&sheet=matchups", "format=csv&dataset=activities&sheet=visits", "format=csv&dataset=ledger&sheet=nope",
                  "format=csv&dataset=ledger&sheet=problems", "format=xlsx&sheet=trail", "format=jsonl&sheet=problems",
                  "format=csv&sheet=hours", "format=csv&dataset=activities&sheet=trail", "format=jsonl&dataset=activities&sheet=check_ins"] {
        assert_eq!(create(&app, &zhao, query).await.status, StatusCode::BAD_REQUEST, "{query}");
    }
    // The policy rows (the first sheet, also with `sheet=policies`), read back the same.
    let answer = download(&app, &link(&app, &zhao, "format=csv&dataset=ledger&sheet=policies").await.url).await;
    assert!(answer.body.starts_with("\u{feff}户主".as_bytes()));
    assert!(answer.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("daohu-ledger-"));
    let l = link(&app, &zhao, "format=csv&dataset=ledger").await;
    let answer = download(&app, &l.url).await;
    assert!(answer.body.starts_with("\u{feff}".as_bytes()));
    let csv_file = out.join("ledger.csv");
    std::fs::write(&csv_file, &answer.body).unwrap();
    let mut rows = soffice_csv(&csv_file, &out.join("c1"), None, true);
    assert_eq!(rows[0], POLICY_COLUMNS);
    rows.remove(0);
    rows.sort();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows.iter().find(|r| r[4] == "低保").unwrap()[0], "'=1+1");
    // The township sees both villages; JSON lines hold every row.
    let l = link(&app, &sun, "format=jsonl&dataset=ledger").await;
    let answer = download(&app, &l.url).await;
    let lines: Vec<Value> = String::from_utf8(answer.body.to_vec()).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().any(|l| l["household_id"] == household_id(60).to_string()));
}
