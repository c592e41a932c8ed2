//! Problems after the door: made from uploaded visits, changed only by events that
//! merge in time order (concurrent phone and console, late and repeated sends),
//! escalated village → township → county with each level's rights, the answer back
//! on the member's roster, scope, overdue, the dashboard and the XLSX export.

mod common;

use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use common::{device, visit, Answer, TestApp};
use daohu_domain::escalation::due_at;
use daohu_domain::{
    uuid_v7, Dashboard, EventKind, ExportLink, Level, Misfit, ProblemCategory, ProblemEntry,
    ProblemEvent, ProblemOutcome, ProblemState, ProblemStatus, ProblemView, Receipt, ReceiptStatus,
    RosterResponse, SyncResponse, Urgency, Visit,
};
use daohu_server::db;
use daohu_server::problems::{
    ASSIGNEE_OUT_OF_SCOPE_REASON, NOT_FOUND_REASON, NOT_YOURS_REASON, NOT_YOUR_LEVEL_REASON,
};
use daohu_server::seed::{grid_id, household_id, member_id, phones, second_village_id, village_id};
use serde_json::json;
use uuid::Uuid;

/// Demo accounts by the last two digits of their phone.
const ZHANG: u128 = 1;
const LI: u128 = 2;
const ZHAO: u128 = 9;
const SUN: u128 = 19;
const ZHOU: u128 = 21;

fn base() -> DateTime<Utc> {
    DateTime::from_timestamp(1_773_000_000, 0).unwrap()
}

fn t(seconds: i64) -> DateTime<Utc> {
    base() + Duration::seconds(seconds)
}

fn text(s: &str) -> String {
    s.to_string()
}

/// An event with a v7 id made from `n` (distinct `n`, distinct ids; larger `n`, larger id).
fn ev(n: u64, problem: Uuid, at: DateTime<Utc>, change: EventKind) -> ProblemEvent {
    ProblemEvent {
        id: uuid_v7(1_790_000_000_000 + n, [(n % 256) as u8; 10]),
        problem_id: problem,
        at,
        change,
    }
}

/// A visit by `member` to `household` with one problem, recorded at `recorded`.
fn visit_with_problem(
    seed: u8,
    household: Uuid,
    member: u128,
    urgency: Urgency,
    outcome: ProblemOutcome,
    recorded: DateTime<Utc>,
) -> (Visit, Uuid) {
    let mut v = visit(seed, household, member_id(member));
    v.recorded_at = recorded;
    v.visited_on = recorded.date_naive();
    let problem = uuid_v7(1_780_000_000_000 + u64::from(seed), [seed; 10]);
    v.problems.push(ProblemEntry {
        id: problem,
        category: ProblemCategory::Water,
        urgency,
        description: format!("自来水管漏水{seed}"),
        outcome,
        action: if outcome == ProblemOutcome::ResolvedOnSpot {
            text("当场拧紧了阀门")
        } else {
            String::new()
        },
    });
    (v, problem)
}

/// Uploads a visit with one open problem as its member; answers the problem id.
async fn raise(app: &TestApp, seed: u8, household: Uuid, member: u128, urgency: Urgency) -> Uuid {
    raise_at(
        app,
        seed,
        household,
        member,
        urgency,
        db::now() - Duration::hours(1),
    )
    .await
}

async fn raise_at(
    app: &TestApp,
    seed: u8,
    household: Uuid,
    member: u128,
    urgency: Urgency,
    recorded: DateTime<Utc>,
) -> Uuid {
    let (v, problem) = visit_with_problem(
        seed,
        household,
        member,
        urgency,
        ProblemOutcome::Escalate,
        recorded,
    );
    let token = app.session(member).await;
    let r = receipts(&app.upload(&token, device(), &[v]).await);
    assert_eq!(r[0].status, ReceiptStatus::Stored, "{r:?}");
    problem
}

fn receipts(answer: &Answer) -> Vec<Receipt> {
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice::<SyncResponse>(&answer.body)
        .unwrap()
        .receipts
}

async fn send_raw(app: &TestApp, token: &str, events: &[ProblemEvent]) -> Answer {
    app.call(
        Method::POST,
        "/api/problems/events",
        Some(token),
        Some(json!({ "device_id": device(), "events": events })),
    )
    .await
}

async fn send(app: &TestApp, token: &str, events: &[ProblemEvent]) -> Vec<Receipt> {
    let r = receipts(&send_raw(app, token, events).await);
    assert_eq!(r.len(), events.len());
    for (receipt, event) in r.iter().zip(events) {
        assert_eq!(receipt.id, event.id, "receipts in order");
    }
    r
}

fn statuses(r: &[Receipt]) -> Vec<ReceiptStatus> {
    r.iter().map(|r| r.status).collect()
}

