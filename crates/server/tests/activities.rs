//! Volunteer activities: upload (stored, duplicate, conflict, each rejection), the
//! phone's activity roster, check-ins, resumable photos, the coordinators' list,
//! detail and hours, kinds and teams, and malformed input.

mod common;

use axum::http::{header, Method, StatusCode};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use common::{activity, check_in, device, Answer, TestApp};
use daohu_domain::activity::{DEFAULT_KINDS, MAX_PHOTO_BYTES};
use daohu_domain::{
    ActivityDetail, ActivityKind, ActivityRoster, ActivitySummary, CheckKind, GeoPoint, HoursReport, HoursRow,
    PhotoRef, PhotoStatus, Receipt, ReceiptStatus, SyncResponse, Team, MAX_BATCH,
};
use daohu_server::activity_log::{
    HOUSEHOLD_REASON, NOT_IN_TEAM_REASON, NOT_OWN_CHECK_IN_REASON, NOT_OWN_REASON, NOT_TAKING_PART_REASON,
    NO_ACTIVITY_REASON, PARTICIPANT_REASON, PHOTO_TAKEN_REASON, UNKNOWN_KIND_REASON,
};
use daohu_server::auth::sha256_hex;
use daohu_domain::CONFLICT_REASON;
use daohu_server::seed::{household_id, member_id, second_village_id, team_id, township_id, village_id};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use uuid::Uuid;

/// Demo accounts by number: 张党员 1, 李党员 2, 王网格长 3, 陈志愿者 5, 刘志愿者 6,
/// 赵书记 9, 孙镇长 19, 周党员 21 (绿水村), 吴县长 29.
const ZHANG: u128 = 1;
const LI: u128 = 2;
const WANG: u128 = 3;
const CHEN: u128 = 5;
const LIU: u128 = 6;
const ZHAO: u128 = 9;
const SUN: u128 = 19;
const ZHOU: u128 = 21;
const WU: u128 = 29;

fn receipts(answer: &Answer) -> Vec<Receipt> {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", String::from_utf8_lossy(&answer.body));
    let r: SyncResponse = serde_json::from_slice(&answer.body).unwrap();
    r.receipts
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&app.state.pool).await.unwrap()
}

