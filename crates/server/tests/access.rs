//! The access matrix: every path and method of the OpenAPI document the server
//! serves, called by every role, once on a record in the caller's own scope and
//! once on one in another scope (the seeded second village 绿水村, or the other
//! member's / other grid's households). A path without a rule here fails the test,
//! so a new endpoint cannot ship without one.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{device, visit, TestApp};
use daohu_server::db::{self, ts};
use daohu_server::seed::{
    grid_id, household_id, member_id, phones, second_village_id, team_id, village_id, DEMO_PASSWORD,
};
use serde_json::{json, Value};

/// Columns of the expectations.
const ROLES: [&str; 7] = [
    "anonymous",
    "member",
    "grid_leader",
    "volunteer",
    "village_coordinator",
    "township_coordinator",
    "county_coordinator",
];
/// The demo account playing each role (张党员, 王网格长, 陈志愿者, 赵书记, 孙镇长, 吴县长).
const ACCOUNTS: [Option<u128>; 7] = [None, Some(1), Some(3), Some(5), Some(9), Some(19), Some(29)];
const PHONES: [&str; 7] = [
    phones::MEMBER_ZHANG,
    phones::MEMBER_ZHANG,
    phones::GRID_LEADER_WANG,
    phones::VOLUNTEER_CHEN,
    phones::COORDINATOR_ZHAO,
    phones::TOWNSHIP_SUN,
    phones::COUNTY_WU,
];

/// What each role must get, in the order of [`ROLES`], on its own scope and on another.
struct Rule {
    method: &'static str,
    path: &'static str,
    own: [u16; 7],
    other: [u16; 7],
}

const fn rule(method: &'static str, path: &'static str, own: [u16; 7], other: [u16; 7]) -> Rule {
    Rule {
        method,
        path,
        own,
        other,
    }
}

const fn same(method: &'static str, path: &'static str, both: [u16; 7]) -> Rule {
    rule(method, path, both, both)
}

//                         anon member grid vol  village town county
const ALL_OK: [u16; 7] = [200, 200, 200, 200, 200, 200, 200];
const SIGNED_IN: [u16; 7] = [401, 200, 200, 200, 200, 200, 200];
const COORDINATORS: [u16; 7] = [401, 403, 403, 403, 200, 200, 200];
const CREATE_OWN: [u16; 7] = [401, 403, 403, 403, 201, 201, 201];
const CREATE_OTHER: [u16; 7] = [401, 403, 403, 403, 404, 201, 201];
const COORD_OTHER: [u16; 7] = [401, 403, 403, 403, 404, 200, 200];

