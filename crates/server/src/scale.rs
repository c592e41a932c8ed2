//! County-scale data for benchmarks (issue 8): a whole county — townships, villages,
//! grids, households, Party members linked to about 20 households each, grid
//! leaders, coordinators, volunteer teams — a year of visits with problems, and
//! volunteer activities, written straight into the database.
//!
//! Everything is decided by [`ScaleSpec::seed`]: the same spec gives the same ids,
//! names and visits. Visits and problems are stored in the shape the upload stores
//! them (`routes::sync`): the body is a real [`Visit`] as JSON, `content_hash` its
//! SHA-256, problems with their status at the door. Activities go through
//! [`crate::activity_log::store_activity`] itself. Rows are written in transactions
//! of [`ROWS_PER_TX`] with multi-row statements (prepared once per connection).
//!
//! Not for production: nothing here is reachable from the HTTP API.

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use daohu_domain::activity::{Activity, DEFAULT_KINDS};
use daohu_domain::escalation::due_at;
use daohu_domain::{
    uuid_v7, ProblemCategory, ProblemEntry, ProblemOutcome, ProblemStatus, ReceiptStatus, Role,
    SectionKind, SectionState, SpecialGroup, UnitKind, Urgency, Visit,
};
use crate::db::{Conn, Pool};
use uuid::Uuid;

use crate::auth::{self, sha256_hex, AuthUser};
use crate::db::ts;
use crate::problems::{level_str, state_str};
use crate::scope::unit_path;
use crate::AppError;

/// Rows per transaction while generating.
pub const ROWS_PER_TX: usize = 10_000;
/// Visits per transaction while generating: fewer than other rows, because visits
/// come in date order and each updates the same few tally rows of its day on
/// SQLite (`visit_days`, `household_last_visits`), whose old versions are kept
/// until the transaction that wrote them has ended.
pub const VISITS_PER_TX: usize = 1_000;
/// Password of every generated account (hashed once).
pub const SCALE_PASSWORD: &str = "daohu123";

/// What to generate.
#[derive(Clone, Debug)]
pub struct ScaleSpec {
    pub townships: usize,
    pub villages: usize,
    /// Grids in all, spread over the villages in turn.
    pub grids: usize,
    pub households: usize,
    /// Party members with a visit roster: one grid leader per grid, the rest members.
    pub members: usize,
    /// Households of the first grid (0: spread like every other grid), so one
    /// grid leader has a big roster; counted in `households`.
    pub big_grid_households: usize,
    pub visits: usize,
    pub activities: usize,
    /// The last day of the year of visits.
    pub last_day: NaiveDate,
    pub days: u32,
    pub seed: u64,
}

impl ScaleSpec {
    /// The largest county in the domain (issue 8): 247 villages, 2,425 grids,
    /// 12,761 members, 245,641 households, a year of 1,000,000 visits.
    pub fn largest_county() -> ScaleSpec {
        ScaleSpec {
            townships: 18,
            villages: 247,
            grids: 2_425,
            households: 245_641,
            members: 12_761,
            big_grid_households: 1_000,
            visits: 1_000_000,
            activities: 3_000,
            last_day: NaiveDate::from_ymd_opt(2026, 11, 30).expect("date"),
            days: 365,
            seed: 8,
        }
    }

    /// The largest county's shape scaled to `households` (townships, villages,
    /// grids, members and activities in proportion), with `visits` visits.
    pub fn scaled(households: usize, visits: usize) -> ScaleSpec {
        let full = ScaleSpec::largest_county();
        let part = |n: usize| ((n as f64 * households as f64 / full.households as f64).round() as usize).max(1);
        ScaleSpec {
            townships: part(full.townships),
            villages: part(full.villages),
            grids: part(full.grids),
            households,
            members: part(full.members).max(part(full.grids)),
            big_grid_households: full.big_grid_households.min(households / 2),
            visits,
            activities: part(full.activities),
            ..full
        }
    }

    pub fn first_day(&self) -> NaiveDate {
        self.last_day - Duration::days(i64::from(self.days.max(1)) - 1)
    }
}

/// A small deterministic generator (splitmix64), also for benchmarks making more visits.
#[derive(Clone, Debug)]
pub struct ScaleRng(u64);

