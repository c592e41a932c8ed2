//! The organisation: the tree and its counts, new units, accounts (create, role
//! change, move, disable), member ↔ household links, household moves, QR enrolment
//! and the audit log.

mod common;

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use common::{device, visit, TestApp};
use daohu_domain::{
    Account, AdminHousehold, AuditEntry, Enrollment, OrgTree, RosterResponse, Session, UnitKind,
};
use daohu_server::db::{self, ts};
use daohu_server::seed::{
    county_id, grid_id, household_id, member_id, phones, second_village_id, township_id,
    village_id, DEMO_PASSWORD,
};
use serde_json::{json, Value};
use uuid::Uuid;

fn parse<T: serde::de::DeserializeOwned>(answer: &common::Answer, status: StatusCode) -> T {
    assert_eq!(
        answer.status,
        status,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

async fn get<T: serde::de::DeserializeOwned>(app: &TestApp, path: &str, token: &str) -> T {
    parse(
        &app.call(Method::GET, path, Some(token), None).await,
        StatusCode::OK,
    )
}

async fn roster_ids(app: &TestApp, token: &str) -> HashSet<Uuid> {
    let r: RosterResponse = get(app, "/api/roster", token).await;
    r.households.iter().map(|h| h.household.id).collect()
}

async fn audit(app: &TestApp, action: &str) -> Vec<(Option<String>, Value)> {
    let rows: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT actor_member_id, detail FROM audit_log WHERE action = $1 ORDER BY id",
    )
    .bind(action)
    .fetch_all(&app.state.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(a, d)| (a, serde_json::from_str(&d).unwrap()))
        .collect()
}

#[tokio::test]
async fn the_tree_has_counts_and_takes_new_units() {
    let app = TestApp::new().await;
    let wu = app.session(29).await;
    let tree: OrgTree = get(&app, "/api/org", &wu).await;
    let names: Vec<&str> = tree.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "示范县",
            "青山镇",
            "青山村",
            "第一网格",
            "第二网格",
            "第三网格",
            "绿水村",
            "绿水第一网格"
        ]
    );
    let unit = |name: &str| tree.units.iter().find(|u| u.name == name).unwrap().clone();
    assert_eq!(
        (unit("示范县").households, unit("示范县").accounts),
        (70, 9)
    );
    assert_eq!(
        (unit("青山镇").households, unit("青山镇").accounts),
        (70, 8)
    );
    assert_eq!(
        (unit("青山村").households, unit("青山村").accounts),
        (60, 6)
    );
    assert_eq!(
        (unit("第一网格").households, unit("第一网格").accounts),
        (20, 1)
    );
    assert_eq!(
        (unit("绿水村").households, unit("绿水村").accounts),
        (10, 1)
    );
    assert_eq!(unit("示范县").parent_id, None);
    assert_eq!(unit("绿水第一网格").parent_id, Some(second_village_id()));
    // parents before children
    for (i, u) in tree.units.iter().enumerate() {
        if let Some(p) = u.parent_id {
            assert!(
                tree.units[..i].iter().any(|x| x.id == p),
                "{} before its parent",
                u.name
            );
        }
    }

    // above the village, the profile names the coordinator's own unit
    let me: daohu_domain::MemberProfile = get(&app, "/api/me", &wu).await;
    assert_eq!(me.village, "示范县");
    let me: daohu_domain::MemberProfile = get(&app, "/api/me", &app.session(19).await).await;
    assert_eq!(me.village, "青山镇");

    let zhao = app.session(9).await;
    let mine: OrgTree = get(&app, "/api/org", &zhao).await;
    let names: Vec<&str> = mine.units.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["青山村", "第一网格", "第二网格", "第三网格"]);

    let new_unit = |kind: &str, name: &str, parent: Uuid| json!({ "kind": kind, "name": name, "parent_id": parent });
    let made = app
        .call(
            Method::POST,
            "/api/org/units",
            Some(&zhao),
            Some(new_unit("grid", " 第四网格 ", village_id())),
        )
        .await;
    let made: daohu_domain::OrgUnit = parse(&made, StatusCode::CREATED);
    assert_eq!(
        (made.name.as_str(), made.kind, made.parent_id),
        ("第四网格", UnitKind::Grid, Some(village_id()))
    );
    let cases = [
        (
            &zhao,
            new_unit("grid", "第四网格", village_id()),
            StatusCode::CONFLICT,
        ),
        (
            &zhao,
            new_unit("village", "新村", village_id()),
            StatusCode::BAD_REQUEST,
        ),
        (
            &zhao,
            new_unit("grid", "", village_id()),
            StatusCode::BAD_REQUEST,
        ),
        (
            &zhao,
            new_unit("grid", &"长".repeat(51), village_id()),
            StatusCode::BAD_REQUEST,
        ),
        (
            &zhao,
            new_unit("grid", "第二网格", second_village_id()),
            StatusCode::NOT_FOUND,
        ),
        (
            &zhao,
            new_unit("village", "新村", township_id()),
            StatusCode::NOT_FOUND,
        ),
        (
            &zhao,
            new_unit("grid", "网格", made.id),
            StatusCode::BAD_REQUEST,
        ),
        (
            &wu,
            new_unit("township", "白云镇", county_id()),
            StatusCode::CREATED,
        ),
        (
            &wu,
            new_unit("grid", "直属网格", township_id()),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (token, body, status) in cases {
        let answer = app
            .call(
                Method::POST,
                "/api/org/units",
                Some(token),
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, status, "{body}: {}", answer.json());
    }
    let conflict = app
        .call(
            Method::POST,
            "/api/org/units",
            Some(&zhao),
            Some(new_unit("grid", "第一网格", village_id())),
        )
        .await;
    assert_eq!(conflict.json()["error"], "conflict");
    let tree: OrgTree = get(&app, "/api/org", &zhao).await;
    assert_eq!(tree.units.len(), 5);
    assert_eq!(audit(&app, "unit_created").await.len(), 2);
}

#[tokio::test]
async fn inside_the_tree_is_answered_from_an_index() {
    let app = TestApp::new().await;
    let subtree = daohu_server::scope::Subtree {
        path: format!("/{}/", county_id()),
    };
    if app.state.store.dialect() == daohu_server::db::Dialect::Postgres {
        // The few test rows would be read whole anyway; with that ruled out, the
        // path index must serve the range test that "inside the subtree" is.
        let mut conn = app.state.pool.acquire().await.unwrap();
        sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.unwrap();
        let plan: Vec<String> = sqlx::query_scalar("EXPLAIN SELECT id FROM units WHERE path >= $1 AND path < $2")
            .bind(subtree.lo())
            .bind(subtree.hi())
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        sqlx::query("RESET enable_seqscan").execute(&mut *conn).await.unwrap();
        let plan = plan.join(" | ");
        assert!(plan.contains("Index") && plan.contains("units_path_key"), "{plan}");
        return;
    }
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as("EXPLAIN QUERY PLAN SELECT id FROM units WHERE path >= $1 AND path < $2")
            .bind(subtree.lo())
            .bind(subtree.hi())
            .fetch_all(&app.state.pool)
            .await
            .unwrap();
    let detail: Vec<&str> = plan.iter().map(|p| p.3.as_str()).collect();
    assert!(
        detail
            .iter()
            .any(|d| d.contains("USING") && d.contains("INDEX")),
        "{detail:?}"
    );
}

#[tokio::test]
async fn accounts_are_listed_made_and_changed_within_scope() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let sun = app.session(19).await;
    let names = |list: &[Account]| list.iter().map(|a| a.name.clone()).collect::<HashSet<_>>();
    let list: Vec<Account> = get(&app, "/api/accounts", &zhao).await;
    assert_eq!(
        names(&list),
        ["张党员", "李党员", "王网格长", "陈志愿者", "刘志愿者"]
            .map(String::from)
            .into()
    );
    let zhang = list.iter().find(|a| a.name == "张党员").unwrap();
    assert_eq!(
        (zhang.households, zhang.unit_name.as_str(), zhang.unit_id),
        (10, "第一网格", grid_id(1))
    );
    let list: Vec<Account> = get(&app, "/api/accounts", &sun).await;
    assert_eq!(
        names(&list),
        [
            "张党员",
            "李党员",
            "王网格长",
            "陈志愿者",
            "刘志愿者",
            "赵书记",
            "周党员"
        ]
        .map(String::from)
        .into()
    );

    // new accounts
    let account = |name: &str, phone: &str, role: &str, unit: Uuid, password: &str| json!({ "name": name, "phone": phone, "role": role, "unit_id": unit, "password": password });
    let made = app
        .call(
            Method::POST,
            "/api/accounts",
            Some(&zhao),
            Some(account("刘党员", "137-0000-0001", "member", grid_id(2), "")),
        )
        .await;
    let made: Account = parse(&made, StatusCode::CREATED);
    assert_eq!(
        (made.phone.as_str(), made.role, made.unit_id, made.disabled),
        ("13700000001", daohu_domain::Role::Member, grid_id(2), false)
    );
    // no password: nothing signs in with a password, not even an empty one
    for password in ["", "daohu123", "!"] {
        assert_eq!(
            app.login_as("13700000001", password).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let with_password = app
        .call(
            Method::POST,
            "/api/accounts",
            Some(&zhao),
            Some(account(
                "钱志愿者",
                "13700000002",
                "volunteer",
                village_id(),
                "longenough1",
            )),
        )
        .await;
    assert_eq!(with_password.status, StatusCode::CREATED);
    // A password a coordinator set is a first one: the owner chooses their own.
    let first = app.login_as("13700000002", "longenough1").await;
    assert_eq!(first.status, StatusCode::FORBIDDEN);
    assert_eq!(first.json()["error"], "password_change_required");
    let cases = [
        (
            account("重号", "13700000001", "member", grid_id(1), ""),
            StatusCode::CONFLICT,
        ),
        (
            account("重号", phones::MEMBER_ZHOU, "member", grid_id(1), ""),
            StatusCode::CONFLICT,
        ),
        (
            account(
                "书记",
                "13700000003",
                "village_coordinator",
                village_id(),
                "",
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            account("挂错", "13700000003", "member", village_id(), ""),
            StatusCode::BAD_REQUEST,
        ),
        (
            account("挂错", "13700000003", "volunteer", grid_id(1), ""),
            StatusCode::BAD_REQUEST,
        ),
        (
            account("坏号", "12345", "member", grid_id(1), ""),
            StatusCode::BAD_REQUEST,
        ),
        (
            account("短密码", "13700000003", "member", grid_id(1), "short"),
            StatusCode::BAD_REQUEST,
        ),
        (
            account("", "13700000003", "member", grid_id(1), ""),
            StatusCode::BAD_REQUEST,
        ),
        (
            account("外村", "13700000003", "member", grid_id(4), ""),
            StatusCode::NOT_FOUND,
        ),
        (
            account("外村", "13700000003", "member", Uuid::from_u128(5), ""),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (body, status) in cases {
        let answer = app
            .call(
                Method::POST,
                "/api/accounts",
                Some(&zhao),
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, status, "{body}: {}", answer.json());
    }
    let created = audit(&app, "account_created").await;
    assert_eq!(created.len(), 2);
    assert_eq!(
        created[0].0.as_deref(),
        Some(member_id(9).to_string().as_str())
    );
    assert!(
        !created[0].1.to_string().contains("13700000001"),
        "no phone in plain"
    );

    // role change, audited with actor and target
    let li = member_id(2);
    let changed = app
        .call(
            Method::PATCH,
            &format!("/api/accounts/{li}"),
            Some(&zhao),
            Some(json!({ "role": "grid_leader" })),
        )
        .await;
    let changed: Account = parse(&changed, StatusCode::OK);
    assert_eq!(changed.role, daohu_domain::Role::GridLeader);
    let roles = audit(&app, "role_changed").await;
    assert_eq!(roles.len(), 1);
    assert_eq!(
        roles[0].0.as_deref(),
        Some(member_id(9).to_string().as_str())
    );
    assert_eq!(
        roles[0].1,
        json!({ "account_id": li, "from": "member", "to": "grid_leader" })
    );
    // the new role applies on the very next request: a grid leader sees the whole grid
    let li_token = app.session(2).await;
    assert_eq!(roster_ids(&app, &li_token).await.len(), 20);

    // a move keeps the links
    let moved = app
        .call(
            Method::PATCH,
            &format!("/api/accounts/{li}"),
            Some(&zhao),
            Some(json!({ "role": "member", "unit_id": grid_id(3) })),
        )
        .await;
    let moved: Account = parse(&moved, StatusCode::OK);
    assert_eq!(
        (moved.unit_id, moved.unit_name.as_str(), moved.households),
        (grid_id(3), "第三网格", 10)
    );
    assert_eq!(
        roster_ids(&app, &li_token).await,
        (20..30).map(household_id).collect()
    );
    let moves = audit(&app, "account_moved").await;
    assert_eq!(moves[0].1["to_unit_id"], json!(grid_id(3)));

    // in scope but not the role's to change: 403; out of scope: 404
    let cases = [
        (
            member_id(9),
            json!({ "disabled": true }),
            StatusCode::FORBIDDEN,
        ),
        (
            member_id(1),
            json!({ "role": "village_coordinator", "unit_id": village_id() }),
            StatusCode::FORBIDDEN,
        ),
        (
            member_id(5),
            json!({ "role": "member" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            member_id(1),
            json!({ "unit_id": village_id() }),
            StatusCode::BAD_REQUEST,
        ),
        (
            member_id(1),
            json!({ "unit_id": grid_id(4) }),
            StatusCode::NOT_FOUND,
        ),
        (
            member_id(21),
            json!({ "disabled": true }),
            StatusCode::NOT_FOUND,
        ),
        (
            member_id(19),
            json!({ "disabled": true }),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (id, body, status) in cases {
        let answer = app
            .call(
                Method::PATCH,
                &format!("/api/accounts/{id}"),
                Some(&zhao),
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, status, "{id} {body}: {}", answer.json());
    }
    // the township moves 周党员 into 青山村
    let zhou = app
        .call(
            Method::PATCH,
            &format!("/api/accounts/{}", member_id(21)),
            Some(&sun),
            Some(json!({ "unit_id": grid_id(1) })),
        )
        .await;
    assert_eq!(zhou.status, StatusCode::OK);
    let list: Vec<Account> = get(&app, "/api/accounts", &zhao).await;
    let zhou = list
        .iter()
        .find(|a| a.name == "周党员")
        .expect("now in 赵书记's village");
    assert_eq!(
        zhou.households, 0,
        "links outside the caller's subtree are not counted"
    );
}

#[tokio::test]
async fn disabling_an_account_ends_its_sessions_at_once() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let zhang = app.zhang().await;
    let zhang_phone = app.session(1).await;
    assert_eq!(
        app.call(Method::GET, "/api/me", Some(&zhang), None)
            .await
            .status,
        StatusCode::OK
    );
    let off = app
        .call(
            Method::PATCH,
            &format!("/api/accounts/{}", member_id(1)),
            Some(&zhao),
            Some(json!({ "disabled": true })),
        )
        .await;
    let off: Account = parse(&off, StatusCode::OK);
    assert!(off.disabled);
    for token in [&zhang, &zhang_phone] {
        let after = app
            .call(Method::GET, "/api/roster", Some(token), None)
            .await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        assert_eq!(after.json()["error"], "session_expired");
    }
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE member_id = $1")
        .bind(member_id(1).to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
    let login = app.login_as(phones::MEMBER_ZHANG, DEMO_PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(login.json()["error"], "account_disabled");
    let enrol = app
        .call(
            Method::POST,
            &format!("/api/accounts/{}/enroll", member_id(1)),
            Some(&zhao),
            None,
        )
        .await;
    assert_eq!(enrol.status, StatusCode::CONFLICT);

    let on = app
        .call(
            Method::PATCH,
            &format!("/api/accounts/{}", member_id(1)),
            Some(&zhao),
            Some(json!({ "disabled": false })),
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    assert_eq!(
        app.login_as(phones::MEMBER_ZHANG, DEMO_PASSWORD)
            .await
            .status,
        StatusCode::OK
    );
    let disabled = audit(&app, "account_disabled").await;
    let enabled = audit(&app, "account_enabled").await;
    assert_eq!((disabled.len(), enabled.len()), (1, 1));
    assert_eq!(
        disabled[0].0.as_deref(),
        Some(member_id(9).to_string().as_str())
    );
    assert_eq!(disabled[0].1, json!({ "account_id": member_id(1) }));
}

async fn set_links(
    app: &TestApp,
    token: &str,
    member: Uuid,
    households: &[Uuid],
) -> common::Answer {
    app.call(
        Method::PUT,
        &format!("/api/accounts/{member}/households"),
        Some(token),
        Some(json!({ "household_ids": households })),
    )
    .await
}

#[tokio::test]
async fn links_one_to_one_and_one_to_many() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let zhang = app.session(1).await;
    let zhang_id = member_id(1);

    // 一联一
    let one: Vec<AdminHousehold> = parse(
        &set_links(&app, &zhao, zhang_id, &[household_id(5)]).await,
        StatusCode::OK,
    );
    assert_eq!(
        one.iter().map(|h| h.household.id).collect::<Vec<_>>(),
        [household_id(5)]
    );
    assert_eq!(roster_ids(&app, &zhang).await, [household_id(5)].into());

    // 一联多, across grids of the village, with a repeated id
    let many = [
        household_id(5),
        household_id(6),
        household_id(25),
        household_id(6),
    ];
    let many: Vec<AdminHousehold> = parse(
        &set_links(&app, &zhao, zhang_id, &many).await,
        StatusCode::OK,
    );
    assert_eq!(many.len(), 3);
    assert_eq!(
        roster_ids(&app, &zhang).await,
        [5, 6, 25].map(household_id).into()
    );

    // a household may have several members
    assert_eq!(
        set_links(
            &app,
            &zhao,
            member_id(2),
            &[household_id(5), household_id(20)]
        )
        .await
        .status,
        StatusCode::OK
    );
    let all: Vec<AdminHousehold> = get(
        &app,
        &format!("/api/households?unit_id={}", grid_id(1)),
        &zhao,
    )
    .await;
    let h5 = all
        .iter()
        .find(|h| h.household.id == household_id(5))
        .unwrap();
    let names: HashSet<&str> = h5.members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["张党员", "李党员"].into());
    assert_eq!(h5.village_id, village_id());

    // a household of another village: 404 for the whole request, nothing changed
    let foreign = set_links(&app, &zhao, zhang_id, &[household_id(7), household_id(60)]).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let unknown = set_links(&app, &zhao, zhang_id, &[Uuid::from_u128(99)]).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        roster_ids(&app, &zhang).await,
        [5, 6, 25].map(household_id).into()
    );
    // 周党员 is not 赵书记's; a volunteer has no households
    assert_eq!(
        set_links(&app, &zhao, member_id(21), &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        set_links(&app, &zhao, member_id(5), &[household_id(1)])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    // the township may link across its villages
    let sun = app.session(19).await;
    let across: Vec<AdminHousehold> = parse(
        &set_links(&app, &sun, zhang_id, &[household_id(5), household_id(60)]).await,
        StatusCode::OK,
    );
    assert_eq!(across.len(), 2);
    assert_eq!(
        roster_ids(&app, &zhang).await,
        [5, 60].map(household_id).into()
    );
    // 赵书记 replacing the links neither sees nor drops the one in 绿水村
    let mine: Vec<AdminHousehold> = parse(
        &set_links(&app, &zhao, zhang_id, &[household_id(1)]).await,
        StatusCode::OK,
    );
    assert_eq!(
        mine.iter().map(|h| h.household.id).collect::<Vec<_>>(),
        [household_id(1)]
    );
    assert_eq!(
        roster_ids(&app, &zhang).await,
        [1, 60].map(household_id).into()
    );

    let changes = audit(&app, "links_changed").await;
    assert_eq!(changes.len(), 5);
    assert_eq!(changes[1].1["after"], 3);
    assert_eq!(changes[1].1["added"], 2);
    assert_eq!(changes[1].1["removed"], 0);

    // the list can be searched, and is limited to the caller's subtree
    let found: Vec<AdminHousehold> = get(
        &app,
        "/api/households?q=%E4%B8%80%E7%BB%8412%E5%8F%B7",
        &zhao,
    )
    .await; // 一组12号
    assert_eq!(
        found.iter().map(|h| h.household.id).collect::<Vec<_>>(),
        [household_id(11)]
    );
    let everything: Vec<AdminHousehold> = get(&app, "/api/households", &zhao).await;
    assert_eq!(everything.len(), 60);
    let wild: Vec<AdminHousehold> = get(&app, "/api/households?q=%25", &zhao).await;
    assert!(wild.is_empty(), "% is a character, not a wildcard");
}

#[tokio::test]
async fn moving_a_household_keeps_its_visits() {
    let app = TestApp::new().await;
    let zhang = app.zhang().await;
    let zhao = app.session(9).await;
    let h = household_id(0);
    let v = visit(1, h, member_id(1));
    assert_eq!(
        app.upload(&zhang, device(), std::slice::from_ref(&v))
            .await
            .status,
        StatusCode::OK
    );

    let moved = app
        .call(
            Method::PATCH,
            &format!("/api/households/{h}"),
            Some(&zhao),
            Some(json!({ "grid_id": grid_id(2) })),
        )
        .await;
    let moved: AdminHousehold = parse(&moved, StatusCode::OK);
    assert_eq!(
        (moved.household.grid_id, moved.household.grid_name.as_str()),
        (grid_id(2), "第二网格")
    );
    assert_eq!(moved.last_visit_on, Some(v.visited_on));
    assert_eq!(moved.members.len(), 1, "links stay");
    let history: Vec<daohu_domain::VisitSummary> =
        get(&app, &format!("/api/households/{h}/visits"), &zhang).await;
    assert_eq!(history.iter().map(|s| s.id).collect::<Vec<_>>(), [v.id]);
    let coordinator_view: Vec<daohu_domain::VisitSummary> =
        get(&app, &format!("/api/households/{h}/visits"), &zhao).await;
    assert_eq!(coordinator_view.len(), 1);
    let audits = audit(&app, "household_moved").await;
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].1["to_grid_id"], json!(grid_id(2)));

    // not to a village, not out of the caller's subtree
    for (grid, status) in [
        (village_id(), StatusCode::BAD_REQUEST),
        (grid_id(4), StatusCode::NOT_FOUND),
    ] {
        let answer = app
            .call(
                Method::PATCH,
                &format!("/api/households/{h}"),
                Some(&zhao),
                Some(json!({ "grid_id": grid })),
            )
            .await;
        assert_eq!(answer.status, status);
    }
    // the township moves it to 绿水村: history still there, and 赵书记 no longer reaches it
    let sun = app.session(19).await;
    let moved = app
        .call(
            Method::PATCH,
            &format!("/api/households/{h}"),
            Some(&sun),
            Some(json!({ "grid_id": grid_id(4) })),
        )
        .await;
    let moved: AdminHousehold = parse(&moved, StatusCode::OK);
    assert_eq!(moved.village_id, second_village_id());
    let history: Vec<daohu_domain::VisitSummary> =
        get(&app, &format!("/api/households/{h}/visits"), &sun).await;
    assert_eq!(history.len(), 1);
    let gone = app
        .call(
            Method::GET,
            &format!("/api/households/{h}/visits"),
            Some(&zhao),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

async fn enroll(app: &TestApp, code: &str) -> common::Answer {
    app.call(
        Method::POST,
        "/api/auth/enroll",
        None,
        Some(json!({ "code": code })),
    )
    .await
}

#[tokio::test]
async fn enrolment_codes_sign_in_once() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    let path = format!("/api/accounts/{}/enroll", member_id(1));
    let e: Enrollment = parse(
        &app.call(Method::POST, &path, Some(&zhao), None).await,
        StatusCode::OK,
    );
    assert!(e.code.len() >= 32 && e.code.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(e.url, format!("http://localhost:8080/enroll/{}", e.code));
    assert!(
        e.qr_svg.contains("<svg"),
        "{}",
        &e.qr_svg[..100.min(e.qr_svg.len())]
    );
    let minutes = (e.expires_at - chrono::Utc::now()).num_seconds();
    assert!((590..=600).contains(&minutes), "{minutes}");
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM enrollment_codes")
        .fetch_all(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(
        stored,
        [daohu_server::auth::sha256_hex(&e.code)],
        "only the hash is kept"
    );

    let session: Session = parse(&enroll(&app, &e.code).await, StatusCode::OK);
    assert_eq!(
        (session.member.id, session.member.village.as_str()),
        (member_id(1), "青山村")
    );
    assert_eq!(
        app.call(Method::GET, "/api/roster", Some(&session.token), None)
            .await
            .status,
        StatusCode::OK
    );
    let again = enroll(&app, &e.code).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(again.json()["error"], "bad_code");
    assert_eq!(
        again.json()["message"],
        "二维码已用过或已过期，请找管理员重新生成"
    );

    // expired
    let expired = "e".repeat(40);
    let past = db::now() - chrono::Duration::minutes(11);
    sqlx::query(
        "INSERT INTO enrollment_codes (code_hash, member_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(daohu_server::auth::sha256_hex(&expired))
    .bind(member_id(1).to_string())
    .bind(member_id(9).to_string())
    .bind(ts(past))
    .bind(ts(past + chrono::Duration::minutes(10)))
    .execute(&app.state.pool)
    .await
    .unwrap();
    let answer = enroll(&app, &expired).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json()["error"], "bad_code");

    // a new code replaces the unused older one
    let first: Enrollment = parse(
        &app.call(Method::POST, &path, Some(&zhao), None).await,
        StatusCode::OK,
    );
    let second: Enrollment = parse(
        &app.call(Method::POST, &path, Some(&zhao), None).await,
        StatusCode::OK,
    );
    assert_ne!(first.code, second.code);
    assert_eq!(
        enroll(&app, &first.code).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(enroll(&app, &second.code).await.status, StatusCode::OK);

    // an enrol-only account (no password) signs in this way
    let made = app
        .call(
            Method::POST,
            "/api/accounts",
            Some(&zhao),
            Some(json!({ "name": "刘党员", "phone": "13700000009", "role": "member", "unit_id": grid_id(1), "password": "" })),
        )
        .await;
    let made: Account = parse(&made, StatusCode::CREATED);
    let e: Enrollment = parse(
        &app.call(
            Method::POST,
            &format!("/api/accounts/{}/enroll", made.id),
            Some(&zhao),
            None,
        )
        .await,
        StatusCode::OK,
    );
    let session: Session = parse(&enroll(&app, &e.code).await, StatusCode::OK);
    assert_eq!(session.member.name, "刘党员");

    // codes only for accounts the caller manages
    for (token, account, status) in [
        (&zhao, member_id(21), StatusCode::NOT_FOUND), // another village
        (&zhao, member_id(19), StatusCode::NOT_FOUND), // above
        (&zhao, member_id(9), StatusCode::FORBIDDEN),  // self
        (&app.session(1).await, member_id(2), StatusCode::FORBIDDEN),
        (&app.session(19).await, member_id(9), StatusCode::OK),
    ] {
        let answer = app
            .call(
                Method::POST,
                &format!("/api/accounts/{account}/enroll"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(answer.status, status, "{account}");
    }
    assert_eq!(audit(&app, "enroll_code_created").await.len(), 5);
    let enrolled = audit(&app, "enrolled").await;
    assert_eq!(enrolled.len(), 3);
    assert_eq!(
        enrolled[0].0.as_deref(),
        Some(member_id(1).to_string().as_str())
    );
}

#[tokio::test]
async fn bad_codes_count_toward_the_address_limit() {
    let app = TestApp::new().await;
    for i in 0..20 {
        let answer = enroll(&app, &format!("{i:040}")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let locked = enroll(&app, "x").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    // and so is password sign-in from that address
    assert_eq!(
        app.login_as(phones::MEMBER_ZHANG, DEMO_PASSWORD)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_enrolment_address_follows_the_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let pool = db::test_database(dir.path()).await.unwrap();
    daohu_server::seed_demo(&pool).await.unwrap();
    let settings = daohu_server::Settings {
        public_url: "https://daohu.example.org".into(),
        ..Default::default()
    };
    let state = daohu_server::AppState::new(pool, settings);
    let app = TestApp {
        router: daohu_server::app(state.clone()),
        state,
        dir,
    };
    let zhao = app.session(9).await;
    let e: Enrollment = parse(
        &app.call(
            Method::POST,
            &format!("/api/accounts/{}/enroll", member_id(1)),
            Some(&zhao),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        e.url,
        format!("https://daohu.example.org/enroll/{}", e.code)
    );
}

#[tokio::test]
async fn the_audit_log_is_read_by_the_county_only() {
    let app = TestApp::new().await;
    app.login_as(phones::MEMBER_ZHANG, "wrong").await;
    let zhao = app.token(phones::COORDINATOR_ZHAO).await;
    app.call(
        Method::PATCH,
        &format!("/api/accounts/{}", member_id(2)),
        Some(&zhao),
        Some(json!({ "role": "grid_leader" })),
    )
    .await;
    let wu = app.session(29).await;
    let entries: Vec<AuditEntry> = get(&app, "/api/audit?limit=3", &wu).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["role_changed", "login", "login_failed"]);
    assert_eq!(entries[0].actor_name.as_deref(), Some("赵书记"));
    assert_eq!(entries[0].detail["account_id"], json!(member_id(2)));
    assert!(entries[0].id > entries[1].id);
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(phones::MEMBER_ZHANG) && text.contains("138****0001"));
    let all: Vec<AuditEntry> = get(&app, "/api/audit", &wu).await;
    assert_eq!(all.last().unwrap().action, "seed_demo");
    assert_eq!(
        app.call(Method::GET, "/api/audit?limit=abc", Some(&wu), None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    for token in [zhao, app.session(19).await] {
        assert_eq!(
            app.call(Method::GET, "/api/audit", Some(&token), None)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
    }
    // there is no way to change it over the API
    for method in [Method::DELETE, Method::PUT, Method::PATCH, Method::POST] {
        let answer = app.call(method, "/api/audit", Some(&wu), None).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    }
}
