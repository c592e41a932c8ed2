//! The household ledger's changes: uploaded once with receipts, refused with a
//! plain reason when outside the sender's reach or the catalogue, merged by
//! device time when two members (一联多) and a coordinator change one field, and
//! counted in the 应享未享 report of each area and nowhere else.

mod common;

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use common::TestApp;
use daohu_domain::{
    HouseholdLedger, LedgerField, PolicyGaps, PolicyState, ReceiptStatus, SyncResponse,
};
use daohu_server::seed::{household_id, member_id, second_village_id, village_id};
use serde_json::{json, Value};
use uuid::Uuid;

/// 张党员 (households 0–9), 李党员 (20–29), 陈 (volunteer), 赵书记 (青山村),
/// 周党员 (绿水村 60–64), 孙镇长 (township), 吴县长 (county).
const ZHANG: u128 = 1;
const LI: u128 = 2;
const CHEN: u128 = 5;
const ZHAO: u128 = 9;
const ZHOU: u128 = 21;
const SUN: u128 = 19;
const WU: u128 = 29;

fn policy_change(id: Uuid, household: Uuid, key: &str, state: &str, since: Option<&str>, at: DateTime<Utc>) -> Value {
    let mut change = json!({
        "id": id, "household_id": household, "field": format!("policy:{key}"), "value": state, "at": at,
    });
    if let Some(since) = since {
        change["since"] = json!(since);
    }
    change
}

fn housing_change(id: Uuid, household: Uuid, housing: &str, at: DateTime<Utc>) -> Value {
    json!({ "id": id, "household_id": household, "field": "housing", "value": housing, "at": at })
}

async fn send(app: &TestApp, token: &str, changes: Vec<Value>) -> Vec<(ReceiptStatus, Option<String>)> {
    let answer = app
        .call(Method::POST, "/api/sync/ledger", Some(token), Some(json!({ "device_id": Uuid::now_v7(), "changes": changes })))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    let response: SyncResponse = serde_json::from_slice(&answer.body).unwrap();
    response.receipts.into_iter().map(|r| (r.status, r.reason)).collect()
}

async fn ledger(app: &TestApp, token: &str, household: Uuid) -> HouseholdLedger {
    let answer = app.call(Method::GET, &format!("/api/households/{household}/ledger"), Some(token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    serde_json::from_slice(&answer.body).unwrap()
}

async fn gaps(app: &TestApp, token: &str, query: &str) -> PolicyGaps {
    let answer = app.call(Method::GET, &format!("/api/ledger/gaps?{query}"), Some(token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{query}: {:?}", answer.json());
    serde_json::from_slice(&answer.body).unwrap()
}

/// The current state of one policy in a household's ledger.
fn state_of(l: &HouseholdLedger, key: &str) -> Option<PolicyState> {
    l.current.iter().find(|e| e.change.field == LedgerField::Policy(key.into())).map(|e| match &e.change.value {
        daohu_domain::LedgerValue::Policy(s) => s.state,
        other => panic!("{other:?}"),
    })
}

async fn stored_changes(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM ledger_changes").fetch_one(&app.state.pool).await.unwrap()
}

#[tokio::test]
async fn changes_upload_once_and_bad_ones_are_refused_with_a_reason() {
    let app = TestApp::new().await;
    let zhang = app.session(ZHANG).await;
    let now = Utc::now();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let good = vec![
        policy_change(a, household_id(1), "dibao", "entitled_not_receiving", None, now),
        housing_change(b, household_id(1), "needs_repair", now),
    ];
    assert_eq!(send(&app, &zhang, good.clone()).await, [(ReceiptStatus::Stored, None), (ReceiptStatus::Stored, None)]);
    // Sent again (the receipts were lost): duplicates, nothing stored twice.
    let again = send(&app, &zhang, good).await;
    assert!(again.iter().all(|(s, _)| *s == ReceiptStatus::Duplicate), "{again:?}");
    assert_eq!(stored_changes(&app).await, 2);
    let l = ledger(&app, &zhang, household_id(1)).await;
    assert_eq!(state_of(&l, "dibao"), Some(PolicyState::EntitledNotReceiving));
    assert_eq!((l.current.len(), l.history.len()), (2, 2));
    assert_eq!(l.history[0].by_name, "张党员");

    // Each bad change is refused with its reason; the good one beside them is stored.
    let bad = vec![
        policy_change(Uuid::now_v7(), household_id(20), "dibao", "receiving", None, now), // 李党员's household
        policy_change(Uuid::now_v7(), household_id(60), "dibao", "receiving", None, now), // 绿水村
        policy_change(Uuid::now_v7(), Uuid::now_v7(), "dibao", "receiving", None, now), // no such household
        policy_change(Uuid::now_v7(), household_id(2), "nosuch", "receiving", None, now),
        policy_change(Uuid::now_v7(), household_id(2), "dibao", "applying", None, now), // applying needs a day
        policy_change(Uuid::now_v7(), household_id(2), "dibao", "receiving", Some("2026-01-01"), now),
        json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "people_at_home",
                "value": "99", "at": now }),
        policy_change(Uuid::now_v7(), household_id(2), "gaoling", "receiving", None, now),
    ];
    let receipts = send(&app, &zhang, bad).await;
    let statuses: Vec<ReceiptStatus> = receipts.iter().map(|r| r.0).collect();
    assert_eq!(statuses[..7], [ReceiptStatus::Rejected; 7], "{receipts:?}");
    assert_eq!(statuses[7], ReceiptStatus::Stored);
    assert_eq!(receipts[0].1.as_deref(), Some(daohu_server::routes::sync::OUT_OF_SCOPE_REASON));
    assert_eq!(receipts[1].1, receipts[0].1);
    assert_eq!(receipts[2].1, receipts[0].1);
    for (status, reason) in &receipts[3..7] {
        assert!(reason.as_deref().is_some_and(|r| !r.is_empty() && !r.contains("500")), "{status:?} {reason:?}");
    }
    assert!(receipts[3].1.as_deref().unwrap().contains("nosuch"), "{:?}", receipts[3]);
    assert_eq!(stored_changes(&app).await, 3);
    // A value its field cannot take, or a field there is no such thing as, is not
    // a ledger change at all: the batch is refused whole (422), nothing stored.
    for bad in [
        json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "water", "value": "needs_repair", "at": now }),
        json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "roof", "value": "safe", "at": now }),
        json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "housing", "value": "safe" }),
    ] {
        let answer = app
            .call(Method::POST, "/api/sync/ledger", Some(&zhang), Some(json!({ "device_id": Uuid::now_v7(), "changes": [bad] })))
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", answer.json());
    }
    assert_eq!(stored_changes(&app).await, 3);

    // A retired policy takes no new state; a change naming another household's visit is refused.
    let wu = app.session(WU).await;
    let retire = app
        .call(Method::POST, "/api/catalogue/changes", Some(&wu), Some(json!({ "change": { "change": "retire", "key": "linshi" } })))
        .await;
    assert_eq!(retire.status, StatusCode::CREATED, "{:?}", retire.json());
    let r = send(&app, &zhang, vec![policy_change(Uuid::now_v7(), household_id(2), "linshi", "receiving", None, now)]).await;
    assert_eq!(r[0].0, ReceiptStatus::Rejected);
    assert!(r[0].1.as_deref().unwrap().contains("linshi"), "{r:?}");

    // Nobody outside: a volunteer keeps no ledger; another village's coordinator reads none.
    let chen = app.session(CHEN).await;
    let answer = app
        .call(Method::POST, "/api/sync/ledger", Some(&chen), Some(json!({ "device_id": Uuid::now_v7(), "changes": [] })))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let zhou = app.session(ZHOU).await;
    let answer = app.call(Method::GET, &format!("/api/households/{}/ledger", household_id(1)), Some(&zhou), None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    // Too many at once: 413, nothing stored.
    let many: Vec<Value> = (0..501)
        .map(|_| housing_change(Uuid::now_v7(), household_id(3), "safe", now))
        .collect();
    let answer = app
        .call(Method::POST, "/api/sync/ledger", Some(&zhang), Some(json!({ "device_id": Uuid::now_v7(), "changes": many })))
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(stored_changes(&app).await, 3);
}

