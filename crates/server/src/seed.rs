//! Demo data for a fresh database: the county 示范县 with the township 青山镇 and
//! two villages — 青山村 (three grids, 60 households) and 绿水村 (one grid, 10
//! households) — nine accounts (all with password [`DEMO_PASSWORD`]) and the volunteer
//! team 青山村志愿服务队 (陈志愿者, 刘志愿者 and 张党员). Ids are fixed, so every fresh
//! install has the same data.

use daohu_domain::{Role, RosterRow, SpecialGroup, UnitKind};
use crate::db::Pool;
use uuid::Uuid;

use crate::db;
use crate::scope::unit_path;
use crate::{audit, auth, store, AppError};

/// Password of every demo account.
pub const DEMO_PASSWORD: &str = "daohu123";
/// Households seeded in 青山村, 20 per grid (ids 0–59).
pub const DEMO_HOUSEHOLDS: u128 = 60;
/// Households seeded in 绿水村 (ids 60–69).
pub const SECOND_VILLAGE_HOUSEHOLDS: u128 = 10;

/// Phones of the demo accounts.
pub mod phones {
    /// 张党员, member, 10 households of grid 1.
    pub const MEMBER_ZHANG: &str = "13800000001";
    /// 李党员, member, 10 households of grid 2.
    pub const MEMBER_LI: &str = "13800000002";
    /// 王网格长, grid leader of grid 3.
    pub const GRID_LEADER_WANG: &str = "13800000003";
    /// 陈志愿者, volunteer of 青山村, in 青山村志愿服务队.
    pub const VOLUNTEER_CHEN: &str = "13800000005";
    /// 刘志愿者, volunteer of 青山村, in 青山村志愿服务队.
    pub const VOLUNTEER_LIU: &str = "13800000006";
    /// 赵书记, village coordinator of 青山村.
    pub const COORDINATOR_ZHAO: &str = "13800000009";
    /// 周党员, member in 绿水村, 5 households of 绿水第一网格.
    pub const MEMBER_ZHOU: &str = "13800000021";
    /// 孙镇长, township coordinator of 青山镇.
    pub const TOWNSHIP_SUN: &str = "13800000019";
    /// 吴县长, county coordinator of 示范县.
    pub const COUNTY_WU: &str = "13800000029";
}

// Fixed ids: a recognisable prefix, a kind, a number.
const PREFIX: u128 = 0xda0_0000_0000_0000 << 64;
const KIND_VILLAGE: u128 = 1 << 32;
const KIND_GRID: u128 = 2 << 32;
const KIND_HOUSEHOLD: u128 = 3 << 32;
const KIND_MEMBER: u128 = 4 << 32;
const KIND_COUNTY: u128 = 5 << 32;
const KIND_TOWNSHIP: u128 = 6 << 32;
const KIND_TEAM: u128 = 7 << 32;

/// The demo volunteer team 青山村志愿服务队 (of 青山村).
pub const DEMO_TEAM_NAME: &str = "青山村志愿服务队";
/// Members of the demo team (member numbers): 陈志愿者, 刘志愿者, 张党员.
pub const DEMO_TEAM_MEMBERS: [u128; 3] = [5, 6, 1];

/// The demo county 示范县.
pub fn county_id() -> Uuid {
    Uuid::from_u128(PREFIX | KIND_COUNTY | 1)
}

/// The demo township 青山镇.
pub fn township_id() -> Uuid {
    Uuid::from_u128(PREFIX | KIND_TOWNSHIP | 1)
}

/// The demo village 青山村.
pub fn village_id() -> Uuid {
    Uuid::from_u128(PREFIX | KIND_VILLAGE | 1)
}

/// The second demo village 绿水村 (same township).
pub fn second_village_id() -> Uuid {
    Uuid::from_u128(PREFIX | KIND_VILLAGE | 2)
}

/// Demo grid `n`: 1 to 3 in 青山村, 4 is 绿水第一网格.
pub fn grid_id(n: u128) -> Uuid {
    Uuid::from_u128(PREFIX | KIND_GRID | n)
}

/// Demo household `n`: 0 to 59 in 青山村 (0–19 grid 1, 20–39 grid 2, 40–59 grid 3),
/// 60 to 69 in 绿水村 (grid 4).
pub fn household_id(n: u128) -> Uuid {
    Uuid::from_u128(PREFIX | KIND_HOUSEHOLD | n)
}

/// Demo team `n`: 1 is 青山村志愿服务队.
pub fn team_id(n: u128) -> Uuid {
    Uuid::from_u128(PREFIX | KIND_TEAM | n)
}

