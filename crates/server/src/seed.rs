//! Demo data for a fresh database: one fictional village, 60 households and five
//! accounts (all with password [`DEMO_PASSWORD`]). Ids are fixed, so every fresh
//! install has the same data.

use daohu_domain::{Role, SpecialGroup};
use sqlx::SqlitePool;
use uuid::Uuid;

use crate::db::{self, ts};
use crate::{audit, auth, AppError};

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "daohu123";
/// Households seeded, 20 per grid.
pub const DEMO_HOUSEHOLDS: u128 = 60;

/// Phones of the demo accounts.
pub mod phones {
    /// 张党员, member, 10 households of grid 1.
    pub const MEMBER_ZHANG: &str = "13800000001";
    /// 李党员, member, 10 households of grid 2.
    pub const MEMBER_LI: &str = "13800000002";
    /// 王网格长, grid leader of grid 3.
    pub const GRID_LEADER_WANG: &str = "13800000003";
    /// 陈志愿者, volunteer.
    pub const VOLUNTEER_CHEN: &str = "13800000005";
    /// 赵书记, village coordinator.
    pub const COORDINATOR_ZHAO: &str = "13800000009";
}

// Fixed ids: a recognisable prefix, a kind, a number.
const PREFIX: u128 = 0xda0_0000_0000_0000 << 64;
const KIND_VILLAGE: u128 = 1 << 32;
const KIND_GRID: u128 = 2 << 32;
const KIND_HOUSEHOLD: u128 = 3 << 32;
const KIND_MEMBER: u128 = 4 << 32;

/// The demo village's id.
pub fn village_id() -> Uuid {
    Uuid::from_u128(PREFIX | KIND_VILLAGE | 1)
}

/// Demo grid `n` (1 to 3).
pub fn grid_id(n: u128) -> Uuid {
    Uuid::from_u128(PREFIX | KIND_GRID | n)
}

/// Demo household `n` (0 to 59; 0–19 in grid 1, 20–39 in grid 2, 40–59 in grid 3).
pub fn household_id(n: u128) -> Uuid {
    Uuid::from_u128(PREFIX | KIND_HOUSEHOLD | n)
}

/// Demo member `n` (the last digit of the phone: 1, 2, 3, 5, 9).
pub fn member_id(n: u128) -> Uuid {
    Uuid::from_u128(PREFIX | KIND_MEMBER | n)
}

const SURNAMES: [&str; 12] = [
    "刘", "陈", "杨", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭",
];
const GIVEN: [&str; 10] = [
    "建国", "秀英", "桂兰", "德明", "玉梅", "志强", "春花", "永福", "淑珍", "海军",
];
const GROUP_NAMES: [&str; 3] = ["一组", "二组", "三组"];
const GRID_NAMES: [&str; 3] = ["第一网格", "第二网格", "第三网格"];

/// Adds the demo data when the database has no members yet; returns whether it did.
pub async fn seed_demo(pool: &SqlitePool) -> Result<bool, AppError> {
    let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
        .fetch_one(pool)
        .await?;
    if members > 0 {
        return Ok(false);
    }
    // Hashing is slow: once for all demo accounts, off the async threads.
    let hash = tokio::task::spawn_blocking(|| auth::hash_password(DEMO_PASSWORD))
        .await
        .map_err(AppError::internal)??;
    let now = ts(db::now());

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // Checked again under the write lock, so two servers starting together seed once.
    let members: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members")
        .fetch_one(&mut *tx)
        .await?;
    if members > 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO villages (id, name, township, county) VALUES (?, '青山村', '青山镇', '示范县')")
        .bind(village_id().to_string())
        .execute(&mut *tx)
        .await?;
    for (i, name) in GRID_NAMES.iter().enumerate() {
        sqlx::query("INSERT INTO grids (id, village_id, name) VALUES (?, ?, ?)")
            .bind(grid_id(i as u128 + 1).to_string())
            .bind(village_id().to_string())
            .bind(name)
            .execute(&mut *tx)
            .await?;
    }
    for n in 0..DEMO_HOUSEHOLDS {
        let i = n as usize;
        let grid = i / 20;
        let head = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i * 7) % GIVEN.len()]
        );
        let address = format!("青山村{}{}号", GROUP_NAMES[grid], i % 20 + 1);
        // About a third in a special group, some of those in two.
        let groups: Vec<SpecialGroup> = match i % 3 {
            0 if i.is_multiple_of(9) => vec![
                SpecialGroup::ALL[(i / 3) % 6],
                SpecialGroup::ALL[(i / 3 + 2) % 6],
            ],
            0 => vec![SpecialGroup::ALL[(i / 3) % 6]],
            _ => Vec::new(),
        };
        let people = (i * 7) % 6 + 1;
        let phone = format!("1390000{:04}", i + 1);
        sqlx::query(
            "INSERT INTO households (id, grid_id, head_name, address, people, phone, special_groups)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(household_id(n).to_string())
        .bind(grid_id(grid as u128 + 1).to_string())
        .bind(head)
        .bind(address)
        .bind(people as i64)
        .bind(phone)
        .bind(serde_json::to_string(&groups)?)
        .execute(&mut *tx)
        .await?;
    }

    let accounts: [(u128, &str, &str, Role, Option<u128>); 5] = [
        (1, "张党员", phones::MEMBER_ZHANG, Role::Member, Some(1)),
        (2, "李党员", phones::MEMBER_LI, Role::Member, Some(2)),
        (
            3,
            "王网格长",
            phones::GRID_LEADER_WANG,
            Role::GridLeader,
            Some(3),
        ),
        (5, "陈志愿者", phones::VOLUNTEER_CHEN, Role::Volunteer, None),
        (
            9,
            "赵书记",
            phones::COORDINATOR_ZHAO,
            Role::VillageCoordinator,
            None,
        ),
    ];
    for (n, name, phone, role, grid) in accounts {
        sqlx::query(
            "INSERT INTO members (id, phone, name, password_hash, role, village_id, grid_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(member_id(n).to_string())
        .bind(phone)
        .bind(name)
        .bind(&hash)
        .bind(role.as_str())
        .bind(village_id().to_string())
        .bind(grid.map(|g| grid_id(g).to_string()))
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    }
    // 张党员 looks after households 0–9 (grid 1), 李党员 20–29 (grid 2).
    for (member, first) in [(1u128, 0u128), (2, 20)] {
        for n in first..first + 10 {
            sqlx::query("INSERT INTO member_households (member_id, household_id) VALUES (?, ?)")
                .bind(member_id(member).to_string())
                .bind(household_id(n).to_string())
                .execute(&mut *tx)
                .await?;
        }
    }
    audit::record(
        &mut tx,
        None,
        "seed_demo",
        serde_json::json!({ "households": DEMO_HOUSEHOLDS }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!("demo village seeded");
    Ok(true)
}