#[tokio::test]
async fn two_members_and_a_coordinator_merge_by_device_time_and_every_change_stays() {
    let app = TestApp::new().await;
    // 一联多: 李党员 is linked to household 0 as well as 张党员.
    let mut conn = app.state.pool.acquire().await.unwrap();
    daohu_server::store::accounts::link(&mut conn, member_id(LI), &[household_id(0)]).await.unwrap();
    drop(conn);
    let (zhang, li, zhao) = (app.session(ZHANG).await, app.session(LI).await, app.session(ZHAO).await);
    let now = Utc::now();
    let h = household_id(0);
    // Both offline: 李 marked it at 10:00, 张 at 11:00; 李's phone uploads last.
    let (early, late) = (now - Duration::hours(3), now - Duration::hours(2));
    send(&app, &zhang, vec![policy_change(Uuid::now_v7(), h, "dibao", "applying", Some("2026-11-01"), late)]).await;
    send(&app, &li, vec![policy_change(Uuid::now_v7(), h, "dibao", "entitled_not_receiving", None, early)]).await;
    let l = ledger(&app, &zhao, h).await;
    assert_eq!(state_of(&l, "dibao"), Some(PolicyState::Applying), "the later change by device time holds");
    assert_eq!(l.history.len(), 2);
    // A phone whose clock runs a year ahead does not hold the field for a year:
    // its change counts as made when it reached the server.
    let ahead = now + Duration::days(365);
    send(&app, &li, vec![policy_change(Uuid::now_v7(), h, "dibao", "not_eligible", None, ahead)]).await;
    assert_eq!(state_of(&ledger(&app, &zhao, h).await, "dibao"), Some(PolicyState::NotEligible));
    // The coordinator's correction, made after, holds; the history keeps all four.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = send(&app, &zhao, vec![policy_change(Uuid::now_v7(), h, "dibao", "receiving", None, Utc::now())]).await;
    assert_eq!(r[0].0, ReceiptStatus::Stored, "{r:?}");
    let l = ledger(&app, &zhang, h).await;
    assert_eq!(state_of(&l, "dibao"), Some(PolicyState::Receiving));
    assert_eq!(l.history.len(), 4);
    assert_eq!(l.history[0].by_name, "赵书记");
    // The correction is audited with what it changed.
    let audited: String = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'sync_ledger' ORDER BY at DESC LIMIT 1")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert!(audited.contains(&h.to_string()) && audited.contains("policy:dibao"), "{audited}");
    // The stored current value is the merge rule's, worked out again from the history.
    let changes: Vec<daohu_domain::LedgerChange> = l.history.iter().map(|e| e.change.clone()).collect();
    let merged = daohu_domain::ledger::current(&changes);
    assert_eq!(merged[&LedgerField::Policy("dibao".into())].id, l.current[0].change.id);
}

#[tokio::test]
async fn the_gap_report_counts_each_area_and_lists_overdue_applications_first() {
    let app = TestApp::new().await;
    let (zhang, zhou) = (app.session(ZHANG).await, app.session(ZHOU).await);
    let (zhao, sun, wu) = (app.session(ZHAO).await, app.session(SUN).await, app.session(WU).await);
    let now = Utc::now();
    let long_ago = (now - Duration::days(40)).date_naive().to_string();
    let lately = (now - Duration::days(3)).date_naive().to_string();
    let r = send(
        &app,
        &zhang,
        vec![
            policy_change(Uuid::now_v7(), household_id(1), "dibao", "entitled_not_receiving", None, now),
            policy_change(Uuid::now_v7(), household_id(2), "dibao", "applying", Some(&lately), now),
            // 低保 allows 30 days: overdue.
            policy_change(Uuid::now_v7(), household_id(3), "dibao", "applying", Some(&long_ago), now),
            policy_change(Uuid::now_v7(), household_id(4), "dibao", "receiving", None, now),
            policy_change(Uuid::now_v7(), household_id(5), "gaoling", "entitled_not_receiving", None, now),
        ],
    )
    .await;
    assert!(r.iter().all(|(s, _)| *s == ReceiptStatus::Stored), "{r:?}");
    send(&app, &zhou, vec![policy_change(Uuid::now_v7(), household_id(60), "dibao", "entitled_not_receiving", None, now)]).await;

    let count = |g: &PolicyGaps, key: &str| {
        let c = g.policies.iter().find(|p| p.key == key).unwrap();
        (c.entitled_not_receiving, c.applying, c.overdue)
    };
    let village = gaps(&app, &zhao, "").await;
    assert_eq!(count(&village, "dibao"), (1, 2, 1));
    assert_eq!(count(&village, "gaoling"), (1, 0, 0));
    assert_eq!(village.policies.len(), 12, "every active policy, counted or not");
    let listed: Vec<(Uuid, bool)> = village.households.iter().map(|h| (h.household_id, h.overdue)).collect();
    assert_eq!(listed[0], (household_id(3), true), "the overdue application first");
    assert_eq!(listed.len(), 4);
    assert!(!listed.iter().any(|(h, _)| *h == household_id(60) || *h == household_id(4)));
    // The township and county count 绿水村 too; a unit chosen below narrows it.
    assert_eq!(count(&gaps(&app, &sun, "").await, "dibao"), (2, 2, 1));
    assert_eq!(count(&gaps(&app, &wu, "").await, "dibao"), (2, 2, 1));
    let green = gaps(&app, &wu, &format!("unit_id={}", second_village_id())).await;
    assert_eq!(count(&green, "dibao"), (1, 0, 0));
    assert_eq!(green.households.len(), 1);
    // The dashboard's panel: the same totals, and households by housing and water.
    send(
        &app,
        &zhang,
        vec![housing_change(Uuid::now_v7(), household_id(1), "needs_repair", now), housing_change(Uuid::now_v7(), household_id(2), "safe", now)],
    )
    .await;
    let dashboard = app.call(Method::GET, "/api/dashboard", Some(&zhao), None).await.json();
    let panel = &dashboard["ledger"];
    assert_eq!((panel["entitled_not_receiving"].as_u64(), panel["applying"].as_u64(), panel["overdue"].as_u64()), (Some(2), Some(2), Some(1)));
    assert_eq!(panel["housing"], json!([["needs_repair", 1]]), "safe houses are not listed");
    assert_eq!(panel["water"], json!([]));
    let green = app.call(Method::GET, &format!("/api/dashboard?unit_id={}", second_village_id()), Some(&wu), None).await.json();
    assert_eq!(green["ledger"]["entitled_not_receiving"].as_u64(), Some(1));
    assert_eq!(green["ledger"]["housing"], json!([]));
    // The weekly meeting sheet: this week's new 应享未享 and the overdue
    // application, on their grid's page; the recent application is not there.
    let sheet = app.call(Method::GET, "/api/meeting-sheet", Some(&zhao), None).await.json();
    let mut lines: Vec<(String, String, bool)> = sheet["grids"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["ledger"].as_array().unwrap().iter())
        .map(|l| (l["policy_zh"].as_str().unwrap().to_string(), l["state"].as_str().unwrap().to_string(), l["overdue"] == true))
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ("低保".to_string(), "applying".to_string(), true),
            ("低保".to_string(), "entitled_not_receiving".to_string(), false),
            ("高龄补贴".to_string(), "entitled_not_receiving".to_string(), false),
        ]
    );
    let last_week = chrono::Local::now().date_naive() - Duration::days(7);
    let monday = last_week - Duration::days(i64::from(chrono::Datelike::weekday(&last_week).num_days_from_monday()));
    let earlier = app.call(Method::GET, &format!("/api/meeting-sheet?week_start={monday}"), Some(&zhao), None).await.json();
    let states: Vec<&str> = earlier["grids"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["ledger"].as_array().unwrap().iter())
        .map(|l| l["state"].as_str().unwrap())
        .collect();
    // Last week: the application (40 days old, 30 allowed) was already overdue;
    // nothing had been recorded 应享未享 in that week.
    assert_eq!(states, ["applying"]);
    // One policy's list.
    let one = gaps(&app, &sun, "policy=gaoling").await;
    assert_eq!(one.households.iter().map(|h| h.household_id).collect::<Vec<_>>(), [household_id(5)]);
    // Outside the caller's area, an unknown policy, a member: refused.
    let answer = app.call(Method::GET, &format!("/api/ledger/gaps?unit_id={}", second_village_id()), Some(&zhao), None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = app.call(Method::GET, "/api/ledger/gaps?policy=nosuch", Some(&zhao), None).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let answer = app.call(Method::GET, "/api/ledger/gaps", Some(&zhang), None).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    // Receiving now: the household leaves the list.
    send(&app, &zhang, vec![policy_change(Uuid::now_v7(), household_id(3), "dibao", "receiving", None, Utc::now())]).await;
    let village = gaps(&app, &zhao, &format!("unit_id={}", village_id())).await;
    assert_eq!(count(&village, "dibao"), (1, 1, 0));
    assert!(!village.households.iter().any(|h| h.household_id == household_id(3)));
}