async fn stored_body(app: &TestApp, id: Uuid) -> Option<String> {
    sqlx::query_scalar("SELECT body FROM activities WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&app.state.pool)
        .await
        .unwrap()
}

async fn get<T: serde::de::DeserializeOwned>(app: &TestApp, path: &str, token: &str) -> T {
    let answer = app.call(Method::GET, path, Some(token), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {:?}", String::from_utf8_lossy(&answer.body));
    serde_json::from_slice(&answer.body).unwrap()
}

/// A UTC instant for a China wall-clock time.
fn china(date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap());
    DateTime::from_naive_utc_and_offset(local - Duration::hours(8), Utc)
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// A team activity of 陈志愿者 with 刘志愿者 and 张党员, serving household 0.
fn team_activity(seed: u64) -> daohu_domain::Activity {
    let mut a = activity(seed, member_id(CHEN), Some(team_id(1)));
    a.participants = vec![member_id(CHEN), member_id(LIU), member_id(ZHANG)];
    a.household_ids = vec![household_id(0)];
    a.others = 2;
    a
}

#[tokio::test]
async fn stored_then_duplicate_then_conflict() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let a = team_activity(1);
    let first = receipts(&app.upload_activities(&chen, device(), &[a.clone()]).await);
    assert_eq!(first[0].status, ReceiptStatus::Stored);
    assert_eq!(first[0].id, a.id);
    assert!(first[0].received_at.is_some());
    let original = stored_body(&app, a.id).await.unwrap();

    let again = receipts(&app.upload_activities(&chen, device(), &[a.clone()]).await);
    assert_eq!(again[0].status, ReceiptStatus::Duplicate);
    assert_eq!(again[0].received_at, first[0].received_at, "identical receipt time");
    assert_eq!(again[0].reason, None);

    let mut changed = a.clone();
    changed.place = "村口".into();
    let conflict = receipts(&app.upload_activities(&chen, device(), &[changed]).await);
    assert_eq!(conflict[0].status, ReceiptStatus::Conflict);
    assert_eq!(conflict[0].reason.as_deref(), Some(CONFLICT_REASON));
    assert_eq!(conflict[0].received_at, first[0].received_at);
    assert_eq!(stored_body(&app, a.id).await.unwrap(), original, "stored copy unchanged");

    // the same id twice in one batch: the second is a duplicate of the first
    let b = team_activity(2);
    let both = receipts(&app.upload_activities(&chen, device(), &[b.clone(), b.clone()]).await);
    assert_eq!(both.iter().map(|r| r.status).collect::<Vec<_>>(), [ReceiptStatus::Stored, ReceiptStatus::Duplicate]);
    assert_eq!(both[0].received_at, both[1].received_at);

    assert_eq!(count(&app, "activities").await, 2);
    assert_eq!(count(&app, "activity_households").await, 2);
    assert_eq!(count(&app, "activity_participants").await, 6);
    let (unit, team): (String, Option<String>) =
        sqlx::query_as("SELECT unit_id, team_id FROM activities WHERE id = $1")
            .bind(a.id.to_string())
            .fetch_one(&app.state.pool)
            .await
            .unwrap();
    assert_eq!((unit, team), (village_id().to_string(), Some(team_id(1).to_string())));
    // without a team the activity counts where its recorder is (张党员: 第一网格)
    let zhang = app.session(ZHANG).await;
    let own = activity(3, member_id(ZHANG), None);
    assert_eq!(receipts(&app.upload_activities(&zhang, device(), &[own.clone()]).await)[0].status, ReceiptStatus::Stored);
    let unit: String = sqlx::query_scalar("SELECT unit_id FROM activities WHERE id = $1")
        .bind(own.id.to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!(unit, daohu_server::seed::grid_id(1).to_string());

    // the phone synced; the audit log counts, without names
    let synced: Option<String> = sqlx::query_scalar("SELECT member_id FROM devices WHERE device_id = $1")
        .bind(device().to_string())
        .fetch_optional(&app.state.pool)
        .await
        .unwrap();
    assert!(synced.is_some());
    let audit = app.audit_actions().await;
    let uploads: Vec<&(String, String)> = audit.iter().filter(|(a, _)| a == "sync_activities").collect();
    assert_eq!(uploads.len(), 5);
    assert!(uploads.iter().all(|(_, d)| !d.contains("陈") && !d.contains("村委会")));
}

#[tokio::test]
async fn every_rejection_stores_nothing() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let zhang = app.session(ZHANG).await;
    let wang = app.session(WANG).await;

    let not_own = activity(10, member_id(LIU), None);
    let mut unknown_kind = team_activity(11);
    unknown_kind.kind = "no_such_kind".into();
    let mut participant_outside = team_activity(12);
    participant_outside.participants.push(member_id(LI));
    let mut participant_without_team = activity(13, member_id(CHEN), None);
    participant_without_team.participants.push(member_id(LIU));
    let mut out_of_reach = team_activity(14);
    out_of_reach.household_ids = vec![household_id(0), household_id(60)];
    let mut invalid = team_activity(15);
    invalid.place = " ".into();
    invalid.served = 1_000_000;
    let mut not_v7 = team_activity(16);
    not_v7.id = Uuid::from_u128(77);
    let mut photo = team_activity(17);
    photo.photos = vec![PhotoRef { id: daohu_domain::uuid_v7(1_777_000_000_000, [1; 10]), bytes: 0, sha256: "x".into() }];
    let answer = app
        .upload_activities(
            &chen,
            device(),
            &[not_own, unknown_kind, participant_outside, participant_without_team, out_of_reach, invalid, not_v7, photo],
        )
        .await;
    let r = receipts(&answer);
    assert!(r.iter().all(|r| r.status == ReceiptStatus::Rejected && r.received_at.is_none()), "{r:?}");
    let reasons: Vec<&str> = r.iter().map(|r| r.reason.as_deref().unwrap()).collect();
    assert_eq!(&reasons[..5], [NOT_OWN_REASON, UNKNOWN_KIND_REASON, PARTICIPANT_REASON, PARTICIPANT_REASON, HOUSEHOLD_REASON]);
    assert_eq!(reasons[5], "请填写活动地点；人数太大，请检查");
    assert_eq!(reasons[6], "记录编号不对");
    assert_eq!(reasons[7], "第 1 张照片的信息不对");

    // a team the recorder is not on (王网格长), and a household a member does not look after
    let on_team = receipts(&app.upload_activities(&wang, device(), &[activity(20, member_id(WANG), Some(team_id(1)))]).await);
    assert_eq!(on_team[0].reason.as_deref(), Some(NOT_IN_TEAM_REASON));
    let mut not_linked = activity(21, member_id(ZHANG), None);
    not_linked.household_ids = vec![household_id(20)];
    let linked = receipts(&app.upload_activities(&zhang, device(), &[not_linked]).await);
    assert_eq!(linked[0].reason.as_deref(), Some(HOUSEHOLD_REASON));

    for table in ["activities", "activity_households", "activity_participants", "photos"] {
        assert_eq!(count(&app, table).await, 0, "{table}");
    }

    // a photo id another activity already names
    let p = PhotoRef { id: daohu_domain::uuid_v7(1_777_000_000_001, [2; 10]), bytes: 10, sha256: "a".repeat(64) };
    let mut first = team_activity(22);
    first.photos = vec![p.clone()];
    let mut second = team_activity(23);
    second.photos = vec![p];
    let r = receipts(&app.upload_activities(&chen, device(), &[first, second]).await);
    assert_eq!(r[0].status, ReceiptStatus::Stored);
    assert_eq!(r[1].reason.as_deref(), Some(PHOTO_TAKEN_REASON));
    assert_eq!(count(&app, "activities").await, 1);

    // coordinators do not record; a batch over MAX_BATCH is refused whole
    let zhao = app.session(ZHAO).await;
    let answer = app.upload_activities(&zhao, device(), &[activity(30, member_id(ZHAO), None)]).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let many: Vec<_> = (0..MAX_BATCH as u64 + 1).map(|i| activity(100 + i, member_id(CHEN), None)).collect();
    let answer = app.upload_activities(&chen, device(), &many).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(count(&app, "activities").await, 1);
}

#[tokio::test]
async fn the_activity_roster_shows_what_the_caller_may_name() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let answer = app.call(Method::GET, "/api/activity-roster", Some(&chen), None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&answer.body).to_string();
    assert!(!text.contains("绿水") && !text.contains("1390000"), "no 绿水村, no household phones");
    // households: door and name only
    for h in answer.json()["households"].as_array().unwrap() {
        let mut keys: Vec<&String> = h.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["address", "head_name", "id"]);
    }
    let roster: ActivityRoster = serde_json::from_slice(&answer.body).unwrap();
    let codes: Vec<&str> = roster.kinds.iter().map(|k| k.code.as_str()).collect();
    assert_eq!(codes, DEFAULT_KINDS.map(|k| k.0));
    assert_eq!(roster.teams.len(), 1);
    let team = &roster.teams[0];
    assert_eq!((team.id, team.name.as_str(), team.unit_id, team.unit_name.as_str()), (team_id(1), "青山村志愿服务队", village_id(), "青山村"));
    let mut names: Vec<&str> = team.members.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["刘志愿者", "张党员", "陈志愿者"]);
    let ids: Vec<Uuid> = roster.households.iter().map(|h| h.id).collect();
    assert_eq!(ids, (0..60).map(household_id).collect::<Vec<_>>(), "all of 青山村, none of 绿水村");

    // members and grid leaders: their visit roster
    let zhang = app.session(ZHANG).await;
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &zhang).await;
    assert_eq!(roster.households.iter().map(|h| h.id).collect::<Vec<_>>(), (0..10).map(household_id).collect::<Vec<_>>());
    assert_eq!(roster.teams.len(), 1);
    let wang = app.session(WANG).await;
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &wang).await;
    assert_eq!(roster.households.len(), 20);
    assert!(roster.teams.is_empty());
    // a team of the township names no households
    let sun = app.session(SUN).await;
    let made = app
        .call(
            Method::POST,
            "/api/teams",
            Some(&sun),
            Some(json!({ "unit_id": township_id(), "name": "青山镇应急队", "member_ids": [member_id(LIU)] })),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.json());
    let liu = app.session(LIU).await;
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &liu).await;
    assert_eq!(roster.teams.len(), 2);
    assert_eq!(roster.households.len(), 60);
    // a volunteer of 青山村 cannot name a 绿水村 household
    let mut a = activity(1, member_id(LIU), Some(team_id(1)));
    a.household_ids = vec![household_id(65)];
    assert_eq!(receipts(&app.upload_activities(&liu, device(), &[a]).await)[0].reason.as_deref(), Some(HOUSEHOLD_REASON));

    // recent: the caller's and their teams', the last 30 days, newest first
    let today = daohu_server::activity_log::china_today();
    let mut mine = activity(2, member_id(CHEN), None);
    mine.date = today;
    let mut old = activity(3, member_id(CHEN), None);
    old.date = today - Duration::days(40);
    let mut teams = activity(4, member_id(LIU), Some(team_id(1)));
    teams.date = today - Duration::days(1);
    for (token, a) in [(&chen, &mine), (&chen, &old), (&liu, &teams)] {
        assert_eq!(receipts(&app.upload_activities(token, device(), &[a.clone()]).await)[0].status, ReceiptStatus::Stored);
    }
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &chen).await;
    assert_eq!(roster.recent.iter().map(|s| s.id).collect::<Vec<_>>(), [mine.id, teams.id]);
    let s = &roster.recent[1];
    assert_eq!((s.recorder_name.as_str(), s.team_name.as_deref(), s.kind_label.as_str()), ("刘志愿者", Some("青山村志愿服务队"), "治安巡逻"));
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &zhang).await;
    assert_eq!(roster.recent.iter().map(|s| s.id).collect::<Vec<_>>(), [teams.id], "张党员 is on the team");
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &wang).await;
    assert!(roster.recent.is_empty());

    // coordinators have no activity roster
    let zhao = app.session(ZHAO).await;
    assert_eq!(app.call(Method::GET, "/api/activity-roster", Some(&zhao), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn check_ins_wait_for_their_activity() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let liu = app.session(LIU).await;
    let wang = app.session(WANG).await;
    let a = team_activity(1);
    let mut c = check_in(1, a.id, member_id(LIU), CheckKind::In);
    c.location = Some(GeoPoint { lat: 30.25, lon: 120.16, accuracy_m: 12.0 });

    let before = receipts(&app.upload_check_ins(&liu, device(), &[c.clone()]).await);
    assert_eq!((before[0].status, before[0].reason.as_deref()), (ReceiptStatus::Rejected, Some(NO_ACTIVITY_REASON)));
    assert_eq!(count(&app, "check_ins").await, 0);

    assert_eq!(receipts(&app.upload_activities(&chen, device(), &[a.clone()]).await)[0].status, ReceiptStatus::Stored);
    let after = receipts(&app.upload_check_ins(&liu, device(), &[c.clone()]).await);
    assert_eq!(after[0].status, ReceiptStatus::Stored);
    let retry = receipts(&app.upload_check_ins(&liu, device(), &[c.clone()]).await);
    assert_eq!((retry[0].status, retry[0].received_at), (ReceiptStatus::Duplicate, after[0].received_at));
    let mut moved = c.clone();
    moved.at += Duration::minutes(5);
    let conflict = receipts(&app.upload_check_ins(&liu, device(), &[moved]).await);
    assert_eq!(conflict[0].status, ReceiptStatus::Conflict);

    // someone not taking part, someone else's name, a bad location, a bad id
    let not_part = check_in(2, a.id, member_id(WANG), CheckKind::In);
    assert_eq!(receipts(&app.upload_check_ins(&wang, device(), &[not_part]).await)[0].reason.as_deref(), Some(NOT_TAKING_PART_REASON));
    let others = check_in(3, a.id, member_id(LIU), CheckKind::Out);
    assert_eq!(receipts(&app.upload_check_ins(&chen, device(), &[others]).await)[0].reason.as_deref(), Some(NOT_OWN_CHECK_IN_REASON));
    let mut bad = check_in(4, a.id, member_id(CHEN), CheckKind::Out);
    bad.location = Some(GeoPoint { lat: 120.0, lon: 30.0, accuracy_m: 5.0 });
    bad.id = Uuid::from_u128(5);
    assert_eq!(
        receipts(&app.upload_check_ins(&chen, device(), &[bad]).await)[0].reason.as_deref(),
        Some("记录编号不对；位置信息不对")
    );
    // the recorder checks out
    let out = check_in(6, a.id, member_id(CHEN), CheckKind::Out);
    assert_eq!(receipts(&app.upload_check_ins(&chen, device(), &[out]).await)[0].status, ReceiptStatus::Stored);
    assert_eq!(count(&app, "check_ins").await, 2);
    let (lat, lon): (f64, f64) = sqlx::query_as("SELECT lat, lon FROM check_ins WHERE id = $1")
        .bind(c.id.to_string())
        .fetch_one(&app.state.pool)
        .await
        .unwrap();
    assert_eq!((lat, lon), (30.25, 120.16));
}

fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen()).collect()
}

