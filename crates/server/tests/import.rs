//! Roster import: CSV (UTF-8, GBK), XLSX (rust_xlsxwriter and LibreOffice), every
//! kind of bad row, commit with the preview's digest, re-import, 10,000 rows.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use axum::http::{Method, StatusCode};
use common::{Answer, TestApp};
use daohu_domain::{AdminHousehold, ImportAction, ImportPreview};
use daohu_server::seed::{household_id, village_id};
use uuid::Uuid;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn import(
    app: &TestApp,
    token: &str,
    village: Uuid,
    mode: &str,
    digest: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let mut uri = format!("/api/roster/import?village_id={village}&mode={mode}");
    if let Some(d) = digest {
        uri.push_str(&format!("&digest={d}"));
    }
    app.raw(Method::POST, &uri, Some(token), content_type, body)
        .await
}

fn preview(answer: &Answer) -> ImportPreview {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

async fn household_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM households")
        .fetch_one(&app.state.pool)
        .await
        .unwrap()
}

async fn village_households(app: &TestApp, token: &str) -> Vec<AdminHousehold> {
    let answer = app
        .call(
            Method::GET,
            &format!("/api/households?unit_id={}", village_id()),
            Some(token),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    serde_json::from_slice(&answer.body).unwrap()
}

/// A roster with one row of every kind, built from the stored households 0 and 1
/// so one row changes (the head's name) and one stays the same.
async fn mixed_table(app: &TestApp, token: &str) -> (Vec<Vec<String>>, String) {
    let all = village_households(app, token).await;
    let h0 = &all
        .iter()
        .find(|h| h.household.id == household_id(0))
        .unwrap()
        .household;
    let h1 = &all
        .iter()
        .find(|h| h.household.id == household_id(1))
        .unwrap()
        .household;
    let groups = |h: &daohu_domain::Household| {
        h.special_groups
            .iter()
            .map(|g| g.label_zh())
            .collect::<Vec<_>>()
            .join("、")
    };
    let rows: Vec<Vec<String>> = vec![
        vec!["网格", "户主", "门牌号", "人口", "联系电话", "特殊群体"],
        vec![
            "第一网格",
            "新户甲",
            "青山村新1号",
            "3",
            "13911110001",
            "低保户",
        ],
        vec!["", "无网格", "青山村新2号", "2", "", ""],
        vec!["第九网格", "错网格", "青山村新3号", "2", "", ""],
        vec!["第一网格", "重复户", "青山村新1号", "2", "", ""],
        vec!["第二网格", "坏电话", "青山村新4号", "2", "12345", ""],
        vec!["第二网格", "坏群体", "青山村新5号", "2", "", "富裕户"],
        vec!["第三网格", "坏人口", "青山村新6号", "abc", "", ""],
        vec!["", "", "", "", "", ""],
        vec![
            &h0.grid_name,
            "张山",
            &h0.address,
            &h0.people.to_string(),
            h0.phone.as_deref().unwrap_or(""),
            &groups(h0),
        ],
        vec![
            &h1.grid_name,
            &h1.head_name,
            &h1.address,
            &h1.people.to_string(),
            h1.phone.as_deref().unwrap_or(""),
            &groups(h1),
        ],
    ]
    .into_iter()
    .map(|r| r.into_iter().map(str::to_string).collect())
    .collect();
    (rows, h0.head_name.clone())
}

fn csv_of(rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// An .xlsx of the table; whole numbers (people, phones) written as numbers, as Excel keeps them.
fn xlsx_of(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let (r, c) = (r as u32, c as u16);
            match cell.parse::<f64>() {
                Ok(n) if r > 0 => sheet.write_number(r, c, n).unwrap(),
                _ => sheet.write_string(r, c, cell).unwrap(),
            };
        }
    }
    book.save_to_buffer().unwrap()
}