/// What a phone's visit carries: its policy and housing changes go in with it,
/// exactly once, and reach the report, the household's ledger and the roster.
/// The dashboard's ledger panel filters by period too: beside the unsafe
/// housing and water and the 应享未享 as they stand now, those recorded in the
/// period (and still current), for the area chosen.
#[tokio::test]
async fn the_ledger_panel_counts_what_was_recorded_in_the_period() {
    let app = TestApp::new().await;
    let (zhang, zhao, wu) = (app.session(ZHANG).await, app.session(ZHAO).await, app.session(WU).await);
    let now = Utc::now();
    let water = |h: Uuid, w: &str, at: DateTime<Utc>| json!({ "id": Uuid::now_v7(), "household_id": h, "field": "water", "value": w, "at": at });
    let r = send(
        &app,
        &zhang,
        vec![
            housing_change(Uuid::now_v7(), household_id(1), "dangerous", now - Duration::days(40)),
            housing_change(Uuid::now_v7(), household_id(2), "needs_repair", now),
            water(household_id(3), "unsafe", now - Duration::days(3)),
            water(household_id(4), "seasonal_shortage", now - Duration::days(40)),
            policy_change(Uuid::now_v7(), household_id(1), "dibao", "entitled_not_receiving", None, now - Duration::days(40)),
            policy_change(Uuid::now_v7(), household_id(2), "dibao", "entitled_not_receiving", None, now),
            policy_change(Uuid::now_v7(), household_id(3), "gaoling", "entitled_not_receiving", None, now - Duration::days(10)),
            // Receiving is not a gap, in the period or not.
            policy_change(Uuid::now_v7(), household_id(4), "dibao", "receiving", None, now),
            // Applications started 5 and 40 days ago.
            policy_change(Uuid::now_v7(), household_id(5), "dibao", "applying", Some(&(now - Duration::days(5)).date_naive().to_string()), now),
            policy_change(Uuid::now_v7(), household_id(4), "gaoling", "applying", Some(&(now - Duration::days(40)).date_naive().to_string()), now),
            // Needs recorded now and 40 days ago; the market matched since (no longer counted).
            json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "needs", "value": "technique,market", "at": now }),
            json!({ "id": Uuid::now_v7(), "household_id": household_id(3), "field": "needs", "value": "jobs", "at": now - Duration::days(40) }),
        ],
    )
    .await;
    assert!(r.iter().all(|(s, _)| *s == ReceiptStatus::Stored), "{r:?}");
    let matched = app
        .call(Method::POST, "/api/matchups", Some(&zhao), Some(json!({
            "id": Uuid::now_v7(), "household_id": household_id(2), "need": "market", "list": "buyer", "resource": "county_market",
            "on": now.date_naive(), "outcome": "underway", "note": ""
        })))
        .await;
    assert_eq!(matched.status, StatusCode::CREATED, "{:?}", matched.json());
    let needs = |token: String, query: String| {
        let app = &app;
        async move {
            let board: daohu_domain::Dashboard =
                serde_json::from_slice(&app.call(Method::GET, &format!("/api/dashboard?{query}"), Some(&token), None).await.body).unwrap();
            (board.unmatched_needs, board.unmatched_needs_in_period)
        }
    };
    // technique, funds, market, jobs: now and recorded in the period.
    assert_eq!(needs(zhao.clone(), String::new()).await, (vec![1, 0, 0, 1], vec![1, 0, 0, 0]));
    let panel = |token: String, query: String| {
        let app = &app;
        async move {
            let answer = app.call(Method::GET, &format!("/api/dashboard?{query}"), Some(&token), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
            let board: daohu_domain::Dashboard = serde_json::from_slice(&answer.body).unwrap();
            (board.to, board.ledger)
        }
    };
    // The last 30 days (the default): the repair, the unsafe water and two of three gaps.
    let (today, p) = panel(zhao.clone(), String::new()).await;
    assert_eq!((p.housing.len(), p.water.len(), p.entitled_not_receiving), (2, 2, 3), "now, whatever the period");
    assert_eq!(p.housing_in_period, [("needs_repair".to_string(), 1)]);
    assert_eq!(p.water_in_period, [("unsafe".to_string(), 1)]);
    assert_eq!(p.entitled_in_period, 2);
    assert_eq!((p.applying, p.applying_in_period), (2, 1), "the application started 5 days ago");
    // A period 45 to 35 days ago: what was recorded then.
    let back = format!("from={}&to={}", today - Duration::days(45), today - Duration::days(35));
    let (_, p) = panel(zhao.clone(), back.clone()).await;
    assert_eq!((p.in_period(false, "dangerous"), p.in_period(false, "needs_repair")), (1, 0));
    assert_eq!((p.in_period(true, "seasonal_shortage"), p.in_period(true, "unsafe")), (1, 0));
    assert_eq!((p.entitled_in_period, p.applying_in_period), (1, 1));
    assert_eq!(needs(zhao.clone(), back.clone()).await, (vec![1, 0, 0, 1], vec![0, 0, 0, 1]));
    // Today alone: the period's last day counts whole.
    let (_, p) = panel(zhao.clone(), format!("from={today}&to={today}")).await;
    assert_eq!((p.in_period(false, "needs_repair"), p.entitled_in_period), (1, 1));
    // A value changed since is no longer counted in its old period.
    send(&app, &zhang, vec![housing_change(Uuid::now_v7(), household_id(1), "safe", now)]).await;
    let (_, p) = panel(zhao.clone(), back).await;
    assert_eq!((p.housing.len(), p.in_period(false, "dangerous"), p.entitled_in_period), (1, 0, 1));
    // The county sees the same; a village with none of them counts none.
    let (_, p) = panel(wu.clone(), String::new()).await;
    assert_eq!((p.entitled_in_period, p.in_period(true, "unsafe")), (2, 1));
    let (_, p) = panel(wu.clone(), format!("unit_id={}", second_village_id())).await;
    assert_eq!((p.housing_in_period.len(), p.water_in_period.len(), p.entitled_in_period, p.applying_in_period), (0, 0, 0, 0));
    assert_eq!(needs(wu, format!("unit_id={}", second_village_id())).await, (vec![0; 4], vec![0; 4]));
}

#[tokio::test]
async fn a_visit_carries_its_ledger_changes_once_and_a_retired_policy_refuses_it_whole() {
    use daohu_domain::ledger::{Housing, VisitLedgerChange};
    use daohu_domain::{LedgerValue, PolicyStatus, RosterResponse};
    let app = TestApp::new().await;
    let (zhang, zhao) = (app.session(ZHANG).await, app.session(ZHAO).await);
    let mut v = common::visit(1, household_id(2), member_id(ZHANG));
    v.ledger = vec![
        VisitLedgerChange {
            id: Uuid::now_v7(),
            field: LedgerField::Policy("gaoling".into()),
            value: LedgerValue::Policy(PolicyStatus { state: PolicyState::EntitledNotReceiving, applying_since: None }),
        },
        VisitLedgerChange { id: Uuid::now_v7(), field: LedgerField::Housing, value: LedgerValue::Housing(Housing::NeedsRepair) },
    ];
    for expected in [ReceiptStatus::Stored, ReceiptStatus::Duplicate] {
        let answer = app.upload(&zhang, common::device(), std::slice::from_ref(&v)).await;
        let r: SyncResponse = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(r.receipts[0].status, expected, "{:?}", r.receipts);
    }
    assert_eq!(stored_changes(&app).await, 2);
    let l = ledger(&app, &zhao, household_id(2)).await;
    assert_eq!(state_of(&l, "gaoling"), Some(PolicyState::EntitledNotReceiving));
    assert_eq!(l.history[0].change.visit_id, Some(v.id));
    let report = gaps(&app, &zhao, "policy=gaoling").await;
    assert_eq!(report.households.iter().map(|h| h.household_id).collect::<Vec<_>>(), [household_id(2)]);
    // The phone gets the catalogue and the household's ledger with its roster.
    let roster: RosterResponse = serde_json::from_slice(&app.call(Method::GET, "/api/roster", Some(&zhang), None).await.body).unwrap();
    assert_eq!(roster.catalogue.as_ref().map(|c| c.policies.len()), Some(12));
    let home = roster.households.iter().find(|h| h.household.id == household_id(2)).unwrap();
    assert_eq!(home.ledger.len(), 2);
    assert!(home.ledger.iter().any(|n| n.value == LedgerValue::Housing(Housing::NeedsRepair)));
    assert!(roster.households.iter().filter(|h| h.household.id != household_id(2)).all(|h| h.ledger.is_empty()));

    // A retired policy refuses the visit whole, with the reason; nothing of it is stored.
    let wu = app.session(WU).await;
    let retire = json!({ "change": { "change": "retire", "key": "linshi" } });
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&wu), Some(retire)).await.status, StatusCode::CREATED);
    let mut late = common::visit(2, household_id(3), member_id(ZHANG));
    late.ledger = vec![VisitLedgerChange {
        id: Uuid::now_v7(),
        field: LedgerField::Policy("linshi".into()),
        value: LedgerValue::Policy(PolicyStatus { state: PolicyState::Receiving, applying_since: None }),
    }];
    let r: SyncResponse = serde_json::from_slice(&app.upload(&zhang, common::device(), &[late.clone()]).await.body).unwrap();
    assert_eq!(r.receipts[0].status, ReceiptStatus::Rejected);
    assert!(r.receipts[0].reason.as_deref().unwrap().contains("已停用"), "{:?}", r.receipts);
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM visits WHERE id = $1")
        .bind(late.id.to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!((held, stored_changes(&app).await), (0, 2));
    // The same field twice in one visit: refused by the visit's own check.
    late.ledger.push(late.ledger[0].clone());
    late.ledger[1].id = Uuid::now_v7();
    let r: SyncResponse = serde_json::from_slice(&app.upload(&zhang, common::device(), &[late]).await.body).unwrap();
    assert_eq!(r.receipts[0].status, ReceiptStatus::Rejected);

    // An older app's visit, with no `ledger` key at all, is stored, and sent again is a duplicate.
    let old = common::visit(3, household_id(4), member_id(ZHANG));
    let mut body = serde_json::to_value(&old).unwrap();
    assert!(body.get("ledger").is_none(), "an empty ledger is not written");
    body.as_object_mut().unwrap().remove("ledger");
    for expected in ["stored", "duplicate"] {
        let answer = app
            .call(Method::POST, "/api/sync/visits", Some(&zhang), Some(json!({ "device_id": common::device(), "visits": [body.clone()] })))
            .await;
        assert_eq!(answer.json()["receipts"][0]["status"], expected);
    }
}

