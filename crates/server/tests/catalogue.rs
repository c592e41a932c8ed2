//! The county's policy catalogue (the household ledger): every account reads
//! it; the county coordinator edits it, one version per edit, all kept; a
//! stale or bad edit is refused whole with a plain reason.

mod common;

use axum::http::{Method, StatusCode};
use common::TestApp;
use daohu_domain::ledger::Catalogue;
use serde_json::{json, Value};

/// 张党员, 赵书记 (village), 吴县长 (county).
const MEMBER: u128 = 1;
const VILLAGE: u128 = 9;
const COUNTY: u128 = 29;

fn policy(key: &str) -> Value {
    json!({ "key": key, "name_zh": "无障碍改造", "name_en": "Accessibility works", "description": "困难残疾人家庭",
            "groups": ["severely_disabled"], "apply_days": 60, "active": true })
}

async fn catalogue(app: &TestApp, token: &str, path: &str) -> Catalogue {
    let answer = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {:?}", answer.json());
    serde_json::from_slice(&answer.body).unwrap()
}

async fn versions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM policy_catalogues").fetch_one(&app.state.pool).await.unwrap()
}

#[tokio::test]
async fn the_county_coordinator_edits_the_catalogue_one_version_at_a_time_and_every_version_stays() {
    let app = TestApp::new().await;
    let (member, village, county) = (app.session(MEMBER).await, app.session(VILLAGE).await, app.session(COUNTY).await);

    // The demo county ships a dozen policies, version 1; a member's phone reads them.
    let v1 = catalogue(&app, &member, "/api/catalogue").await;
    assert_eq!((v1.version, v1.policies.len()), (1, 12));
    assert_eq!(v1.policy("dibao").map(|p| p.name_zh.as_str()), Some("低保"));

    // A village coordinator may not change the county's policies; nothing is stored.
    let retire = json!({ "base_version": 1, "change": { "change": "retire", "key": "dibao" } });
    let refused = app.call(Method::POST, "/api/catalogue/changes", Some(&village), Some(retire)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(versions(&app).await, 1);
    let add = json!({ "base_version": 1, "change": { "change": "add", "policy": policy("wuzhangai") } });

    // The county coordinator adds one: version 2, which every account now reads.
    let answer = app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(add.clone())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    let v2: Catalogue = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!((v2.version, v2.policies.len()), (2, 13));
    assert_eq!(catalogue(&app, &member, "/api/catalogue").await, v2);

    // The same edit again from a screen still showing version 1: refused, not applied twice.
    let stale = app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(add)).await;
    assert_eq!((stale.status, stale.json()["error"].as_str()), (StatusCode::CONFLICT, Some("catalogue_changed")));
    // Without a base version the key is still taken.
    let again = json!({ "change": { "change": "add", "policy": policy("wuzhangai") } });
    let taken = app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(again)).await;
    assert_eq!((taken.status, taken.json()["error"].as_str()), (StatusCode::CONFLICT, Some("duplicate_key")));
    assert_eq!(versions(&app).await, 2);

    // Retired: version 3 keeps it, inactive, with its names; version 2 is as it was.
    let retire = json!({ "base_version": 2, "change": { "change": "retire", "key": "wuzhangai" } });
    let answer = app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(retire)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    let now = catalogue(&app, &member, "/api/catalogue").await;
    assert_eq!(now.version, 3);
    let retired = now.policy("wuzhangai").unwrap();
    assert_eq!((retired.active, retired.name_zh.as_str()), (false, "无障碍改造"));
    assert_eq!(catalogue(&app, &member, "/api/catalogue/versions/2").await, v2);
    assert_eq!(catalogue(&app, &member, "/api/catalogue/versions/1").await, v1);
    let missing = app.call(Method::GET, "/api/catalogue/versions/4", Some(&member), None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Each edit is in the audit log with who made it.
    let audited: Vec<String> = sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'policy_catalogue_changed' ORDER BY id")
        .fetch_all(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(audited.len(), 2);
    assert!(audited[1].contains("\"retire\"") && audited[1].contains("\"version\":3"), "{}", audited[1]);
}

#[tokio::test]
async fn bad_edits_get_a_plain_reason_and_store_nothing() {
    let app = TestApp::new().await;
    let county = app.session(COUNTY).await;
    let mut bad_key = policy("Wu-Zhang");
    let mut no_name = policy("ok_key");
    no_name["name_en"] = json!("");
    let mut long_limit = policy("ok_key");
    long_limit["apply_days"] = json!(400);
    for (body, said) in [
        (json!({ "change": { "change": "add", "policy": bad_key.take() } }), "只能用英文小写字母"),
        (json!({ "change": { "change": "add", "policy": no_name } }), "名称都要填"),
        (json!({ "change": { "change": "add", "policy": long_limit } }), "1 到 365 天"),
        (json!({ "change": { "change": "retire", "key": "nope" } }), "没有代码为“nope”的政策"),
    ] {
        let answer = app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(body.clone())).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        let message = answer.json()["message"].as_str().unwrap_or_default().to_string();
        assert!(message.contains(said), "{body}: {message}");
    }
    // Not even the right shape: a 4xx, never a 500.
    for body in [json!({ "change": { "change": "delete", "key": "dibao" } }), json!({ "change": "add" }), json!([1])] {
        let answer = app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(body.clone())).await;
        assert!(answer.status.is_client_error(), "{body}: {}", answer.status);
    }
    assert_eq!(versions(&app).await, 1, "only the seeded version");
}