async fn put_chunk(app: &TestApp, token: &str, photo: Uuid, offset: usize, bytes: &[u8]) -> Answer {
    app.raw(
        Method::PUT,
        &format!("/api/photos/{photo}?offset={offset}"),
        Some(token),
        "application/octet-stream",
        bytes.to_vec(),
    )
    .await
}

#[tokio::test]
async fn photos_upload_in_chunks_resume_and_check_their_digest() {
    const CHUNK: usize = 256 * 1024;
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let jpeg = common::test_jpeg(1600, 1200, 600_000, 7);
    let bad = common::test_jpeg(1200, 1600, 100_000, 8);
    let p = PhotoRef { id: daohu_domain::uuid_v7(1_777_000_000_000, [3; 10]), bytes: jpeg.len() as u64, sha256: sha256_hex(&jpeg) };
    let q = PhotoRef { id: daohu_domain::uuid_v7(1_777_000_000_001, [4; 10]), bytes: bad.len() as u64, sha256: sha256_hex(&bad) };
    let mut a = team_activity(1);
    a.photos = vec![p.clone(), q.clone()];
    let status_path = format!("/api/photos/{}", p.id);

    // nothing before the activity is stored
    assert_eq!(app.call(Method::GET, &status_path, Some(&chen), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(put_chunk(&app, &chen, p.id, 0, &jpeg[..CHUNK]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(receipts(&app.upload_activities(&chen, device(), &[a.clone()]).await)[0].status, ReceiptStatus::Stored);
    let s: PhotoStatus = get(&app, &status_path, &chen).await;
    assert_eq!(s, PhotoStatus { id: p.id, received: 0, bytes: 600_000, complete: false });

    // the first chunk, then the connection drops: the status says where to resume
    let first = put_chunk(&app, &chen, p.id, 0, &jpeg[..CHUNK]).await;
    assert_eq!(first.status, StatusCode::OK);
    let s: PhotoStatus = get(&app, &status_path, &chen).await;
    assert_eq!((s.received, s.complete), (262_144, false));
    // not complete: no content yet
    assert_eq!(app.call(Method::GET, &format!("{status_path}/content"), Some(&chen), None).await.status, StatusCode::NOT_FOUND);
    // a wrong offset (the first chunk again) is refused
    let wrong = put_chunk(&app, &chen, p.id, 0, &jpeg[..CHUNK]).await;
    assert_eq!((wrong.status, wrong.json()["error"].as_str()), (StatusCode::CONFLICT, Some("offset_mismatch")));
    let wrong = put_chunk(&app, &chen, p.id, CHUNK + 1, &jpeg[CHUNK..2 * CHUNK]).await;
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    // another content type, a chunk over 1 MiB
    let json_chunk = app
        .raw(Method::PUT, &format!("{status_path}?offset={CHUNK}"), Some(&chen), "application/json", b"{\"a\":1}".to_vec())
        .await;
    assert_eq!(json_chunk.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = put_chunk(&app, &chen, p.id, CHUNK, &vec![0u8; 1024 * 1024 + 1]).await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(huge.json()["error"], "payload_too_large");
    // resume
    let mut offset = CHUNK;
    let mut last = None;
    while offset < jpeg.len() {
        let end = (offset + CHUNK).min(jpeg.len());
        let answer = put_chunk(&app, &chen, p.id, offset, &jpeg[offset..end]).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
        last = Some(serde_json::from_slice::<PhotoStatus>(&answer.body).unwrap());
        offset = end;
    }
    assert_eq!(last.unwrap(), PhotoStatus { id: p.id, received: 600_000, bytes: 600_000, complete: true });
    assert_eq!(count(&app, "photo_chunks").await, 0, "chunks joined");

    // the content is byte-identical, for the recorder and the village's coordinator
    let zhao = app.session(ZHAO).await;
    for token in [&chen, &zhao] {
        let content = app.call(Method::GET, &format!("{status_path}/content"), Some(token), None).await;
        assert_eq!(content.status, StatusCode::OK);
        assert_eq!(content.headers[header::CONTENT_TYPE], "image/jpeg");
        assert_eq!(content.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(content.body.as_ref(), &jpeg[..]);
    }
    // a complete photo takes no more bytes and stays as it is
    let again = put_chunk(&app, &chen, p.id, 0, &jpeg[..CHUNK]).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(serde_json::from_slice::<PhotoStatus>(&again.body).unwrap().complete);

    // a member of another village, a team member who did not record it, a coordinator of another village
    let zhou = app.session(ZHOU).await;
    let zhang = app.session(ZHANG).await;
    for token in [&zhou, &zhang] {
        assert_eq!(app.call(Method::GET, &status_path, Some(token), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.call(Method::GET, &format!("{status_path}/content"), Some(token), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(put_chunk(&app, token, q.id, 0, &bad).await.status, StatusCode::NOT_FOUND);
    }
    let lvshui = lvshui_coordinator(&app).await;
    assert_eq!(app.call(Method::GET, &format!("{status_path}/content"), Some(&lvshui), None).await.status, StatusCode::NOT_FOUND);
    let unknown = app.call(Method::GET, &format!("/api/photos/{}/content", Uuid::now_v7()), Some(&zhao), None).await;
    let foreign = app.call(Method::GET, &format!("{status_path}/content"), Some(&lvshui), None).await;
    assert_eq!(unknown.body, foreign.body, "out of scope looks like missing");

    // corrupt bytes: the last chunk does not match the digest → 422, back to 0
    let mut corrupt = bad.clone();
    corrupt[99_999] ^= 0xff;
    assert_eq!(put_chunk(&app, &chen, q.id, 0, &corrupt[..60_000]).await.status, StatusCode::OK);
    let answer = put_chunk(&app, &chen, q.id, 60_000, &corrupt[60_000..]).await;
    assert_eq!((answer.status, answer.json()["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("photo_corrupt")));
    let s: PhotoStatus = get(&app, &format!("/api/photos/{}", q.id), &chen).await;
    assert_eq!((s.received, s.complete), (0, false));
    assert_eq!(count(&app, "photo_chunks").await, 0);
    // past the photo's end
    let answer = put_chunk(&app, &chen, q.id, 0, &random_bytes(100_001, 9)).await;
    assert_eq!((answer.status, answer.json()["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("past_end")));
    // and then the right bytes complete it
    let answer = put_chunk(&app, &chen, q.id, 0, &bad).await;
    assert!(serde_json::from_slice::<PhotoStatus>(&answer.body).unwrap().complete);

    // the console shows both photos complete
    let detail: ActivityDetail = get(&app, &format!("/api/activities/{}", a.id), &zhao).await;
    assert!(detail.photos.iter().all(|p| p.complete));
    assert_eq!((detail.summary.photos, detail.summary.photos_received), (2, 2));
    assert!(MAX_PHOTO_BYTES > 600_000);
}

/// One team activity of 陈志愿者 naming these photos, stored; the photos' refs.
async fn activity_with_photos(app: &TestApp, chen: &str, seed: u64, photos: &[&[u8]]) -> Vec<PhotoRef> {
    let refs: Vec<PhotoRef> = photos
        .iter()
        .enumerate()
        .map(|(i, bytes)| PhotoRef {
            id: daohu_domain::uuid_v7(1_777_100_000_000 + seed * 100 + i as u64, [seed as u8; 10]),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        })
        .collect();
    let mut a = team_activity(seed);
    a.photos = refs.clone();
    assert_eq!(receipts(&app.upload_activities(chen, device(), &[a]).await)[0].status, ReceiptStatus::Stored);
    refs
}

#[tokio::test]
async fn bytes_that_are_no_jpeg_of_sensible_size_are_refused_and_reset() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let png = {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        b.extend(random_bytes(5_000, 1));
        b
    };
    let html = b"<html><script>alert(1)</script></html>".repeat(50);
    let wide = common::test_jpeg(9000, 100, 5_000, 2);
    let flat = common::test_jpeg(100, 0, 5_000, 3);
    let no_frame = {
        // SOI, then straight to a scan: no frame header, no size
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0];
        b.extend(random_bytes(3_000, 4));
        b
    };
    let good = common::test_jpeg(8000, 6000, 5_000, 5);
    let cases: [&[u8]; 6] = [&png, &html, &wide, &flat, &no_frame, &good];
    let refs = activity_with_photos(&app, &chen, 31, &cases).await;
    for (r, bytes) in refs.iter().zip(cases).take(5) {
        let answer = put_chunk(&app, &chen, r.id, 0, bytes).await;
        assert_eq!(
            (answer.status, answer.json()["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("photo_not_jpeg")),
            "{:?}",
            answer.json()
        );
        assert!(!answer.json()["message"].as_str().unwrap().is_empty());
        let s: PhotoStatus = get(&app, &format!("/api/photos/{}", r.id), &chen).await;
        assert_eq!((s.received, s.complete), (0, false));
        let content = app.call(Method::GET, &format!("/api/photos/{}/content", r.id), Some(&chen), None).await;
        assert_eq!(content.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(count(&app, "photo_chunks").await, 0);
    // 8,000 px a side is still a photo
    let answer = put_chunk(&app, &chen, refs[5].id, 0, &good).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    assert!(serde_json::from_slice::<PhotoStatus>(&answer.body).unwrap().complete);
}

#[tokio::test]
async fn each_account_uploads_at_most_its_daily_quota_of_photo_bytes() {
    let app = TestApp::new().await.with_settings(|s| s.photo_quota_bytes = 300_000);
    let chen = app.session(CHEN).await;
    let (a, b) = (common::test_jpeg(40, 30, 200_000, 1), common::test_jpeg(40, 30, 200_000, 2));
    let refs = activity_with_photos(&app, &chen, 32, &[&a, &b]).await;
    assert_eq!(put_chunk(&app, &chen, refs[0].id, 0, &a).await.status, StatusCode::OK);
    // 200,000 + 150,000 > 300,000 bytes today
    let over = put_chunk(&app, &chen, refs[1].id, 0, &b[..150_000]).await;
    assert_eq!((over.status, over.json()["error"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("photo_quota")));
    assert!(over.json()["message"].as_str().unwrap().contains("明天"), "{:?}", over.json());
    let s: PhotoStatus = get(&app, &format!("/api/photos/{}", refs[1].id), &chen).await;
    assert_eq!(s.received, 0);
    // what is left of today's quota is still taken
    assert_eq!(put_chunk(&app, &chen, refs[1].id, 0, &b[..100_000]).await.status, StatusCode::OK);
    let over = put_chunk(&app, &chen, refs[1].id, 100_000, &b[100_000..100_001]).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    // another account has its own quota
    let zhang = app.session(ZHANG).await;
    let mut mine = activity(33, member_id(ZHANG), None);
    let c = common::test_jpeg(40, 30, 250_000, 3);
    mine.photos = vec![PhotoRef { id: daohu_domain::uuid_v7(1_777_200_000_000, [9; 10]), bytes: c.len() as u64, sha256: sha256_hex(&c) }];
    assert_eq!(receipts(&app.upload_activities(&zhang, device(), &[mine.clone()]).await)[0].status, ReceiptStatus::Stored);
    assert_eq!(put_chunk(&app, &zhang, mine.photos[0].id, 0, &c).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unfinished_uploads_left_for_a_week_are_swept_when_an_upload_starts() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let photos: Vec<Vec<u8>> = (0..3).map(|i| common::test_jpeg(40, 30, 50_000, 10 + i)).collect();
    let refs = activity_with_photos(&app, &chen, 34, &[&photos[0], &photos[1], &photos[2]]).await;
    for r in &refs[..2] {
        assert_eq!(put_chunk(&app, &chen, r.id, 0, &photos[0][..20_000]).await.status, StatusCode::OK);
    }
    // the first was last touched eight days ago, the second six
    for (r, days) in [(&refs[0], 8), (&refs[1], 6)] {
        sqlx::query("UPDATE photos SET chunk_at = $1 WHERE id = $2")
            .bind(daohu_server::db::ts(daohu_server::db::now() - Duration::days(days)))
            .bind(r.id.to_string())
            .execute(&app.state.pool)
            .await
            .unwrap();
    }
    assert_eq!(count(&app, "photo_chunks").await, 2);
    // a new upload starts: the week-old chunks go, the phone starts that one again at 0
    assert_eq!(put_chunk(&app, &chen, refs[2].id, 0, &photos[2][..10_000]).await.status, StatusCode::OK);
    let s: PhotoStatus = get(&app, &format!("/api/photos/{}", refs[0].id), &chen).await;
    assert_eq!(s.received, 0);
    let s: PhotoStatus = get(&app, &format!("/api/photos/{}", refs[1].id), &chen).await;
    assert_eq!(s.received, 20_000);
    assert_eq!(count(&app, "photo_chunks").await, 2, "the six-day-old and the new chunk stay");
    // and the swept one uploads again from 0
    assert_eq!(put_chunk(&app, &chen, refs[0].id, 0, &photos[0]).await.status, StatusCode::OK);
    let s: PhotoStatus = get(&app, &format!("/api/photos/{}", refs[0].id), &chen).await;
    assert!(s.complete);
}

/// A village coordinator for 绿水村 (the demo has none), made by 孙镇长; its session.
async fn lvshui_coordinator(app: &TestApp) -> String {
    let sun = app.session(SUN).await;
    let made = app
        .call(
            Method::POST,
            "/api/accounts",
            Some(&sun),
            Some(json!({
                "name": "钱书记", "phone": "13800000031", "role": "village_coordinator",
                "unit_id": second_village_id(), "password": "",
            })),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.json());
    let id = Uuid::parse_str(made.json()["id"].as_str().unwrap()).unwrap();
    let (token, _) = daohu_server::auth::create_session(&app.state.pool, id, chrono::Duration::hours(1)).await.unwrap();
    token
}

#[tokio::test]
async fn coordinators_read_the_activities_of_their_subtree() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let liu = app.session(LIU).await;
    let zhou = app.session(ZHOU).await;
    let mut qingshan = team_activity(1);
    qingshan.description = "清理河道垃圾".into();
    let mut lvshui = activity(2, member_id(ZHOU), None);
    lvshui.kind = "cleanup".into();
    lvshui.household_ids = vec![household_id(60)];
    lvshui.date = qingshan.date - Duration::days(1);
    assert_eq!(receipts(&app.upload_activities(&chen, device(), &[qingshan.clone()]).await)[0].status, ReceiptStatus::Stored);
    assert_eq!(receipts(&app.upload_activities(&zhou, device(), &[lvshui.clone()]).await)[0].status, ReceiptStatus::Stored);
    let c = check_in(1, qingshan.id, member_id(LIU), CheckKind::In);
    assert_eq!(receipts(&app.upload_check_ins(&liu, device(), &[c.clone()]).await)[0].status, ReceiptStatus::Stored);

    let zhao = app.session(ZHAO).await;
    let green = lvshui_coordinator(&app).await;
    let sun = app.session(SUN).await;
    let ids = |list: &[ActivitySummary]| list.iter().map(|s| s.id).collect::<Vec<_>>();

    let list: Vec<ActivitySummary> = get(&app, "/api/activities", &zhao).await;
    assert_eq!(ids(&list), [qingshan.id]);
    let s = &list[0];
    assert_eq!(
        (s.kind_label.as_str(), s.team_name.as_deref(), s.recorder_name.as_str(), s.unit_name.as_str(), s.attendance, s.check_ins),
        ("治安巡逻", Some("青山村志愿服务队"), "陈志愿者", "青山村", 3 + 2, 1)
    );
    let list: Vec<ActivitySummary> = get(&app, "/api/activities", &green).await;
    assert_eq!(ids(&list), [lvshui.id]);
    let list: Vec<ActivitySummary> = get(&app, "/api/activities", &sun).await;
    assert_eq!(ids(&list), [qingshan.id, lvshui.id], "newest first");

    // detail: in the subtree only; outside answers exactly like an unknown id
    let detail: ActivityDetail = get(&app, &format!("/api/activities/{}", qingshan.id), &zhao).await;
    assert_eq!(detail.activity, qingshan);
    assert_eq!(detail.participant_names, ["陈志愿者", "刘志愿者", "张党员"]);
    assert_eq!(detail.households.iter().map(|h| h.id).collect::<Vec<_>>(), [household_id(0)]);
    assert_eq!(detail.check_ins.len(), 1);
    assert_eq!((detail.check_ins[0].volunteer_name.as_str(), detail.check_ins[0].kind), ("刘志愿者", CheckKind::In));
    let foreign = app.call(Method::GET, &format!("/api/activities/{}", qingshan.id), Some(&green), None).await;
    let unknown = app.call(Method::GET, &format!("/api/activities/{}", Uuid::now_v7()), Some(&green), None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(foreign.body, unknown.body);
    assert_eq!(app.call(Method::GET, &format!("/api/activities/{}", lvshui.id), Some(&zhao), None).await.status, StatusCode::NOT_FOUND);
    let _: ActivityDetail = get(&app, &format!("/api/activities/{}", lvshui.id), &sun).await;
    assert_eq!(app.call(Method::GET, "/api/activities/not-an-id", Some(&zhao), None).await.status, StatusCode::NOT_FOUND);

    // filters
    let by_unit: Vec<ActivitySummary> = get(&app, &format!("/api/activities?unit_id={}", second_village_id()), &sun).await;
    assert_eq!(ids(&by_unit), [lvshui.id]);
    let by_team: Vec<ActivitySummary> = get(&app, &format!("/api/activities?team_id={}", team_id(1)), &sun).await;
    assert_eq!(ids(&by_team), [qingshan.id]);
    let by_kind: Vec<ActivitySummary> = get(&app, "/api/activities?kind=cleanup", &sun).await;
    assert_eq!(ids(&by_kind), [lvshui.id]);
    let by_day: Vec<ActivitySummary> =
        get(&app, &format!("/api/activities?from={0}&to={0}", qingshan.date), &sun).await;
    assert_eq!(ids(&by_day), [qingshan.id]);
    for (path, status) in [
        (format!("/api/activities?unit_id={}", second_village_id()), StatusCode::NOT_FOUND),
        (format!("/api/activities/hours?unit_id={}", second_village_id()), StatusCode::NOT_FOUND),
        ("/api/activities?from=2026-03-10&to=2026-03-01".to_string(), StatusCode::BAD_REQUEST),
        ("/api/activities?kind=DROP%20TABLE".to_string(), StatusCode::BAD_REQUEST),
        ("/api/activities?from=yesterday".to_string(), StatusCode::BAD_REQUEST),
    ] {
        let answer = app.call(Method::GET, &path, Some(&zhao), None).await;
        assert_eq!(answer.status, status, "{path}");
    }
    // a team outside the subtree
    let lv_team = app
        .call(
            Method::POST,
            "/api/teams",
            Some(&sun),
            Some(json!({ "unit_id": second_village_id(), "name": "绿水村志愿服务队", "member_ids": [member_id(ZHOU)] })),
        )
        .await;
    let lv_team: Team = serde_json::from_slice(&lv_team.body).unwrap();
    let answer = app.call(Method::GET, &format!("/api/activities?team_id={}", lv_team.id), Some(&zhao), None).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    // members and volunteers have no console
    assert_eq!(app.call(Method::GET, "/api/activities", Some(&chen), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn hours_match_a_hand_computation() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let zhang = app.session(ZHANG).await;
    let liu = app.session(LIU).await;
    // 2026-03-31 22:00 → 04-01 02:00, the team: 陈 checks in 22:10 and out 01:40; 张 checks
    // in 22:30 and never out; 刘 is listed and never checks in.
    let mar31 = NaiveDate::from_ymd_opt(2026, 3, 31).unwrap();
    let apr1 = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let mut a = team_activity(1);
    a.date = mar31;
    a.start = time(22, 0);
    a.end = time(2, 0);
    assert_eq!(receipts(&app.upload_activities(&chen, device(), &[a.clone()]).await)[0].status, ReceiptStatus::Stored);
    let mut chen_in = check_in(1, a.id, member_id(CHEN), CheckKind::In);
    chen_in.at = china(mar31, 22, 10);
    let mut chen_out = check_in(2, a.id, member_id(CHEN), CheckKind::Out);
    chen_out.at = china(apr1, 1, 40);
    let mut zhang_in = check_in(3, a.id, member_id(ZHANG), CheckKind::In);
    zhang_in.at = china(mar31, 22, 30);
    assert!(receipts(&app.upload_check_ins(&chen, device(), &[chen_in, chen_out]).await).iter().all(|r| r.status == ReceiptStatus::Stored));
    assert_eq!(receipts(&app.upload_check_ins(&zhang, device(), &[zhang_in]).await)[0].status, ReceiptStatus::Stored);
    let _ = liu;

    let zhao = app.session(ZHAO).await;
    let report: HoursReport = get(&app, &format!("/api/activities/hours?unit_id={}", village_id()), &zhao).await;
    let row = |id: Uuid, name: &str, month: &str, minutes: i64, missing: u32| HoursRow {
        id,
        name: name.into(),
        month: month.into(),
        minutes,
        activities: 1,
        missing_check_outs: missing,
    };
    let (c, z, l) = (member_id(CHEN), member_id(ZHANG), member_id(LIU));
    let mut expected = vec![
        row(c, "陈志愿者", "2026-03", 110, 0),  // 22:10–24:00
        row(c, "陈志愿者", "2026-04", 100, 0),  // 00:00–01:40
        row(z, "张党员", "2026-03", 90, 1),     // 22:30–24:00, no check-out
        row(z, "张党员", "2026-04", 120, 0),    // to the activity's end, 02:00
        row(l, "刘志愿者", "2026-03", 120, 0),  // listed: 22:00–24:00
        row(l, "刘志愿者", "2026-04", 120, 0),  // 00:00–02:00
    ];
    expected.sort_by(|a, b| (&a.month, &a.name, a.id).cmp(&(&b.month, &b.name, b.id)));
    assert_eq!(report.volunteers, expected);
    assert_eq!(
        report.teams,
        [
            row(team_id(1), "青山村志愿服务队", "2026-03", 110 + 90 + 120, 1),
            row(team_id(1), "青山村志愿服务队", "2026-04", 100 + 120 + 120, 0),
        ]
    );
    // the other village sees none of it; the township the same as the village
    let green = lvshui_coordinator(&app).await;
    let report_green: HoursReport = get(&app, "/api/activities/hours", &green).await;
    assert!(report_green.volunteers.is_empty() && report_green.teams.is_empty());
    let sun = app.session(SUN).await;
    let report_sun: HoursReport = get(&app, "/api/activities/hours", &sun).await;
    assert_eq!(report_sun, report);
    // a date filter that leaves the activity out
    let none: HoursReport = get(&app, "/api/activities/hours?from=2026-04-01", &zhao).await;
    assert!(none.volunteers.is_empty());
}

#[tokio::test]
async fn kinds_and_teams_are_kept_by_coordinators() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let kinds: Vec<ActivityKind> = get(&app, "/api/activity-kinds", &chen).await;
    assert_eq!(
        kinds.iter().map(|k| (k.code.as_str(), k.label_zh.as_str(), k.label_en.as_str(), k.active)).collect::<Vec<_>>(),
        DEFAULT_KINDS.map(|(c, zh, en)| (c, zh, en, true))
    );
    let wu = app.session(WU).await;
    let sun = app.session(SUN).await;
    let new = json!({ "code": "tree_planting", "label_zh": " 植树造林 ", "label_en": "Tree planting" });
    let answer = app.call(Method::POST, "/api/activity-kinds", Some(&sun), Some(new.clone())).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = app.call(Method::POST, "/api/activity-kinds", Some(&wu), Some(new.clone())).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let made: ActivityKind = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(made, ActivityKind { code: "tree_planting".into(), label_zh: "植树造林".into(), label_en: "Tree planting".into(), active: true });
    let answer = app.call(Method::POST, "/api/activity-kinds", Some(&wu), Some(new)).await;
    assert_eq!((answer.status, answer.json()["error"].as_str()), (StatusCode::CONFLICT, Some("kind_exists")));
    for bad in [
        json!({ "code": "Tree", "label_zh": "树", "label_en": "Tree" }),
        json!({ "code": "a b", "label_zh": "树", "label_en": "Tree" }),
        json!({ "code": "ok", "label_zh": "  ", "label_en": "Tree" }),
        json!({ "code": "ok", "label_zh": "字".repeat(51), "label_en": "Tree" }),
    ] {
        let answer = app.call(Method::POST, "/api/activity-kinds", Some(&wu), Some(bad.clone())).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &chen).await;
    assert_eq!(roster.kinds.last().unwrap().code, "tree_planting");
    let mut a = activity(1, member_id(CHEN), None);
    a.kind = "tree_planting".into();
    assert_eq!(receipts(&app.upload_activities(&chen, device(), &[a]).await)[0].status, ReceiptStatus::Stored);
    // a retired kind is still a known kind, but not offered
    sqlx::query("UPDATE activity_kinds SET active = 0 WHERE code = 'patrol'").execute(&app.state.pool).await.unwrap();
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &chen).await;
    assert!(!roster.kinds.iter().any(|k| k.code == "patrol"));
    let kinds: Vec<ActivityKind> = get(&app, "/api/activity-kinds", &chen).await;
    assert!(kinds.iter().any(|k| k.code == "patrol" && !k.active));
    assert_eq!(receipts(&app.upload_activities(&chen, device(), &[activity(2, member_id(CHEN), None)]).await)[0].status, ReceiptStatus::Stored);

    // teams
    let zhao = app.session(ZHAO).await;
    let teams: Vec<Team> = get(&app, "/api/teams", &zhao).await;
    assert_eq!(teams.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["青山村志愿服务队"]);
    let create = |body: Value| {
        let app = &app;
        let zhao = zhao.clone();
        async move { app.call(Method::POST, "/api/teams", Some(&zhao), Some(body)).await }
    };
    let answer = create(json!({ "unit_id": village_id(), "name": " 青山村党员先锋队 ", "member_ids": [member_id(ZHANG), member_id(LI), member_id(ZHANG)] })).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.json());
    let team: Team = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!((team.name.as_str(), team.unit_name.as_str(), team.members.len()), ("青山村党员先锋队", "青山村", 2));
    for (body, status, code) in [
        (json!({ "unit_id": village_id(), "name": "青山村党员先锋队", "member_ids": [] }), StatusCode::CONFLICT, "team_exists"),
        (json!({ "unit_id": second_village_id(), "name": "队", "member_ids": [] }), StatusCode::NOT_FOUND, "not_found"),
        (json!({ "unit_id": village_id(), "name": "队", "member_ids": [member_id(ZHOU)] }), StatusCode::NOT_FOUND, "not_found"),
        (json!({ "unit_id": village_id(), "name": "队", "member_ids": [member_id(ZHAO)] }), StatusCode::BAD_REQUEST, "bad_request"),
        (json!({ "unit_id": daohu_server::seed::grid_id(1), "name": "队", "member_ids": [] }), StatusCode::BAD_REQUEST, "bad_request"),
        (json!({ "unit_id": village_id(), "name": " ", "member_ids": [] }), StatusCode::BAD_REQUEST, "bad_request"),
        (json!({ "unit_id": village_id(), "name": "队", "member_ids": [], "extra": 1 }), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
    ] {
        let answer = create(body.clone()).await;
        assert_eq!((answer.status, answer.json()["error"].as_str()), (status, Some(code)), "{body}");
    }
    // 张党员 now sees both teams on his phone and may record as the new one
    let zhang = app.session(ZHANG).await;
    let roster: ActivityRoster = get(&app, "/api/activity-roster", &zhang).await;
    assert_eq!(roster.teams.len(), 2);
    let mut a = activity(3, member_id(ZHANG), Some(team.id));
    a.participants = vec![member_id(ZHANG), member_id(LI)];
    assert_eq!(receipts(&app.upload_activities(&zhang, device(), &[a]).await)[0].status, ReceiptStatus::Stored);
    // the township sees both; a unit filter narrows
    let teams: Vec<Team> = get(&app, &format!("/api/teams?unit_id={}", village_id()), &sun).await;
    assert_eq!(teams.len(), 2);
    let teams: Vec<Team> = get(&app, &format!("/api/teams?unit_id={}", second_village_id()), &sun).await;
    assert!(teams.is_empty());
    assert_eq!(app.call(Method::GET, "/api/teams", Some(&chen), None).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn malformed_bodies_answer_4xx_json() {
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let a = serde_json::to_value(team_activity(1)).unwrap();
    let mut with_extra = a.clone();
    with_extra["extra"] = json!(1);
    let mut wrong_type = a.clone();
    wrong_type["served"] = json!("many");
    let mut bad_time = a.clone();
    bad_time["start"] = json!("25:00:00");
    for path in ["/api/sync/activities", "/api/sync/check-ins", "/api/teams", "/api/activity-kinds"] {
        for (ct, body) in [
            ("application/json", b"{\"device_id\":".to_vec()),
            ("application/json", b"[[]]".to_vec()),
            ("application/json", b"null".to_vec()),
            ("application/json", b"{\"a\":\"\\u0000\"}".to_vec()),
            ("text/plain", b"{}".to_vec()),
            ("application/json", json!({ "device_id": device(), "activities": [with_extra] }).to_string().into_bytes()),
            ("application/json", json!({ "device_id": device(), "activities": [wrong_type] }).to_string().into_bytes()),
            ("application/json", json!({ "device_id": device(), "activities": [bad_time] }).to_string().into_bytes()),
            ("application/json", json!({ "device_id": "x", "check_ins": [] }).to_string().into_bytes()),
        ] {
            let answer = app.raw(Method::POST, path, Some(&chen), ct, body.clone()).await;
            assert!(answer.status.is_client_error(), "{path} {:?}: {}", String::from_utf8_lossy(&body), answer.status);
            assert!(answer.json()["error"].is_string());
        }
    }
    let photo = Uuid::now_v7();
    for path in [
        format!("/api/photos/{photo}"),
        format!("/api/photos/{photo}?offset=-1"),
        format!("/api/photos/{photo}?offset=abc"),
        "/api/photos/not-an-id?offset=0".to_string(),
    ] {
        let answer = app.raw(Method::PUT, &path, Some(&chen), "application/octet-stream", vec![1, 2, 3]).await;
        assert!(answer.status.is_client_error(), "{path}: {}", answer.status);
        assert!(answer.json()["error"].is_string());
    }
    assert_eq!(count(&app, "activities").await, 0);
}

/// More activities than one page (500) and than the list shows (1,000): the list
/// stops at 1,000, the hours and the downloads read every one, in order, once.
#[tokio::test]
async fn hours_and_downloads_read_past_the_first_pages() {
    const N: u64 = 1_050;
    let app = TestApp::new().await;
    let chen = app.session(CHEN).await;
    let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
    let mut all = Vec::new();
    for i in 0..N {
        // one hour on a day of its own, so nothing overlaps
        let mut a = activity(1_000 + i, member_id(CHEN), None);
        a.date = first + Duration::days(i as i64);
        a.end = time(21, 0);
        all.push(a);
    }
    for batch in all.chunks(MAX_BATCH) {
        assert!(receipts(&app.upload_activities(&chen, device(), batch).await).iter().all(|r| r.status == ReceiptStatus::Stored));
    }
    let zhao = app.session(ZHAO).await;
    let list: Vec<ActivitySummary> = get(&app, "/api/activities", &zhao).await;
    assert_eq!(list.len(), 1_000);
    assert_eq!(list[0].id, all.last().unwrap().id, "newest first");
    let report: HoursReport = get(&app, "/api/activities/hours", &zhao).await;
    assert_eq!(report.volunteers.iter().map(|r| r.minutes).sum::<i64>(), N as i64 * 60);
    assert_eq!(report.volunteers.iter().map(|r| r.activities).sum::<u32>(), N as u32);
    assert!(report.teams.is_empty(), "no team");

    let link = app.call(Method::POST, "/api/exports?format=jsonl&dataset=activities", Some(&zhao), None).await;
    assert_eq!(link.status, StatusCode::CREATED);
    let url = link.json()["url"].as_str().unwrap().to_string();
    let answer = app.call(Method::GET, &url, None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let ids: Vec<Uuid> = std::str::from_utf8(&answer.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<ActivityDetail>(l).unwrap().activity.id)
        .collect();
    let mut expected: Vec<Uuid> = all.iter().map(|a| a.id).collect();
    expected.reverse();
    assert_eq!(ids, expected, "every activity once, newest first");

    let link = app.call(Method::POST, "/api/exports?format=csv&dataset=activities", Some(&zhao), None).await;
    let url = link.json()["url"].as_str().unwrap().to_string();
    let answer = app.call(Method::GET, &url, None, None).await;
    assert_eq!(std::str::from_utf8(&answer.body).unwrap().matches("\r\n").count(), N as usize + 1);
    let link = app.call(Method::POST, "/api/exports?format=xlsx&dataset=activities", Some(&zhao), None).await;
    let url = link.json()["url"].as_str().unwrap().to_string();
    let answer = app.call(Method::GET, &url, None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    use calamine::Reader;
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(answer.body.to_vec())).unwrap();
    assert_eq!(book.sheet_names(), ["活动", "打卡", "工时", "队伍工时"]);
    assert_eq!(book.worksheet_range("活动").unwrap().rows().count(), N as usize + 1);
    let months = report.volunteers.len();
    assert_eq!(book.worksheet_range("工时").unwrap().rows().count(), months + 1);
}