fn check_mixed_preview(p: &ImportPreview, old_head: &str) {
    let by_row = |n: u32| {
        p.rows
            .iter()
            .find(|r| r.row == n)
            .unwrap_or_else(|| panic!("row {n} missing: {p:?}"))
    };
    assert_eq!(p.rows.len(), 9, "the empty row is skipped: {:?}", p.rows);
    assert!(p.rows.iter().all(|r| r.row != 9));
    assert_eq!(by_row(2).action, ImportAction::Add);
    let refused = |n: u32, needle: &str| {
        let r = by_row(n);
        assert_eq!(r.action, ImportAction::Refuse, "row {n}: {r:?}");
        assert!(
            r.notes.iter().any(|x| x.contains(needle)),
            "row {n} should say {needle}: {:?}",
            r.notes
        );
    };
    refused(3, "没有填网格");
    refused(4, "网格“第九网格”不在本村");
    refused(5, "门牌号与第 2 行重复");
    refused(6, "电话“12345”不对");
    refused(7, "不认识的特殊群体“富裕户”");
    refused(8, "人口“abc”");
    assert_eq!(by_row(4).head_name, "错网格");
    assert_eq!(by_row(4).address, "青山村新3号");
    let change = by_row(10);
    assert_eq!(change.action, ImportAction::Change);
    assert_eq!(change.notes, vec![format!("户主：{old_head} → 张山")]);
    assert_eq!(by_row(11).action, ImportAction::Unchanged);
    assert_eq!((p.added, p.changed, p.unchanged, p.refused), (1, 1, 1, 6));
}

/// The preview without its digest, to compare two files with the same content.
fn content(p: &ImportPreview) -> ImportPreview {
    ImportPreview {
        digest: String::new(),
        ..p.clone()
    }
}

#[tokio::test]
async fn bad_rows_are_refused_with_reasons_and_only_good_rows_land() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let (rows, old_head) = mixed_table(&app, &zhao).await;
    let file = csv_of(&rows).into_bytes();
    let before = household_count(&app).await;

    let p = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv",
            file.clone(),
        )
        .await,
    );
    check_mixed_preview(&p, &old_head);
    assert!(!p.committed);
    assert_eq!(p.digest.len(), 64);
    assert_eq!(
        household_count(&app).await,
        before,
        "a preview writes nothing"
    );

    // a wrong or missing digest commits nothing
    for digest in [Some("0".repeat(64)), None] {
        let stale = import(
            &app,
            &zhao,
            village_id(),
            "commit",
            digest.as_deref(),
            "text/csv",
            file.clone(),
        )
        .await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        assert_eq!(stale.json()["error"], "stale_preview");
    }
    assert_eq!(household_count(&app).await, before);

    let done = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "commit",
            Some(&p.digest),
            "text/csv",
            file.clone(),
        )
        .await,
    );
    assert!(done.committed);
    assert_eq!(
        content(&ImportPreview {
            committed: false,
            ..done.clone()
        }),
        content(&p)
    );
    assert_eq!(household_count(&app).await, before + 1);
    let all = village_households(&app, &zhao).await;
    let added: Vec<_> = all
        .iter()
        .filter(|h| h.household.address == "青山村新1号")
        .collect();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].household.head_name, "新户甲");
    assert_eq!(added[0].household.grid_name, "第一网格");
    assert_eq!(added[0].household.people, 3);
    assert_eq!(added[0].household.phone.as_deref(), Some("13911110001"));
    for refused in [
        "青山村新2号",
        "青山村新3号",
        "青山村新4号",
        "青山村新5号",
        "青山村新6号",
    ] {
        assert!(
            all.iter().all(|h| h.household.address != refused),
            "{refused} must not land"
        );
    }
    let h0 = all
        .iter()
        .find(|h| h.household.id == household_id(0))
        .unwrap();
    assert_eq!(h0.household.head_name, "张山");
    assert_eq!(h0.members.len(), 1, "a changed household keeps its links");

    // the same file again changes nothing
    let again = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv",
            file.clone(),
        )
        .await,
    );
    assert_eq!(
        (again.added, again.changed, again.unchanged, again.refused),
        (0, 0, 3, 6)
    );
    let again = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "commit",
            Some(&again.digest),
            "text/csv",
            file,
        )
        .await,
    );
    assert_eq!((again.added, again.changed), (0, 0));
    assert_eq!(household_count(&app).await, before + 1);

    let audits: Vec<String> = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, _)| a == "roster_import")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(audits.len(), 2, "one entry per commit");
    let first: serde_json::Value = serde_json::from_str(&audits[0]).unwrap();
    assert_eq!(
        (
            first["added"].as_u64(),
            first["changed"].as_u64(),
            first["refused"].as_u64()
        ),
        (Some(1), Some(1), Some(6))
    );
}