/// A village's own policy and buyer apply to its households alone: its member
/// reads them, another village's does not and cannot record them; the
/// village changes its own entries, a township not the village's, the county
/// anything.
#[tokio::test]
async fn a_villages_own_entries_apply_below_it_alone() {
    use daohu_domain::{ReceiptStatus, RosterResponse, SyncResponse};
    use daohu_server::seed::household_id;
    let app = TestApp::new().await;
    let (member, village, county) = (app.session(MEMBER).await, app.session(VILLAGE).await, app.session(COUNTY).await);
    let (other_member, township) = (app.session(21).await, app.session(19).await);
    let add = json!({ "change": { "change": "add", "policy": policy("cun_award") } });
    let answer = app.call(Method::POST, "/api/catalogue/changes", Some(&village), Some(add)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    let made: Catalogue = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(made.policy("cun_award").and_then(|p| p.local.as_ref()).map(|l| l.name.as_str()), Some("青山村"));
    let add_buyer = json!({ "change": { "change": "add_item", "item": {
        "list": "buyer", "key": "cun_shop", "name_zh": "村电商服务站", "name_en": "Village e-shop", "contact": "139", "active": true } } });
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&village), Some(add_buyer)).await.status, StatusCode::CREATED);

    // 青山村's member and the county read it; 绿水村's member does not.
    for (token, sees) in [(&member, true), (&county, true), (&other_member, false)] {
        let c = catalogue(&app, token, "/api/catalogue").await;
        assert_eq!(c.policy("cun_award").is_some(), sees);
        let roster: RosterResponse = serde_json::from_slice(&app.call(Method::GET, "/api/roster", Some(token), None).await.body).unwrap();
        if let Some(c) = roster.catalogue {
            assert_eq!(c.policy("cun_award").is_some(), sees);
        }
    }
    // A change of it for a 绿水村 household is refused as unknown there; in 青山村 it is stored.
    let change = |household| json!({ "id": uuid::Uuid::now_v7(), "household_id": household, "field": "policy:cun_award",
                                      "value": "receiving", "at": chrono::Utc::now() });
    for (token, household, expected) in [(&other_member, household_id(60), ReceiptStatus::Rejected), (&member, household_id(2), ReceiptStatus::Stored)] {
        let answer = app
            .call(Method::POST, "/api/sync/ledger", Some(token), Some(json!({ "device_id": uuid::Uuid::now_v7(), "changes": [change(household)] })))
            .await;
        let r: SyncResponse = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(r.receipts[0].status, expected, "{:?}", r.receipts);
    }
    // A matchup with the village's buyer for a 绿水村 household: unknown there.
    let matchup = json!({ "id": uuid::Uuid::now_v7(), "household_id": household_id(60), "need": "market", "list": "buyer",
                          "resource": "cun_shop", "on": "2026-12-01", "outcome": "underway" });
    assert_eq!(app.call(Method::POST, "/api/matchups", Some(&township), Some(matchup)).await.status, StatusCode::BAD_REQUEST);

    // Who changes it: not the township, the village and the county.
    let retire = json!({ "change": { "change": "retire", "key": "cun_award" } });
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&township), Some(retire.clone())).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&village), Some(retire)).await.status, StatusCode::CREATED);
    let back = json!({ "change": { "change": "reactivate", "key": "cun_award" } });
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(back)).await.status, StatusCode::CREATED);
    // The visit intervals stay the county's.
    let intervals = json!({ "change": { "change": "set_intervals", "intervals": { "ordinary": 20, "special": 10 } } });
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&village), Some(intervals)).await.status, StatusCode::FORBIDDEN);
}