/// Demo member `n` (the last two digits of the phone: 1, 2, 3, 5, 6, 9, 19, 21, 29).
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
pub async fn seed_demo(pool: &Pool) -> Result<bool, AppError> {
    if store::accounts::any(pool).await? {
        return Ok(false);
    }
    // Hashing is slow: once for all demo accounts, off the async threads.
    let hash = tokio::task::spawn_blocking(|| auth::hash_password(DEMO_PASSWORD))
        .await
        .map_err(AppError::internal)??;
    let now = db::now();

    let mut tx = crate::store::begin_write(pool).await?;
    // Checked again under the write lock, so two servers starting together seed once.
    if store::accounts::any(&mut *tx).await? {
        return Ok(false);
    }
    let county = unit_path(None, county_id());
    let township = unit_path(Some(&county), township_id());
    let village = unit_path(Some(&township), village_id());
    let second = unit_path(Some(&township), second_village_id());
    let mut units = vec![
        (county_id(), UnitKind::County, "示范县", None),
        (township_id(), UnitKind::Township, "青山镇", Some((county_id(), county.as_str()))),
        (village_id(), UnitKind::Village, "青山村", Some((township_id(), township.as_str()))),
    ];
    for (i, name) in GRID_NAMES.iter().enumerate() {
        units.push((grid_id(i as u128 + 1), UnitKind::Grid, name, Some((village_id(), village.as_str()))));
    }
    units.push((second_village_id(), UnitKind::Village, "绿水村", Some((township_id(), township.as_str()))));
    units.push((grid_id(4), UnitKind::Grid, "绿水第一网格", Some((second_village_id(), second.as_str()))));
    for (id, kind, name, parent) in units {
        store::units::insert(&mut tx, id, kind, name, parent, now).await?;
    }
    // The demo county's policies: a dozen real ones, version 1.
    store::catalogue::add(&mut tx, county_id(), &daohu_domain::ledger::Catalogue::demo(), None, None, now).await?;
    let mut households = Vec::new();
    for n in 0..DEMO_HOUSEHOLDS + SECOND_VILLAGE_HOUSEHOLDS {
        let i = n as usize;
        // 青山村: 20 per grid; 绿水村: all ten in its one grid (grid 4).
        let grid = (i / 20).min(3);
        let head = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i * 7) % GIVEN.len()]
        );
        let address = if n < DEMO_HOUSEHOLDS {
            format!("青山村{}{}号", GROUP_NAMES[grid], i % 20 + 1)
        } else {
            format!("绿水村一组{}号", i - 59)
        };
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
        let row = RosterRow {
            grid: String::new(),
            head_name: head,
            address,
            people: people as u16,
            phone: Some(phone),
            special_groups: groups,
        };
        households.push((household_id(n), grid_id(grid as u128 + 1), row));
    }
    let adds: Vec<(Uuid, Uuid, &RosterRow)> = households.iter().map(|(id, grid, row)| (*id, *grid, row)).collect();
    store::households::insert_many(&mut tx, &adds).await?;

    let accounts: [(u128, &str, &str, Role, Uuid); 9] = [
        (1, "张党员", phones::MEMBER_ZHANG, Role::Member, grid_id(1)),
        (2, "李党员", phones::MEMBER_LI, Role::Member, grid_id(2)),
        (
            3,
            "王网格长",
            phones::GRID_LEADER_WANG,
            Role::GridLeader,
            grid_id(3),
        ),
        (
            5,
            "陈志愿者",
            phones::VOLUNTEER_CHEN,
            Role::Volunteer,
            village_id(),
        ),
        (
            6,
            "刘志愿者",
            phones::VOLUNTEER_LIU,
            Role::Volunteer,
            village_id(),
        ),
        (
            9,
            "赵书记",
            phones::COORDINATOR_ZHAO,
            Role::VillageCoordinator,
            village_id(),
        ),
        (21, "周党员", phones::MEMBER_ZHOU, Role::Member, grid_id(4)),
        (
            19,
            "孙镇长",
            phones::TOWNSHIP_SUN,
            Role::TownshipCoordinator,
            township_id(),
        ),
        (
            29,
            "吴县长",
            phones::COUNTY_WU,
            Role::CountyCoordinator,
            county_id(),
        ),
    ];
    for (n, name, phone, role, unit) in accounts {
        store::accounts::insert(
            &mut tx,
            &store::accounts::NewMember {
                id: member_id(n),
                phone,
                name,
                password_hash: &hash,
                role,
                unit_id: unit,
                created_at: now,
                must_change_password: false,
            },
        )
        .await?;
    }
    // 张党员 looks after households 0–9 (grid 1), 李党员 20–29 (grid 2), 周党员 60–64 (绿水村).
    for (member, first, count) in [(1u128, 0u128, 10u128), (2, 20, 10), (21, 60, 5)] {
        let linked: Vec<Uuid> = (first..first + count).map(household_id).collect();
        store::accounts::link(&mut tx, member_id(member), &linked).await?;
    }
    let team_members: Vec<Uuid> = DEMO_TEAM_MEMBERS.into_iter().map(member_id).collect();
    store::units::insert_team(&mut tx, team_id(1), village_id(), DEMO_TEAM_NAME, now, &team_members).await?;
    audit::record(
        &mut tx,
        None,
        "seed_demo",
        serde_json::json!({ "households": DEMO_HOUSEHOLDS + SECOND_VILLAGE_HOUSEHOLDS }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!("demo village seeded");
    Ok(true)
}