impl ScaleRng {
    pub fn new(seed: u64) -> Self {
        ScaleRng(seed ^ 0x5DEE_CE66_D1CE_0008)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// 0 ≤ n < below.
    pub fn below(&mut self, below: u64) -> u64 {
        self.next_u64() % below.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn bytes10(&mut self) -> [u8; 10] {
        let a = self.next_u64().to_le_bytes();
        let b = self.next_u64().to_le_bytes();
        [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1]]
    }
    /// A v7 id for something made at `at` (as a phone makes them).
    pub fn v7_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid_v7(millis, self.bytes10())
    }
    /// A random (v4-shaped) id, e.g. a phone's device id.
    pub fn v4(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

/// A generated account.
#[derive(Clone, Debug)]
pub struct ScaleAccount {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub unit_id: Uuid,
    pub unit_kind: UnitKind,
    pub unit_path: String,
    /// The village name the phone shows.
    pub village: String,
    /// The account's phone (a row of `devices`).
    pub device_id: Uuid,
    /// Indexes into [`CountyIds::households`]: linked ones (members), the whole
    /// grid (grid leaders), none (others).
    pub households: Vec<u32>,
}

impl ScaleAccount {
    /// The signed-in caller this account is, for calling server code without HTTP.
    pub fn auth_user(&self) -> AuthUser {
        AuthUser {
            id: self.id,
            name: self.name.clone(),
            phone: self.phone.clone(),
            role: self.role,
            unit_id: self.unit_id,
            unit_kind: self.unit_kind,
            unit_path: self.unit_path.clone(),
            village: self.village.clone(),
            token_hash: String::new(),
            // Not a session: never fresh enough for the phone key.
            signed_in_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        }
    }
}

/// What was generated, for benchmarks to pick callers and households.
#[derive(Clone, Debug)]
pub struct CountyIds {
    pub county: Uuid,
    pub townships: Vec<Uuid>,
    pub villages: Vec<Uuid>,
    pub grids: Vec<Uuid>,
    pub households: Vec<Uuid>,
    /// Grid index of each household.
    pub household_grid: Vec<u32>,
    /// Members and grid leaders (the visit recorders).
    pub members: Vec<ScaleAccount>,
    /// Index into `members` of each grid's leader.
    pub grid_leaders: Vec<usize>,
    pub county_coordinator: ScaleAccount,
    pub township_coordinators: Vec<ScaleAccount>,
    pub village_coordinators: Vec<ScaleAccount>,
    pub volunteers: Vec<ScaleAccount>,
    pub teams: Vec<Uuid>,
    /// Index of the grid holding [`ScaleSpec::big_grid_households`], when there is one.
    pub big_grid: Option<usize>,
    pub visits: usize,
    pub problems: usize,
    pub activities: usize,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

const SURNAMES: [&str; 30] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
    "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: [&str; 40] = [
    "建国", "秀英", "桂兰", "德明", "玉梅", "志强", "春花", "永福", "淑珍", "海军", "国庆",
    "凤英", "金山", "玉兰", "长生", "翠花", "建华", "丽娟", "明亮", "小红", "福来", "桂芳",
    "文革", "红梅", "宝林", "秀兰", "振华", "美玲", "德胜", "玉珍", "守仁", "兰英", "家强",
    "春生", "月娥", "树林", "爱民", "巧云", "光明", "素芬",
];
const TOWNSHIP_NAMES: [&str; 24] = [
    "青山", "河口", "石桥", "柳林", "白沙", "东岗", "西坪", "南湖", "北塬", "太平", "新集",
    "龙泉", "马店", "杨庄", "高桥", "花园", "三河", "黄土", "枣林", "官庄", "双井", "红星",
    "长岭", "金沟",
];
const VILLAGE_FIRST: [&str; 20] = [
    "杨柳", "石门", "王家", "李家", "张庄", "刘湾", "陈沟", "赵岭", "桃花", "杏树", "榆林",
    "松树", "清泉", "大坪", "小河", "前营", "后寨", "中岭", "上店", "下洼",
];
const VILLAGE_SECOND: [&str; 15] = [
    "", "东", "西", "南", "北", "一", "二", "三", "新", "老", "上", "下", "前", "后", "中",
];
const GROUPS: [&str; 8] = ["一组", "二组", "三组", "四组", "五组", "六组", "七组", "八组"];
const SUMMARIES: [&str; 10] = [
    "家里一切正常，老人身体还好",
    "反映饮水问题，已上报村里",
    "孩子上学的事已办好",
    "种植大棚蔬菜，需要技术指导",
    "老人腿脚不便，已联系家庭医生上门",
    "讲解医保缴费政策，家人已明白",
    "外出务工人员返乡，了解就业意向",
    "房屋有裂缝，建议尽快鉴定",
    "申请低保材料已帮忙准备",
    "养殖生猪二十头，销路正常",
];
const NOTES: [&str; 6] = [
    "屋顶漏雨，需要修缮",
    "自来水压力小，早晚用水困难",
    "门前道路雨天泥泞",
    "冬季取暖用煤已备足",
    "需要办理残疾证",
    "想参加电商培训",
];
const PROBLEM_TEXT: [&str; 10] = [
    "房屋漏雨，需要维修",
    "自来水管冻裂，需要更换",
    "出村道路坑洼，雨天难走",
    "老人慢性病需要定期取药",
    "孩子上学路远，想申请住校",
    "想在附近找份工作",
    "与邻居因宅基地有争议",
    "不清楚养老保险怎么缴",
    "种的苹果卖不出去",
    "希望村里装路灯",
];
const ACTIONS: [&str; 4] = [
    "当场联系村医，已上门看过",
    "已讲清楚政策，家人满意",
    "帮忙填好了申请表",
    "已调解，双方同意",
];
const ACTIVITY_TEXT: [&str; 5] = [
    "清理村道垃圾，整治房前屋后",
    "看望独居老人，打扫卫生",
    "宣讲惠农政策",
    "组织村医义诊，量血压",
    "帮助农户在网上卖苹果",
];
const PLACES: [&str; 4] = ["村委会", "文化广场", "村卫生室", "村口"];

fn name(rng: &mut ScaleRng) -> String {
    format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN))
}