#[tokio::test]
async fn gbk_csv_and_both_kinds_of_xlsx_read_like_the_utf8_csv() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let (rows, old_head) = mixed_table(&app, &zhao).await;
    let text = csv_of(&rows);
    let utf8 = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv",
            text.clone().into_bytes(),
        )
        .await,
    );
    check_mixed_preview(&utf8, &old_head);

    // UTF-8 with a BOM, as Excel's "CSV UTF-8" saves it
    let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let p = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv; charset=utf-8",
            bom,
        )
        .await,
    );
    assert_eq!(content(&p), content(&utf8));

    // GBK, as Excel in China saves "CSV (逗号分隔)"
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk).is_err(), "really not UTF-8");
    let p = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv",
            gbk.into_owned(),
        )
        .await,
    );
    assert_eq!(content(&p), content(&utf8));

    // XLSX written by rust_xlsxwriter (numbers as numbers)
    let p = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            XLSX,
            xlsx_of(&rows),
        )
        .await,
    );
    assert_eq!(content(&p), content(&utf8));

    // XLSX converted by LibreOffice from the CSV
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("roster.csv");
    std::fs::write(&csv_path, &text).unwrap();
    let xlsx = libreoffice_xlsx(&csv_path, dir.path());
    let p = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            XLSX,
            xlsx.clone(),
        )
        .await,
    );
    assert_eq!(content(&p), content(&utf8));
    // and it commits
    let done = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "commit",
            Some(&p.digest),
            XLSX,
            xlsx,
        )
        .await,
    );
    assert_eq!((done.added, done.changed, done.committed), (1, 1, true));
}

/// Converts a CSV to XLSX with LibreOffice; fails (does not skip) when it is missing.
fn libreoffice_xlsx(csv: &Path, out: &Path) -> Vec<u8> {
    let profile = out.join("lo-profile");
    let result = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args([
            "--headless",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xlsx",
            "--outdir",
        ])
        .arg(out)
        .arg(csv)
        .output();
    let output = match result {
        Ok(o) => o,
        Err(e) => panic!(
            "LibreOffice (`soffice`) is needed for this test and could not be started ({e}); \
             install it with `apt-get install -y libreoffice-calc-nogui`"
        ),
    };
    let path = out.join(csv.with_extension("xlsx").file_name().unwrap());
    assert!(
        output.status.success() && path.exists(),
        "soffice failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn ten_thousand_rows_import_in_one_go() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let mut text = String::from("网格,户主,门牌号,人口,联系电话,特殊群体\n");
    for n in 0..10_000 {
        let grid = ["第一网格", "第二网格", "第三网格"][n % 3];
        let groups = if n % 7 == 0 { "空巢老人" } else { "" };
        text.push_str(&format!(
            "{grid},户主{n},新区{n}号,{},139{:08},{groups}\n",
            n % 6 + 1,
            n
        ));
    }
    let before = household_count(&app).await;
    let started = Instant::now();
    let p = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv",
            text.clone().into_bytes(),
        )
        .await,
    );
    let preview_time = started.elapsed();
    assert_eq!((p.added, p.refused, p.rows.len()), (10_000, 0, 10_000));

    // all or nothing: a failure on the last row leaves no row behind
    let pool = &app.state.pool;
    let triggers: &[&str] = match app.state.store.dialect() {
        daohu_server::db::Dialect::Sqlite => &["CREATE TRIGGER fail_last BEFORE INSERT ON households
             WHEN NEW.address = '新区9999号' BEGIN SELECT RAISE(ABORT, 'test failure'); END"],
        daohu_server::db::Dialect::Postgres => &[
            "CREATE FUNCTION fail_last() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.address = '新区9999号' THEN RAISE EXCEPTION 'test failure'; END IF;
             RETURN NEW; END; $$",
            "CREATE TRIGGER fail_last BEFORE INSERT ON households
             FOR EACH ROW EXECUTE FUNCTION fail_last()",
        ],
    };
    for trigger in triggers {
        sqlx::raw_sql(trigger).execute(pool).await.unwrap();
    }
    let failed = import(
        &app,
        &zhao,
        village_id(),
        "commit",
        Some(&p.digest),
        "text/csv",
        text.clone().into_bytes(),
    )
    .await;
    assert!(failed.status.is_server_error(), "{}", failed.status);
    assert_eq!(
        household_count(&app).await,
        before,
        "nothing lands when a row fails"
    );
    sqlx::query(match app.state.store.dialect() {
        daohu_server::db::Dialect::Sqlite => "DROP TRIGGER fail_last",
        daohu_server::db::Dialect::Postgres => "DROP TRIGGER fail_last ON households",
    })
        .execute(pool)
        .await
        .unwrap();

    let started = Instant::now();
    let done = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "commit",
            Some(&p.digest),
            "text/csv",
            text.clone().into_bytes(),
        )
        .await,
    );
    let commit_time = started.elapsed();
    assert_eq!(done.added, 10_000);
    assert_eq!(household_count(&app).await, before + 10_000);
    println!("10,000 rows: preview {preview_time:?}, commit {commit_time:?} (debug build)");

    let again = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv",
            text.into_bytes(),
        )
        .await,
    );
    assert_eq!(
        (again.unchanged, again.added, again.changed),
        (10_000, 0, 0)
    );
}

