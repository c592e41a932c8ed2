//! A generated data set of visits across the seeded county (青山村 grids 1–3 and
//! 绿水村 grid 4), stored partly through the sync API as the seeded members and
//! partly by direct inserts (households no member is linked to, chosen receive times).
#![allow(dead_code)]

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use daohu_domain::{
    uuid_v7, ProblemCategory, ProblemEntry, ProblemOutcome, SectionKind, SectionState,
    SpecialGroup, Urgency, Visit,
};
use daohu_server::db::ts;
use daohu_server::seed::{household_id, member_id};
use daohu_server::db::Pool;
use uuid::Uuid;

use crate::common::TestApp;

/// A household as seeded (and maybe renamed by a test).
#[derive(Clone, Debug)]
pub struct House {
    pub n: u128,
    pub id: Uuid,
    pub grid: u128,
    pub head: String,
    pub address: String,
    pub groups: Vec<SpecialGroup>,
}

impl House {
    pub fn village(&self) -> u128 {
        if self.grid == 4 {
            2
        } else {
            1
        }
    }
}

/// Every seeded household by id.
pub async fn houses(pool: &Pool) -> HashMap<Uuid, House> {
    let mut out = HashMap::new();
    for n in 0..70u128 {
        let id = household_id(n);
        let (head, address, groups): (String, String, String) = sqlx::query_as(
            "SELECT head_name, address, special_groups FROM households WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_one(pool)
        .await
        .unwrap();
        out.insert(
            id,
            House {
                n,
                id,
                grid: (n / 20).min(3) + 1,
                head,
                address,
                groups: serde_json::from_str(&groups).unwrap(),
            },
        );
    }
    out
}

/// The member who visits household `n`: the linked one where there is one, else one of the grid.
pub fn member_for(n: u128) -> u128 {
    match n {
        0..=19 => 1,
        20..=39 => 2,
        40..=59 => 3,
        _ => 21,
    }
}

/// Whether that member reaches the household through the app (linked, or the grid leader's grid).
pub fn reachable(n: u128) -> bool {
    matches!(n, 0..=9 | 20..=29 | 40..=59 | 60..=64)
}

pub fn member_name(m: u128) -> &'static str {
    match m {
        1 => "张党员",
        2 => "李党员",
        3 => "王网格长",
        21 => "周党员",
        _ => "?",
    }
}

/// A tiny deterministic generator.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SUMMARIES: [&str; 8] = [
    "家里一切正常",
    "老人身体不好，需要常去看看",
    "反映饮水问题",
    "完成率100%",
    "a_b 测试",
    "",
    "孩子上学的事已办好",
    "种植大棚蔬菜",
];
const NOTES: [&str; 5] = ["", "发了联系卡", "屋顶漏雨", "低保已落实", "需要技术员"];

/// A visit stored with its receive time.
#[derive(Clone, Debug)]
pub struct Stored {
    pub visit: Visit,
    pub received_at: DateTime<Utc>,
    pub via_sync: bool,
}

/// The phone clock of a visit on `day`: 10:00 China time plus `k` seconds (unique).
pub fn phone_time(day: NaiveDate, k: u64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(2, 0, 0).unwrap()))
        + Duration::seconds(k as i64)
}

/// `count` visits between `first` and `first + days - 1` over all 70 households.
pub fn generate(count: usize, first: NaiveDate, days: u64, seed: u64) -> Vec<Visit> {
    let mut rng = Lcg(seed);
    let mut out = Vec::with_capacity(count);
    for k in 0..count as u64 {
        let n = u128::from(rng.below(70) as u8);
        let day = first + Duration::days(rng.below(days) as i64);
        let id = uuid_v7(1_770_000_000_000 + seed * 1_000_000 + k, [(k % 251) as u8; 10]);
        let mut v = Visit::new(
            id,
            household_id(n),
            member_id(member_for(n)),
            day,
            phone_time(day, k),
        );
        for s in &mut v.sections {
            s.state = Some(SectionState::ALL[rng.below(3) as usize]);
            s.notes = NOTES[rng.below(NOTES.len() as u64) as usize].to_string();
        }
        v.summary = SUMMARIES[rng.below(SUMMARIES.len() as u64) as usize].to_string();
        for p in 0..rng.below(3) {
            let outcome = if rng.below(2) == 0 {
                ProblemOutcome::Escalate
            } else {
                ProblemOutcome::ResolvedOnSpot
            };
            v.problems.push(ProblemEntry {
                id: uuid_v7(
                    1_760_000_000_000 + seed * 1_000_000 + k * 4 + p,
                    [(p + 1) as u8; 10],
                ),
                category: ProblemCategory::ALL[rng.below(10) as usize],
                urgency: Urgency::ALL[rng.below(3) as usize],
                description: format!("问题{k}-{p}"),
                outcome,
                action: if outcome == ProblemOutcome::ResolvedOnSpot {
                    "当场帮忙解决".into()
                } else {
                    String::new()
                },
            });
        }
        out.push(v);
    }
    out
}