/// A complete, valid visit of `household` by `member` on `day`, saved at `recorded_at`,
/// with problems on about `problem_rate` of visits; ids from `rng`.
pub fn make_visit(
    rng: &mut ScaleRng,
    household: Uuid,
    member: Uuid,
    day: NaiveDate,
    recorded_at: DateTime<Utc>,
    problem_rate: f64,
) -> Visit {
    let mut v = Visit::new(rng.v7_at(recorded_at), household, member, day, recorded_at);
    for s in &mut v.sections {
        let roll = rng.below(10);
        let state = match roll {
            0..=6 => SectionState::Done,
            7 | 8 => SectionState::NotApplicable,
            _ => SectionState::NextTime,
        };
        s.state = Some(state);
        if state == SectionState::Done {
            let items = s.kind.list().defaults();
            let n = 1 + rng.below(items.len() as u64) as usize;
            s.checked = items[..n].iter().map(|i| i.0.to_string()).collect();
        }
        if rng.chance(0.08) {
            s.notes = rng.pick(&NOTES).to_string();
        }
    }
    v.summary = rng.pick(&SUMMARIES).to_string();
    if rng.chance(problem_rate) {
        let n = if rng.chance(0.1) { 2 } else { 1 };
        for _ in 0..n {
            let c = rng.below(10) as usize;
            let resolved = rng.chance(0.3);
            v.problems.push(ProblemEntry {
                id: rng.v7_at(recorded_at),
                category: ProblemCategory::ALL[c],
                urgency: *rng.pick(&Urgency::ALL),
                description: PROBLEM_TEXT[c].to_string(),
                outcome: if resolved {
                    ProblemOutcome::ResolvedOnSpot
                } else {
                    ProblemOutcome::Escalate
                },
                action: if resolved {
                    rng.pick(&ACTIONS).to_string()
                } else {
                    String::new()
                },
            });
        }
    }
    // Sections not Done may still be answered with the precise-service checklist empty.
    debug_assert!(v.section(SectionKind::PreciseService).is_some());
    v
}

/// One value of a generated row.
enum Val {
    T(String),
    I(i64),
    Null,
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::T(s)
    }
}
impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::T(s.to_string())
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::I(i)
    }
}
impl From<Option<String>> for Val {
    fn from(s: Option<String>) -> Val {
        s.map(Val::T).unwrap_or(Val::Null)
    }
}

/// Rows of one table waiting to be written: `INSERT INTO table (cols) VALUES (…),(…)`
/// in statements of up to [`Rows::PER_STATEMENT`] rows.
struct Rows {
    head: String,
    cols: usize,
    vals: Vec<Val>,
}

impl Rows {
    const PER_STATEMENT: usize = 200;