async fn problem(app: &TestApp, token: &str, id: Uuid) -> ProblemView {
    let answer = app
        .call(
            Method::GET,
            &format!("/api/problems/{id}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<ProblemView> {
    let answer = app
        .call(
            Method::GET,
            &format!("/api/problems?{query}"),
            Some(token),
            None,
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    serde_json::from_slice(&answer.body).unwrap()
}

/// Every stored event of a problem, as sent.
async fn stored_events(app: &TestApp, id: Uuid) -> Vec<ProblemEvent> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, at, change FROM problem_events WHERE problem_id = $1")
            .bind(id.to_string())
            .fetch_all(&app.state.pool)
            .await
            .unwrap();
    rows.into_iter()
        .map(|(e, at, change)| ProblemEvent {
            id: e.parse().unwrap(),
            problem_id: id,
            at: DateTime::parse_from_rfc3339(&at)
                .unwrap()
                .with_timezone(&Utc),
            change: serde_json::from_str(&change).unwrap(),
        })
        .collect()
}

/// The status and flagged ids the domain's replay gives for everything stored.
async fn expected_replay(app: &TestApp, id: Uuid) -> (ProblemStatus, Vec<Uuid>) {
    let mut events = stored_events(app, id).await;
    ProblemStatus::replay(
        ProblemStatus::at_door(ProblemOutcome::Escalate, ""),
        &mut events,
    )
}

async fn assert_merged(app: &TestApp, token: &str, id: Uuid) -> ProblemView {
    let view = problem(app, token, id).await;
    let (status, flagged) = expected_replay(app, id).await;
    assert_eq!(view.status, status, "cached status = replay of every event");
    let mut trail_flagged: Vec<Uuid> = view
        .trail
        .iter()
        .filter(|t| t.flagged)
        .map(|t| t.event.id)
        .collect();
    let mut flagged = flagged;
    trail_flagged.sort();
    flagged.sort();
    assert_eq!(trail_flagged, flagged, "flags = replay's");
    let order: Vec<(DateTime<Utc>, Uuid)> = view
        .trail
        .iter()
        .map(|t| (t.event.at, t.event.id))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "the trail is in merge order");
    view
}

#[tokio::test]
async fn uploading_a_visit_makes_its_problems_at_the_door_once() {
    let app = TestApp::new().await;
    let zhang = app.session(ZHANG).await;
    let recorded = db::now() - Duration::days(1);
    let (mut v, open) = visit_with_problem(
        1,
        household_id(0),
        ZHANG,
        Urgency::High,
        ProblemOutcome::Escalate,
        recorded,
    );
    let (other, resolved) = visit_with_problem(
        2,
        household_id(0),
        ZHANG,
        Urgency::Low,
        ProblemOutcome::ResolvedOnSpot,
        recorded,
    );
    v.problems.extend(other.problems);
    let first = receipts(&app.upload(&zhang, device(), &[v.clone()]).await);
    assert_eq!(first[0].status, ReceiptStatus::Stored);
    let again = receipts(&app.upload(&zhang, device(), &[v.clone()]).await);
    assert_eq!(again[0].status, ReceiptStatus::Duplicate);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM problems")
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(count, 2, "a re-upload makes no second row");

    let p = problem(&app, &zhang, open).await;
    assert_eq!(
        p.status,
        ProblemStatus::at_door(ProblemOutcome::Escalate, "")
    );
    assert_eq!(
        (p.status.level, p.status.state),
        (Level::Village, ProblemState::New)
    );
    assert_eq!(p.raised_by.id, member_id(ZHANG));
    assert_eq!(p.raised_by.name, "张党员");
    assert_eq!(p.raised_at, recorded, "db::now() is whole milliseconds");
    assert_eq!(p.due_at, due_at(p.raised_at, Urgency::High));
    assert!(!p.overdue, "due in 3 days, raised yesterday");
    assert_eq!(p.household.village_name, "青山村");
    assert_eq!(p.visit_id, v.id);
    assert!(p.trail.is_empty());

    let r = problem(&app, &zhang, resolved).await;
    assert_eq!(
        r.status,
        ProblemStatus::at_door(ProblemOutcome::ResolvedOnSpot, "当场拧紧了阀门")
    );
    assert_eq!(r.status.state, ProblemState::Resolved);
    assert!(r.status.family_told && !r.overdue);

    // Rows stored without their status columns (older tools) get the same at-door
    // status from the schema, due dates included.
    let legacy = visit(3, household_id(1), member_id(ZHANG));
    let body = serde_json::to_string(&legacy).unwrap();
    let received = legacy.recorded_at + Duration::hours(2);
    sqlx::query(
        "INSERT INTO visits (id, household_id, member_id, device_id, visited_on, recorded_at,
                             received_at, content_hash, body)
         VALUES ($1, $2, $3, 'x', $4, $5, $6, 'x', $7)",
    )
    .bind(legacy.id.to_string())
    .bind(legacy.household_id.to_string())
    .bind(legacy.member_id.to_string())
    .bind(legacy.visited_on.to_string())
    .bind(db::ts(legacy.recorded_at))
    .bind(db::ts(received))
    .bind(&body)
    .execute(&app.state.pool)
    .await
    .unwrap();
    for (n, urgency, outcome) in [
        (1u128, "high", "resolved_on_spot"),
        (2, "normal", "escalate"),
        (3, "low", "escalate"),
    ] {
        sqlx::query(
            "INSERT INTO problems (id, visit_id, household_id, category, urgency, description,
                                   outcome, action, created_at)
             VALUES ($1, $2, $3, 'road', $4, '路灯坏了', $5, '换了灯泡', $6)",
        )
        .bind(Uuid::from_u128(n).to_string())
        .bind(legacy.id.to_string())
        .bind(legacy.household_id.to_string())
        .bind(urgency)
        .bind(outcome)
        .bind(db::ts(received))
        .execute(&app.state.pool)
        .await
        .unwrap();
        let p = problem(&app, &zhang, Uuid::from_u128(n)).await;
        let u = Urgency::parse(urgency).unwrap();
        let o = ProblemOutcome::parse(outcome).unwrap();
        assert_eq!(p.status, ProblemStatus::at_door(o, "换了灯泡"), "{urgency}");
        assert_eq!(p.raised_by.id, member_id(ZHANG));
        assert_eq!(p.raised_at, legacy.recorded_at);
        let due: String = sqlx::query_scalar("SELECT due_at FROM problems WHERE id = $1")
            .bind(Uuid::from_u128(n).to_string())
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
        assert_eq!(due, db::ts(due_at(legacy.recorded_at, u)), "{urgency}");
    }

    // What was raised never changes; only the status columns do.
    let err = sqlx::query("UPDATE problems SET description = 'x' WHERE id = $1")
        .bind(open.to_string())
        .execute(&app.state.pool)
        .await;
    assert!(err.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_and_console_at_the_same_moment_both_kept_and_merged_in_time_order() {
    let app = TestApp::new().await;
    let zhang = app.session(ZHANG).await;
    let zhao = app.session(ZHAO).await;
    let p = raise(&app, 1, household_id(0), ZHANG, Urgency::High).await;

    // The phone, offline, noted a call and then told the family (at +40); the
    // coordinator answered at +20. Both batches arrive at the same moment.
    let phone = vec![
        ev(
            1,
            p,
            t(10),
            EventKind::Note {
                text: text("群众又打来电话"),
            },
        ),
        ev(2, p, t(40), EventKind::FamilyTold),
    ];
    let console = vec![ev(
        3,
        p,
        t(20),
        EventKind::Answer {
            text: text("村里已安排维修"),
        },
    )];
    let (a, b) = tokio::join!(send(&app, &zhang, &phone), send(&app, &zhao, &console));
    assert_eq!(statuses(&a), [ReceiptStatus::Stored; 2]);
    assert_eq!(statuses(&b), [ReceiptStatus::Stored]);
    assert_eq!(stored_events(&app, p).await.len(), 3, "no event lost");
    let view = assert_merged(&app, &zhang, p).await;
    assert_eq!(view.status.state, ProblemState::Resolved);
    assert_eq!(view.status.answer.as_deref(), Some("村里已安排维修"));
    assert!(
        view.status.family_told,
        "told after the answer, whatever arrived first"
    );
    assert!(view.trail.iter().all(|t| !t.flagged));
    assert_eq!(
        view.trail
            .iter()
            .map(|t| t.actor_name.as_str())
            .collect::<Vec<_>>(),
        ["张党员", "赵书记", "张党员"]
    );

    // The phone never got its receipts and sends the batch again: duplicates, with the
    // first receive times, and nothing changes.
    let again = send(&app, &zhang, &phone).await;
    assert_eq!(statuses(&again), [ReceiptStatus::Duplicate; 2]);
    assert_eq!(
        again.iter().map(|r| r.received_at).collect::<Vec<_>>(),
        a.iter().map(|r| r.received_at).collect::<Vec<_>>()
    );
    assert_eq!(stored_events(&app, p).await.len(), 3);
    // The same id with other content is a conflict; the stored event stays.
    let mut changed = phone[0].clone();
    changed.change = EventKind::Note {
        text: text("改过的备注"),
    };
    let c = send(&app, &zhang, &[changed]).await;
    assert_eq!(c[0].status, ReceiptStatus::Conflict);
    assert_eq!(c[0].received_at, a[0].received_at);

    // An answer arriving after the problem was resolved is kept, flagged, and changes nothing.
    let late = ev(
        4,
        p,
        t(60),
        EventKind::Answer {
            text: text("另一个答复"),
        },
    );
    let r = send(&app, &zhao, std::slice::from_ref(&late)).await;
    assert_eq!(r[0].status, ReceiptStatus::Stored);
    assert_eq!(
        r[0].reason.as_deref(),
        Some(Misfit::AlreadyResolved.message_zh())
    );
    let view = assert_merged(&app, &zhang, p).await;
    assert_eq!(view.status.answer.as_deref(), Some("村里已安排维修"));
    assert!(
        view.trail
            .iter()
            .find(|e| e.event.id == late.id)
            .unwrap()
            .flagged
    );
    assert_eq!(view.trail.len(), 4);

    // A note the phone made before everything else, arriving last, goes first in the trail.
    let early = ev(
        5,
        p,
        t(1),
        EventKind::Note {
            text: text("上门时记下的"),
        },
    );
    send(&app, &zhang, std::slice::from_ref(&early)).await;
    let view = assert_merged(&app, &zhang, p).await;
    assert_eq!(view.trail[0].event.id, early.id);

    // Whichever batch comes first, the end is the same.
    let mut ends = Vec::new();
    for (k, phone_first) in [(0u8, true), (1, false)] {
        let q = raise(&app, 10 + k, household_id(1), ZHANG, Urgency::Normal).await;
        let n = 100 + 10 * u64::from(k);
        let phone = vec![ev(n, q, t(40), EventKind::FamilyTold)];
        let console = [
            ev(
                n + 1,
                q,
                t(20),
                EventKind::Escalate {
                    note: text("需要镇里协调"),
                },
            ),
            ev(
                n + 2,
                q,
                t(30),
                EventKind::Note {
                    text: text("已报镇里"),
                },
            ),
        ];
        if phone_first {
            // told before any answer: flagged for now…
            let r = send(&app, &zhang, &phone).await;
            assert_eq!(
                r[0].reason.as_deref(),
                Some(Misfit::NotAnswered.message_zh())
            );
            send(&app, &zhao, &console[..1]).await;
        } else {
            send(&app, &zhao, &console[..1]).await;
            send(&app, &zhang, &phone).await;
        }
        // …the village coordinator cannot add the note any more: it is at township now.
        let r = send(&app, &zhao, &console[1..]).await;
        assert_eq!(r[0].reason.as_deref(), Some(NOT_YOUR_LEVEL_REASON));
        let sun = app.session(SUN).await;
        let answer = ev(
            n + 3,
            q,
            t(35),
            EventKind::Answer {
                text: text("镇里已协调"),
            },
        );
        send(&app, &sun, &[answer]).await;
        // …and no longer once the township's answer, made before it, arrived.
        let view = assert_merged(&app, &zhang, q).await;
        assert!(view.status.family_told);
        assert!(view.trail.iter().all(|t| !t.flagged));
        ends.push((view.status, view.trail.len()));
    }
    assert_eq!(ends[0], ends[1]);

    let audit = app.audit_actions().await;
    let events: Vec<_> = audit.iter().filter(|(a, _)| a == "problem_event").collect();
    assert!(!events.is_empty());
    let detail: serde_json::Value = serde_json::from_str(&events[1].1).unwrap();
    assert!(
        detail["stored"].is_number()
            && detail["duplicate"].is_number()
            && detail["flagged"].is_number()
    );
}

#[tokio::test]
async fn escalation_climbs_to_the_county_and_the_answer_reaches_the_phone() {
    let app = TestApp::new().await;
    // 张党员 signs in with the password, like the phone.
    let zhang = app.token(phones::MEMBER_ZHANG).await;
    let zhao = app.token(phones::COORDINATOR_ZHAO).await;
    let sun = app.token(phones::TOWNSHIP_SUN).await;
    let wu = app.token(phones::COUNTY_WU).await;
    let p = raise(&app, 1, household_id(0), ZHANG, Urgency::Normal).await;

    // Village: 赵书记 may not give it to 周党员 (another village), may give it to 张党员.
    let r = send(
        &app,
        &zhao,
        &[ev(
            1,
            p,
            t(10),
            EventKind::Assign {
                to: member_id(ZHOU),
            },
        )],
    )
    .await;
    assert_eq!(r[0].status, ReceiptStatus::Rejected);
    assert_eq!(r[0].reason.as_deref(), Some(ASSIGNEE_OUT_OF_SCOPE_REASON));
    let r = send(
        &app,
        &zhao,
        &[ev(
            2,
            p,
            t(20),
            EventKind::Assign {
                to: member_id(ZHANG),
            },
        )],
    )
    .await;
    assert_eq!(r[0].status, ReceiptStatus::Stored);
    // The assignee starts; the member may not escalate or reopen.
    let r = send(
        &app,
        &zhang,
        &[
            ev(3, p, t(30), EventKind::Start),
            ev(
                4,
                p,
                t(31),
                EventKind::Escalate {
                    note: text("我办不了"),
                },
            ),
        ],
    )
    .await;
    assert_eq!(
        statuses(&r),
        [ReceiptStatus::Stored, ReceiptStatus::Rejected]
    );
    assert_eq!(r[1].reason.as_deref(), Some(NOT_YOURS_REASON));
    assert_eq!(
        problem(&app, &zhang, p).await.status.state,
        ProblemState::InProgress
    );

    // 赵书记 escalates to the township; from then on the village cannot act.
    let r = send(
        &app,
        &zhao,
        &[ev(
            5,
            p,
            t(40),
            EventKind::Escalate {
                note: text("需要镇里协调资金"),
            },
        )],
    )
    .await;
    assert_eq!(r[0].status, ReceiptStatus::Stored);
    let v = problem(&app, &zhao, p).await;
    assert_eq!(
        (v.status.level, v.status.state, v.status.assignee),
        (Level::Township, ProblemState::New, None)
    );
    for change in [
        EventKind::Note {
            text: text("村里再催一下"),
        },
        EventKind::Answer {
            text: text("村里答复"),
        },
        EventKind::Escalate {
            note: text("再上报"),
        },
    ] {
        let r = send(&app, &zhao, &[ev(6, p, t(45), change)]).await;
        assert_eq!(r[0].status, ReceiptStatus::Rejected);
        assert_eq!(r[0].reason.as_deref(), Some(NOT_YOUR_LEVEL_REASON));
    }
    // No longer assigned, 张党员 cannot start or answer it; a note as its raiser is fine.
    let r = send(
        &app,
        &zhang,
        &[ev(
            7,
            p,
            t(46),
            EventKind::Answer {
                text: text("我来答"),
            },
        )],
    )
    .await;
    assert_eq!(r[0].reason.as_deref(), Some(NOT_YOURS_REASON));
    // The village coordinator still sees it, with the trail.
    assert!(list(&app, &zhao, "").await.iter().any(|x| x.id == p));

    // 孙镇长 escalates to the county; then the township cannot act either.
    let r = send(
        &app,
        &sun,
        &[ev(
            8,
            p,
            t(50),
            EventKind::Escalate {
                note: text("需要县里统筹"),
            },
        )],
    )
    .await;
    assert_eq!(r[0].status, ReceiptStatus::Stored);
    let r = send(
        &app,
        &sun,
        &[ev(
            9,
            p,
            t(55),
            EventKind::Answer {
                text: text("镇里答复"),
            },
        )],
    )
    .await;
    assert_eq!(r[0].reason.as_deref(), Some(NOT_YOUR_LEVEL_REASON));
    assert_eq!(list(&app, &sun, "level=county").await.len(), 1);
    assert!(list(&app, &sun, "level=village").await.is_empty());

    // 吴县长 answers.
    let r = send(
        &app,
        &wu,
        &[ev(
            10,
            p,
            t(60),
            EventKind::Answer {
                text: text("县水利局已拨款，下周施工"),
            },
        )],
    )
    .await;
    assert_eq!(r[0].status, ReceiptStatus::Stored);
    assert_eq!(r[0].reason, None);

    // 张党员's phone gets the answer and the whole trail with its roster.
    let answer = app
        .call(Method::GET, "/api/roster", Some(&zhang), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let roster: RosterResponse = serde_json::from_slice(&answer.body).unwrap();
    let home = roster
        .households
        .iter()
        .find(|h| h.household.id == household_id(0))
        .unwrap();
    assert_eq!(home.problems.len(), 1);
    let seen = &home.problems[0];
    assert_eq!(seen.id, p);
    assert_eq!(
        (seen.status.level, seen.status.state),
        (Level::County, ProblemState::Resolved)
    );
    assert_eq!(
        seen.status.answer.as_deref(),
        Some("县水利局已拨款，下周施工")
    );
    assert!(!seen.status.family_told);
    let trail: Vec<(&str, &str)> = seen
        .trail
        .iter()
        .map(|e| {
            (
                e.actor_name.as_str(),
                daohu_server::problems::action_label(&e.event.change),
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            ("赵书记", "派单"),
            ("张党员", "开始办理"),
            ("赵书记", "上报"),
            ("孙镇长", "上报"),
            ("吴县长", "答复"),
        ],
        "rejected changes are in no trail"
    );
    assert!(roster
        .households
        .iter()
        .filter(|h| h.household.id != household_id(0))
        .all(|h| h.problems.is_empty()));

    // 张党员 tells the family.
    let r = send(&app, &zhang, &[ev(11, p, t(70), EventKind::FamilyTold)]).await;
    assert_eq!(
        (r[0].status, r[0].reason.as_deref()),
        (ReceiptStatus::Stored, None)
    );
    let done = assert_merged(&app, &zhang, p).await;
    assert!(done.status.family_told);
    assert!(!done.overdue);

    // Another member sees nothing of it; their roster holds none of it.
    let li = app.session(LI).await;
    let roster: RosterResponse = serde_json::from_slice(
        &app.call(Method::GET, "/api/roster", Some(&li), None)
            .await
            .body,
    )
    .unwrap();
    assert!(roster.households.iter().all(|h| h.problems.is_empty()));
    let r = send(
        &app,
        &li,
        &[ev(
            12,
            p,
            t(80),
            EventKind::Note {
                text: text("我也看看"),
            },
        )],
    )
    .await;
    assert_eq!(r[0].reason.as_deref(), Some(NOT_FOUND_REASON));

    // The visit log finds the visit by its problem's words and by the answer
    // given later, at each scope (a county's three characters or more go through
    // SQLite's trigram index, shorter ones and a village's through its rows), and
    // a problem of 绿水村 only where 绿水村 is in scope.
    let other = raise(&app, 2, household_id(60), ZHOU, Urgency::Normal).await;
    assert_ne!(other, p);
    let found = async |token: &str, q: &str| -> Vec<String> {
        let path = format!("/api/visits?q={}", daohu_server::routes::exports::percent_encode(q));
        let answer = app.call(Method::GET, &path, Some(token), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{q}");
        let page: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        let mut heads: Vec<String> = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["household_id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(page["total"].as_u64(), Some(heads.len() as u64), "{q}");
        heads.sort();
        heads
    };
    let (ours, theirs) = (household_id(0).to_string(), household_id(60).to_string());
    for q in ["水利局已拨款", "水利", "下周施工"] {
        assert_eq!(found(&wu, q).await, [ours.clone()], "county, {q}");
        assert_eq!(found(&zhao, q).await, [ours.clone()], "village, {q}");
    }
    let mut both = vec![ours.clone(), theirs.clone()];
    both.sort();
    for q in ["自来水管漏水", "漏水"] {
        assert_eq!(found(&wu, q).await, both, "county, {q}");
        assert_eq!(found(&sun, q).await, both, "township, {q}");
        assert_eq!(found(&zhao, q).await, [ours.clone()], "village, {q}");
    }
    assert!(found(&wu, "自来水管漏水3").await.is_empty());
}

#[tokio::test]
async fn other_villages_see_nothing_and_overdue_follows_urgency() {
    let app = TestApp::new().await;
    let zhang = app.session(ZHANG).await;
    let zhao = app.session(ZHAO).await;
    let zhou = app.session(ZHOU).await;
    let sun = app.session(SUN).await;
    let ten_days_ago = db::now() - Duration::days(10);
    // In 青山村: urgent (3 days) and not urgent (30 days), both raised ten days ago.
    let urgent = raise_at(&app, 1, household_id(0), ZHANG, Urgency::High, ten_days_ago).await;
    let calm = raise_at(&app, 2, household_id(1), ZHANG, Urgency::Low, ten_days_ago).await;
    // In 绿水村, by 周党员.
    let green = raise_at(&app, 3, household_id(60), ZHOU, Urgency::High, ten_days_ago).await;

    // 周党员 (other village) cannot see or act on 青山村's problem: like an unknown id.
    let known = app
        .call(
            Method::GET,
            &format!("/api/problems/{urgent}"),
            Some(&zhou),
            None,
        )
        .await;
    let unknown = app
        .call(
            Method::GET,
            &format!("/api/problems/{}", Uuid::from_u128(77)),
            Some(&zhou),
            None,
        )
        .await;
    assert_eq!(known.status, StatusCode::NOT_FOUND);
    assert_eq!(known.body, unknown.body);
    let r = send(
        &app,
        &zhou,
        &[
            ev(
                1,
                urgent,
                t(10),
                EventKind::Note {
                    text: text("看看")
                },
            ),
            ev(
                2,
                Uuid::from_u128(77),
                t(10),
                EventKind::Note {
                    text: text("看看")
                },
            ),
        ],
    )
    .await;
    assert_eq!(statuses(&r), [ReceiptStatus::Rejected; 2]);
    assert_eq!(r[0].reason, r[1].reason);
    assert_eq!(r[0].reason.as_deref(), Some(NOT_FOUND_REASON));
    // Nor can a coordinator or member of 青山村 see 绿水村's.
    for token in [&zhao, &zhang] {
        let a = app
            .call(
                Method::GET,
                &format!("/api/problems/{green}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        let r = send(
            &app,
            token,
            &[ev(
                3,
                green,
                t(10),
                EventKind::Escalate {
                    note: text("上报")
                },
            )],
        )
        .await;
        assert_eq!(r[0].reason.as_deref(), Some(NOT_FOUND_REASON));
    }
    // 赵书记's list holds 青山村 only; 绿水村 as unit is 404.
    let mine = list(&app, &zhao, "").await;
    assert_eq!(mine.iter().map(|p| p.id).collect::<Vec<_>>().len(), 2);
    assert!(mine.iter().all(|p| p.id != green));
    assert!(!String::from_utf8_lossy(
        &app.call(Method::GET, "/api/problems", Some(&zhao), None)
            .await
            .body
    )
    .contains("绿水"));
    let other = app
        .call(
            Method::GET,
            &format!("/api/problems?unit_id={}", second_village_id()),
            Some(&zhao),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    // Members have no list.
    let a = app
        .call(Method::GET, "/api/problems", Some(&zhang), None)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // The township sees both villages.
    assert_eq!(list(&app, &sun, "").await.len(), 3);
    assert_eq!(
        list(&app, &sun, &format!("unit_id={}", second_village_id()))
            .await
            .len(),
        1
    );

    // Overdue from urgency: 3 days for the urgent one (overdue), 30 for the other.
    let u = problem(&app, &zhao, urgent).await;
    let c = problem(&app, &zhao, calm).await;
    assert_eq!(u.due_at, due_at(u.raised_at, Urgency::High));
    assert_eq!(u.due_at - u.raised_at, Duration::days(3));
    assert_eq!(c.due_at - c.raised_at, Duration::days(30));
    assert!(u.overdue && !c.overdue);
    let overdue = list(&app, &zhao, "overdue=true").await;
    assert_eq!(overdue.iter().map(|p| p.id).collect::<Vec<_>>(), [urgent]);
    assert_eq!(list(&app, &zhao, "overdue=false").await.len(), 1);
    assert_eq!(list(&app, &zhao, "open=true").await.len(), 2);
    assert!(list(&app, &zhao, "open=false").await.is_empty());
    let bad = app
        .call(Method::GET, "/api/problems?level=city", Some(&zhao), None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Answered, it is no longer overdue.
    send(
        &app,
        &zhao,
        &[ev(
            4,
            urgent,
            t(20),
            EventKind::Answer {
                text: text("已修好"),
            },
        )],
    )
    .await;
    assert!(!problem(&app, &zhao, urgent).await.overdue);
    assert!(list(&app, &zhao, "overdue=true").await.is_empty());
    assert_eq!(list(&app, &zhao, "open=false").await.len(), 1);

    // The dashboard counts open and overdue problems per level under the unit.
    send(
        &app,
        &zhao,
        &[ev(
            5,
            calm,
            t(30),
            EventKind::Escalate {
                note: text("镇里定"),
            },
        )],
    )
    .await;
    let dash: Dashboard = serde_json::from_slice(
        &app.call(
            Method::GET,
            &format!("/api/dashboard?unit_id={}", village_id()),
            Some(&zhao),
            None,
        )
        .await
        .body,
    )
    .unwrap();
    let counts: Vec<(Level, u32, u32)> = dash
        .problems
        .iter()
        .map(|c| (c.level, c.open, c.overdue))
        .collect();
    assert_eq!(
        counts,
        [
            (Level::Village, 0, 0),
            (Level::Township, 1, 0),
            (Level::County, 0, 0)
        ]
    );
    let dash: Dashboard = serde_json::from_slice(
        &app.call(Method::GET, "/api/dashboard", Some(&sun), None)
            .await
            .body,
    )
    .unwrap();
    let village = dash
        .problems
        .iter()
        .find(|c| c.level == Level::Village)
        .unwrap();
    assert_eq!(
        (village.open, village.overdue),
        (1, 1),
        "绿水村's urgent one"
    );

    // The household with the township's open problem moves to 绿水村's grid:
    // its problem is counted there from now on, and no longer in 青山村.
    let moved = app
        .call(
            Method::PATCH,
            &format!("/api/households/{}", household_id(1)),
            Some(&sun),
            Some(json!({ "grid_id": grid_id(4) })),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.json());
    let township_open = |unit: Uuid| {
        let (app, sun) = (&app, &sun);
        async move {
            let dash: Dashboard = serde_json::from_slice(
                &app.call(
                    Method::GET,
                    &format!("/api/dashboard?unit_id={unit}"),
                    Some(sun),
                    None,
                )
                .await
                .body,
            )
            .unwrap();
            dash.problems
                .iter()
                .find(|c| c.level == Level::Township)
                .unwrap()
                .open
        }
    };
    assert_eq!(township_open(village_id()).await, 0, "moved out of 青山村");
    assert_eq!(township_open(second_village_id()).await, 1, "moved into 绿水村");
}

#[tokio::test]
async fn bad_events_are_rejected_and_big_batches_refused() {
    let app = TestApp::new().await;
    let zhang = app.session(ZHANG).await;
    let zhao = app.session(ZHAO).await;
    let p = raise(&app, 1, household_id(0), ZHANG, Urgency::Normal).await;
    let mut not_v7 = ev(
        1,
        p,
        t(1),
        EventKind::Note {
            text: text("备注")
        },
    );
    not_v7.id = Uuid::from_u128(5);
    let r = send(
        &app,
        &zhao,
        &[
            not_v7,
            ev(2, p, t(2), EventKind::Answer { text: text("  ") }),
            ev(
                3,
                p,
                t(3),
                EventKind::Note {
                    text: "字".repeat(2_001),
                },
            ),
            ev(
                4,
                p,
                DateTime::from_timestamp(0, 0).unwrap(),
                EventKind::Start,
            ),
        ],
    )
    .await;
    assert_eq!(statuses(&r), [ReceiptStatus::Rejected; 4]);
    assert!(r
        .iter()
        .all(|r| r.reason.is_some() && r.received_at.is_none()));
    assert!(stored_events(&app, p).await.is_empty());
    // Volunteers may send, but reach no problem.
    let chen = app.session(5).await;
    let r = send(
        &app,
        &chen,
        &[ev(
            5,
            p,
            t(5),
            EventKind::Note {
                text: text("看看")
            },
        )],
    )
    .await;
    assert_eq!(r[0].reason.as_deref(), Some(NOT_FOUND_REASON));
    // Unknown fields and too many events.
    let a = app
        .call(
            Method::POST,
            "/api/problems/events",
            Some(&zhang),
            Some(json!({ "device_id": device(), "events": [], "x": 1 })),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let many: Vec<ProblemEvent> = (0..1_001)
        .map(|n| ev(100 + n, p, t(6), EventKind::Note { text: text("多") }))
        .collect();
    assert_eq!(
        send_raw(&app, &zhang, &many).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        app.call(Method::POST, "/api/problems/events", None, Some(json!({})))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Events are never deleted nor rewritten.
    send(
        &app,
        &zhang,
        &[ev(
            6,
            p,
            t(7),
            EventKind::Note {
                text: text("留着")
            },
        )],
    )
    .await;
    assert!(sqlx::query("DELETE FROM problem_events")
        .execute(&app.state.pool)
        .await
        .is_err());
    assert!(sqlx::query("UPDATE problem_events SET change = '{}'")
        .execute(&app.state.pool)
        .await
        .is_err());
    assert_eq!(stored_events(&app, p).await.len(), 1);
}

#[tokio::test]
async fn the_xlsx_export_shows_where_problems_stand_and_their_trail() {
    let app = TestApp::new().await;
    let zhao = app.session(ZHAO).await;
    let p = raise(&app, 1, household_id(0), ZHANG, Urgency::High).await;
    send(
        &app,
        &zhao,
        &[
            ev(
                1,
                p,
                t(10),
                EventKind::Assign {
                    to: member_id(ZHANG),
                },
            ),
            ev(
                2,
                p,
                t(20),
                EventKind::Answer {
                    text: text("=已修好"),
                },
            ),
            ev(
                3,
                p,
                t(30),
                EventKind::Answer {
                    text: text("又答了一次"),
                },
            ),
        ],
    )
    .await;
    let answer = app
        .call(Method::POST, "/api/exports?format=xlsx", Some(&zhao), None)
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let link: ExportLink = serde_json::from_slice(&answer.body).unwrap();
    let file = app.call(Method::GET, &link.url, None, None).await;
    assert_eq!(file.status, StatusCode::OK);
    use calamine::Reader;
    let mut book =
        calamine::open_workbook_auto_from_rs(std::io::Cursor::new(file.body.to_vec())).unwrap();
    let cells = |range: calamine::Range<calamine::Data>| -> Vec<Vec<String>> {
        range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    };
    let problems = cells(book.worksheet_range("问题").unwrap());
    assert_eq!(problems[0][11..], ["当前层级", "状态", "答复", "是否超期"]);
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[1][10], p.to_string());
    assert_eq!(problems[1][11..14], ["村级", "已办结", "'=已修好"]);
    assert_eq!(problems[1].get(14).map(String::as_str).unwrap_or(""), "");
    let trail = cells(book.worksheet_range("办理经过").unwrap());
    assert_eq!(
        trail[0],
        ["问题编号", "时间（北京时间）", "办理人", "动作", "内容", "不合当时状态"]
    );
    let rows: Vec<(&str, &str, &str, &str)> = trail[1..]
        .iter()
        .map(|r| {
            (
                r[2].as_str(),
                r[3].as_str(),
                r[4].as_str(),
                r.get(5).map(String::as_str).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("赵书记", "派单", "张党员", ""),
            ("赵书记", "答复", "'=已修好", ""),
            ("赵书记", "答复", "又答了一次", "是"),
        ]
    );
    assert!(trail[1..].iter().all(|r| r[0] == p.to_string()));

    // The two sheets as CSV files of their own: a BOM, the same header and
    // cells (dates and times as text in China's time), formulas defused.
    let csv_sheet = |sheet: &'static str| {
        let (app, zhao) = (&app, &zhao);
        async move {
            let answer = app.call(Method::POST, &format!("/api/exports?format=csv&sheet={sheet}"), Some(zhao), None).await;
            assert_eq!(answer.status, StatusCode::CREATED, "{sheet}");
            let link: ExportLink = serde_json::from_slice(&answer.body).unwrap();
            let file = app.call(Method::GET, &link.url, None, None).await;
            assert_eq!(file.status, StatusCode::OK);
            let disposition = file.headers[axum::http::header::CONTENT_DISPOSITION].to_str().unwrap().to_string();
            assert!(disposition.contains(&format!("daohu-{sheet}-")), "{disposition}");
            let body = file.body.strip_prefix("\u{feff}".as_bytes()).expect("a BOM first").to_vec();
            csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(&body[..])
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<String>>())
                .collect::<Vec<_>>()
        }
    };
    let problems_csv = csv_sheet("problems").await;
    assert_eq!(problems_csv.len(), problems.len());
    assert_eq!(problems_csv[0], problems[0]);
    for (got, want) in problems_csv[1..].iter().zip(&problems[1..]) {
        assert_eq!(got[1..], want[1..], "the cells after the date");
        assert_eq!(got[0].len(), "2026-01-01".len());
    }
    let trail_csv = csv_sheet("trail").await;
    assert_eq!(trail_csv.len(), trail.len());
    assert_eq!(trail_csv[0], trail[0]);
    for (got, want) in trail_csv[1..].iter().zip(&trail[1..]) {
        assert_eq!((&got[0], &got[2..]), (&want[0], &want[2..]), "the cells but the time");
        assert_eq!(got[1].len(), "2026-01-01 08:00".len(), "{got:?}");
    }
    assert_eq!(trail_csv[2][4], "'=已修好");
}

/// The 回访: at the next visit the member who raised a problem asks the family
/// about the answer. Satisfied leaves it resolved; 不满意 opens it again at its
/// level with the family's words; a verdict before the answer is kept and
/// flagged and counts nowhere; nobody else answers for the family; the
/// dashboard counts an area's verdicts of the period and its 满意率.
#[tokio::test]
async fn the_follow_up_asks_the_family_and_dissatisfied_opens_the_problem_again() {
    use daohu_domain::{Satisfaction, SatisfactionCount};
    let app = TestApp::new().await;
    let (zhang, zhao, li, sun) =
        (app.session(ZHANG).await, app.session(ZHAO).await, app.session(LI).await, app.session(SUN).await);
    let now = db::now();
    let at = |minutes: i64| now - Duration::minutes(minutes);
    let verdict = |level, words: &str| EventKind::Feedback { level, words: text(words) };
    let p1 = raise(&app, 1, household_id(1), ZHANG, Urgency::Normal).await;
    let p2 = raise(&app, 2, household_id(2), ZHANG, Urgency::Normal).await;

    let early = send(&app, &zhang, &[ev(1, p1, at(50), verdict(Satisfaction::Satisfied, ""))]).await;
    assert_eq!(early[0].status, ReceiptStatus::Stored);
    assert_eq!(early[0].reason.as_deref(), Some(Misfit::NotAnswered.message_zh()), "kept, flagged");
    let answers = [ev(2, p1, at(40), EventKind::Answer { text: text("已修好") }), ev(3, p2, at(40), EventKind::Answer { text: text("已安排") })];
    assert_eq!(statuses(&send(&app, &zhao, &answers).await), [ReceiptStatus::Stored; 2]);

    // The phone's roster: both answered problems wait for the family's verdict.
    let roster: RosterResponse =
        serde_json::from_slice(&app.call(Method::GET, "/api/roster", Some(&zhang), None).await.body).unwrap();
    let waiting: Vec<Uuid> = roster.households.iter().flat_map(|h| &h.problems).filter(|p| p.awaits_feedback()).map(|p| p.id).collect();
    assert!(waiting.contains(&p1) && waiting.contains(&p2), "{waiting:?}");

    // 李 did not raise them: he neither sees them nor answers for the family.
    let r = send(&app, &li, &[ev(4, p1, at(30), verdict(Satisfaction::Satisfied, ""))]).await;
    assert_eq!((r[0].status, r[0].reason.as_deref()), (ReceiptStatus::Rejected, Some(NOT_FOUND_REASON)));

    // 张: mostly satisfied with p1; 不满意 with p2 needs the family's words.
    let r = send(&app, &zhang, &[ev(5, p1, at(20), verdict(Satisfaction::Basically, "")), ev(6, p2, at(20), verdict(Satisfaction::Dissatisfied, " "))]).await;
    assert_eq!(statuses(&r), [ReceiptStatus::Stored, ReceiptStatus::Rejected]);
    let r = send(&app, &zhang, &[ev(7, p2, at(10), verdict(Satisfaction::Dissatisfied, "还是漏水"))]).await;
    assert_eq!((r[0].status, r[0].reason.as_deref()), (ReceiptStatus::Stored, None));

    let one = problem(&app, &zhao, p1).await;
    assert_eq!(one.status.state, ProblemState::Resolved);
    assert!(!one.awaits_feedback());
    let two = problem(&app, &zhao, p2).await;
    assert_eq!((two.status.level, two.status.state, two.status.answer.as_deref()), (Level::Village, ProblemState::New, None));
    assert_eq!(two.trail.last().map(|t| &t.event.change), Some(&verdict(Satisfaction::Dissatisfied, "还是漏水")));
    assert_eq!(assert_merged(&app, &zhao, p2).await.status, two.status);

    // The dashboard: the village's period holds one mostly satisfied and one not
    // (the early verdict is flagged); the other village none; a past period none.
    let day = now.date_naive();
    let dash = |token: String, query: String| {
        let app = &app;
        async move {
            let answer = app.call(Method::GET, &format!("/api/dashboard?{query}"), Some(&token), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{}", String::from_utf8_lossy(&answer.body));
            serde_json::from_slice::<Dashboard>(&answer.body).unwrap().satisfaction
        }
    };
    let period = format!("from={}&to={}", day - Duration::days(2), day + Duration::days(2));
    let here = dash(zhao.clone(), period.clone()).await;
    assert_eq!(here, SatisfactionCount { satisfied: 0, basically: 1, dissatisfied: 1 });
    assert_eq!(here.rate_text(), "50.0%");
    let township = dash(sun.clone(), format!("{period}&unit_id={}", village_id())).await;
    assert_eq!(township, here);
    // By area: the township's rows are its two villages, 青山村 holding both.
    let answer = app.call(Method::GET, &format!("/api/dashboard?{period}"), Some(&sun), None).await;
    let whole: Dashboard = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(whole.satisfaction, here);
    let by_village: Vec<(Uuid, u32)> = whole.coverage.iter().map(|r| (r.unit_id, r.satisfaction.total())).collect();
    assert_eq!(by_village, [(village_id(), 2), (second_village_id(), 0)]);
    // A village's rows are its grids: both households are in grid 1.
    let answer = app.call(Method::GET, &format!("/api/dashboard?{period}"), Some(&zhao), None).await;
    let village: Dashboard = serde_json::from_slice(&answer.body).unwrap();
    let by_grid: Vec<(Uuid, u32)> = village.coverage.iter().map(|r| (r.unit_id, r.satisfaction.dissatisfied)).collect();
    assert_eq!(by_grid, [(grid_id(1), 1), (grid_id(2), 0), (grid_id(3), 0)]);
    let elsewhere = dash(sun, format!("{period}&unit_id={}", second_village_id())).await;
    assert_eq!(elsewhere, SatisfactionCount::default());
    let past = dash(zhao, format!("from={}&to={}", day - Duration::days(40), day - Duration::days(10))).await;
    assert_eq!(past.total(), 0);
}