/// Stores a visit the way the sync endpoint does, with a chosen receive time.
pub async fn insert(pool: &Pool, v: &Visit, received_at: DateTime<Utc>) {
    let body = serde_json::to_string(v).unwrap();
    sqlx::query(
        "INSERT INTO visits (id, household_id, member_id, device_id, visited_on, recorded_at,
                             received_at, content_hash, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(v.id.to_string())
    .bind(v.household_id.to_string())
    .bind(v.member_id.to_string())
    .bind(Uuid::from_u128(0xde1ce).to_string())
    .bind(v.visited_on.to_string())
    .bind(ts(v.recorded_at))
    .bind(ts(received_at))
    .bind(daohu_server::auth::sha256_hex(body.as_bytes()))
    .bind(&body)
    .execute(pool)
    .await
    .unwrap();
    for p in &v.problems {
        sqlx::query(
            "INSERT INTO problems (id, visit_id, household_id, category, urgency, description,
                                   outcome, action, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(p.id.to_string())
        .bind(v.id.to_string())
        .bind(v.household_id.to_string())
        .bind(p.category.as_str())
        .bind(p.urgency.as_str())
        .bind(&p.description)
        .bind(p.outcome.as_str())
        .bind(&p.action)
        .bind(ts(received_at))
        .execute(pool)
        .await
        .unwrap();
    }
}

/// Stores the visits: those a member reaches through the sync API as that member
/// (received now), the rest directly (received 1 hour after the phone's clock, or
/// 30 hours for every seventh, which flags the clock).
pub async fn store(app: &TestApp, visits: &[Visit]) -> Vec<Stored> {
    let mut out = Vec::new();
    let mut by_member: HashMap<u128, Vec<Visit>> = HashMap::new();
    for (i, v) in visits.iter().enumerate() {
        let n = (v.household_id.as_u128() & 0xffff_ffff) as u128;
        if reachable(n) && i % 2 == 0 {
            by_member.entry(member_for(n)).or_default().push(v.clone());
        } else {
            let received = v.recorded_at
                + if i % 7 == 0 {
                    Duration::hours(30)
                } else {
                    Duration::hours(1)
                };
            insert(&app.state.pool, v, received).await;
            out.push(Stored {
                visit: v.clone(),
                received_at: received,
                via_sync: false,
            });
        }
    }
    for (member, list) in by_member {
        let token = app.session(member).await;
        for chunk in list.chunks(daohu_domain::MAX_BATCH) {
            let answer = app
                .upload(&token, Uuid::from_u128(0xd0 + member), chunk)
                .await;
            assert_eq!(answer.status, 200, "{:?}", answer.json());
            for (v, r) in chunk.iter().zip(answer.json()["receipts"].as_array().unwrap()) {
                assert_eq!(r["status"], "stored", "{r}");
                let received: DateTime<Utc> =
                    serde_json::from_value(r["received_at"].clone()).unwrap();
                out.push(Stored {
                    visit: v.clone(),
                    received_at: received,
                    via_sync: true,
                });
            }
        }
    }
    out
}

/// Newest first, as the log orders.
pub fn log_order(list: &mut [&Stored]) {
    list.sort_by(|a, b| {
        (b.visit.visited_on, b.visit.recorded_at, b.visit.id).cmp(&(
            a.visit.visited_on,
            a.visit.recorded_at,
            a.visit.id,
        ))
    });
}

pub fn state_of(v: &Visit, kind: SectionKind) -> Option<SectionState> {
    v.section(kind).and_then(|s| s.state)
}