    fn new(table: &str, cols: &[&str]) -> Rows {
        Rows {
            head: format!("INSERT INTO {table} ({}) VALUES ", cols.join(", ")),
            cols: cols.len(),
            vals: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<Val>) {
        debug_assert_eq!(row.len(), self.cols);
        self.vals.extend(row);
    }

    fn len(&self) -> usize {
        self.vals.len() / self.cols
    }

    fn sql(&self, rows: usize) -> String {
        let tuples: Vec<String> = (0..rows)
            .map(|r| {
                let params: Vec<String> = (1..=self.cols).map(|c| format!("${}", r * self.cols + c)).collect();
                format!("({})", params.join(","))
            })
            .collect();
        format!("{}{}", self.head, tuples.join(","))
    }

    /// Writes every waiting row on `conn` (inside the caller's transaction).
    async fn write(&mut self, conn: &mut Conn) -> Result<(), AppError> {
        let full_sql = self.sql(Self::PER_STATEMENT);
        let vals = std::mem::take(&mut self.vals);
        let mut it = vals.into_iter().peekable();
        while it.peek().is_some() {
            let chunk: Vec<Val> = it.by_ref().take(Self::PER_STATEMENT * self.cols).collect();
            let rows = chunk.len() / self.cols;
            let sql = if rows == Self::PER_STATEMENT {
                full_sql.clone()
            } else {
                self.sql(rows)
            };
            let mut q = sqlx::query(&sql);
            for v in chunk {
                q = match v {
                    Val::T(s) => q.bind(s),
                    Val::I(i) => q.bind(i),
                    Val::Null => q.bind(None::<String>),
                };
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Writes `rows` in transactions of [`ROWS_PER_TX`] rows.
async fn write_all(pool: &Pool, rows: &mut Rows) -> Result<(), AppError> {
    let cols = rows.cols;
    let all = std::mem::take(&mut rows.vals);
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        rows.vals = it.by_ref().take(ROWS_PER_TX * cols).collect();
        let mut tx = pool.begin().await?;
        rows.write(&mut tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

fn progress(what: &str, done: usize, total: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "  {what}: {done}/{total} ({:.0} rows/s, {secs:.1} s)",
        done as f64 / secs.max(1e-9)
    );
}

/// Generates a county into an empty database (no demo data), printing progress.
pub async fn generate_county(pool: &Pool, spec: &ScaleSpec) -> Result<CountyIds, AppError> {
    let started = Instant::now();
    let mut rng = ScaleRng::new(spec.seed);
    let created = spec.first_day().and_hms_opt(0, 0, 0).expect("time").and_utc() - Duration::days(30);
    let created_s = ts(created);
    // Fixed-id counter: v7 ids "made" a millisecond apart before the year starts.
    let mut counter = 0i64;
    let mut next_id = |rng: &mut ScaleRng| {
        counter += 1;
        rng.v7_at(created - Duration::days(30) + Duration::milliseconds(counter))
    };
    let hash = tokio::task::spawn_blocking(|| auth::hash_password(SCALE_PASSWORD))
        .await
        .map_err(AppError::internal)??;

    // --- units
    let mut units = Rows::new("units", &["id", "kind", "name", "parent_id", "path", "created_at"]);
    let county = next_id(&mut rng);
    let county_path = unit_path(None, county);
    units.push(vec![
        county.to_string().into(),
        "county".into(),
        "大山县".into(),
        Val::Null,
        county_path.clone().into(),
        created_s.as_str().into(),
    ]);
    let mut townships = Vec::new();
    let mut township_paths = Vec::new();
    let mut township_names = Vec::new();
    for t in 0..spec.townships {
        let id = next_id(&mut rng);
        let path = unit_path(Some(&county_path), id);
        let name = if t < TOWNSHIP_NAMES.len() {
            format!("{}镇", TOWNSHIP_NAMES[t])
        } else {
            format!("{}{}镇", TOWNSHIP_NAMES[t % TOWNSHIP_NAMES.len()], t / TOWNSHIP_NAMES.len() + 1)
        };
        units.push(vec![
            id.to_string().into(),
            "township".into(),
            name.clone().into(),
            county.to_string().into(),
            path.clone().into(),
            created_s.as_str().into(),
        ]);
        townships.push(id);
        township_paths.push(path);
        township_names.push(name);
    }
    let mut villages = Vec::new();
    let mut village_paths = Vec::new();
    let mut village_names = Vec::new();
    let combos = VILLAGE_FIRST.len() * VILLAGE_SECOND.len();
    for v in 0..spec.villages {
        let t = v % spec.townships;
        let id = next_id(&mut rng);
        let path = unit_path(Some(&township_paths[t]), id);
        let base = format!(
            "{}{}",
            VILLAGE_FIRST[v % VILLAGE_FIRST.len()],
            VILLAGE_SECOND[(v / VILLAGE_FIRST.len()) % VILLAGE_SECOND.len()]
        );
        let name = if v < combos {
            format!("{base}村")
        } else {
            format!("{base}{}村", v / combos + 1)
        };
        units.push(vec![
            id.to_string().into(),
            "village".into(),
            name.clone().into(),
            townships[t].to_string().into(),
            path.clone().into(),
            created_s.as_str().into(),
        ]);
        villages.push(id);
        village_paths.push(path);
        village_names.push(name);
    }
    let mut grids = Vec::new();
    let mut grid_paths = Vec::new();
    let mut grid_village = Vec::new();
    let mut per_village = vec![0usize; spec.villages];
    for g in 0..spec.grids.max(1) {
        let v = g % spec.villages;
        per_village[v] += 1;
        let id = next_id(&mut rng);
        let path = unit_path(Some(&village_paths[v]), id);
        units.push(vec![
            id.to_string().into(),
            "grid".into(),
            format!("第{}网格", per_village[v]).into(),
            villages[v].to_string().into(),
            path.clone().into(),
            created_s.as_str().into(),
        ]);
        grids.push(id);
        grid_paths.push(path);
        grid_village.push(v);
    }
    write_all(pool, &mut units).await?;
    println!(
        "units: 1 county, {} townships, {} villages, {} grids",
        townships.len(),
        villages.len(),
        grids.len()
    );

    // --- households: the big grid first, the rest spread evenly
    let n_grids = grids.len();
    let big_grid = (spec.big_grid_households > 0 && n_grids > 1).then_some(0usize);
    let mut grid_sizes = vec![0usize; n_grids];
    let mut rest = spec.households;
    if let Some(b) = big_grid {
        grid_sizes[b] = spec.big_grid_households.min(spec.households);
        rest -= grid_sizes[b];
    }
    let others: Vec<usize> = (0..n_grids).filter(|g| Some(*g) != big_grid).collect();
    for (i, g) in others.iter().enumerate() {
        grid_sizes[*g] = rest / others.len() + usize::from(i < rest % others.len());
    }
    let t = Instant::now();
    let mut households = Vec::with_capacity(spec.households);
    let mut household_grid = Vec::with_capacity(spec.households);
    let mut grid_first = vec![0usize; n_grids];
    let mut rows = Rows::new(
        "households",
        &["id", "grid_id", "head_name", "address", "people", "phone", "special_groups"],
    );
    for g in 0..n_grids {
        grid_first[g] = households.len();
        let village = &village_names[grid_village[g]];
        for k in 0..grid_sizes[g] {
            let id = next_id(&mut rng);
            let groups: Vec<SpecialGroup> = if rng.chance(0.10) {
                let first = *rng.pick(&SpecialGroup::ALL);
                let second = *rng.pick(&SpecialGroup::ALL);
                if rng.chance(0.2) && second != first {
                    vec![first, second]
                } else {
                    vec![first]
                }
            } else {
                Vec::new()
            };
            let phone = rng
                .chance(0.8)
                .then(|| format!("139{:08}", households.len()));
            rows.push(vec![
                id.to_string().into(),
                grids[g].to_string().into(),
                name(&mut rng).into(),
                format!("{village}{}{}号", GROUPS[k % GROUPS.len()], k / GROUPS.len() + 1).into(),
                (1 + rng.below(6) as i64).into(),
                phone.into(),
                serde_json::to_string(&groups)?.into(),
            ]);
            households.push(id);
            household_grid.push(g as u32);
        }
    }
    write_all(pool, &mut rows).await?;
    progress("households", households.len(), spec.households, t);

    // --- members (grid leaders first, one per grid) and their links
    let t = Instant::now();
    let mut members: Vec<ScaleAccount> = Vec::with_capacity(spec.members);
    let mut phone_no = 0u64;
    let mut account = |rng: &mut ScaleRng,
                       id: Uuid,
                       role: Role,
                       unit_id: Uuid,
                       unit_kind: UnitKind,
                       unit_path: String,
                       village: String| {
        phone_no += 1;
        ScaleAccount {
            id,
            name: name(rng),
            phone: format!("15{:09}", phone_no),
            role,
            unit_id,
            unit_kind,
            unit_path,
            village,
            device_id: rng.v4(),
            households: Vec::new(),
        }
    };
    let leaders = n_grids.min(spec.members.max(1));
    let mut grid_leaders = vec![usize::MAX; n_grids];
    for g in 0..leaders {
        let id = next_id(&mut rng);
        let mut a = account(
            &mut rng,
            id,
            Role::GridLeader,
            grids[g],
            UnitKind::Grid,
            grid_paths[g].clone(),
            village_names[grid_village[g]].clone(),
        );
        a.households = (grid_first[g]..grid_first[g] + grid_sizes[g]).map(|h| h as u32).collect();
        grid_leaders[g] = members.len();
        members.push(a);
    }
    let mut in_grid = vec![0usize; n_grids];
    for k in 0..spec.members.saturating_sub(leaders) {
        let g = k % n_grids;
        let j = in_grid[g];
        in_grid[g] += 1;
        let id = next_id(&mut rng);
        let mut a = account(
            &mut rng,
            id,
            Role::Member,
            grids[g],
            UnitKind::Grid,
            grid_paths[g].clone(),
            village_names[grid_village[g]].clone(),
        );
        let size = grid_sizes[g];
        let take = size.min(20);
        a.households = (0..take)
            .map(|t| (grid_first[g] + (j * 20 + t) % size.max(1)) as u32)
            .collect();
        a.households.sort_unstable();
        a.households.dedup();
        members.push(a);
    }
    // Coordinators and volunteers.
    let county_coordinator = {
        let id = next_id(&mut rng);
        account(&mut rng, id, Role::CountyCoordinator, county, UnitKind::County, county_path.clone(), "大山县".into())
    };
    let township_coordinators: Vec<ScaleAccount> = (0..townships.len())
        .map(|t| {
            let id = next_id(&mut rng);
            account(&mut rng, id, Role::TownshipCoordinator, townships[t], UnitKind::Township, township_paths[t].clone(), township_names[t].clone())
        })
        .collect();
    let village_coordinators: Vec<ScaleAccount> = (0..villages.len())
        .map(|v| {
            let id = next_id(&mut rng);
            account(&mut rng, id, Role::VillageCoordinator, villages[v], UnitKind::Village, village_paths[v].clone(), village_names[v].clone())
        })
        .collect();
    let volunteers: Vec<ScaleAccount> = (0..villages.len() * 2)
        .map(|i| {
            let v = i / 2;
            let id = next_id(&mut rng);
            account(&mut rng, id, Role::Volunteer, villages[v], UnitKind::Village, village_paths[v].clone(), village_names[v].clone())
        })
        .collect();

    let mut rows = Rows::new(
        "members",
        &["id", "phone", "name", "password_hash", "role", "unit_id", "created_at"],
    );
    let mut devices = Rows::new("devices", &["device_id", "member_id", "last_sync_at"]);
    let last_sync_base = spec.last_day.and_hms_opt(10, 0, 0).expect("time").and_utc();
    for a in members
        .iter()
        .chain(std::iter::once(&county_coordinator))
        .chain(&township_coordinators)
        .chain(&village_coordinators)
        .chain(&volunteers)
    {
        rows.push(vec![
            a.id.to_string().into(),
            a.phone.as_str().into(),
            a.name.as_str().into(),
            hash.as_str().into(),
            a.role.as_str().into(),
            a.unit_id.to_string().into(),
            created_s.as_str().into(),
        ]);
        if a.role.records_visits() {
            // Most phones synced in the last three days, about 3 % stopped a while ago.
            let ago = if rng.chance(0.03) {
                Duration::days(8 + rng.below(60) as i64)
            } else {
                Duration::minutes(rng.below(3 * 24 * 60) as i64)
            };
            devices.push(vec![
                a.device_id.to_string().into(),
                a.id.to_string().into(),
                ts(last_sync_base - ago).into(),
            ]);
        }
    }
    write_all(pool, &mut rows).await?;
    write_all(pool, &mut devices).await?;
    let mut links = Rows::new("member_households", &["member_id", "household_id"]);
    for a in members.iter().filter(|a| a.role == Role::Member) {
        for h in &a.households {
            links.push(vec![a.id.to_string().into(), households[*h as usize].to_string().into()]);
        }
    }
    let n_links = links.len();
    write_all(pool, &mut links).await?;
    progress("members + links", members.len() + n_links, members.len() + n_links, t);

    // Who visits each household: its first linked member, else the grid leader.
    let mut visitor = vec![u32::MAX; households.len()];
    for (i, a) in members.iter().enumerate() {
        if a.role == Role::Member {
            for h in &a.households {
                if visitor[*h as usize] == u32::MAX {
                    visitor[*h as usize] = i as u32;
                }
            }
        }
    }
    for (h, v) in visitor.iter_mut().enumerate() {
        if *v == u32::MAX {
            *v = grid_leaders[household_grid[h] as usize] as u32;
        }
    }

    // --- teams: one per village, its two volunteers and two members of the village
    let mut teams = Vec::new();
    let mut team_rows = Rows::new("teams", &["id", "unit_id", "name", "created_at"]);
    let mut team_members = Rows::new("team_members", &["team_id", "member_id"]);
    let mut team_lists: Vec<Vec<Uuid>> = Vec::new();
    for v in 0..villages.len() {
        let id = next_id(&mut rng);
        team_rows.push(vec![
            id.to_string().into(),
            villages[v].to_string().into(),
            format!("{}志愿服务队", village_names[v]).into(),
            created_s.as_str().into(),
        ]);
        let mut list = vec![volunteers[2 * v].id, volunteers[2 * v + 1].id];
        list.extend(
            members
                .iter()
                .filter(|a| a.role == Role::Member && a.unit_path.starts_with(&village_paths[v]))
                .take(2)
                .map(|a| a.id),
        );
        for m in &list {
            team_members.push(vec![id.to_string().into(), m.to_string().into()]);
        }
        teams.push(id);
        team_lists.push(list);
    }
    write_all(pool, &mut team_rows).await?;
    write_all(pool, &mut team_members).await?;

    // --- a year of visits, day by day, each uploaded a little after it was saved
    let t = Instant::now();
    let first_day = spec.first_day();
    let mut n_problems = 0usize;
    let mut done = 0usize;
    while done < spec.visits {
        let end = (done + VISITS_PER_TX).min(spec.visits);
        let mut visit_rows = Rows::new(
            "visits",
            &["id", "household_id", "member_id", "device_id", "visited_on", "recorded_at", "received_at", "content_hash", "body"],
        );
        let mut problem_rows = Rows::new(
            "problems",
            &["id", "visit_id", "household_id", "category", "urgency", "description", "outcome", "action", "created_at",
              "raised_by", "raised_at", "due_at", "level", "state", "assignee_id", "answer", "family_told"],
        );
        for k in done..end {
            let day_index = (k as u64 * u64::from(spec.days.max(1)) / spec.visits as u64) as i64;
            let day = first_day + Duration::days(day_index);
            // 08:00–18:00 China time.
            let recorded = day.and_hms_opt(0, 0, 0).expect("time").and_utc()
                + Duration::milliseconds(rng.below(10 * 3600 * 1000) as i64);
            let received = recorded + Duration::seconds(30 + rng.below(2 * 24 * 3600) as i64);
            let h = rng.below(households.len() as u64) as usize;
            let member = &members[visitor[h] as usize];
            let visit = make_visit(&mut rng, households[h], member.id, day, recorded, 0.027);
            let body = serde_json::to_string(&visit)?;
            let raised_at = visit.recorded_at.min(received);
            for p in &visit.problems {
                let status = ProblemStatus::at_door(p.outcome, &p.action);
                problem_rows.push(vec![
                    p.id.to_string().into(),
                    visit.id.to_string().into(),
                    visit.household_id.to_string().into(),
                    p.category.as_str().into(),
                    p.urgency.as_str().into(),
                    p.description.as_str().into(),
                    p.outcome.as_str().into(),
                    p.action.as_str().into(),
                    ts(received).into(),
                    visit.member_id.to_string().into(),
                    ts(raised_at).into(),
                    ts(due_at(raised_at, p.urgency)).into(),
                    level_str(status.level).into(),
                    state_str(status.state).into(),
                    status.assignee.map(|a| a.to_string()).into(),
                    status.answer.clone().into(),
                    i64::from(status.family_told).into(),
                ]);
                n_problems += 1;
            }
            visit_rows.push(vec![
                visit.id.to_string().into(),
                visit.household_id.to_string().into(),
                visit.member_id.to_string().into(),
                member.device_id.to_string().into(),
                visit.visited_on.to_string().into(),
                ts(visit.recorded_at).into(),
                ts(received).into(),
                sha256_hex(body.as_bytes()).into(),
                body.into(),
            ]);
        }
        let mut tx = pool.begin().await?;
        visit_rows.write(&mut tx).await?;
        problem_rows.write(&mut tx).await?;
        tx.commit().await?;
        done = end;
        if done % 100_000 == 0 || done == spec.visits {
            progress("visits", done, spec.visits, t);
        }
    }
    println!("  problems: {n_problems}");

    // --- volunteer activities, through the server's own store
    let t = Instant::now();
    let kinds: Vec<&str> = DEFAULT_KINDS.iter().map(|k| k.0).collect();
    let mut stored = 0usize;
    let mut k = 0usize;
    while k < spec.activities {
        let end = (k + 1_000).min(spec.activities);
        let mut tx = pool.begin().await?;
        for i in k..end {
            let v = rng.below(villages.len() as u64) as usize;
            let recorder = &volunteers[2 * v + (i % 2)];
            let day = first_day + Duration::days(rng.below(u64::from(spec.days.max(1))) as i64);
            let start_h = 8 + rng.below(8) as u32;
            let start = NaiveTime::from_hms_opt(start_h, 0, 0).expect("time");
            let end_t = NaiveTime::from_hms_opt(start_h + 1 + rng.below(3) as u32, 30, 0).expect("time");
            let recorded = day.and_time(end_t).and_utc() - Duration::hours(8) + Duration::minutes(5);
            let team = &team_lists[v];
            let participants: Vec<Uuid> = team
                .iter()
                .copied()
                .filter(|m| *m == recorder.id || rng.chance(0.6))
                .collect();
            // A few doors of the village.
            let village_grids: Vec<usize> = (0..n_grids).filter(|g| grid_village[*g] == v).collect();
            let mut household_ids = Vec::new();
            for _ in 0..rng.below(4) {
                let g = *rng.pick(&village_grids);
                if grid_sizes[g] > 0 {
                    let h = grid_first[g] + rng.below(grid_sizes[g] as u64) as usize;
                    if !household_ids.contains(&households[h]) {
                        household_ids.push(households[h]);
                    }
                }
            }
            let activity = Activity {
                id: rng.v7_at(recorded),
                recorder_id: recorder.id,
                team_id: Some(teams[v]),
                kind: rng.pick(&kinds).to_string(),
                date: day,
                start,
                end: end_t,
                place: format!("{}{}", village_names[v], rng.pick(&PLACES)),
                participants,
                others: rng.below(6) as u32,
                served: 5 + rng.below(60) as u32,
                household_ids,
                description: rng.pick(&ACTIVITY_TEXT).to_string(),
                photos: Vec::new(),
                recorded_at: recorded,
            };
            let receipt = crate::activity_log::store_activity(
                &mut tx,
                &recorder.auth_user(),
                recorder.device_id,
                &activity,
                recorded + Duration::minutes(10),
            )
            .await?;
            if receipt.status != ReceiptStatus::Stored {
                return Err(AppError::internal(format!(
                    "generated activity not stored: {:?} {:?}",
                    receipt.status, receipt.reason
                )));
            }
            stored += 1;
        }
        tx.commit().await?;
        k = end;
    }
    progress("activities", stored, spec.activities, t);
    // The tallies folded, as a running server keeps them (PostgreSQL), and fresh
    // statistics, so the planner picks the indexes the queries were planned with.
    let mut conn = pool.acquire().await?;
    loop {
        match crate::store::upkeep::fold_tallies(&mut conn).await? {
            Some(0) => break,
            Some(_) => {}
            // A server's own pass is running: it folds its part.
            None => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
    crate::store::upkeep::analyze(&mut conn).await?;
    println!("county generated in {:.1} s", started.elapsed().as_secs_f64());

    Ok(CountyIds {
        county,
        townships,
        villages,
        grids,
        households,
        household_grid,
        members,
        grid_leaders,
        county_coordinator,
        township_coordinators,
        village_coordinators,
        volunteers,
        teams,
        big_grid,
        visits: spec.visits,
        problems: n_problems,
        activities: stored,
        first_day,
        last_day: spec.last_day,
    })
}
