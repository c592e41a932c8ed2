//! Cross-scope leaks of security issue 20: a visit carrying another household's
//! problem (and the XLSX trail it opened), links that outlived an account move, an
//! activity naming a household outside its team's area, account existence learned
//! from a 409, and county-level accounts managing each other.

mod common;

use axum::http::{Method, StatusCode};
use common::{activity, device, visit, Answer, TestApp};
use daohu_domain::{
    uuid_v7, EventKind, ExportLink, ProblemEvent, Receipt, ReceiptStatus, RosterResponse,
    SyncResponse, Visit,
};
use daohu_server::db::{self, ts};
use daohu_server::seed::{county_id, grid_id, household_id, member_id, phones, second_village_id, team_id};
use serde_json::{json, Value};
use uuid::Uuid;

/// Demo accounts by the last two digits of their phone.
const ZHANG: u128 = 1;
const CHEN: u128 = 5;
const ZHAO: u128 = 9;
const SUN: u128 = 19;
const ZHOU: u128 = 21;
const WU: u128 = 29;

/// The township's note on 绿水村's problem: it must never reach 青山村.
const PRIVATE_NOTE: &str = "镇里内部备注：先别告诉村里";

fn receipts(answer: &Answer) -> Vec<Receipt> {
    assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
    serde_json::from_slice::<SyncResponse>(&answer.body).unwrap().receipts
}

/// A visit by `member` to `household` listing one problem with this id.
fn visit_listing(seed: u8, household: Uuid, member: u128, problem: Uuid) -> Visit {
    let mut v = visit(seed, household, member_id(member));
    v.recorded_at = db::now() - chrono::Duration::hours(1);
    v.visited_on = v.recorded_at.date_naive();
    v.problems.push(common::water_problem(problem));
    v
}

/// 周党员 raises a problem at 绿水村's household 60 and 孙镇长 notes on it privately.
async fn green_water_problem(app: &TestApp) -> Uuid {
    let problem = uuid_v7(1_780_000_000_000, [7; 10]);
    let zhou = app.session(ZHOU).await;
    let r = receipts(&app.upload(&zhou, device(), &[visit_listing(60, household_id(60), ZHOU, problem)]).await);
    assert_eq!(r[0].status, ReceiptStatus::Stored, "{r:?}");
    let sun = app.session(SUN).await;
    let note = ProblemEvent {
        id: uuid_v7(1_790_000_000_000, [1; 10]),
        problem_id: problem,
        at: db::now(),
        change: EventKind::Note { text: PRIVATE_NOTE.into() },
    };
    let answer = app
        .call(
            Method::POST,
            "/api/problems/events",
            Some(&sun),
            Some(json!({ "device_id": device(), "events": [note] })),
        )
        .await;
    assert_eq!(receipts(&answer)[0].status, ReceiptStatus::Stored);
    problem
}

async fn count(app: &TestApp, sql: &str, value: String) -> i64 {
    sqlx::query_scalar(sql).bind(value).fetch_one(&app.state.pool).await.unwrap()
}

/// Every cell of every sheet of 赵书记's XLSX download of the visit log, as text.
async fn zhao_xlsx(app: &TestApp) -> String {
    let zhao = app.session(ZHAO).await;
    let answer = app.call(Method::POST, "/api/exports?format=xlsx", Some(&zhao), None).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let link: ExportLink = serde_json::from_slice(&answer.body).unwrap();
    let file = app.call(Method::GET, &link.url, None, None).await;
    assert_eq!(file.status, StatusCode::OK);
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(file.body.to_vec())).unwrap();
    let mut all = String::new();
    for name in book.sheet_names() {
        for row in book.worksheet_range(&name).unwrap().rows() {
            for cell in row {
                all.push_str(&cell.to_string());
                all.push('\t');
            }
            all.push('\n');
        }
    }
    all
}