/// Services given at a visit (精准服务): kinds from the county's catalogue,
/// stored once with the visit, counted by kind for the area that holds the
/// household and nowhere else; an unknown or retired kind refuses the visit
/// whole, a kind the county adds is taken, and an older app's ticks count too.
#[tokio::test]
async fn services_given_are_checked_against_the_catalogue_and_counted_by_area() {
    use daohu_domain::{Dashboard, ItemList, RosterResponse, ServiceGiven};
    let app = TestApp::new().await;
    let (zhang, zhao, sun, wu) = (app.session(ZHANG).await, app.session(ZHAO).await, app.session(SUN).await, app.session(WU).await);
    let given = |kind: &str, note: &str| ServiceGiven { kind: kind.into(), note: note.into() };
    let status = |answer: common::Answer| {
        let r: SyncResponse = serde_json::from_slice(&answer.body).unwrap();
        (r.receipts[0].status, r.receipts[0].reason.clone().unwrap_or_default())
    };
    let held = |id: Uuid| {
        let pool = app.state.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM visit_services WHERE visit_id = $1")
                .bind(id.to_string())
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    // The phone's roster carries the catalogue's lists.
    let roster: RosterResponse = serde_json::from_slice(&app.call(Method::GET, "/api/roster", Some(&zhang), None).await.body).unwrap();
    let catalogue = roster.catalogue.unwrap();
    assert_eq!(catalogue.kinds(ItemList::Service).len(), 5);
    assert!(catalogue.items(ItemList::Livelihood).count() > 0 && catalogue.items(ItemList::Buyer).count() > 0);

    // Two services with notes: stored once (the second upload is a duplicate).
    let mut v = common::visit(1, household_id(2), member_id(ZHANG));
    v.set_service("medical", true);
    v.set_service("paperwork", true);
    v.services[0].note = "陪同去乡卫生院复查".into();
    v.catalogue = Some(catalogue.version);
    for expected in [ReceiptStatus::Stored, ReceiptStatus::Duplicate] {
        assert_eq!(status(app.upload(&zhang, common::device(), std::slice::from_ref(&v)).await).0, expected);
    }
    assert_eq!(held(v.id).await, 2);

    // An unknown kind refuses the visit whole, with its name; nothing is stored.
    let mut bad = common::visit(2, household_id(3), member_id(ZHANG));
    bad.services = vec![given("medical", ""), given("legal", "")];
    let (st, reason) = status(app.upload(&zhang, common::device(), std::slice::from_ref(&bad)).await);
    assert_eq!(st, ReceiptStatus::Rejected);
    assert!(reason.contains("legal") && reason.contains("服务类别"), "{reason}");
    assert_eq!(held(bad.id).await, 0);

    // The county adds 法律咨询 and retires 生活照料: the first is taken, the second refused.
    for change in [
        json!({ "change": "add_item", "item": { "list": "service", "key": "legal", "name_zh": "法律咨询", "name_en": "Legal advice", "active": true } }),
        json!({ "change": "retire_item", "list": "service", "key": "daily_care" }),
    ] {
        let answer = app.call(Method::POST, "/api/catalogue/changes", Some(&wu), Some(json!({ "change": change }))).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    }
    // Only the county coordinator edits the lists.
    let by_village = json!({ "change": { "change": "retire_item", "list": "service", "key": "medical" } });
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&zhao), Some(by_village)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(status(app.upload(&zhang, common::device(), std::slice::from_ref(&bad)).await).0, ReceiptStatus::Stored);
    let mut retired = common::visit(3, household_id(4), member_id(ZHANG));
    retired.set_service("daily_care", true);
    let (st, reason) = status(app.upload(&zhang, common::device(), std::slice::from_ref(&retired)).await);
    assert!(st == ReceiptStatus::Rejected && reason.contains("已停用"), "{reason}");
    assert_eq!(held(retired.id).await, 0);

    // An older app's visit: no `services` key, only the 精准服务 ticks, which count.
    let mut old = common::visit(4, household_id(5), member_id(ZHANG));
    old.section_mut(daohu_domain::SectionKind::PreciseService).unwrap().checked = vec!["medical".into()];
    let body = serde_json::to_value(&old).unwrap();
    assert!(body.get("services").is_none() && body.get("catalogue").is_none());
    let answer = app.call(Method::POST, "/api/sync/visits", Some(&zhang), Some(json!({ "device_id": common::device(), "visits": [body] }))).await;
    assert_eq!(answer.json()["receipts"][0]["status"], "stored");

    // Counted by kind in 青山村 and the township above it; 绿水村 has none of them.
    let day = common::day();
    let board = |token: String, unit: Uuid| {
        let app = &app;
        async move {
            let q = format!("/api/dashboard?unit_id={unit}&from={day}&to={day}");
            let answer = app.call(Method::GET, &q, Some(&token), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
            serde_json::from_slice::<Dashboard>(&answer.body).unwrap().services
        }
    };
    let counts: Vec<(String, String, i64, i64)> = board(zhao.clone(), village_id())
        .await
        .into_iter()
        .map(|c| (c.kind, c.name_zh, c.services, c.households))
        .collect();
    assert_eq!(
        counts,
        [
            ("medical".into(), "就医服务".into(), 3, 3),
            ("legal".into(), "法律咨询".into(), 1, 1),
            ("paperwork".into(), "代办事项".into(), 1, 1),
        ]
    );
    assert!(board(sun.clone(), second_village_id()).await.is_empty());
    let township: i64 = board(sun, daohu_server::seed::township_id()).await.iter().map(|c| c.services).sum();
    assert_eq!(township, 5);
    let day_before = day.pred_opt().unwrap();
    let q = format!("/api/dashboard?unit_id={}&from={day_before}&to={day_before}", village_id());
    let earlier: Dashboard = serde_json::from_slice(&app.call(Method::GET, &q, Some(&zhao), None).await.body).unwrap();
    assert!(earlier.services.is_empty(), "another period counts none of them");
}

/// The profile's later facts (illness, disability, income, road, heating,
/// contact) go in with a visit like housing; a coordinator corrects a list
/// whole; the roster carries them apart from `ledger`, which an app from before
/// them reads strictly; and a value a fact cannot take is refused.
#[tokio::test]
async fn profile_facts_travel_with_a_visit_and_stay_out_of_an_older_apps_roster_list() {
    use daohu_domain::ledger::{Housing, VisitLedgerChange};
    use daohu_domain::profile::{Contact, Disabilities, Income, Incomes, Road};
    use daohu_domain::LedgerValue;
    let app = TestApp::new().await;
    let (zhang, zhao) = (app.session(ZHANG).await, app.session(ZHAO).await);
    let mut v = common::visit(1, household_id(2), member_id(ZHANG));
    let change = |field, value| VisitLedgerChange { id: Uuid::now_v7(), field, value };
    v.ledger = vec![
        change(LedgerField::Housing, LedgerValue::Housing(Housing::Safe)),
        change(LedgerField::ChronicIll, LedgerValue::Count(1)),
        change(LedgerField::Disability, LedgerValue::Disabilities(Disabilities::of([2, 4]).unwrap())),
        change(LedgerField::Income, LedgerValue::Incomes(Incomes::of([Income::MigrantWork, Income::Crops]))),
        change(LedgerField::Road, LedgerValue::Road(Road::Gravel)),
        change(LedgerField::Contact, LedgerValue::Contact(Contact::Wechat)),
    ];
    let r: SyncResponse = serde_json::from_slice(&app.upload(&zhang, common::device(), &[v.clone()]).await.body).unwrap();
    assert_eq!(r.receipts[0].status, ReceiptStatus::Stored, "{:?}", r.receipts);
    let l = ledger(&app, &zhao, household_id(2)).await;
    let words: Vec<(String, String)> = l.current.iter().map(|e| (e.change.field.word(), e.change.value.word())).collect();
    for pair in [("chronic_ill", "1"), ("disability", "2,4"), ("income", "crops,migrant_work"), ("road", "gravel"), ("contact", "wechat")] {
        assert!(words.contains(&(pair.0.into(), pair.1.into())), "{pair:?} in {words:?}");
    }

    // The roster: `ledger` holds only what the first ledger had, `facts` the rest.
    let body = app.call(Method::GET, "/api/roster", Some(&zhang), None).await.json();
    let home = body["households"].as_array().unwrap().iter().find(|h| h["household"]["id"] == json!(household_id(2))).unwrap();
    let fields = |key: &str| -> Vec<String> {
        home[key].as_array().map(|a| a.iter().map(|n| n["field"].as_str().unwrap().to_string()).collect()).unwrap_or_default()
    };
    assert_eq!(fields("ledger"), ["housing"]);
    assert_eq!(fields("facts"), ["chronic_ill", "disability", "income", "road", "contact"]);

    // The coordinator corrects the income whole: pension only now, kept in the history.
    let now = Utc::now() + Duration::seconds(1);
    let fix = json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "income", "value": "pension", "at": now });
    assert_eq!(send(&app, &zhao, vec![fix]).await[0].0, ReceiptStatus::Stored);
    let l = ledger(&app, &zhao, household_id(2)).await;
    let income = l.current.iter().find(|e| e.change.field == LedgerField::Income).unwrap();
    assert_eq!(income.change.value, LedgerValue::Incomes(Incomes::of([Income::Pension])));
    assert_eq!(l.history.iter().filter(|e| e.change.field == LedgerField::Income).count(), 2);

    // Out of range: refused with its reason, the good change beside it stored.
    let held = stored_changes(&app).await;
    let too_many = json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "serious_ill", "value": "31", "at": now });
    let good = json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": "heating", "value": "difficult", "at": now });
    let receipts = send(&app, &zhang, vec![too_many, good]).await;
    assert_eq!((receipts[0].0, receipts[1].0), (ReceiptStatus::Rejected, ReceiptStatus::Stored), "{receipts:?}");
    assert!(receipts[0].1.as_deref().unwrap().contains("大病人数"), "{receipts:?}");
    assert_eq!(stored_changes(&app).await, held + 1);
    // Words no fact takes: the batch is refused whole (422), nothing stored.
    for (field, value) in [("disability", "5"), ("income", "gold_mine"), ("income", "crops,crops"), ("road", "highway"), ("contact", "")] {
        let bad = json!({ "id": Uuid::now_v7(), "household_id": household_id(2), "field": field, "value": value, "at": now });
        let answer = app
            .call(Method::POST, "/api/sync/ledger", Some(&zhang), Some(json!({ "device_id": Uuid::now_v7(), "changes": [bad] })))
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field} {value}");
    }
    assert_eq!(stored_changes(&app).await, held + 1);
}