/// The five sections' checklists are the catalogue's (精准服务's: its service
/// kinds): every catalogue starts with the items the sections always listed,
/// the county adds and retires items, the phone's roster carries them, and a
/// visit's ticks are checked against them at the household's place: an unknown
/// item refuses the visit whole with its name, a retired one ticked by a phone
/// that still had it is taken, and histories and downloads name each item as
/// the catalogue does.
#[tokio::test]
async fn section_checklists_come_from_the_catalogue_and_a_visit_is_checked_against_them() {
    use daohu_domain::{ItemList, ReceiptStatus, RosterResponse, SectionKind, SyncResponse, VisitDetail};
    use daohu_server::seed::{household_id, member_id};
    let app = TestApp::new().await;
    let (member, village, county) = (app.session(MEMBER).await, app.session(VILLAGE).await, app.session(COUNTY).await);
    async fn roster(app: &TestApp, token: &str) -> Catalogue {
        let answer = app.call(Method::GET, "/api/roster", Some(token), None).await;
        serde_json::from_slice::<RosterResponse>(&answer.body).unwrap().catalogue.unwrap()
    }
    async fn upload(app: &TestApp, token: &str, v: &daohu_domain::Visit) -> (ReceiptStatus, String) {
        let answer = app.upload(token, common::device(), std::slice::from_ref(v)).await;
        let r: SyncResponse = serde_json::from_slice(&answer.body).unwrap();
        (r.receipts[0].status, r.receipts[0].reason.clone().unwrap_or_default())
    }
    async fn stored(app: &TestApp, id: uuid::Uuid) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM visits WHERE id = $1").bind(id.to_string()).fetch_one(&app.state.pool).await.unwrap()
    }

    // The phone's catalogue lists each section's items, the defaults before any edit.
    let c = roster(&app, &member).await;
    let sizes: Vec<usize> = SectionKind::ALL.iter().map(|k| c.checklist(k.list(), |_| false).len()).collect();
    assert_eq!(sizes, [3, 6, 3, 3, 5]);

    // A tick the catalogue does not have: refused whole, with the item's code and list.
    let mut v = common::visit(1, household_id(2), member_id(MEMBER));
    v.sections[0].checked = vec!["known_to_family".into(), "photo_taken".into()];
    let (status, reason) = upload(&app, &member, &v).await;
    assert_eq!(status, ReceiptStatus::Rejected);
    assert!(reason.contains("photo_taken") && reason.contains("党员联系到户事项"), "{reason}");
    assert_eq!(stored(&app, v.id).await, 0);

    // The county adds 合影留念 and retires 发放党群联系卡: a version each; the roster carries both.
    for change in [
        json!({ "change": "add_item", "item": { "list": "contact_check", "key": "photo_taken", "name_zh": "合影留念", "name_en": "Photo taken", "active": true } }),
        json!({ "change": "retire_item", "list": "contact_check", "key": "contact_card" }),
    ] {
        let answer = app.call(Method::POST, "/api/catalogue/changes", Some(&county), Some(json!({ "change": change }))).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    }
    let c = roster(&app, &member).await;
    let shown: Vec<String> = c.checklist(ItemList::ContactCheck, |_| false).into_iter().map(|i| i.key).collect();
    assert_eq!(shown, ["known_to_family", "preferred_contact", "photo_taken"]);
    assert_eq!(c.item(ItemList::ContactCheck, "contact_card").map(|i| i.active), Some(false));
    // A village coordinator does not change the county's checklist.
    let by_village = json!({ "change": { "change": "retire_item", "list": "contact_check", "key": "known_to_family" } });
    assert_eq!(app.call(Method::POST, "/api/catalogue/changes", Some(&village), Some(by_village)).await.status, StatusCode::FORBIDDEN);

    // Now the same visit is taken; so is one that ticked the retired item offline.
    assert_eq!(upload(&app, &member, &v).await.0, ReceiptStatus::Stored);
    let mut offline = common::visit(2, household_id(3), member_id(MEMBER));
    offline.sections[0].checked = vec!["contact_card".into()];
    offline.sections[1].checked = vec!["housing_safe".into()];
    assert_eq!(upload(&app, &member, &offline).await.0, ReceiptStatus::Stored);
    assert_eq!((stored(&app, v.id).await, stored(&app, offline.id).await), (1, 1));

    // The coordinator's view of a visit names its ticked items as the catalogue does.
    for (visit, names) in [(&v, vec!["家人认识联户党员", "合影留念"]), (&offline, vec!["发放党群联系卡（含党员电话）", "查看住房安全"])] {
        let answer = app.call(Method::GET, &format!("/api/visits/{}", visit.id), Some(&village), None).await;
        assert_eq!(answer.status, StatusCode::OK);
        let detail: VisitDetail = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(detail.items.iter().map(|i| i.name_zh.as_str()).collect::<Vec<_>>(), names);
    }
    // So does the download: the CSV's 党员联系到户 column holds the new item's name.
    let link = app.call(Method::POST, "/api/exports?format=csv", Some(&village), None).await;
    assert_eq!(link.status, StatusCode::CREATED, "{:?}", link.json());
    let url = link.json()["url"].as_str().unwrap().to_string();
    let csv = String::from_utf8(app.call(Method::GET, &url, None, None).await.body.to_vec()).unwrap();
    assert!(csv.contains("家人认识联户党员、合影留念"), "{csv}");
    assert!(csv.contains("发放党群联系卡（含党员电话）"), "a retired item keeps its name: {csv}");
}