#[rustfmt::skip]
const RULES: &[Rule] = &[
    same("get", "/healthz", ALL_OK),
    same("get", "/api/openapi.json", ALL_OK),
    // own: the role's phone and password; other: a wrong password
    rule("post", "/api/auth/login", ALL_OK, [401; 7]),
    // own: a fresh code; other: a used one
    rule("post", "/api/auth/enroll", ALL_OK, [401; 7]),
    same("post", "/api/auth/logout", [401, 204, 204, 204, 204, 204, 204]),
    // own: a too common new password; other: a good new one but a wrong current one
    // (a right current password would end the role's sessions: tests/auth.rs covers it)
    rule("post", "/api/auth/password", [400; 7], [401; 7]),
    same("get", "/api/me", SIGNED_IN),
    same("get", "/api/me/phone-lock", SIGNED_IN),
    same("get", "/api/roster", SIGNED_IN),
    rule("get", "/api/households/{id}/visits",
        [401, 200, 200, 404, 200, 200, 200],
        [401, 404, 404, 404, 404, 200, 200]),
    // another scope's household is a `rejected` receipt, not a failed request
    same("post", "/api/sync/visits", [401, 200, 200, 403, 403, 403, 403]),
    // own: an export of 张党员's phone; other: of 周党员's (绿水村)
    rule("post", "/api/sync/import", COORDINATORS, COORD_OTHER),
    same("get", "/api/org", COORDINATORS),
    rule("post", "/api/org/units", CREATE_OWN, CREATE_OTHER),
    // own: 青山村, other: 绿水村
    rule("put", "/api/org/units/{id}/phone-lock", COORDINATORS, COORD_OTHER),
    same("get", "/api/accounts", COORDINATORS),
    rule("post", "/api/accounts", CREATE_OWN, CREATE_OTHER),
    rule("patch", "/api/accounts/{id}", COORDINATORS, COORD_OTHER),
    rule("put", "/api/accounts/{id}/households", COORDINATORS, COORD_OTHER),
    rule("post", "/api/accounts/{id}/enroll", COORDINATORS, COORD_OTHER),
    rule("get", "/api/households", COORDINATORS, COORD_OTHER),
    rule("patch", "/api/households/{id}", COORDINATORS, COORD_OTHER),
    rule("post", "/api/roster/import", COORDINATORS, COORD_OTHER),
    same("get", "/api/audit", [401, 403, 403, 403, 403, 403, 200]),
    // reports: own = 青山村 (or one of its visits), other = 绿水村
    rule("get", "/api/visits", COORDINATORS, COORD_OTHER),
    rule("get", "/api/visits/{id}", COORDINATORS, COORD_OTHER),
    rule("get", "/api/dashboard", COORDINATORS, COORD_OTHER),
    rule("get", "/api/meeting-sheet", COORDINATORS, COORD_OTHER),
    rule("post", "/api/exports", CREATE_OWN, CREATE_OTHER),
    // the token is the credential: whoever holds a fresh link downloads; a used one is 404
    rule("get", "/api/exports/{token}", ALL_OK, [404; 7]),
    // problems: own = one raised in 青山村 (by 张党员; for the grid leader, by 王网格长 in his
    // grid), other = one raised in 绿水村 by 周党员
    rule("get", "/api/problems", COORDINATORS, COORD_OTHER),
    rule("get", "/api/problems/{id}",
        [401, 200, 200, 404, 200, 200, 200],
        [401, 404, 404, 404, 404, 200, 200]),
    // volunteer activities: the phone's roster and uploads for the roles that record them;
    // an activity or check-in the caller may not store is a `rejected` receipt
    same("get", "/api/activity-roster", [401, 200, 200, 200, 403, 403, 403]),
    same("post", "/api/sync/activities", [401, 200, 200, 200, 403, 403, 403]),
    same("post", "/api/sync/check-ins", [401, 200, 200, 200, 403, 403, 403]),
    // photos: own = one of an activity the role's account recorded; other = 周党员's (绿水村)
    rule("get", "/api/photos/{id}",
        [401, 200, 200, 200, 403, 403, 403],
        [401, 404, 404, 404, 403, 403, 403]),
    rule("put", "/api/photos/{id}",
        [401, 200, 200, 200, 403, 403, 403],
        [401, 404, 404, 404, 403, 403, 403]),
    // the recorder, or a coordinator whose subtree holds the activity (own: 陈志愿者's in 青山村)
    rule("get", "/api/photos/{id}/content",
        [401, 200, 200, 200, 200, 200, 200],
        [401, 404, 404, 404, 404, 200, 200]),
    // coordinators: own = 青山村 (or 陈志愿者's activity there), other = 绿水村 (周党员's)
    rule("get", "/api/activities", COORDINATORS, COORD_OTHER),
    rule("get", "/api/activities/{id}", COORDINATORS, COORD_OTHER),
    rule("get", "/api/activities/hours", COORDINATORS, COORD_OTHER),
    same("get", "/api/activity-kinds", SIGNED_IN),
    same("post", "/api/activity-kinds", [401, 403, 403, 403, 403, 403, 201]),
    // the policy catalogue: every account reads its county's; own: version 1, other: one that does not exist
    same("get", "/api/catalogue", SIGNED_IN),
    rule("get", "/api/catalogue/versions/{version}", SIGNED_IN, [401, 404, 404, 404, 404, 404, 404]),
    // the county's anywhere; a township's or village's own entry, applying below it
    same("post", "/api/catalogue/changes", [401, 403, 403, 403, 201, 201, 201]),
    // the household ledger: as a household's visits; another scope's household is a
    // `rejected` receipt; the 应享未享 report as the dashboard
    rule("get", "/api/households/{id}/ledger",
        [401, 200, 200, 404, 200, 200, 200],
        [401, 404, 404, 404, 404, 200, 200]),
    same("post", "/api/sync/ledger", [401, 200, 200, 403, 200, 200, 200]),
    rule("get", "/api/ledger/gaps", COORDINATORS, COORD_OTHER),
    // 产业对接: the needs list as the dashboard; a matchup by coordinators, for a household under their unit
    rule("get", "/api/needs", COORDINATORS, COORD_OTHER),
    rule("post", "/api/matchups", CREATE_OWN, CREATE_OTHER),
    rule("get", "/api/teams", COORDINATORS, COORD_OTHER),
    // own: a team of 青山村 with 张党员; other: of 绿水村 with 周党员
    rule("post", "/api/teams", CREATE_OWN, CREATE_OTHER),
    // a change the caller may not make is a `rejected` receipt, not a failed request.
    // Last: the notes it stores put 孙镇长's and 吴县长's names in 青山村's trails.
    same("post", "/api/problems/events", SIGNED_IN),
];