#[tokio::test]
async fn unreadable_files_answer_400_json_never_500() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (XLSX, garbage.clone(), "bad_roster"),
        (XLSX, b"PK\x03\x04 not really a zip".to_vec(), "bad_roster"),
        ("text/csv", garbage, "bad_roster"),
        (
            "text/csv",
            "姓名,电话\n张三,13900000001\n".as_bytes().to_vec(),
            "bad_roster",
        ),
        ("text/csv", Vec::new(), "bad_roster"),
        ("application/json", b"{}".to_vec(), "unsupported_media_type"),
    ];
    for (ct, body, code) in cases {
        let answer = import(&app, &zhao, village_id(), "preview", None, ct, body).await;
        assert!(answer.status.is_client_error(), "{ct}: {}", answer.status);
        assert_eq!(answer.json()["error"], code, "{ct}: {}", answer.json());
    }
    let missing = import(
        &app,
        &zhao,
        village_id(),
        "preview",
        None,
        "text/csv",
        "姓名,电话\n".as_bytes().to_vec(),
    )
    .await;
    let message = missing.json()["message"].as_str().unwrap().to_string();
    assert!(
        message.contains("网格") && message.contains("门牌号"),
        "{message}"
    );
    // bad mode, and a grid instead of a village
    let bad_mode = import(
        &app,
        &zhao,
        village_id(),
        "apply",
        None,
        "text/csv",
        b"x".to_vec(),
    )
    .await;
    assert_eq!(bad_mode.status, StatusCode::BAD_REQUEST);
    let grid = import(
        &app,
        &zhao,
        daohu_server::seed::grid_id(1),
        "preview",
        None,
        "text/csv",
        b"x".to_vec(),
    )
    .await;
    assert_eq!(grid.status, StatusCode::BAD_REQUEST);
    // over 20 MiB
    let huge = import(
        &app,
        &zhao,
        village_id(),
        "preview",
        None,
        "text/csv",
        vec![b'a'; 21 * 1024 * 1024],
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.json()["error"], "payload_too_large");
    // 3 MiB (over the 2 MiB JSON limit) is fine here
    let mut big = String::from("网格,户主,门牌号\n");
    let mut n = 0;
    while big.len() < 3 * 1024 * 1024 {
        n += 1;
        big.push_str(&format!("第一网格,{},大楼{n}号\n", "某".repeat(20)));
    }
    let p = preview(
        &import(
            &app,
            &zhao,
            village_id(),
            "preview",
            None,
            "text/csv",
            big.into_bytes(),
        )
        .await,
    );
    assert_eq!((p.added, p.refused), (n, 0));
}

/// A sheet that reaches the last cell Excel allows (`<dimension ref="B1:XFD1048576"/>`,
/// a cell at XFD1048576 and one far right on a data row) reads as its few real
/// rows: calamine's whole-sheet range would allocate 17 billion cells and abort.
#[tokio::test]
async fn a_sheet_reaching_the_last_cell_reads_only_its_rows() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    // the table starts in column B, as the range read it (columns from the leftmost cell)
    for (c, h) in ["网格", "户主", "门牌号", "人口"].iter().enumerate() {
        sheet.write_string(0, c as u16 + 1, *h).unwrap();
    }
    for (r, (head, address)) in [("远方甲", "远方1号"), ("远方乙", "远方2号")].iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 1, "第一网格").unwrap();
        sheet.write_string(r, 2, *head).unwrap();
        sheet.write_string(r, 3, *address).unwrap();
        sheet.write_number(r, 4, 3.0).unwrap();
    }
    sheet.write_string(1, 16_383, "far right").unwrap();
    sheet.write_string(1_048_575, 16_383, "far away").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let started = Instant::now();
    let p = preview(&import(&app, &zhao, village_id(), "preview", None, XLSX, bytes).await);
    assert_eq!((p.added, p.refused, p.rows.len()), (2, 0, 2), "{:?}", p.rows);
    assert_eq!(p.rows[0].row, 2);
    assert_eq!(p.rows[1].head_name, "远方乙");
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
}