#[tokio::test]
async fn a_visit_may_not_carry_another_households_problem() {
    let app = TestApp::new().await;
    let problem = green_water_problem(&app).await;
    let zhang = app.session(ZHANG).await;

    // 张党员's visit to his own household 0 listing 绿水村's problem: refused, nothing stored
    let stolen = visit_listing(1, household_id(0), ZHANG, problem);
    let r = receipts(&app.upload(&zhang, device(), &[stolen.clone()]).await);
    assert_eq!(r[0].status, ReceiptStatus::Rejected, "{r:?}");
    assert_eq!(r[0].reason.as_deref(), Some(daohu_server::routes::sync::PROBLEM_ELSEWHERE_REASON));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visits WHERE id = $1", stolen.id.to_string()).await, 0);
    // the same through a coordinator's import of his phone's export
    let zhao = app.session(ZHAO).await;
    let import = app
        .call(
            Method::POST,
            "/api/sync/import",
            Some(&zhao),
            Some(json!({
                "format": daohu_domain::OUTBOX_EXPORT_FORMAT,
                "member_id": member_id(ZHANG),
                "device_id": device(),
                "exported_at": db::now(),
                "visits": [stolen],
            })),
        )
        .await;
    assert_eq!(receipts(&import)[0].status, ReceiptStatus::Rejected);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM visits WHERE id = $1", stolen.id.to_string()).await, 0);

    // a problem of another of his own households is not this visit's either
    let own = uuid_v7(1_780_000_000_001, [8; 10]);
    let first = visit_listing(2, household_id(1), ZHANG, own);
    assert_eq!(receipts(&app.upload(&zhang, device(), &[first]).await)[0].status, ReceiptStatus::Stored);
    let other_door = visit_listing(3, household_id(0), ZHANG, own);
    assert_eq!(receipts(&app.upload(&zhang, device(), &[other_door]).await)[0].status, ReceiptStatus::Rejected);
    // a later visit to the same household may list it again (it keeps its first row),
    // and a retried visit stays a duplicate
    let again = visit_listing(4, household_id(1), ZHANG, own);
    let r = receipts(&app.upload(&zhang, device(), &[again.clone()]).await);
    assert_eq!(r[0].status, ReceiptStatus::Stored, "{r:?}");
    let r = receipts(&app.upload(&zhang, device(), &[again]).await);
    assert_eq!(r[0].status, ReceiptStatus::Duplicate, "{r:?}");

    let xlsx = zhao_xlsx(&app).await;
    assert!(!xlsx.contains(PRIVATE_NOTE), "{xlsx}");
}

#[tokio::test]
async fn the_xlsx_download_shows_only_problems_of_the_visits_household() {
    let app = TestApp::new().await;
    let problem = green_water_problem(&app).await;
    // A visit planted directly (as if stored before the upload check): 张党员 at
    // household 0, listing 绿水村's problem id.
    let v = visit_listing(1, household_id(0), ZHANG, problem);
    common::plant_visit(&app, &v).await;
    let xlsx = zhao_xlsx(&app).await;
    // the visit and its own words are there; the other village's trail and status are not
    assert!(xlsx.contains(&v.id.to_string()), "{xlsx}");
    assert!(!xlsx.contains(PRIVATE_NOTE), "{xlsx}");
    assert!(!xlsx.contains("孙镇长"), "{xlsx}");
    assert!(!xlsx.contains("村级"), "no status of the foreign problem: {xlsx}");
    // 孙镇长 (over both villages) still sees the trail through 周党员's own visit
    let sun = app.session(SUN).await;
    let answer = app
        .call(Method::POST, &format!("/api/exports?format=xlsx&unit_id={}", second_village_id()), Some(&sun), None)
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    let link: ExportLink = serde_json::from_slice(&answer.body).unwrap();
    let file = app.call(Method::GET, &link.url, None, None).await;
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(file.body.to_vec())).unwrap();
    let trail = book.worksheet_range("办理经过").unwrap();
    assert!(trail.rows().any(|r| r.iter().any(|c| c.to_string() == PRIVATE_NOTE)));
}