/// Text that must never appear in an answer to this role: names and addresses of
/// records outside its scope.
fn foreign(role: usize) -> &'static [&'static str] {
    match role {
        1 => &["青山村二组", "青山村三组", "绿水", "周党员", "李党员"],
        2 => &["青山村一组", "青山村二组", "绿水", "周党员"],
        // a volunteer names 青山村's households (door and head's name) on activities of its
        // team, but never sees their phones (1390000….) or anything of 绿水村
        3 => &["绿水", "周党员", "1390000"],
        4 => &["绿水", "周党员", "孙镇长", "吴县长", "青山镇", "示范县"],
        _ => &[],
    }
}

struct Req {
    uri: String,
    token: Option<String>,
    body: Option<(String, Vec<u8>)>,
}

impl Req {
    fn json(uri: String, token: Option<String>, body: Value) -> Req {
        Req {
            uri,
            token,
            body: Some(("application/json".into(), body.to_string().into_bytes())),
        }
    }
}

/// An enrolment code for 张党员, stored directly; `used` makes it spent.
async fn enrol_code(app: &TestApp, n: usize, used: bool) -> String {
    let code = format!("{n:040x}");
    let now = db::now();
    sqlx::query(
        "INSERT INTO enrollment_codes (code_hash, member_id, created_by, created_at, expires_at, used_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(daohu_server::auth::sha256_hex(&code))
    .bind(member_id(1).to_string())
    .bind(member_id(29).to_string())
    .bind(ts(now))
    .bind(ts(now + chrono::Duration::minutes(10)))
    .bind(used.then(|| ts(now)))
    .execute(&app.state.pool)
    .await
    .unwrap();
    code
}

/// A visit stored directly: to household 0 by 张党员 (own) or to 绿水村's household 60 by 周党员 (other).
async fn stored_visit(app: &TestApp, other: bool) -> uuid::Uuid {
    let v = if other {
        visit(252, household_id(60), member_id(21))
    } else {
        visit(251, household_id(0), member_id(1))
    };
    common::plant_visit(app, &v).await;
    v.id
}

/// A problem raised in a visit, stored directly (the cached status filled by the
/// schema's trigger): own = 张党员's at household 0, or 王网格长's at household 40 for
/// the grid leader; other = 周党员's in 绿水村. Open (escalated at the door).
async fn stored_problem(app: &TestApp, role: usize, other: bool) -> uuid::Uuid {
    let (seed, household, member) = match (role, other) {
        (_, true) => (243u8, household_id(60), member_id(21)),
        (2, false) => (242, household_id(40), member_id(3)),
        _ => (241, household_id(0), member_id(1)),
    };
    let mut v = visit(seed, household, member);
    let problem = daohu_domain::uuid_v7(1_773_100_000_000 + u64::from(seed), [seed; 10]);
    v.problems.push(common::water_problem(problem));
    common::plant_visit(app, &v).await;
    sqlx::query(
        "INSERT INTO problems (id, visit_id, household_id, category, urgency,
             description, outcome, action, created_at)
         VALUES ($1, $2, $3, 'water', 'normal', '自来水管漏水', 'escalate', '', $4) ON CONFLICT DO NOTHING",
    )
    .bind(problem.to_string())
    .bind(v.id.to_string())
    .bind(v.household_id.to_string())
    .bind(ts(db::now()))
    .execute(&app.state.pool)
    .await
    .unwrap();
    problem
}

/// A photo's bytes for the access test (`n` makes them unique).
fn photo_bytes(n: usize) -> Vec<u8> {
    common::test_jpeg(40, 30, 400, n as u64)
}