/// The ledger's counts per grid (`ledger_tallies`, migration 0017, kept by
/// triggers; on PostgreSQL rows of changes, folded by the server) and its
/// 应享未享 and applications per unit (`policy_tallies`, 0026): after new
/// values, changed ones and a household moved to another village's grid, every
/// tally equals a count of `ledger_current`, before and after folding, and the
/// 应享未享 report of each village counts its own households only.
#[tokio::test]
async fn ledger_tallies_match_the_current_values_after_changes_and_a_move() {
    use daohu_server::seed::grid_id;
    let app = TestApp::new().await;
    let (zhang, zhao, wu) = (app.session(ZHANG).await, app.session(ZHAO).await, app.session(WU).await);
    let t0 = Utc::now() - Duration::minutes(30);
    // Application days relative to today, so the overdue count holds on any day.
    let day = |ago: i64| (Utc::now() - Duration::days(ago)).date_naive().to_string();
    let (long_ago, lately) = (day(60), day(5));
    let mut changes = Vec::new();
    for n in 1..=5u128 {
        let at = t0 + Duration::seconds(n as i64);
        changes.push(policy_change(Uuid::now_v7(), household_id(n), "dibao", "entitled_not_receiving", None, at));
        changes.push(policy_change(Uuid::now_v7(), household_id(n), "gaoling", "applying", Some(&long_ago), at));
        changes.push(housing_change(Uuid::now_v7(), household_id(n), "needs_repair", at));
    }
    assert!(send(&app, &zhang, changes).await.iter().all(|r| r.0 == ReceiptStatus::Stored));
    // Later: two households receive 低保 now, one application got a new day, a house is safe.
    let t1 = t0 + Duration::minutes(5);
    let later = vec![
        policy_change(Uuid::now_v7(), household_id(1), "dibao", "receiving", None, t1),
        policy_change(Uuid::now_v7(), household_id(2), "dibao", "receiving", None, t1),
        policy_change(Uuid::now_v7(), household_id(3), "gaoling", "applying", Some(&lately), t1),
        housing_change(Uuid::now_v7(), household_id(4), "safe", t1),
    ];
    assert!(send(&app, &zhang, later).await.iter().all(|r| r.0 == ReceiptStatus::Stored));
    // Household 5 moves to a grid of the other village.
    let moved = app
        .call(Method::PATCH, &format!("/api/households/{}", household_id(5)), Some(&wu), Some(json!({ "grid_id": grid_id(4) })))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.json());

    type Key = (String, String, String, String, i64);
    // A tally table's sums per key (`columns`: its four key columns), zeros left out.
    let summed = |table: &'static str, columns: &'static str| {
        let pool = app.state.pool.clone();
        async move {
            sqlx::query_as::<_, Key>(&format!(
                "SELECT {columns}, CAST(SUM(n) AS BIGINT) FROM {table}
                 GROUP BY 1, 2, 3, 4 HAVING SUM(n) <> 0 ORDER BY 1, 2, 3, 4"
            ))
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    let tallies = || summed("ledger_tallies", "state, unit_path, field, applying_since");
    let counted: Vec<Key> = sqlx::query_as(
        "SELECT state, unit_path, field, COALESCE(applying_since, ''), COUNT(*) FROM ledger_current
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    let before = tallies().await;
    assert_eq!(before, counted);
    assert!(before.iter().any(|t| t.0 == "receiving" && t.4 == 2), "{before:?}");
    // 应享未享 and applications per unit (migration 0026): every unit of a
    // value's path counts it.
    let per_unit = || summed("policy_tallies", "unit_id, state, field, since");
    let mut by_unit: std::collections::BTreeMap<(String, String, String, String), i64> = Default::default();
    for (state, path, field, since, n) in &counted {
        if field.starts_with("policy:") && (state == "entitled_not_receiving" || state == "applying") {
            for unit in path.split('/').filter(|u| !u.is_empty()) {
                *by_unit.entry((unit.to_string(), state.clone(), field.clone(), since.clone())).or_default() += n;
            }
        }
    }
    let by_unit: Vec<Key> = by_unit.into_iter().map(|((u, st, f, s), n)| (u, st, f, s, n)).collect();
    assert!(by_unit.iter().any(|t| t.1 == "applying" && t.4 == 4), "{by_unit:?}");
    assert_eq!(per_unit().await, by_unit);
    // Folded (PostgreSQL; nothing to do on SQLite): one row a key, the same sums.
    let mut conn = app.state.pool.acquire().await.unwrap();
    while daohu_server::store::upkeep::fold_tallies(&mut conn).await.unwrap() != Some(0) {}
    drop(conn);
    assert_eq!(tallies().await, counted);
    assert_eq!(per_unit().await, by_unit);
    for (table, key) in [("ledger_tallies", "state, unit_path, field, applying_since"), ("policy_tallies", "unit_id, state, field, since")] {
        let rows: Vec<(i64,)> = sqlx::query_as(&format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table} GROUP BY {key} HAVING COUNT(*) > 1"))
            .fetch_all(&app.state.pool)
            .await
            .unwrap();
        assert!(rows.is_empty(), "one row a key of {table} after folding: {rows:?}");
    }

    // 青山村 (赵书记): 低保 应享未享 households 3 and 4; 高龄补贴 applications
    // 1–4, three started 60 days ago (overdue); household 5 is 绿水村's now.
    let count = |g: &PolicyGaps, key: &str| {
        let c = g.policies.iter().find(|p| p.key == key).unwrap();
        (c.entitled_not_receiving, c.applying, c.overdue)
    };
    let village = gaps(&app, &zhao, &format!("unit_id={}", village_id())).await;
    assert_eq!(count(&village, "dibao"), (2, 0, 0));
    assert_eq!(count(&village, "gaoling"), (0, 4, 3));
    let other = gaps(&app, &wu, &format!("unit_id={}", second_village_id())).await;
    assert_eq!((count(&other, "dibao"), count(&other, "gaoling")), ((1, 0, 0), (0, 1, 1)));
}

/// 产业对接: livelihood and needs are ledger fields (an unknown kind or need
/// refused); the needs list shows unmatched needs per area; a coordinator's
/// matchup (with an active help resource, for a household in reach, once per
/// id) takes a need off the list until it fails; the phone's roster carries
/// the latest matchup of each need and the new fields apart.
#[tokio::test]
async fn needs_are_listed_until_matched_and_the_match_reaches_the_phone() {
    use daohu_domain::{Dashboard, MatchOutcome, Need, NeedsReport, RosterResponse};
    let app = TestApp::new().await;
    let (zhang, zhao, sun) = (app.session(ZHANG).await, app.session(ZHAO).await, app.session(SUN).await);
    let now = Utc::now();
    let fact = |household: Uuid, field: &str, value: &str| {
        json!({ "id": Uuid::now_v7(), "household_id": household, "field": field, "value": value, "at": now })
    };
    let receipts = send(&app, &zhang, vec![
        fact(household_id(2), "livelihood", "fruit_tea,migrant_work"),
        fact(household_id(2), "needs", "technique,market"),
        fact(household_id(3), "needs", "funds"),
        fact(household_id(4), "livelihood", "tobacco"),
    ]).await;
    assert_eq!(receipts[..3].iter().map(|r| r.0).collect::<Vec<_>>(), [ReceiptStatus::Stored; 3]);
    assert_eq!(receipts[3].0, ReceiptStatus::Rejected, "a kind the catalogue never had");
    assert!(receipts[3].1.as_deref().unwrap().contains("tobacco"), "{:?}", receipts[3]);
    // A word that is no need is refused by name; a word no list takes refuses the batch (422); nothing stored.
    let before = stored_changes(&app).await;
    let refused = send(&app, &zhang, vec![fact(household_id(5), "needs", "money")]).await;
    assert_eq!(refused[0].0, ReceiptStatus::Rejected);
    assert!(refused[0].1.as_deref().unwrap().contains("产业需求"), "{refused:?}");
    let answer = app
        .call(Method::POST, "/api/sync/ledger", Some(&zhang), Some(json!({ "device_id": Uuid::now_v7(), "changes": [fact(household_id(5), "needs", "Funds!")] })))
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stored_changes(&app).await, before);

    let needs = |token: String, query: String| {
        let app = &app;
        async move {
            let answer = app.call(Method::GET, &format!("/api/needs?{query}"), Some(&token), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
            serde_json::from_slice::<NeedsReport>(&answer.body).unwrap()
        }
    };
    let r = needs(zhao.clone(), String::new()).await;
    assert_eq!(r.total, 2);
    let first = &r.households[0];
    assert_eq!((first.household_id, first.unmatched.clone()), (household_id(2), vec![Need::Technique, Need::Market]));
    assert_eq!(first.livelihood, "果茶种植，外出务工");
    assert_eq!(r.counts, [1, 1, 1, 0], "technique, funds, market, jobs");
    assert_eq!(needs(sun.clone(), format!("unit_id={}", second_village_id())).await.total, 0, "another village has none");

    // The village coordinator matches the market need with the county's buyer.
    let matchup = |id: Uuid, household: Uuid, list: &str, resource: &str, outcome: &str| {
        json!({ "id": id, "household_id": household, "need": "market", "list": list, "resource": resource,
                "on": "2026-12-01", "outcome": outcome, "note": "茶叶 500 斤" })
    };
    let id = Uuid::now_v7();
    let answer = app.call(Method::POST, "/api/matchups", Some(&zhao), Some(matchup(id, household_id(2), "buyer", "county_market", "underway"))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    assert_eq!(answer.json()["matchup"]["resource_name"], "县农产品助销中心");
    assert_eq!(answer.json()["made_by_name"], "赵书记");
    let again = app.call(Method::POST, "/api/matchups", Some(&zhao), Some(matchup(id, household_id(2), "buyer", "county_market", "underway"))).await;
    assert_eq!(again.status, StatusCode::OK, "the same id is the same matchup");
    // Refused, nothing stored: another household under the same id, a member, a
    // household out of reach, an unknown resource, a kind instead of a resource.
    for (token, body, status) in [
        (&zhao, matchup(id, household_id(3), "buyer", "county_market", "underway"), StatusCode::CONFLICT),
        (&zhang, matchup(Uuid::now_v7(), household_id(2), "buyer", "county_market", "underway"), StatusCode::FORBIDDEN),
        (&zhao, matchup(Uuid::now_v7(), household_id(60), "buyer", "county_market", "underway"), StatusCode::NOT_FOUND),
        (&zhao, matchup(Uuid::now_v7(), household_id(2), "buyer", "nobody", "underway"), StatusCode::BAD_REQUEST),
        (&zhao, matchup(Uuid::now_v7(), household_id(2), "livelihood", "grain", "underway"), StatusCode::BAD_REQUEST),
        (&zhao, matchup(Uuid::now_v7(), household_id(2), "buyer", "county_market", "maybe"), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let answer = app.call(Method::POST, "/api/matchups", Some(token), Some(body)).await;
        assert_eq!(answer.status, status, "{:?}", answer.json());
    }
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM matchups").fetch_one(&app.state.pool).await.unwrap();
    assert_eq!(held, 1);
    // Stored matchups are history: the database refuses to change one.
    let changed = sqlx::query("UPDATE matchups SET outcome = 'succeeded'").execute(&app.state.pool).await;
    assert!(changed.is_err(), "an update of a matchup went through");

    let r = needs(zhao.clone(), String::new()).await;
    assert_eq!(r.households[0].unmatched, [Need::Technique]);
    assert_eq!(r.counts[2], 0, "market matched");
    let board: Dashboard = serde_json::from_slice(&app.call(Method::GET, "/api/dashboard", Some(&zhao), None).await.body).unwrap();
    assert_eq!(board.unmatched_needs, r.counts, "the dashboard counts in SQL what the list counts");
    // The member's phone gets the matchup with its contact, and the new fields apart from `facts`.
    let roster: RosterResponse = serde_json::from_slice(&app.call(Method::GET, "/api/roster", Some(&zhang), None).await.body).unwrap();
    let home = roster.households.iter().find(|h| h.household.id == household_id(2)).unwrap();
    assert_eq!(home.matchups.iter().map(|m| (m.need, m.outcome, m.contact.as_str())).collect::<Vec<_>>(),
        [(Need::Market, MatchOutcome::Underway, "0571-8800 3456")]);
    assert_eq!(home.later.len(), 2);
    assert!(home.facts.is_empty() && home.ledger.is_empty());
    // An app from before `later` read `facts` strictly: the new fields are not there.
    let raw = app.call(Method::GET, "/api/roster", Some(&zhang), None).await.json();
    let h2 = raw["households"].as_array().unwrap().iter().find(|h| h["household"]["id"] == json!(household_id(2))).unwrap();
    assert!(h2.get("facts").is_none());

    // It did not work out: the need is open again; the dashboard counts it.
    let failed = app.call(Method::POST, "/api/matchups", Some(&zhao), Some(matchup(Uuid::now_v7(), household_id(2), "buyer", "county_market", "failed"))).await;
    assert_eq!(failed.status, StatusCode::CREATED);
    assert_eq!(needs(zhao.clone(), String::new()).await.households[0].unmatched, [Need::Technique, Need::Market]);
    let board: Dashboard = serde_json::from_slice(&app.call(Method::GET, "/api/dashboard", Some(&zhao), None).await.body).unwrap();
    assert_eq!(board.unmatched_needs, [1, 1, 1, 0], "technique, funds, market, jobs");
    // The weekly meeting sheet lists them on their grid's page.
    let sheet: daohu_domain::MeetingSheet =
        serde_json::from_slice(&app.call(Method::GET, "/api/meeting-sheet", Some(&zhao), None).await.body).unwrap();
    let lines: Vec<(String, Vec<Need>)> =
        sheet.grids.iter().flat_map(|g| g.needs.iter().map(|n| (n.head_name.clone(), n.unmatched.clone()))).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().any(|(_, n)| n == &[Need::Technique, Need::Market]) && lines.iter().any(|(_, n)| n == &[Need::Funds]));
}

/// Visit intervals are the county's: set in the catalogue (by special group,
/// a household taking its shortest), they decide who is overdue on the
/// dashboard and reach the phone with the catalogue; a bad one is refused.
#[tokio::test]
async fn the_countys_visit_intervals_decide_who_is_overdue() {
    use daohu_domain::{Dashboard, RosterResponse, SpecialGroup};
    let app = TestApp::new().await;
    let (zhang, zhao, wu) = (app.session(ZHANG).await, app.session(ZHAO).await, app.session(WU).await);
    // 1 is an ordinary household, 3 特困 (extreme poverty), 6 重病 (seriously ill): all visited on one day.
    let visits: Vec<_> = [(1u8, 1u128), (2, 3), (3, 6)].iter().map(|(n, h)| common::visit(*n, household_id(*h), member_id(ZHANG))).collect();
    let r: SyncResponse = serde_json::from_slice(&app.upload(&zhang, common::device(), &visits).await.body).unwrap();
    assert!(r.receipts.iter().all(|x| x.status == ReceiptStatus::Stored));
    let on = common::day() + Duration::days(20);
    let overdue = || async {
        let q = format!("/api/dashboard?unit_id={}&to={on}", village_id());
        let board: Dashboard = serde_json::from_slice(&app.call(Method::GET, &q, Some(&zhao), None).await.body).unwrap();
        [1u128, 3, 6].into_iter().filter(|h| board.overdue.iter().any(|o| o.household_id == household_id(*h))).collect::<Vec<_>>()
    };
    assert_eq!(overdue().await, [3, 6], "by default: special groups after 14 days, the others after 30");

    let set = |intervals: serde_json::Value| json!({ "change": { "change": "set_intervals", "intervals": intervals } });
    let bad = app.call(Method::POST, "/api/catalogue/changes", Some(&wu), Some(set(json!({ "ordinary": 0, "special": 14 })))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["message"].as_str().unwrap().contains("1 到 365"));
    let by_village = app.call(Method::POST, "/api/catalogue/changes", Some(&zhao), Some(set(json!({ "ordinary": 15, "special": 14 })))).await;
    assert_eq!(by_village.status, StatusCode::FORBIDDEN);
    let ok = app
        .call(Method::POST, "/api/catalogue/changes", Some(&wu),
            Some(set(json!({ "ordinary": 15, "special": 14, "groups": [["extreme_poverty", 25]] }))))
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{:?}", ok.json());
    assert_eq!(overdue().await, [1, 6], "ordinary after 15 days now; 特困 after 25");
    let roster: RosterResponse = serde_json::from_slice(&app.call(Method::GET, "/api/roster", Some(&zhang), None).await.body).unwrap();
    assert_eq!(roster.intervals().days_for(&[SpecialGroup::ExtremePoverty]), 25);
}

/// The dashboard's services-by-kind and unmatched-needs counts come from
/// tallies kept by triggers (migration 0021): after services on several days
/// (a household's latest moving on, two on one day), needs recorded and
/// changed, matchups under way, failed and succeeded, and a household moved to
/// another village, they equal the counts read from the rows themselves, for
/// every area and for periods up to today and in the past, before and after
/// folding (PostgreSQL's rows of changes).
#[tokio::test]
async fn service_and_need_tallies_match_the_rows_after_visits_matchups_and_a_move() {
    use daohu_server::seed::{county_id, grid_id, township_id};
    use daohu_server::tree::Subtree;
    let app = TestApp::new().await;
    let (zhang, zhao, wu) = (app.session(ZHANG).await, app.session(ZHAO).await, app.session(WU).await);
    let today = Utc::now().date_naive();
    let ago = |d: i64| today - Duration::days(d);

    // Services: (seed, household, days ago, kinds).
    let given: [(u8, u128, i64, &[&str]); 7] = [
        (1, 1, 5, &["medical", "schooling"]),
        (2, 1, 2, &["medical"]),
        (3, 2, 2, &["medical", "paperwork"]),
        (4, 2, 2, &["medical"]),
        (5, 5, 4, &["daily_care"]),
        (6, 5, 1, &["daily_care", "medical"]),
        (7, 3, 0, &["employment"]),
    ];
    let visits: Vec<daohu_domain::Visit> = given
        .iter()
        .map(|(seed, h, d, kinds)| {
            let mut v = common::visit(*seed, household_id(*h), member_id(ZHANG));
            v.visited_on = ago(*d);
            for k in *kinds {
                v.set_service(k, true);
            }
            v
        })
        .collect();
    let answer = app.upload(&zhang, common::device(), &visits).await;
    let receipts: daohu_domain::SyncResponse = serde_json::from_slice(&answer.body).unwrap();
    assert!(receipts.receipts.iter().all(|r| r.status == ReceiptStatus::Stored), "{:?}", receipts.receipts);

    // Needs, then matchups: household 1's market under way (matched), its
    // technique failed (still unmatched); household 2's funds succeeded, then
    // its needs change to jobs alone; household 5 keeps funds and jobs.
    let now = Utc::now();
    let fact = |household: u128, value: &str, at: DateTime<Utc>| {
        json!({ "id": Uuid::now_v7(), "household_id": household_id(household), "field": "needs", "value": value, "at": at })
    };
    let days = |d: i64| now - Duration::days(d);
    let stored = send(&app, &zhang, vec![fact(1, "technique,market", days(3)), fact(2, "funds,market", now), fact(5, "funds,jobs", days(4))]).await;
    assert!(stored.iter().all(|r| r.0 == ReceiptStatus::Stored), "{stored:?}");
    // Unsafe housing and water and 应享未享 recorded on several days (migration 0024's counts).
    let water = |h: u128, w: &str, at: DateTime<Utc>| json!({ "id": Uuid::now_v7(), "household_id": household_id(h), "field": "water", "value": w, "at": at });
    let stored = send(&app, &zhang, vec![
        housing_change(Uuid::now_v7(), household_id(1), "dangerous", days(1)),
        water(2, "unsafe", days(5)),
        policy_change(Uuid::now_v7(), household_id(3), "dibao", "entitled_not_receiving", None, days(2)),
        housing_change(Uuid::now_v7(), household_id(5), "needs_repair", days(3)),
        policy_change(Uuid::now_v7(), household_id(5), "gaoling", "entitled_not_receiving", None, now),
        water(4, "seasonal_shortage", days(2)),
        housing_change(Uuid::now_v7(), household_id(4), "safe", days(2)),
    ]).await;
    assert!(stored.iter().all(|r| r.0 == ReceiptStatus::Stored), "{stored:?}");
    for (household, need, list, resource, outcome) in [
        (1, "market", "buyer", "county_market", "underway"),
        (1, "technique", "technician", "agri_station", "failed"),
        (2, "funds", "fund", "microcredit", "underway"),
        (2, "funds", "fund", "microcredit", "succeeded"),
        (5, "jobs", "buyer", "county_market", "failed"),
    ] {
        let body = json!({ "id": Uuid::now_v7(), "household_id": household_id(household), "need": need, "list": list,
                           "resource": resource, "on": today.to_string(), "outcome": outcome, "note": "" });
        let answer = app.call(Method::POST, "/api/matchups", Some(&zhao), Some(body)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    }
    let later = now + Duration::minutes(1);
    assert_eq!(send(&app, &zhang, vec![fact(2, "jobs", later)]).await[0].0, ReceiptStatus::Stored);
    // Later still: 低保 reaches household 3 (out of the counts), household 4's water turns unsafe today.
    let stored = send(&app, &zhang, vec![
        policy_change(Uuid::now_v7(), household_id(3), "dibao", "receiving", None, later),
        water(4, "unsafe", later),
    ]).await;
    assert!(stored.iter().all(|r| r.0 == ReceiptStatus::Stored), "{stored:?}");
    // Household 5 moves to a grid of the other village, taking its services and needs.
    let moved = app
        .call(Method::PATCH, &format!("/api/households/{}", household_id(5)), Some(&wu), Some(json!({ "grid_id": grid_id(4) })))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.json());

    // The counts read from the rows, as the dashboard read them before the tallies.
    let from_rows = |area: Subtree, from: chrono::NaiveDate, to: chrono::NaiveDate| {
        let pool = app.state.pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            let services: Vec<(String, i64, i64)> = sqlx::query_as(daohu_server::store::visits::SERVICE_COUNTS)
                .bind(from.to_string()).bind(to.to_string()).bind(area.lo()).bind(area.hi())
                .fetch_all(&mut *conn).await.unwrap();
            let mut needs: Vec<(String, i64)> = sqlx::query_as(
                "SELECT n.need, COUNT(*) FROM ledger_current lc
                 CROSS JOIN (SELECT 'technique' AS need UNION ALL SELECT 'funds' UNION ALL SELECT 'market' UNION ALL SELECT 'jobs') AS n
                 WHERE lc.field = 'needs' AND lc.unit_path >= $1 AND lc.unit_path < $2
                   AND (',' || lc.state || ',') LIKE ('%,' || n.need || ',%')
                   AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = lc.household_id AND m.need = n.need
                                 ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed'
                 GROUP BY n.need ORDER BY n.need")
                .bind(area.lo()).bind(area.hi())
                .fetch_all(&mut *conn).await.unwrap();
            needs.sort();
            // What was recorded in the period, by China's day of each current value's change.
            let china_day = |t: &str| (daohu_server::db::parse_ts(t).unwrap() + Duration::hours(8)).date_naive();
            let values: Vec<(String, String, String, String)> =
                sqlx::query_as("SELECT unit_path, field, state, effective_at FROM ledger_current").fetch_all(&mut *conn).await.unwrap();
            let mut recorded: BTreeMap<(String, String), i64> = BTreeMap::new();
            for (path, field, state, at) in values {
                let counted = (field == "housing" && ["needs_repair", "dangerous"].contains(&state.as_str()))
                    || (field == "water" && ["unsafe", "seasonal_shortage"].contains(&state.as_str()))
                    || (field.starts_with("policy:") && state == "entitled_not_receiving");
                let day = china_day(&at);
                if counted && area.contains(&path) && from <= day && day <= to {
                    *recorded.entry((field, state)).or_default() += 1;
                }
            }
            let unmatched: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT lc.unit_path, n.need, lc.effective_at FROM ledger_current lc
                 CROSS JOIN (SELECT 'technique' AS need UNION ALL SELECT 'funds' UNION ALL SELECT 'market' UNION ALL SELECT 'jobs') AS n
                 WHERE lc.field = 'needs' AND (',' || lc.state || ',') LIKE ('%,' || n.need || ',%')
                   AND COALESCE((SELECT m.outcome FROM matchups m WHERE m.household_id = lc.household_id AND m.need = n.need
                                 ORDER BY m.n DESC LIMIT 1), 'failed') = 'failed'")
                .fetch_all(&mut *conn).await.unwrap();
            let mut needs_in_period: BTreeMap<String, i64> = BTreeMap::new();
            for (path, need, at) in unmatched {
                let day = china_day(&at);
                if area.contains(&path) && from <= day && day <= to {
                    *needs_in_period.entry(need).or_default() += 1;
                }
            }
            let recorded: Vec<(String, String, i64)> = recorded.into_iter().map(|((f, s), n)| (f, s, n)).collect();
            (services, needs, recorded, needs_in_period.into_iter().collect::<Vec<_>>())
        }
    };
    let from_tallies = |area: Subtree, from: chrono::NaiveDate, to: chrono::NaiveDate| {
        let pool = app.state.pool.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            let services = daohu_server::store::visits::service_counts(&mut conn, &area, from, to).await.unwrap();
            let (first, last) = (from.to_string(), to.to_string());
            let both = daohu_server::store::matchups::unmatched_counts(&mut conn, &area, &first, &last).await.unwrap();
            let mut needs: Vec<(String, i64)> = both.iter().map(|(need, n, _)| (need.clone(), *n)).collect();
            needs.sort();
            let mut recorded = daohu_server::store::ledger::recorded_counts(&mut conn, &area, &first, &last).await.unwrap();
            recorded.sort();
            let mut needs_in_period: Vec<(String, i64)> = both.into_iter().filter(|b| b.2 > 0).map(|(need, _, n)| (need, n)).collect();
            needs_in_period.sort();
            (services, needs, recorded, needs_in_period)
        }
    };
    let path = |units: &[Uuid]| Subtree { path: format!("/{}/", units.iter().map(Uuid::to_string).collect::<Vec<_>>().join("/")) };
    let areas = [
        path(&[county_id()]),
        path(&[county_id(), township_id()]),
        path(&[county_id(), township_id(), village_id()]),
        path(&[county_id(), township_id(), second_village_id()]),
    ];
    let periods = [(ago(30), today), (ago(2), today), (ago(5), ago(2)), (ago(3), ago(1)), (today, today + Duration::days(1))];
    let check = |when: &'static str| {
        let areas = areas.clone();
        let (from_rows, from_tallies) = (&from_rows, &from_tallies);
        async move {
            for area in areas {
                for (from, to) in periods {
                    let (want, got) = (from_rows(area.clone(), from, to).await, from_tallies(area.clone(), from, to).await);
                    assert_eq!(got, want, "{when}: {} from {from} to {to}", area.path);
                }
            }
        }
    };
    check("before folding").await;
    let mut conn = app.state.pool.acquire().await.unwrap();
    while daohu_server::store::upkeep::fold_tallies(&mut conn).await.unwrap() != Some(0) {}
    drop(conn);
    check("after folding").await;

    // What the rows say, so the comparison above compares something: the
    // village's month has medical given 4 times to 2 households (household 5's
    // went with it), and its unmatched needs are household 1's technique and 2's jobs.
    let village = path(&[county_id(), township_id(), village_id()]);
    // (To China's today: a value recorded a minute ago may be on China's next day.)
    let china_today = (Utc::now() + Duration::hours(8)).date_naive();
    let (services, needs, recorded, needs_in_period) = from_tallies(village.clone(), ago(30), china_today).await;
    assert!(services.contains(&("medical".into(), 4, 2)), "{services:?}");
    assert!(!services.iter().any(|s| s.0 == "daily_care"), "{services:?}");
    assert_eq!(needs, [("jobs".to_string(), 1), ("technique".to_string(), 1)]);
    // The village's month: household 1's dangerous house and 2's and 4's unsafe
    // water (3's 低保 is received now, 5 moved); its needs recorded in it.
    let words = |v: &[(&str, &str, i64)]| v.iter().map(|(f, s, n)| (f.to_string(), s.to_string(), *n)).collect::<Vec<_>>();
    assert_eq!(recorded, words(&[("housing", "dangerous", 1), ("water", "unsafe", 2)]));
    assert_eq!(needs_in_period, [("jobs".to_string(), 1), ("technique".to_string(), 1)]);
    // Three to two days back: household 1's technique was recorded 3 days ago, 2's jobs today.
    let (_, _, recorded, needs_in_period) = from_tallies(village.clone(), ago(3), ago(2)).await;
    assert!(recorded.is_empty(), "{recorded:?}");
    assert_eq!(needs_in_period, [("technique".to_string(), 1)]);
    let other = from_tallies(path(&[county_id(), township_id(), second_village_id()]), ago(30), china_today).await;
    assert_eq!(other.0, [("daily_care".to_string(), 2, 1), ("medical".to_string(), 1, 1)]);
    assert_eq!(other.1, [("funds".to_string(), 1), ("jobs".to_string(), 1)]);
    assert_eq!(other.2, words(&[("housing", "needs_repair", 1), ("policy:gaoling", "entitled_not_receiving", 1)]));
}