#[tokio::test]
async fn moving_an_account_ends_links_outside_its_new_village() {
    let app = TestApp::new().await;
    let sun = app.session(SUN).await;
    let zhou = app.session(ZHOU).await;
    // 周党员 (绿水村, households 60–64) moves to 青山村's grid 1
    let moved = app
        .call(
            Method::PATCH,
            &format!("/api/accounts/{}", member_id(ZHOU)),
            Some(&sun),
            Some(json!({ "unit_id": grid_id(1) })),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.json());
    assert_eq!(moved.json()["households"], 0);
    let roster = app.call(Method::GET, "/api/roster", Some(&zhou), None).await;
    assert_eq!(roster.status, StatusCode::OK);
    let roster: RosterResponse = serde_json::from_slice(&roster.body).unwrap();
    assert!(roster.households.is_empty(), "{:?}", roster.households.len());
    let r = receipts(&app.upload(&zhou, device(), &[visit(1, household_id(60), member_id(ZHOU))]).await);
    assert_eq!(r[0].status, ReceiptStatus::Rejected);
    assert_eq!(r[0].reason.as_deref(), Some(daohu_server::routes::sync::OUT_OF_SCOPE_REASON));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM member_households WHERE member_id = $1", member_id(ZHOU).to_string()).await, 0);
    // the audit says which links ended
    let moves: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'account_moved'")
        .fetch_all(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(moves.len(), 1);
    let detail: Value = serde_json::from_str(&moves[0]).unwrap();
    let mut ended: Vec<String> = detail["links_ended"]
        .as_array()
        .unwrap_or_else(|| panic!("{detail}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ended.sort();
    assert_eq!(ended, (60..65).map(|n| household_id(n).to_string()).collect::<Vec<_>>());

    // a move to another grid of the same village keeps the links (一联多 across grids)
    let zhao = app.session(ZHAO).await;
    let moved = app
        .call(
            Method::PATCH,
            &format!("/api/accounts/{}", member_id(ZHANG)),
            Some(&zhao),
            Some(json!({ "unit_id": grid_id(2) })),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK);
    assert_eq!(moved.json()["households"], 10);
}

#[tokio::test]
async fn an_activity_names_only_households_of_its_teams_area() {
    let app = TestApp::new().await;
    // 陈志愿者 is on 青山村's team; 孙镇长 puts him on a 绿水村 team too
    let sun = app.session(SUN).await;
    let made = app
        .call(
            Method::POST,
            "/api/teams",
            Some(&sun),
            Some(json!({ "unit_id": second_village_id(), "name": "绿水村服务队", "member_ids": [member_id(CHEN)] })),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.json());
    let green_team: Uuid = serde_json::from_value(made.json()["id"].clone()).unwrap();
    let chen = app.session(CHEN).await;

    // 青山村's team naming 绿水村's household 60; no team naming it either
    let mut blue = activity(1, member_id(CHEN), Some(team_id(1)));
    blue.household_ids = vec![household_id(0), household_id(60)];
    let mut no_team = activity(2, member_id(CHEN), None);
    no_team.household_ids = vec![household_id(60)];
    let r = receipts(&app.upload_activities(&chen, device(), &[blue.clone(), no_team.clone()]).await);
    for receipt in &r {
        assert_eq!(receipt.status, ReceiptStatus::Rejected, "{r:?}");
        assert_eq!(receipt.reason.as_deref(), Some(daohu_server::activity_log::AREA_REASON));
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM activities WHERE id <> $1", String::new()).await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM activity_households WHERE activity_id <> $1", String::new()).await, 0);

    // each team names its own village's households
    let mut green = activity(3, member_id(CHEN), Some(green_team));
    green.household_ids = vec![household_id(60)];
    let mut blue_ok = activity(4, member_id(CHEN), Some(team_id(1)));
    blue_ok.household_ids = vec![household_id(0)];
    let r = receipts(&app.upload_activities(&chen, device(), &[green, blue_ok.clone()]).await);
    assert!(r.iter().all(|r| r.status == ReceiptStatus::Stored), "{r:?}");

    // one stored before the check (planted): 青山村's activity naming household 60 too;
    // its detail shows only the household of its area
    let mut planted = blue_ok.clone();
    planted.household_ids = vec![household_id(0), household_id(60)];
    sqlx::query("UPDATE activities SET body = $1 WHERE id = $2")
        .bind(serde_json::to_string(&planted).unwrap())
        .bind(planted.id.to_string())
        .execute(&app.state.pool)
        .await
        .unwrap();
    let zhao = app.session(ZHAO).await;
    let detail = app.call(Method::GET, &format!("/api/activities/{}", planted.id), Some(&zhao), None).await;
    assert_eq!(detail.status, StatusCode::OK);
    let served: Vec<Value> = detail.json()["households"].as_array().unwrap().clone();
    assert_eq!(served.len(), 1, "{served:?}");
    assert_eq!(served[0]["id"], json!(household_id(0)));

    // 赵书记 (青山村) sees nothing of 绿水村 in his activities
    let list = app.call(Method::GET, "/api/activities", Some(&zhao), None).await;
    assert_eq!(list.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&list.body);
    assert!(!text.contains("绿水"), "{text}");
}

async fn create_account(app: &TestApp, token: &str, phone: &str, unit: Uuid) -> Answer {
    app.call(
        Method::POST,
        "/api/accounts",
        Some(token),
        Some(json!({ "name": "新党员", "phone": phone, "role": "member", "unit_id": unit, "password": "" })),
    )
    .await
}

#[tokio::test]
async fn a_409_does_not_reveal_accounts_outside_reach() {
    let app = TestApp::new().await;
    let zhao = app.session(ZHAO).await;
    // a phone inside 赵书记's reach: "already has an account"
    let own = create_account(&app, &zhao, phones::MEMBER_ZHANG, grid_id(1)).await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert_eq!(own.json()["error"], "conflict");
    // 绿水村's 周党员, 孙镇长 and 吴县长: one generic answer, naming no account
    let zhou = create_account(&app, &zhao, phones::MEMBER_ZHOU, grid_id(1)).await;
    assert_eq!(zhou.status, StatusCode::CONFLICT);
    assert_eq!(zhou.json()["error"], "phone_unavailable");
    assert!(!String::from_utf8_lossy(&zhou.body).contains("已有账号"));
    for phone in [phones::TOWNSHIP_SUN, phones::COUNTY_WU] {
        let other = create_account(&app, &zhao, phone, grid_id(1)).await;
        assert_eq!((other.status, &other.body), (zhou.status, &zhou.body), "{phone}");
    }
    // 孙镇长 reaches 绿水村: for him the phone already has an account
    let sun = app.session(SUN).await;
    let in_reach = create_account(&app, &sun, phones::MEMBER_ZHOU, grid_id(1)).await;
    assert_eq!((in_reach.status, in_reach.json()["error"].clone()), (StatusCode::CONFLICT, json!("conflict")));
    // the phone stays unique
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members WHERE phone = $1", phones::MEMBER_ZHOU.into()).await, 1);
    // and a free phone still makes an account
    assert_eq!(create_account(&app, &zhao, "13700000077", grid_id(1)).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn county_accounts_disable_and_enable_each_other_but_not_themselves() {
    let app = TestApp::new().await;
    // a second county-level account, as the command line makes it
    let qian = Uuid::from_u128(0x7777);
    sqlx::query(
        "INSERT INTO members (id, phone, name, password_hash, role, unit_id, created_at)
         VALUES ($1, '13700000088', '钱县长', $2, 'county_coordinator', $3, $4)",
    )
    .bind(qian.to_string())
    .bind(daohu_server::auth::NO_PASSWORD_HASH)
    .bind(county_id().to_string())
    .bind(ts(db::now()))
    .execute(&app.state.pool)
    .await
    .unwrap();
    let wu = app.session(WU).await;
    let patch = |token: String, id: Uuid, body: Value| {
        let app = &app;
        async move { app.call(Method::PATCH, &format!("/api/accounts/{id}"), Some(&token), Some(body)).await }
    };

    // 吴县长 disables and re-enables 钱县长; both audited
    let off = patch(wu.clone(), qian, json!({ "disabled": true })).await;
    assert_eq!(off.status, StatusCode::OK, "{:?}", off.json());
    assert_eq!(off.json()["disabled"], true);
    let on = patch(wu.clone(), qian, json!({ "disabled": false })).await;
    assert_eq!(on.status, StatusCode::OK, "{:?}", on.json());
    assert_eq!(on.json()["disabled"], false);
    let actions: Vec<(String, String)> = app.audit_actions().await;
    let mine: Vec<&str> = actions
        .iter()
        .filter(|(_, d)| d.contains(&qian.to_string()))
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(mine, ["account_disabled", "account_enabled"]);
    // the console lists the other county account, not the caller
    let list = app.call(Method::GET, "/api/accounts", Some(&wu), None).await;
    let ids: Vec<String> = list.json().as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    assert!(ids.contains(&qian.to_string()) && !ids.contains(&member_id(WU).to_string()));

    // never itself; never a role change or a move of a peer
    let own = patch(wu.clone(), member_id(WU), json!({ "disabled": true })).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{:?}", own.json());
    let role = patch(wu.clone(), qian, json!({ "role": "township_coordinator" })).await;
    assert_eq!(role.status, StatusCode::FORBIDDEN);
    let both = patch(wu.clone(), qian, json!({ "disabled": true, "unit_id": county_id() })).await;
    assert_eq!(both.status, StatusCode::OK, "same unit: only the switch changes");

    // a township or village coordinator cannot touch accounts above or beside their reach
    let sun = app.session(SUN).await;
    let zhao = app.session(ZHAO).await;
    assert_eq!(patch(sun.clone(), member_id(WU), json!({ "disabled": true })).await.status, StatusCode::NOT_FOUND);
    assert_eq!(patch(sun.clone(), qian, json!({ "disabled": false })).await.status, StatusCode::NOT_FOUND);
    assert_eq!(patch(zhao.clone(), member_id(SUN), json!({ "disabled": true })).await.status, StatusCode::NOT_FOUND);
    assert_eq!(patch(sun, member_id(SUN), json!({ "disabled": true })).await.status, StatusCode::FORBIDDEN);
    assert_eq!(patch(zhao, member_id(ZHAO), json!({ "disabled": true })).await.status, StatusCode::FORBIDDEN);
    assert_eq!(own.json()["message"], "不能更改自己的账号");
    // beside: another coordinator of 赵书记's own village
    let peer = Uuid::from_u128(0x7778);
    sqlx::query(
        "INSERT INTO members (id, phone, name, password_hash, role, unit_id, created_at)
         VALUES ($1, '13700000089', '钱书记', $2, 'village_coordinator', $3, $4)",
    )
    .bind(peer.to_string())
    .bind(daohu_server::auth::NO_PASSWORD_HASH)
    .bind(daohu_server::seed::village_id().to_string())
    .bind(ts(db::now()))
    .execute(&app.state.pool)
    .await
    .unwrap();
    let zhao = app.session(ZHAO).await;
    assert_eq!(patch(zhao, peer, json!({ "disabled": true })).await.status, StatusCode::FORBIDDEN);
    let disabled: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE disabled = 1")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(disabled, 1, "only 钱县长");
}