/// An activity stored through the upload, with one photo (complete when `complete`):
/// own = recorded by the role's account (陈志愿者 for roles that record none, in his
/// team of 青山村); other = by 周党员 in 绿水村. Answers the activity and photo ids.
async fn stored_activity(
    app: &TestApp,
    role: usize,
    other: bool,
    n: usize,
    complete: bool,
) -> (uuid::Uuid, uuid::Uuid) {
    let recorder = match (other, ACCOUNTS[role]) {
        (true, _) => 21,
        (false, Some(m @ (1 | 3 | 5))) => m,
        (false, _) => 5,
    };
    let team = (recorder == 5).then(|| team_id(1));
    let mut a = common::activity(n as u64, member_id(recorder), team);
    let bytes = photo_bytes(n);
    let photo = daohu_domain::PhotoRef {
        id: daohu_domain::uuid_v7(1_777_000_000_000 + n as u64, [(n % 256) as u8; 10]),
        bytes: bytes.len() as u64,
        sha256: daohu_server::auth::sha256_hex(&bytes),
    };
    a.photos = vec![photo.clone()];
    let token = app.session(recorder).await;
    let answer = app.upload_activities(&token, device(), &[a.clone()]).await;
    assert_eq!(answer.json()["receipts"][0]["status"], "stored", "{:?}", answer.json());
    if complete {
        let put = app
            .raw(
                Method::PUT,
                &format!("/api/photos/{}?offset=0", photo.id),
                Some(&token),
                "application/octet-stream",
                bytes,
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{:?}", put.json());
    }
    (a.id, photo.id)
}

/// An export link made by 赵书记, stored directly (JSON lines of a household the role
/// itself reaches, so the download holds nothing foreign to it); `used` makes it spent.
async fn export_token(app: &TestApp, role: usize, n: usize, used: bool) -> String {
    let token = format!("{n:064x}");
    let filter = match role {
        2 => json!({ "household_id": household_id(40) }),
        3 => json!({ "from": "2100-01-01" }),
        _ => json!({ "household_id": household_id(0) }),
    };
    let now = db::now();
    sqlx::query(
        "INSERT INTO export_links (token_hash, created_by, format, filter, created_at, expires_at, used_at)
         VALUES ($1, $2, 'jsonl', $3, $4, $5, $6)",
    )
    .bind(daohu_server::auth::sha256_hex(&token))
    .bind(member_id(9).to_string())
    .bind(filter.to_string())
    .bind(ts(now))
    .bind(ts(now + chrono::Duration::minutes(10)))
    .bind(used.then(|| ts(now)))
    .execute(&app.state.pool)
    .await
    .unwrap();
    token
}

/// The request a rule makes for a role, on its own scope or another.
async fn request(
    app: &TestApp,
    rule: &Rule,
    role: usize,
    other: bool,
    token: Option<String>,
    n: usize,
) -> Req {
    // The household: own = one in the role's reach; other = another member's / grid's / village's.
    let household = match (role, other) {
        (2, false) => household_id(40),
        (_, false) => household_id(0),
        (1, true) => household_id(20),
        (2, true) => household_id(0),
        (_, true) => household_id(60),
    };
    let account = if other { member_id(21) } else { member_id(1) };
    let village = if other {
        second_village_id()
    } else {
        village_id()
    };
    let grid = if other { grid_id(4) } else { grid_id(1) };
    match (rule.method, rule.path) {
        ("get", "/healthz") | ("get", "/api/openapi.json") => Req {
            uri: rule.path.into(),
            token,
            body: None,
        },
        ("post", "/api/auth/login") => Req::json(
            rule.path.into(),
            token,
            json!({ "phone": PHONES[role], "password": if other { "wrong-password" } else { DEMO_PASSWORD } }),
        ),
        ("post", "/api/auth/password") => Req::json(
            rule.path.into(),
            token,
            json!({ "phone": PHONES[role], "current_password": "wrong-password",
                    "new_password": if other { "a-good-long-one-42" } else { "password1" } }),
        ),
        ("post", "/api/auth/enroll") => {
            let code = enrol_code(app, n, other).await;
            Req::json(rule.path.into(), token, json!({ "code": code }))
        }
        ("post", "/api/auth/logout") => {
            // its own session, so the role's main token lives on
            let fresh = match ACCOUNTS[role] {
                Some(m) => Some(app.session(m).await),
                None => None,
            };
            Req {
                uri: rule.path.into(),
                token: fresh,
                body: None,
            }
        }
        ("get", "/api/me")
        | ("get", "/api/me/phone-lock")
        | ("get", "/api/roster")
        | ("get", "/api/org")
        | ("get", "/api/accounts")
        | ("get", "/api/audit") => Req {
            uri: rule.path.into(),
            token,
            body: None,
        },
        ("get", "/api/households/{id}/visits") => Req {
            uri: format!("/api/households/{household}/visits"),
            token,
            body: None,
        },
        ("post", "/api/sync/visits") => {
            let member = member_id(ACCOUNTS[role].unwrap_or(1));
            let v = visit((n % 250) as u8 + 1, household, member);
            Req::json(
                rule.path.into(),
                token,
                json!({ "device_id": device(), "visits": [v] }),
            )
        }
        ("post", "/api/org/units") => Req::json(
            rule.path.into(),
            token,
            json!({ "kind": "grid", "name": format!("测试网格{n}"), "parent_id": village }),
        ),
        ("put", "/api/org/units/{id}/phone-lock") => Req::json(
            format!("/api/org/units/{village}/phone-lock"),
            token,
            json!({ "pin_required": true }),
        ),
        ("post", "/api/accounts") => Req::json(
            rule.path.into(),
            token,
            json!({
                "name": format!("测试党员{n}"),
                "phone": format!("1370000{n:04}"),
                "role": "member",
                "unit_id": grid,
                "password": "",
            }),
        ),
        ("patch", "/api/accounts/{id}") => Req::json(
            format!("/api/accounts/{account}"),
            token,
            json!({ "disabled": false }),
        ),
        ("put", "/api/accounts/{id}/households") => {
            let ids: Vec<_> = if other {
                (60..65).map(household_id).collect()
            } else {
                (0..10).map(household_id).collect()
            };
            Req::json(
                format!("/api/accounts/{account}/households"),
                token,
                json!({ "household_ids": ids }),
            )
        }
        ("post", "/api/accounts/{id}/enroll") => Req {
            uri: format!("/api/accounts/{account}/enroll"),
            token,
            body: None,
        },
        ("get", "/api/households") => Req {
            uri: format!("/api/households?unit_id={village}"),
            token,
            body: None,
        },
        ("patch", "/api/households/{id}") => {
            let (h, g) = if other {
                (household_id(60), grid_id(4))
            } else {
                (household_id(0), grid_id(1))
            };
            Req::json(
                format!("/api/households/{h}"),
                token,
                json!({ "grid_id": g }),
            )
        }
        ("post", "/api/roster/import") => Req {
            uri: format!("/api/roster/import?village_id={village}&mode=preview"),
            token,
            body: Some((
                "text/csv".into(),
                "网格,户主,门牌号\n第一网格,测试户,测试路1号\n"
                    .as_bytes()
                    .to_vec(),
            )),
        },
        ("post", "/api/sync/import") => {
            let (member, household) = if other {
                (member_id(21), household_id(60))
            } else {
                (member_id(1), household_id(0))
            };
            Req::json(
                rule.path.into(),
                token,
                json!({
                    "format": daohu_domain::OUTBOX_EXPORT_FORMAT,
                    "device_id": device(),
                    "member_id": member,
                    "exported_at": "2026-03-14T08:00:00Z",
                    "visits": [visit((n % 250) as u8 + 1, household, member)],
                }),
            )
        }
        ("get", "/api/visits") | ("get", "/api/dashboard") | ("get", "/api/meeting-sheet") => Req {
            uri: format!("{}?unit_id={village}", rule.path),
            token,
            body: None,
        },
        ("get", "/api/visits/{id}") => Req {
            uri: format!("/api/visits/{}", stored_visit(app, other).await),
            token,
            body: None,
        },
        ("post", "/api/exports") => Req {
            uri: format!("/api/exports?format=csv&unit_id={village}"),
            token,
            body: None,
        },
        ("get", "/api/exports/{token}") => Req {
            uri: format!("/api/exports/{}", export_token(app, role, n, other).await),
            token,
            body: None,
        },
        ("get", "/api/problems") => Req {
            uri: format!("/api/problems?unit_id={village}"),
            token,
            body: None,
        },
        ("get", "/api/problems/{id}") => Req {
            uri: format!("/api/problems/{}", stored_problem(app, role, other).await),
            token,
            body: None,
        },
        ("post", "/api/problems/events") => {
            let problem = stored_problem(app, role, other).await;
            let event_id =
                daohu_domain::uuid_v7(1_774_000_000_000 + n as u64, [(n % 256) as u8; 10]);
            Req::json(
                rule.path.into(),
                token,
                json!({
                    "device_id": device(),
                    "events": [{
                        "id": event_id,
                        "problem_id": problem,
                        "at": "2026-03-14T09:00:00Z",
                        "change": { "kind": "note", "text": "访问测试" },
                    }],
                }),
            )
        }
        ("get", "/api/activity-roster") | ("get", "/api/activity-kinds") => Req {
            uri: rule.path.into(),
            token,
            body: None,
        },
        ("post", "/api/sync/activities") => {
            let member = member_id(ACCOUNTS[role].unwrap_or(1));
            let mut a = common::activity(n as u64, member, None);
            if other {
                a.household_ids = vec![household_id(60)];
            }
            Req::json(
                rule.path.into(),
                token,
                json!({ "device_id": device(), "activities": [a] }),
            )
        }
        ("post", "/api/sync/check-ins") => {
            let (activity, _) = stored_activity(app, role, other, n, false).await;
            let member = member_id(ACCOUNTS[role].unwrap_or(1));
            let c = common::check_in(n as u64, activity, member, daohu_domain::CheckKind::In);
            Req::json(
                rule.path.into(),
                token,
                json!({ "device_id": device(), "check_ins": [c] }),
            )
        }
        ("get", "/api/photos/{id}") => Req {
            uri: format!("/api/photos/{}", stored_activity(app, role, other, n, false).await.1),
            token,
            body: None,
        },
        ("put", "/api/photos/{id}") => {
            let (_, photo) = stored_activity(app, role, other, n, false).await;
            Req {
                uri: format!("/api/photos/{photo}?offset=0"),
                token,
                body: Some(("application/octet-stream".into(), photo_bytes(n))),
            }
        }
        ("get", "/api/photos/{id}/content") => Req {
            uri: format!("/api/photos/{}/content", stored_activity(app, role, other, n, true).await.1),
            token,
            body: None,
        },
        ("get", "/api/activities") | ("get", "/api/activities/hours") | ("get", "/api/teams") => Req {
            uri: format!("{}?unit_id={village}", rule.path),
            token,
            body: None,
        },
        ("get", "/api/activities/{id}") => Req {
            uri: format!("/api/activities/{}", stored_activity(app, 0, other, n, false).await.0),
            token,
            body: None,
        },
        ("get", "/api/catalogue") => Req { uri: rule.path.into(), token, body: None },
        ("get", "/api/households/{id}/ledger") => Req {
            uri: format!("/api/households/{household}/ledger"),
            token,
            body: None,
        },
        ("post", "/api/sync/ledger") => Req::json(
            rule.path.into(),
            token,
            json!({ "device_id": device(), "changes": [{
                "id": uuid::Uuid::now_v7(), "household_id": household,
                "field": "housing", "value": "safe",
                "at": chrono::Utc::now(),
            }] }),
        ),
        ("get", "/api/ledger/gaps") => Req { uri: format!("/api/ledger/gaps?unit_id={village}"), token, body: None },
        ("get", "/api/needs") => Req { uri: format!("/api/needs?unit_id={village}"), token, body: None },
        ("post", "/api/matchups") => Req::json(
            rule.path.into(),
            token,
            json!({ "id": uuid::Uuid::now_v7(), "household_id": household, "need": "market", "list": "buyer",
                    "resource": "county_market", "on": "2026-12-01", "outcome": "underway" }),
        ),
        ("get", "/api/catalogue/versions/{version}") => Req {
            uri: format!("/api/catalogue/versions/{}", if other { 999 } else { 1 }),
            token,
            body: None,
        },
        ("post", "/api/catalogue/changes") => Req::json(
            rule.path.into(),
            token,
            json!({ "change": { "change": "add", "policy": {
                "key": format!("test_policy_{n}"), "name_zh": "测试政策", "name_en": "Test policy",
                "apply_days": 30, "active": true,
            } } }),
        ),
        ("post", "/api/activity-kinds") => Req::json(
            rule.path.into(),
            token,
            json!({ "code": format!("test_kind_{n}"), "label_zh": "测试类型", "label_en": "Test kind" }),
        ),
        ("post", "/api/teams") => Req::json(
            rule.path.into(),
            token,
            json!({ "unit_id": village, "name": format!("测试队伍{n}"), "member_ids": [account] }),
        ),
        (m, p) => panic!("the access test has a rule for {m} {p} but cannot build its request"),
    }
}

#[tokio::test]
async fn every_route_follows_the_access_matrix() {
    let app = TestApp::new().await;
    let doc = app
        .call(Method::GET, "/api/openapi.json", None, None)
        .await
        .json();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete", "head", "options"]
                .contains(&method.as_str())
            {
                routes.insert((method.clone(), path.clone()));
            }
        }
    }
    let ruled: BTreeSet<(String, String)> = RULES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    let missing: Vec<_> = routes.difference(&ruled).collect();
    assert!(
        missing.is_empty(),
        "OpenAPI routes without an access rule: {missing:?}"
    );
    let stale: Vec<_> = ruled.difference(&routes).collect();
    assert!(
        stale.is_empty(),
        "access rules for routes the server does not document: {stale:?}"
    );

    let mut tokens = Vec::new();
    for account in ACCOUNTS {
        tokens.push(match account {
            Some(m) => Some(app.session(m).await),
            None => None,
        });
    }

    let mut failures = Vec::new();
    let mut n = 0;
    for rule in RULES {
        for role in 0..ROLES.len() {
            for other in [false, true] {
                n += 1;
                let expected = if other {
                    rule.other[role]
                } else {
                    rule.own[role]
                };
                if other {
                    // another scope answers like the own one, or 401/403/404: never more
                    assert!(
                        expected == rule.own[role] || [401, 403, 404].contains(&expected),
                        "{} {}: table says {expected} for another scope",
                        rule.method,
                        rule.path
                    );
                }
                let req = request(&app, rule, role, other, tokens[role].clone(), n).await;
                let method =
                    Method::from_bytes(rule.method.to_ascii_uppercase().as_bytes()).unwrap();
                let answer = match req.body {
                    Some((ct, body)) => {
                        app.raw(method, &req.uri, req.token.as_deref(), &ct, body)
                            .await
                    }
                    None => app.call(method, &req.uri, req.token.as_deref(), None).await,
                };
                let scope = if other { "other" } else { "own" };
                if answer.status != StatusCode::from_u16(expected).unwrap() {
                    failures.push(format!(
                        "{} {} as {} ({scope} scope): expected {expected}, got {} {}",
                        rule.method,
                        req.uri,
                        ROLES[role],
                        answer.status.as_u16(),
                        String::from_utf8_lossy(&answer.body)
                            .chars()
                            .take(200)
                            .collect::<String>()
                    ));
                    continue;
                }
                let text = String::from_utf8_lossy(&answer.body);
                for word in foreign(role) {
                    if text.contains(word) {
                        failures.push(format!(
                            "{} {} as {} ({scope} scope) leaks “{word}”",
                            rule.method, req.uri, ROLES[role]
                        ));
                    }
                }
                if [403, 404].contains(&expected) {
                    let error = answer.json()["error"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    assert!(
                        ["forbidden", "not_found"].contains(&error.as_str()),
                        "{} {} as {}: {error}",
                        rule.method,
                        req.uri,
                        ROLES[role]
                    );
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} access failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn other_scope_answers_look_like_missing_records() {
    let app = TestApp::new().await;
    let zhao = app.session(9).await;
    // an account and a household of 绿水村, and ids that do not exist at all, answer the same
    for (method, known, unknown, body) in [
        (
            Method::PATCH,
            format!("/api/accounts/{}", member_id(21)),
            format!("/api/accounts/{}", uuid::Uuid::from_u128(77)),
            Some(json!({ "disabled": true })),
        ),
        (
            Method::PATCH,
            format!("/api/households/{}", household_id(60)),
            format!("/api/households/{}", uuid::Uuid::from_u128(77)),
            Some(json!({ "grid_id": grid_id(1) })),
        ),
        (
            Method::GET,
            format!("/api/households?unit_id={}", second_village_id()),
            format!("/api/households?unit_id={}", uuid::Uuid::from_u128(77)),
            None,
        ),
    ] {
        let a = app
            .call(method.clone(), &known, Some(&zhao), body.clone())
            .await;
        let b = app.call(method, &unknown, Some(&zhao), body).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{known}");
        assert_eq!(a.body, b.body, "{known}");
    }
    // nothing changed
    let disabled: i64 = sqlx::query_scalar("SELECT disabled FROM members WHERE phone = $1")
        .bind(phones::MEMBER_ZHOU)
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(disabled, 0);
}
