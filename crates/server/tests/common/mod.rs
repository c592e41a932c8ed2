//! Shared helpers: an app over a fresh seeded SQLite file in a temp folder,
//! driven in-process with `oneshot`.
#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use daohu_domain::{Activity, CheckIn, CheckKind, SectionState, Visit};
use daohu_server::seed::{phones, DEMO_PASSWORD};
use daohu_server::{app, test_state, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;
use uuid::Uuid;

pub struct TestApp {
    pub dir: TempDir,
    pub state: AppState,
    pub router: Router,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let state = test_state(dir.path()).await.unwrap();
        let router = app(state.clone());
        TestApp { dir, state, router }
    }

    /// The same database served with other settings.
    pub fn with_settings(mut self, change: impl FnOnce(&mut daohu_server::Settings)) -> TestApp {
        let mut settings = (*self.state.settings).clone();
        change(&mut settings);
        self.state = daohu_server::AppState::new(self.state.pool.clone(), settings);
        self.router = daohu_server::app(self.state.clone());
        self
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A JSON request with an optional bearer token.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
            None => builder.body(Body::empty()).unwrap(),
        };
        self.send(request).await
    }

    pub async fn login_as(&self, phone: &str, password: &str) -> Answer {
        self.call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({ "phone": phone, "password": password })),
        )
        .await
    }

    /// Signs in with the demo password and returns the token.
    pub async fn token(&self, phone: &str) -> String {
        let answer = self.login_as(phone, DEMO_PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
        answer.json()["token"].as_str().unwrap().to_string()
    }

    /// A session for a demo account without the cost of a password check.
    pub async fn session(&self, member: u128) -> String {
        let (token, _) = daohu_server::auth::create_session(
            &self.state.pool,
            daohu_server::seed::member_id(member),
            chrono::Duration::hours(1),
        )
        .await
        .unwrap();
        token
    }

    /// A request with a raw body and content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(builder.body(Body::from(body)).unwrap()).await
    }

    /// Audit actions in order, leaving out the seed.
    pub async fn audit_actions(&self) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT action, detail FROM audit_log WHERE action != 'seed_demo' ORDER BY id",
        )
        .fetch_all(&self.state.pool)
        .await
        .unwrap()
    }

    pub async fn zhang(&self) -> String {
        self.token(phones::MEMBER_ZHANG).await
    }

    pub async fn upload_activities(&self, token: &str, device: Uuid, activities: &[Activity]) -> Answer {
        self.call(
            Method::POST,
            "/api/sync/activities",
            Some(token),
            Some(json!({ "device_id": device, "activities": activities })),
        )
        .await
    }

    pub async fn upload_check_ins(&self, token: &str, device: Uuid, check_ins: &[CheckIn]) -> Answer {
        self.call(
            Method::POST,
            "/api/sync/check-ins",
            Some(token),
            Some(json!({ "device_id": device, "check_ins": check_ins })),
        )
        .await
    }

    pub async fn upload(&self, token: &str, device: Uuid, visits: &[Visit]) -> Answer {
        self.call(
            Method::POST,
            "/api/sync/visits",
            Some(token),
            Some(json!({ "device_id": device, "visits": visits })),
        )
        .await
    }
}

pub fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()
}

pub fn phone_clock() -> DateTime<Utc> {
    DateTime::from_timestamp(1_773_000_000, 0).unwrap()
}

/// A complete, valid visit (every section done).
pub fn visit(seed: u8, household: Uuid, member: Uuid) -> Visit {
    let id = daohu_domain::uuid_v7(1_773_000_000_000 + u64::from(seed), [seed; 10]);
    let mut v = Visit::new(id, household, member, day(), phone_clock());
    for s in &mut v.sections {
        s.state = Some(SectionState::Done);
    }
    v
}

pub fn device() -> Uuid {
    Uuid::from_u128(0xde1ce)
}

/// Ten bytes of randomness for a v7 id, from a seed.
fn random10(seed: u64, tag: u8) -> [u8; 10] {
    let mut r = [tag; 10];
    r[..8].copy_from_slice(&seed.to_le_bytes());
    r
}

/// A valid activity: a patrol on [`day`] 20:00–22:00 at 村委会, recorded by `recorder`
/// (listed as the one participant), as `team` when given.
pub fn activity(seed: u64, recorder: Uuid, team: Option<Uuid>) -> Activity {
    Activity {
        id: daohu_domain::uuid_v7(1_776_000_000_000 + seed, random10(seed, 0xa1)),
        recorder_id: recorder,
        team_id: team,
        kind: "patrol".into(),
        date: day(),
        start: chrono::NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
        end: chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
        place: "村委会".into(),
        participants: vec![recorder],
        others: 0,
        served: 10,
        household_ids: vec![],
        description: String::new(),
        photos: vec![],
        recorded_at: phone_clock(),
    }
}

/// A check-in of `volunteer` on `activity` at [`phone_clock`], without a location.
pub fn check_in(seed: u64, activity: Uuid, volunteer: Uuid, kind: CheckKind) -> CheckIn {
    CheckIn {
        id: daohu_domain::uuid_v7(1_776_500_000_000 + seed, random10(seed, 0xc1)),
        activity_id: activity,
        volunteer_id: volunteer,
        kind,
        at: phone_clock(),
        location: None,
    }
}

/// `len` bytes that read as a `width`×`height` JPEG: SOI, a JFIF header, a
/// baseline frame header, a scan header, then `seed`-made filler and EOI.
pub fn test_jpeg(width: u16, height: u16, len: usize, seed: u64) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
    b.extend([0xFF, 0xC0, 0, 11, 8]);
    b.extend(height.to_be_bytes());
    b.extend(width.to_be_bytes());
    b.extend([1, 1, 0x11, 0]);
    b.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
    assert!(len >= b.len() + 2, "a JPEG of {len} bytes is too short");
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while b.len() < len - 2 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.push((x >> 24) as u8);
    }
    b.extend([0xFF, 0xD9]);
    b
}

/// Stores a visit straight into the database, past every check of the upload
/// (as if it had been stored before a check existed); a second time does nothing.
pub async fn plant_visit(app: &TestApp, v: &Visit) {
    let body = serde_json::to_string(v).unwrap();
    sqlx::query(
        "INSERT INTO visits (id, household_id, member_id, device_id, visited_on,
             recorded_at, received_at, content_hash, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(v.id.to_string())
    .bind(v.household_id.to_string())
    .bind(v.member_id.to_string())
    .bind(device().to_string())
    .bind(v.visited_on.to_string())
    .bind(daohu_server::db::ts(v.recorded_at))
    .bind(daohu_server::db::ts(daohu_server::db::now()))
    .bind(daohu_server::auth::sha256_hex(&body))
    .bind(&body)
    .execute(&app.state.pool)
    .await
    .unwrap();
}

/// A problem raised at the door and escalated: a leaking water pipe.
pub fn water_problem(id: Uuid) -> daohu_domain::ProblemEntry {
    daohu_domain::ProblemEntry {
        id,
        category: daohu_domain::ProblemCategory::Water,
        urgency: daohu_domain::Urgency::Normal,
        description: "自来水管漏水".into(),
        outcome: daohu_domain::ProblemOutcome::Escalate,
        action: String::new(),
    }
}
