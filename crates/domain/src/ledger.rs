//! The household ledger's rules (issue 17): the county's catalogue of policies,
//! versioned; each household's policy states and profile facts; and the one rule
//! that merges changes made offline on several phones (一联多) and in the
//! console.
//!
//! Data, not code: the policies are the county's, edited by its coordinator.
//! Every edit makes a new catalogue version; nothing is ever deleted, so a
//! stored visit always finds the names it was made with. Profile and ledger
//! changes are events with their own ids (like problem events): the current
//! value of a field is the latest change by device time, never later than the
//! server received it.
//!
//! The server keeps each county's catalogue versions (`/api/catalogue`) and
//! every change (`/api/sync/ledger`, and inside visits); the phone's visit
//! sets policy states, housing and water. Changes travel as words
//! ([`LedgerWire`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::groups::{Intervals, SpecialGroup};
use crate::kinds::{applies, seen, valid_key, Item, ItemList, Local, ServiceGiven, MAX_CONTACT_CHARS};
use crate::livelihood::{Need, Picks};
use crate::profile::{Contact, Disabilities, Heating, Incomes, Road};

/// Longest policy name, description and key, in characters.
pub const MAX_NAME_CHARS: usize = 40;
pub const MAX_DESCRIPTION_CHARS: usize = 400;
pub use crate::kinds::MAX_KEY_CHARS;
/// Days an application may take before it shows as overdue, unless the policy says otherwise.
pub const DEFAULT_APPLY_DAYS: u32 = 30;

/// One policy a household may be entitled to (低保, 高龄补贴, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Policy {
    /// Stable key: lowercase ASCII letters, digits and `_` (`dibao`). Never reused.
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    #[serde(default)]
    pub description: String,
    /// The special groups it usually concerns: shown first for such households.
    #[serde(default)]
    pub groups: Vec<SpecialGroup>,
    /// Days an application with the member's help may take before it is overdue.
    pub apply_days: u32,
    /// Retired policies stay for history; no new state may be recorded for them.
    pub active: bool,
    /// A township's or village's own policy (none: the county's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
}

/// A county's catalogue at one version (the default: a county's before its
/// first edit, version 0, no policies, the default service kinds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalogue {
    /// 1 for the first catalogue; every change adds one.
    pub version: u32,
    pub policies: Vec<Policy>,
    /// Service and livelihood kinds and help resources (absent from catalogues
    /// made before them: such a catalogue's service kinds are the defaults).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// The checklists of four sections (党员联系, 民情走访, 政策落实, 产业对接;
    /// 精准服务's are the service kinds), apart from `items` so an app made
    /// before them, which knows only `items`' lists, keeps reading the roster.
    /// Absent: the items the sections have always listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Item>,
    /// Days between visits, by special group (absent: the defaults, 30 and 14).
    #[serde(default, skip_serializing_if = "Intervals::is_default")]
    pub intervals: Intervals,
}

/// One edit of the catalogue by a county coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum CatalogueChange {
    /// A new policy (its key unused so far, also by retired ones).
    Add { policy: Policy },
    /// New names, description, groups or limit for a policy; its key stays.
    Edit { policy: Policy },
    Retire { key: String },
    Reactivate { key: String },
    /// A new kind or help resource (its key unused in its list).
    AddItem { item: Item },
    /// New names or contact for an item; its list and key stay.
    EditItem { item: Item },
    RetireItem { list: ItemList, key: String },
    ReactivateItem { list: ItemList, key: String },
    /// New visit intervals (ordinary, special groups, and groups of their own).
    SetIntervals { intervals: Intervals },
}

/// A catalogue edit as the console sends it: the change, and the version the
/// coordinator was looking at (when given, the edit is refused if another made
/// a version since, so nobody overwrites what they have not seen).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CatalogueEdit {
    #[serde(default)]
    pub base_version: Option<u32>,
    pub change: CatalogueChange,
}

/// Why a catalogue edit or a ledger change is refused, in plain words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerError {
    BadKey(String),
    DuplicateKey(String),
    UnknownPolicy(String),
    RetiredPolicy(String),
    BadName,
    BadDescription,
    BadLimit,
    /// An application needs the day it started, and only an application has one.
    BadApplyingDate,
    /// A value outside what the field takes (people at home over 30, say).
    OutOfRange(LedgerField),
    UnknownItem(ItemList, String),
    RetiredItem(ItemList, String),
    /// A contact too long, or one on a kind (only help resources have one).
    BadContact,
    /// A visit interval outside 1–365 days, or a group given two.
    BadInterval,
}

impl LedgerError {
    pub fn message(&self, zh: bool) -> String {
        match (self, zh) {
            (LedgerError::BadKey(k), true) => format!("代码“{k}”只能用英文小写字母、数字和下划线，最多 {MAX_KEY_CHARS} 个字符"),
            (LedgerError::BadKey(k), false) => format!("The code “{k}” takes lowercase letters, digits and _ only, at most {MAX_KEY_CHARS}"),
            (LedgerError::DuplicateKey(k), true) => format!("代码“{k}”已经用过（停用的政策也占着代码）"),
            (LedgerError::DuplicateKey(k), false) => format!("The code “{k}” is taken (retired policies keep theirs)"),
            (LedgerError::UnknownPolicy(k), true) => format!("没有代码为“{k}”的政策"),
            (LedgerError::UnknownPolicy(k), false) => format!("No policy has the code “{k}”"),
            (LedgerError::RetiredPolicy(k), true) => format!("政策“{k}”已停用，不能再记录"),
            (LedgerError::RetiredPolicy(k), false) => format!("The policy “{k}” is retired; nothing new can be recorded for it"),
            (LedgerError::BadName, true) => format!("中文和英文名称都要填，最多 {MAX_NAME_CHARS} 个字"),
            (LedgerError::BadName, false) => format!("Both names are required, at most {MAX_NAME_CHARS} characters"),
            (LedgerError::BadDescription, true) => format!("说明最多 {MAX_DESCRIPTION_CHARS} 个字"),
            (LedgerError::BadDescription, false) => format!("The description takes at most {MAX_DESCRIPTION_CHARS} characters"),
            (LedgerError::BadLimit, true) => "办理期限要在 1 到 365 天之间".into(),
            (LedgerError::BadLimit, false) => "The time allowed to apply is 1 to 365 days".into(),
            (LedgerError::BadApplyingDate, true) => "“帮办代办”要写开始办理的日期，其他状态不写".into(),
            (LedgerError::BadApplyingDate, false) => "An application needs the day it started; other states take none".into(),
            (LedgerError::OutOfRange(field), true) => format!("“{}”的值不在允许的范围内", field.plain_name(true)),
            (LedgerError::OutOfRange(field), false) => format!("The value of “{}” is out of range", field.plain_name(false)),
            (LedgerError::UnknownItem(list, k), _) => match zh {
                true => format!("“{}”里没有代码为“{k}”的一项", list.label(true)),
                false => format!("“{}” has nothing with the code “{k}”", list.label(false)),
            },
            (LedgerError::RetiredItem(list, k), _) => match zh {
                true => format!("“{}”里的“{k}”已停用，不能再记录", list.label(true)),
                false => format!("“{k}” of “{}” is retired; nothing new can be recorded with it", list.label(false)),
            },
            (LedgerError::BadContact, true) => format!("只有帮扶资源填联系方式，最多 {MAX_CONTACT_CHARS} 个字"),
            (LedgerError::BadInterval, true) => "走访间隔要在 1 到 365 天之间，每个群体只设一次".into(),
            (LedgerError::BadInterval, false) => "A visit interval is 1 to 365 days, and each group is set once".into(),
            (LedgerError::BadContact, false) => format!("Only help resources take a contact, at most {MAX_CONTACT_CHARS} characters"),
        }
    }
}


impl Policy {
    fn check(&self) -> Result<(), LedgerError> {
        if !valid_key(&self.key) {
            return Err(LedgerError::BadKey(self.key.clone()));
        }
        let name_ok = |n: &str| !n.trim().is_empty() && n.chars().count() <= MAX_NAME_CHARS;
        if !name_ok(&self.name_zh) || !name_ok(&self.name_en) {
            return Err(LedgerError::BadName);
        }
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(LedgerError::BadDescription);
        }
        if !(1..=365).contains(&self.apply_days) {
            return Err(LedgerError::BadLimit);
        }
        Ok(())
    }

    /// Whether it usually concerns a household in these groups.
    pub fn concerns(&self, groups: &[SpecialGroup]) -> bool {
        self.groups.iter().any(|g| groups.contains(g))
    }
}

fn check_item(item: &Item) -> Result<(), LedgerError> {
    if !valid_key(&item.key) {
        return Err(LedgerError::BadKey(item.key.clone()));
    }
    let name_ok = |n: &str| !n.trim().is_empty() && n.chars().count() <= MAX_NAME_CHARS;
    if !name_ok(&item.name_zh) || !name_ok(&item.name_en) {
        return Err(LedgerError::BadName);
    }
    if item.contact.chars().count() > MAX_CONTACT_CHARS || (!item.list.is_resource() && !item.contact.is_empty()) {
        return Err(LedgerError::BadContact);
    }
    Ok(())
}

impl Catalogue {
    pub fn policy(&self, key: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.key == key)
    }

    /// Where one list's items are held.
    fn held(&mut self, list: ItemList) -> &mut Vec<Item> {
        if list.is_check() { &mut self.checks } else { &mut self.items }
    }

    /// One list's items, retired ones included, in the order they were added.
    pub fn items(&self, list: ItemList) -> impl Iterator<Item = &Item> {
        let held = if list.is_check() { &self.checks } else { &self.items };
        held.iter().filter(move |i| i.list == list)
    }

    pub fn item(&self, list: ItemList, key: &str) -> Option<&Item> {
        self.items(list).find(|i| i.key == key)
    }

    /// A list as a visit offers it and the server checks it: the catalogue's
    /// own entries, or the defaults while it has none ([`ItemList::defaults`]).
    pub fn kinds(&self, list: ItemList) -> Vec<Item> {
        let own: Vec<Item> = self.items(list).cloned().collect();
        if !own.is_empty() {
            return own;
        }
        let item = |(key, zh, en): &(&str, &str, &str)| Item {
            list,
            key: (*key).into(),
            name_zh: (*zh).into(),
            name_en: (*en).into(),
            contact: String::new(),
            active: true,
            local: None,
        };
        list.defaults().iter().map(item).collect()
    }

    /// The items a section's checklist shows at a visit: the active ones, and
    /// any retired since that the visit has ticked (so nothing ticked hides).
    pub fn checklist(&self, list: ItemList, ticked: impl Fn(&str) -> bool) -> Vec<Item> {
        self.kinds(list).into_iter().filter(|i| i.active || ticked(&i.key)).collect()
    }

    /// The catalogue as a household at `path` has it: the county's entries
    /// and those of the units above it (the server checks a visit against
    /// this, so another township's own policy is unknown there).
    pub fn at(&self, path: &str) -> Catalogue {
        self.keep(|local| applies(local, path))
    }

    /// The catalogue as someone at `path` reads it: as [`Catalogue::at`], and
    /// the own entries of the units below theirs (a county coordinator sees
    /// every entry; a member, those of their village and township).
    pub fn seen_from(&self, path: &str) -> Catalogue {
        self.keep(|local| seen(local, path))
    }

    fn keep(&self, keep: impl Fn(Option<&Local>) -> bool) -> Catalogue {
        // The defaults written out first, so a list of local entries alone never hides them.
        let mut all = self.clone();
        for list in ItemList::ALL {
            if self.items(list).next().is_none() {
                all.held(list).splice(0..0, self.kinds(list));
            }
        }
        let kept = |items: Vec<Item>| items.into_iter().filter(|i| keep(i.local.as_ref())).collect::<Vec<_>>();
        Catalogue {
            version: self.version,
            policies: self.policies.iter().filter(|p| keep(p.local.as_ref())).cloned().collect(),
            items: kept(all.items),
            checks: kept(all.checks),
            intervals: self.intervals.clone(),
        }
    }

    /// Whether a coordinator at `path` (`county`: the county's) may make this
    /// change: the county's, any but a local one's own; a township's or
    /// village's, adding its own entries (the server marks them so) and
    /// changing those it made, nothing else.
    pub fn may_change(&self, change: &CatalogueChange, path: &str, county: bool) -> bool {
        let own = |local: Option<&Local>| local.is_some_and(|l| l.path == path);
        let policy = |key: &str| self.policy(key).is_some_and(|p| own(p.local.as_ref()));
        let item = |list: ItemList, key: &str| self.item(list, key).is_some_and(|i| own(i.local.as_ref()));
        match change {
            _ if county => true,
            CatalogueChange::Add { .. } | CatalogueChange::AddItem { .. } => true,
            CatalogueChange::Edit { policy: p } => policy(&p.key),
            CatalogueChange::Retire { key } | CatalogueChange::Reactivate { key } => policy(key),
            CatalogueChange::EditItem { item: i } => item(i.list, &i.key),
            CatalogueChange::RetireItem { list, key } | CatalogueChange::ReactivateItem { list, key } => item(*list, key),
            CatalogueChange::SetIntervals { .. } => false,
        }
    }

    /// The livelihood kinds a form offers, as (key, name): the active ones, then
    /// any retired since that the family still has.
    pub fn livelihood_choices(&self, picked: &Picks, zh: bool) -> Vec<(String, String)> {
        let listed = self.items(ItemList::Livelihood).filter(|i| i.active || picked.has(&i.key));
        listed.map(|i| (i.key.clone(), i.name(zh).to_string())).collect()
    }

    /// Checks a visit's services against this catalogue: each kind known and active.
    pub fn check_services(&self, services: &[ServiceGiven]) -> Result<(), LedgerError> {
        let kinds = self.kinds(ItemList::Service);
        for s in services {
            match kinds.iter().find(|k| k.key == s.kind) {
                None => return Err(LedgerError::UnknownItem(ItemList::Service, s.kind.clone())),
                Some(k) if !k.active => return Err(LedgerError::RetiredItem(ItemList::Service, s.kind.clone())),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Checks a section's ticks against its checklist: each key known. A
    /// retired item is taken (a phone offline since it was retired ticked it
    /// from the checklist it had; refusing the visit would lose it).
    pub fn check_ticks(&self, list: ItemList, ticked: &[String]) -> Result<(), LedgerError> {
        let kinds = self.kinds(list);
        match ticked.iter().find(|t| !kinds.iter().any(|k| &k.key == *t)) {
            Some(t) => Err(LedgerError::UnknownItem(list, t.clone())),
            None => Ok(()),
        }
    }

    /// The name of an entry of a list as this catalogue has it (its key when it has none).
    pub fn item_name(&self, list: ItemList, key: &str, zh: bool) -> String {
        // Without building the defaults for every download row.
        if let Some(item) = self.item(list, key) {
            return item.name(zh).to_string();
        }
        let default = list.defaults().iter().find(|(k, _, _)| *k == key);
        default.map_or_else(|| key.to_string(), |(_, z, e)| (if zh { *z } else { *e }).to_string())
    }

    /// Ticked keys by name, in the checklist's order (keys it never had last,
    /// as stored), joined with "、": how histories and downloads show them.
    pub fn ticked_names(&self, list: ItemList, ticked: &[String], zh: bool) -> String {
        let kinds = self.kinds(list);
        let at = |k: &String| kinds.iter().position(|i| &i.key == k).unwrap_or(usize::MAX);
        let mut keys: Vec<&String> = ticked.iter().collect();
        crate::order::sort_by(&mut keys, |a, b| at(a) < at(b));
        keys.iter().map(|k| self.item_name(list, k, zh)).collect::<Vec<_>>().join("、")
    }

    fn edit_item(&mut self, list: ItemList, key: &str, f: impl FnOnce(&mut Item)) -> Result<(), LedgerError> {
        // The first edit of a list with defaults starts from them, so adding
        // one entry never drops those a visit has always offered.
        if self.items(list).next().is_none() {
            let defaults = self.kinds(list);
            self.held(list).extend(defaults);
        }
        let slot = self.held(list).iter_mut().find(|i| i.list == list && i.key == key);
        f(slot.ok_or_else(|| LedgerError::UnknownItem(list, key.into()))?);
        Ok(())
    }

    /// The catalogue after one edit, as the next version; the edit is refused
    /// whole when it does not fit.
    pub fn apply(&self, change: &CatalogueChange) -> Result<Catalogue, LedgerError> {
        let mut next = self.clone();
        match change {
            CatalogueChange::Add { policy } => {
                policy.check()?;
                if self.policy(&policy.key).is_some() {
                    return Err(LedgerError::DuplicateKey(policy.key.clone()));
                }
                next.policies.push(policy.clone());
            }
            CatalogueChange::Edit { policy } => {
                policy.check()?;
                let slot = next.policies.iter_mut().find(|p| p.key == policy.key);
                let slot = slot.ok_or_else(|| LedgerError::UnknownPolicy(policy.key.clone()))?;
                // Retiring and reactivating are their own edits.
                *slot = Policy { active: slot.active, local: slot.local.clone(), ..policy.clone() };
            }
            CatalogueChange::Retire { key } | CatalogueChange::Reactivate { key } => {
                let slot = next.policies.iter_mut().find(|p| &p.key == key);
                let slot = slot.ok_or_else(|| LedgerError::UnknownPolicy(key.clone()))?;
                slot.active = matches!(change, CatalogueChange::Reactivate { .. });
            }
            CatalogueChange::AddItem { item } => {
                check_item(item)?;
                if self.items(item.list).next().is_none() {
                    next.held(item.list).extend(self.kinds(item.list));
                }
                if next.item(item.list, &item.key).is_some() {
                    return Err(LedgerError::DuplicateKey(item.key.clone()));
                }
                next.held(item.list).push(item.clone());
            }
            CatalogueChange::EditItem { item } => {
                check_item(item)?;
                next.edit_item(item.list, &item.key, |slot| *slot = Item { active: slot.active, local: slot.local.clone(), ..item.clone() })?;
            }
            CatalogueChange::SetIntervals { intervals } => {
                if !intervals.fits() {
                    return Err(LedgerError::BadInterval);
                }
                next.intervals = intervals.clone();
            }
            CatalogueChange::RetireItem { list, key } | CatalogueChange::ReactivateItem { list, key } => {
                let on = matches!(change, CatalogueChange::ReactivateItem { .. });
                next.edit_item(*list, key, |slot| slot.active = on)?;
            }
        }
        next.version = self.version + 1;
        Ok(next)
    }

    /// The active policies for a household's policy step: those concerning its
    /// special groups first, then the rest (behind "more"), each in catalogue order.
    pub fn for_household(&self, groups: &[SpecialGroup]) -> (Vec<&Policy>, Vec<&Policy>) {
        self.policies.iter().filter(|p| p.active).partition(|p| p.concerns(groups))
    }

    /// Checks a new policy state recorded against this catalogue.
    pub fn check_state(&self, key: &str, status: &PolicyStatus) -> Result<(), LedgerError> {
        let policy = self.policy(key).ok_or_else(|| LedgerError::UnknownPolicy(key.into()))?;
        if !policy.active {
            return Err(LedgerError::RetiredPolicy(key.into()));
        }
        status.check()
    }

    /// The demo county's catalogue: a dozen real policies of rural counties.
    pub fn demo() -> Catalogue {
        use SpecialGroup::*;
        let p = |key: &str, zh: &str, en: &str, groups: &[SpecialGroup], apply_days: u32| Policy {
            key: key.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            description: String::new(),
            groups: groups.to_vec(),
            apply_days,
            active: true,
            local: None,
        };
        Catalogue {
            version: 1,
            policies: vec![
                p("dibao", "低保", "Subsistence allowance", &[SubsistenceAllowance, SeriouslyIll, SeverelyDisabled], 30),
                p("tekun", "特困供养", "Support for the extremely poor", &[ExtremePoverty, ElderlyAlone], 30),
                p("gaoling", "高龄补贴", "Old-age allowance", &[ElderlyAlone], 30),
                p("yibao", "城乡居民医保参保", "Residents' medical insurance", &[], 15),
                p("dabing", "大病救助", "Serious-illness relief", &[SeriouslyIll], 30),
                p("canji", "残疾人两项补贴", "Disability allowances", &[SeverelyDisabled], 30),
                p("jiaoyu", "教育资助", "Education grants", &[LeftBehindChildren], 45),
                p("weifang", "危房改造", "Unsafe-housing renovation", &[], 90),
                p("linshi", "临时救助", "Temporary assistance", &[], 15),
                p("yanglao", "城乡居民养老保险", "Residents' pension insurance", &[], 30),
                p("fanpin", "防返贫监测帮扶", "Monitoring against falling back into poverty", &[SubsistenceAllowance, ExtremePoverty], 30),
                p("chanye", "产业奖补", "Awards for household industries", &[], 60),
            ],
            items: demo_items(),
            checks: Vec::new(),
            intervals: Intervals::default(),
        }
    }
}

/// The demo county's service and livelihood kinds and its help resources.
fn demo_items() -> Vec<Item> {
    use ItemList::*;
    let i = |list: ItemList, key: &str, zh: &str, en: &str, contact: &str| Item {
        list,
        key: key.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        contact: contact.into(),
        active: true,
        local: None,
    };
    let mut items = Catalogue::default().kinds(ItemList::Service);
    items.extend([
        i(Livelihood, "grain", "粮食种植", "Grain", ""),
        i(Livelihood, "vegetables", "蔬菜种植", "Vegetables", ""),
        i(Livelihood, "fruit_tea", "果茶种植", "Fruit and tea", ""),
        i(Livelihood, "livestock", "畜禽养殖", "Livestock and poultry", ""),
        i(Livelihood, "fish", "水产养殖", "Fish farming", ""),
        i(Livelihood, "migrant_work", "外出务工", "Work away from home", ""),
        i(Livelihood, "local_work", "就近务工", "Work nearby", ""),
        i(Livelihood, "shop", "个体经营", "Own business", ""),
        i(Technician, "agri_station", "县农技推广中心 王技术员", "County farm extension (Wang)", "0571-8800 1234"),
        i(Technician, "vet_station", "乡镇畜牧兽医站", "Township veterinary station", "0571-8800 2345"),
        i(Cooperative, "tea_coop", "茶叶专业合作社", "Tea cooperative", "李社长 139 0000 1111"),
        i(Buyer, "county_market", "县农产品助销中心", "County produce sales centre", "0571-8800 3456"),
        i(Fund, "microcredit", "农商银行小额信贷", "Rural bank micro-credit", "0571-8800 4567"),
    ]);
    items
}

named_enum! {
    /// Where a household stands with one policy.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum PolicyState {
        /// 已享受
        Receiving = "receiving",
        /// 应享未享: entitled, not receiving.
        EntitledNotReceiving = "entitled_not_receiving",
        /// 帮办代办: applying with the member's help.
        Applying = "applying",
        /// 不符合条件
        NotEligible = "not_eligible",
        /// 未了解
        Unknown = "unknown",
    }
}

impl PolicyState {
    pub fn label_zh(self) -> &'static str {
        match self {
            PolicyState::Receiving => "已享受",
            PolicyState::EntitledNotReceiving => "应享未享",
            PolicyState::Applying => "帮办代办",
            PolicyState::NotEligible => "不符合条件",
            PolicyState::Unknown => "未了解",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            PolicyState::Receiving => "Receiving",
            PolicyState::EntitledNotReceiving => "Entitled, not receiving",
            PolicyState::Applying => "Applying with help",
            PolicyState::NotEligible => "Not eligible",
            PolicyState::Unknown => "Not known yet",
        }
    }
}

/// A household's state for one policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PolicyStatus {
    pub state: PolicyState,
    /// The day the application started; only (and always) for `Applying`.
    #[serde(default)]
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date_opt"))]
    pub applying_since: Option<NaiveDate>,
}

impl PolicyStatus {
    fn check(&self) -> Result<(), LedgerError> {
        match (self.state, self.applying_since) {
            (PolicyState::Applying, Some(_)) => Ok(()),
            (PolicyState::Applying, None) | (_, Some(_)) => Err(LedgerError::BadApplyingDate),
            (_, None) => Ok(()),
        }
    }

    /// The status after the member marks `state` at a visit on `on`: a new
    /// application starts that day; one already running keeps its first day.
    pub fn mark(previous: Option<&PolicyStatus>, state: PolicyState, on: NaiveDate) -> PolicyStatus {
        let applying_since = match (state, previous) {
            (PolicyState::Applying, Some(PolicyStatus { state: PolicyState::Applying, applying_since: Some(d) })) => Some(*d),
            (PolicyState::Applying, _) => Some(on),
            _ => None,
        };
        PolicyStatus { state, applying_since }
    }

    /// An application that has taken longer than the policy allows.
    pub fn overdue(&self, policy: &Policy, today: NaiveDate) -> bool {
        match (self.state, self.applying_since) {
            (PolicyState::Applying, Some(since)) => (today - since).num_days() > i64::from(policy.apply_days),
            _ => false,
        }
    }

    /// Counted in the 应享未享 lists: entitled and not receiving, applying or not.
    pub fn is_gap(&self) -> bool {
        matches!(self.state, PolicyState::EntitledNotReceiving | PolicyState::Applying)
    }
}

named_enum! {
    /// How safe the house is (住房安全).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Housing {
        Safe = "safe",
        NeedsRepair = "needs_repair",
        Dangerous = "dangerous",
    }
}

named_enum! {
    /// Drinking water (饮水安全).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Water {
        Safe = "safe",
        Unsafe = "unsafe",
        SeasonalShortage = "seasonal_shortage",
    }
}

/// Most people a household can have at home.
pub const MAX_PEOPLE_AT_HOME: u8 = 30;

/// A field of a household's ledger: one policy's state, or one profile fact.
/// It travels as a word (see [`LedgerWire`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LedgerField {
    Policy(String),
    PeopleAtHome,
    Housing,
    Water,
    /// Family members with a chronic illness (慢性病), a count.
    ChronicIll,
    /// Family members with a serious illness (大病), a count.
    SeriousIll,
    Disability,
    Income,
    Road,
    Heating,
    Contact,
    /// What the family grows, raises or works at: kinds of the catalogue's livelihood list.
    Livelihood,
    /// What it needs: technique, funds, market, jobs.
    Needs,
}

/// The profile's fields, in the order forms show them.
pub const PROFILE_FIELDS: [LedgerField; 12] = [
    LedgerField::Housing,
    LedgerField::Water,
    LedgerField::PeopleAtHome,
    LedgerField::ChronicIll,
    LedgerField::SeriousIll,
    LedgerField::Disability,
    LedgerField::Income,
    LedgerField::Road,
    LedgerField::Heating,
    LedgerField::Contact,
    LedgerField::Livelihood,
    LedgerField::Needs,
];

/// Whether the value is of the field's kind and in its range (the catalogue aside).
fn fits(field: &LedgerField, value: &LedgerValue) -> Result<(), LedgerError> {
    use LedgerField as F;
    use LedgerValue as V;
    let ok = match (field, value) {
        (F::PeopleAtHome | F::ChronicIll | F::SeriousIll, V::Count(n)) => *n <= MAX_PEOPLE_AT_HOME,
        (F::Policy(_), V::Policy(_))
        | (F::Housing, V::Housing(_))
        | (F::Water, V::Water(_))
        | (F::Disability, V::Disabilities(_))
        | (F::Income, V::Incomes(_))
        | (F::Road, V::Road(_))
        | (F::Heating, V::Heating(_))
        | (F::Contact, V::Contact(_))
        | (F::Livelihood, V::Picks(_)) => true,
        (F::Needs, V::Picks(p)) => p.needs().is_some(),
        _ => false,
    };
    if ok { Ok(()) } else { Err(LedgerError::OutOfRange(field.clone())) }
}

/// A field's new value. It travels as a word and, for an application, its
/// first day (see [`LedgerWire`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerValue {
    Policy(PolicyStatus),
    Count(u8),
    Housing(Housing),
    Water(Water),
    Disabilities(Disabilities),
    Incomes(Incomes),
    Road(Road),
    Heating(Heating),
    Contact(Contact),
    /// Livelihood kinds or needs.
    Picks(Picks),
}

/// One change to a household's ledger, made at a visit or in the console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LedgerWire", into = "LedgerWire")]
pub struct LedgerChange {
    /// Made on the device (UUID v7): the same change uploaded twice is one change.
    pub id: Uuid,
    pub household_id: Uuid,
    pub field: LedgerField,
    pub value: LedgerValue,
    /// By the clock of the device that made it.
    pub at: DateTime<Utc>,
    /// By the server's clock when it first stored it.
    pub received_at: DateTime<Utc>,
    /// The visit it was made at; none for a coordinator's correction.
    #[serde(default)]
    pub visit_id: Option<Uuid>,
}

impl LedgerChange {
    /// Whether the value fits the field (against the catalogue for policies).
    pub fn check(&self, catalogue: &Catalogue) -> Result<(), LedgerError> {
        fits(&self.field, &self.value)?;
        match (&self.field, &self.value) {
            (LedgerField::Policy(key), LedgerValue::Policy(status)) => catalogue.check_state(key, status),
            // A kind retired since may stay in a family's list; one never listed may not.
            (LedgerField::Livelihood, LedgerValue::Picks(p)) => match p.keys().find(|k| catalogue.item(ItemList::Livelihood, k).is_none()) {
                Some(k) => Err(LedgerError::UnknownItem(ItemList::Livelihood, k.into())),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// The moment the merge orders this change by: the device's time, but never
    /// later than the server received it (a phone whose clock runs ahead, set to
    /// next year say, must not win every field for a year). A time long before
    /// the upload stands: days offline are normal in the field. A clock running
    /// behind can only be told from that by the device's clock at upload, which
    /// the sync batch would have to carry; until then such a change loses to
    /// later ones, the safe side.
    pub fn effective_at(&self) -> DateTime<Utc> {
        self.at.min(self.received_at)
    }
}

/// Reads a list of values now, leaving out any of a field this app does not
/// know (one from a later version of the server), so a newer roster never
/// stops an older app. The roster's `later` is read this way.
pub fn known_fields<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<LedgerNow>, D::Error> {
    let wires: Vec<LedgerWire> = Deserialize::deserialize(d)?;
    Ok(wires.into_iter().filter_map(|w| LedgerNow::try_from(w).ok()).collect())
}

/// How every ledger change and value travels in JSON: the field and the value
/// as words (`policy:dibao` and `applying`, `housing` and `needs_repair`), an
/// application's first day, and what the record around it needs (its id,
/// household, times, visit). Words and plain fields, not tagged enums: serde's
/// derive for those buffers each object into a generic tree first, which cost
/// the phone's bundles over 20 KB.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LedgerWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household_id: Option<Uuid>,
    /// `policy:<key>`, `people_at_home`, `housing`, `water`, `chronic_ill`,
    /// `serious_ill`, `disability`, `income`, `road`, `heating` or `contact`.
    pub field: String,
    /// A policy's state (`receiving`, `entitled_not_receiving`, `applying`,
    /// `not_eligible`, `unknown`); the housing's (`safe`, `needs_repair`,
    /// `dangerous`), water's (`safe`, `unsafe`, `seasonal_shortage`), road's
    /// (`paved`, `gravel`, `no_vehicle`) or heating's (`adequate`, `difficult`,
    /// `unsafe`) condition; the way to reach the family (`phone`, `wechat`,
    /// `in_person`, `relative`); a count (people at home, members ill); the
    /// income sources (`crops,migrant_work`, from `crops`, `livestock`,
    /// `local_work`, `migrant_work`, `business`, `pension`, `allowance`,
    /// `other`; `none`); or each disabled member's grade (`2,4`; `none`).
    pub value: String,
    /// The day an application started: with `applying` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date_opt"))]
    pub since: Option<NaiveDate>,
    /// By the clock of the device that made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime_opt"))]
    pub at: Option<DateTime<Utc>>,
    /// By the server's clock when it first stored it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime_opt"))]
    pub received_at: Option<DateTime<Utc>>,
    /// The visit it was made at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit_id: Option<Uuid>,
}

/// Why a ledger record could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError(pub &'static str);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl LedgerWire {
    fn of(field: &LedgerField, value: &LedgerValue) -> LedgerWire {
        LedgerWire { field: field.word(), value: value.word(), since: value.since(), ..LedgerWire::default() }
    }

    fn pair(&self) -> Result<(LedgerField, LedgerValue), WireError> {
        let field = LedgerField::parse(&self.field).ok_or(WireError("an unknown ledger field"))?;
        let value = LedgerValue::parse(&field, &self.value, self.since).ok_or(WireError("a value the field does not take"))?;
        Ok((field, value))
    }
}

fn need<T>(v: Option<T>, what: &'static str) -> Result<T, WireError> {
    v.ok_or(WireError(what))
}

fn none<T>(v: &Option<T>, what: &'static str) -> Result<(), WireError> {
    if v.is_some() { Err(WireError(what)) } else { Ok(()) }
}

impl TryFrom<LedgerWire> for VisitLedgerChange {
    type Error = WireError;
    fn try_from(w: LedgerWire) -> Result<Self, WireError> {
        none(&w.household_id, "household_id is the visit's")?;
        none(&w.at, "at is the visit's")?;
        none(&w.received_at, "received_at is the server's")?;
        none(&w.visit_id, "visit_id is the visit's")?;
        let (field, value) = w.pair()?;
        Ok(VisitLedgerChange { id: need(w.id, "id is missing")?, field, value })
    }
}

impl From<VisitLedgerChange> for LedgerWire {
    fn from(c: VisitLedgerChange) -> LedgerWire {
        LedgerWire { id: Some(c.id), ..LedgerWire::of(&c.field, &c.value) }
    }
}

impl TryFrom<LedgerWire> for LedgerNow {
    type Error = WireError;
    fn try_from(w: LedgerWire) -> Result<Self, WireError> {
        let (field, value) = w.pair()?;
        Ok(LedgerNow { field, value })
    }
}

impl From<LedgerNow> for LedgerWire {
    fn from(n: LedgerNow) -> LedgerWire {
        LedgerWire::of(&n.field, &n.value)
    }
}

impl TryFrom<LedgerWire> for NewLedgerChange {
    type Error = WireError;
    fn try_from(w: LedgerWire) -> Result<Self, WireError> {
        none(&w.received_at, "received_at is the server's")?;
        let (field, value) = w.pair()?;
        Ok(NewLedgerChange {
            id: need(w.id, "id is missing")?,
            household_id: need(w.household_id, "household_id is missing")?,
            field,
            value,
            at: need(w.at, "at is missing")?,
            visit_id: w.visit_id,
        })
    }
}

impl From<NewLedgerChange> for LedgerWire {
    fn from(c: NewLedgerChange) -> LedgerWire {
        LedgerWire {
            id: Some(c.id),
            household_id: Some(c.household_id),
            at: Some(c.at),
            visit_id: c.visit_id,
            ..LedgerWire::of(&c.field, &c.value)
        }
    }
}

impl TryFrom<LedgerWire> for LedgerChange {
    type Error = WireError;
    fn try_from(w: LedgerWire) -> Result<Self, WireError> {
        let (field, value) = w.pair()?;
        Ok(LedgerChange {
            id: need(w.id, "id is missing")?,
            household_id: need(w.household_id, "household_id is missing")?,
            field,
            value,
            at: need(w.at, "at is missing")?,
            received_at: need(w.received_at, "received_at is missing")?,
            visit_id: w.visit_id,
        })
    }
}

impl From<LedgerChange> for LedgerWire {
    fn from(c: LedgerChange) -> LedgerWire {
        LedgerWire {
            id: Some(c.id),
            household_id: Some(c.household_id),
            at: Some(c.at),
            received_at: Some(c.received_at),
            visit_id: c.visit_id,
            ..LedgerWire::of(&c.field, &c.value)
        }
    }
}

/// The OpenAPI document describes each as the wire form it travels in.
#[cfg(feature = "openapi")]
macro_rules! wire_schema {
    ($($t:ident),*) => {$(
        impl utoipa::PartialSchema for $t {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <LedgerWire as utoipa::PartialSchema>::schema()
            }
        }
        impl utoipa::ToSchema for $t {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($t))
            }
        }
    )*};
}

#[cfg(feature = "openapi")]
wire_schema!(LedgerChange, VisitLedgerChange, LedgerNow, NewLedgerChange);

impl LedgerField {
    /// Reads a field's word back (see [`LedgerField::word`]).
    pub fn parse(word: &str) -> Option<LedgerField> {
        Some(match word {
            "people_at_home" => LedgerField::PeopleAtHome,
            "housing" => LedgerField::Housing,
            "water" => LedgerField::Water,
            "chronic_ill" => LedgerField::ChronicIll,
            "serious_ill" => LedgerField::SeriousIll,
            "disability" => LedgerField::Disability,
            "income" => LedgerField::Income,
            "road" => LedgerField::Road,
            "heating" => LedgerField::Heating,
            "contact" => LedgerField::Contact,
            "livelihood" => LedgerField::Livelihood,
            "needs" => LedgerField::Needs,
            other => LedgerField::Policy(other.strip_prefix("policy:").filter(|k| valid_key(k))?.to_string()),
        })
    }

    /// The field as one word, as stored: `policy:<key>`, `people_at_home`,
    /// `housing` or `water`.
    pub fn word(&self) -> String {
        match self {
            LedgerField::Policy(key) => format!("policy:{key}"),
            LedgerField::PeopleAtHome => "people_at_home".into(),
            LedgerField::Housing => "housing".into(),
            LedgerField::Water => "water".into(),
            LedgerField::ChronicIll => "chronic_ill".into(),
            LedgerField::SeriousIll => "serious_ill".into(),
            LedgerField::Disability => "disability".into(),
            LedgerField::Income => "income".into(),
            LedgerField::Road => "road".into(),
            LedgerField::Heating => "heating".into(),
            LedgerField::Contact => "contact".into(),
            LedgerField::Livelihood => "livelihood".into(),
            LedgerField::Needs => "needs".into(),
        }
    }

    /// Whether the first ledger (migration 0014) had this field: policies,
    /// people at home, housing and water. The roster carries the others apart,
    /// where an app from before them does not look (see `RosterHousehold::facts`).
    pub fn in_first_version(&self) -> bool {
        matches!(self, LedgerField::Policy(_) | LedgerField::PeopleAtHome | LedgerField::Housing | LedgerField::Water)
    }

    /// Whether the roster carries it in `later` (see `RosterHousehold::later`):
    /// the fields after the profile's second version, livelihood and needs.
    pub fn in_later(&self) -> bool {
        matches!(self, LedgerField::Livelihood | LedgerField::Needs)
    }

    /// The field's name without the catalogue: a policy by its key.
    pub fn plain_name(&self, zh: bool) -> String {
        let (z, e) = match self {
            LedgerField::Policy(key) => return key.clone(),
            LedgerField::PeopleAtHome => ("在家人数", "People at home"),
            LedgerField::Housing => ("住房", "Housing"),
            LedgerField::Water => ("饮水", "Drinking water"),
            LedgerField::ChronicIll => ("慢性病人数", "Members with a chronic illness"),
            LedgerField::SeriousIll => ("大病人数", "Members with a serious illness"),
            LedgerField::Disability => ("持证残疾人", "Members with a disability certificate"),
            LedgerField::Income => ("收入来源", "Income sources"),
            LedgerField::Road => ("道路", "Road"),
            LedgerField::Heating => ("冬季取暖", "Winter heating"),
            LedgerField::Contact => ("联系方式", "How to reach them"),
            LedgerField::Livelihood => ("产业和务工", "Livelihood"),
            LedgerField::Needs => ("产业需求", "Needs"),
        };
        (if zh { z } else { e }).into()
    }

    /// The policy's key, for a policy's field.
    pub fn policy_key(&self) -> Option<&str> {
        match self {
            LedgerField::Policy(key) => Some(key),
            _ => None,
        }
    }
}

impl LedgerValue {
    /// Reads a value of `field` back from its word and an application's first day.
    pub fn parse(field: &LedgerField, word: &str, since: Option<NaiveDate>) -> Option<LedgerValue> {
        Some(match field {
            LedgerField::Policy(_) => LedgerValue::Policy(PolicyStatus { state: PolicyState::parse(word)?, applying_since: since }),
            LedgerField::PeopleAtHome | LedgerField::ChronicIll | LedgerField::SeriousIll => LedgerValue::Count(word.parse().ok()?),
            LedgerField::Housing => LedgerValue::Housing(Housing::parse(word)?),
            LedgerField::Water => LedgerValue::Water(Water::parse(word)?),
            LedgerField::Disability => LedgerValue::Disabilities(Disabilities::parse(word)?),
            LedgerField::Income => LedgerValue::Incomes(Incomes::parse(word)?),
            LedgerField::Road => LedgerValue::Road(Road::parse(word)?),
            LedgerField::Heating => LedgerValue::Heating(Heating::parse(word)?),
            LedgerField::Contact => LedgerValue::Contact(Contact::parse(word)?),
            LedgerField::Livelihood | LedgerField::Needs => LedgerValue::Picks(Picks::parse(word)?),
        })
    }

    /// A value as a form entered it: read back from its word and in the field's
    /// range (a count over [`MAX_PEOPLE_AT_HOME`] is no value).
    pub fn entered(field: &LedgerField, word: &str) -> Option<LedgerValue> {
        LedgerValue::parse(field, word, None).filter(|v| fits(field, v).is_ok())
    }

    /// An application's first day.
    pub fn since(&self) -> Option<NaiveDate> {
        match self {
            LedgerValue::Policy(status) => status.applying_since,
            _ => None,
        }
    }

    /// The value as one word, as the server's lists filter it: a policy's state,
    /// the housing's or water's condition, or the count.
    pub fn word(&self) -> String {
        match self {
            LedgerValue::Policy(status) => status.state.as_str().into(),
            LedgerValue::Count(n) => n.to_string(),
            LedgerValue::Housing(h) => h.as_str().into(),
            LedgerValue::Water(w) => w.as_str().into(),
            LedgerValue::Disabilities(d) => d.word(),
            LedgerValue::Incomes(i) => i.word(),
            LedgerValue::Road(r) => r.as_str().into(),
            LedgerValue::Heating(h) => h.as_str().into(),
            LedgerValue::Contact(c) => c.as_str().into(),
            LedgerValue::Picks(p) => p.word(),
        }
    }

    /// The value in words, as forms and downloads show it (a policy's state
    /// without its first day).
    pub fn label(&self, zh: bool) -> String {
        match self {
            LedgerValue::Policy(s) => (if zh { s.state.label_zh() } else { s.state.label_en() }).into(),
            LedgerValue::Count(n) => n.to_string(),
            LedgerValue::Housing(h) => (if zh { h.label_zh() } else { h.label_en() }).into(),
            LedgerValue::Water(w) => (if zh { w.label_zh() } else { w.label_en() }).into(),
            LedgerValue::Disabilities(d) => d.label(zh),
            LedgerValue::Incomes(i) => i.label(zh),
            LedgerValue::Road(r) => r.label(zh).into(),
            LedgerValue::Heating(h) => h.label(zh).into(),
            LedgerValue::Contact(c) => c.label(zh).into(),
            // Needs by their labels; livelihood kinds by key (see `describe` for their names).
            LedgerValue::Picks(p) => p.label(zh, |k| Need::parse(k).map(|n| n.label(zh).into())),
        }
    }
}

/// A change made at a visit, carried in the visit: its household, its visit and
/// its time are the visit's (so it uploads, exactly once, with the visit).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LedgerWire", into = "LedgerWire")]
pub struct VisitLedgerChange {
    /// Made on the phone (UUID v7).
    pub id: Uuid,
    pub field: LedgerField,
    pub value: LedgerValue,
}

impl VisitLedgerChange {
    /// The change as stored, made at `visit` (of `household`, saved at `at`).
    pub fn at_visit(&self, household_id: Uuid, visit_id: Uuid, at: DateTime<Utc>, received_at: DateTime<Utc>) -> LedgerChange {
        LedgerChange {
            id: self.id,
            household_id,
            field: self.field.clone(),
            value: self.value.clone(),
            at,
            received_at,
            visit_id: Some(visit_id),
        }
    }

    /// Whether the value fits its field, leaving the catalogue to the server.
    pub fn check_shape(&self) -> Result<(), LedgerError> {
        fits(&self.field, &self.value)?;
        match (&self.field, &self.value) {
            (LedgerField::Policy(key), LedgerValue::Policy(status)) if valid_key(key) => status.check(),
            (LedgerField::Policy(key), _) => Err(LedgerError::UnknownPolicy(key.clone())),
            _ => Ok(()),
        }
    }
}

/// A field's value now, as the roster carries it to the phone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LedgerWire", into = "LedgerWire")]
pub struct LedgerNow {
    pub field: LedgerField,
    pub value: LedgerValue,
}

/// A field and its value in words, as the console shows them and downloads
/// write them: a policy by its catalogue name (its key once no longer listed),
/// an application with its first day, housing and water by their labels.
pub fn describe(field: &LedgerField, value: &LedgerValue, catalogue: &Catalogue, zh: bool) -> (String, String) {
    let label = match (field, value) {
        (LedgerField::Livelihood, LedgerValue::Picks(p)) => {
            p.label(zh, |k| catalogue.item(ItemList::Livelihood, k).map(|i| i.name(zh).to_string()))
        }
        _ => value.label(zh),
    };
    let value = match (value.since(), zh) {
        (Some(d), true) => format!("{label}（自 {d} 起）"),
        (Some(d), false) => format!("{label} (since {d})"),
        (None, _) => label,
    };
    (field_name(field, catalogue, zh), value)
}

/// A field's name: a policy's from the catalogue (its key once no longer listed).
pub fn field_name(field: &LedgerField, catalogue: &Catalogue, zh: bool) -> String {
    match field {
        LedgerField::Policy(key) => catalogue
            .policy(key)
            .map_or_else(|| key.clone(), |p| if zh { p.name_zh.clone() } else { p.name_en.clone() }),
        other => other.plain_name(zh),
    }
}

/// The values a field takes, as (word, label), for a select; empty for a
/// count (typed as a number) and for the lists (income sources and
/// disabilities, one checkbox or count each).
pub fn value_choices(field: &LedgerField, zh: bool) -> Vec<(&'static str, &'static str)> {
    let pick = |z: &'static str, e: &'static str| if zh { z } else { e };
    match field {
        LedgerField::Policy(_) => PolicyState::ALL.iter().map(|s| (s.as_str(), pick(s.label_zh(), s.label_en()))).collect(),
        LedgerField::Housing => Housing::ALL.iter().map(|h| (h.as_str(), pick(h.label_zh(), h.label_en()))).collect(),
        LedgerField::Water => Water::ALL.iter().map(|w| (w.as_str(), pick(w.label_zh(), w.label_en()))).collect(),
        LedgerField::Road => Road::ALL.iter().map(|r| (r.as_str(), r.label(zh))).collect(),
        LedgerField::Heating => Heating::ALL.iter().map(|h| (h.as_str(), h.label(zh))).collect(),
        LedgerField::Contact => Contact::ALL.iter().map(|c| (c.as_str(), c.label(zh))).collect(),
        LedgerField::PeopleAtHome
        | LedgerField::ChronicIll
        | LedgerField::SeriousIll
        | LedgerField::Disability
        | LedgerField::Income
        | LedgerField::Livelihood
        | LedgerField::Needs => Vec::new(),
    }
}

/// What a phone shows for one household's ledger: the roster's values, with the
/// changes of its own visits not yet uploaded on top, oldest first (a later
/// visit's change to a field wins). One entry a field, in no particular order.
///
/// A list, not a map: a household has a few dozen fields, and collecting into
/// a `BTreeMap` compiled the standard library's sort into the phone's wasm
/// (3 KB), inserting into one its own 2 KB.
pub fn phone_values<'a>(
    roster: impl IntoIterator<Item = &'a LedgerNow>,
    waiting: impl IntoIterator<Item = &'a VisitLedgerChange>,
) -> Vec<(LedgerField, LedgerValue)> {
    let mut now: Vec<(LedgerField, LedgerValue)> = Vec::new();
    let pairs = roster.into_iter().map(|n| (&n.field, &n.value));
    for (field, value) in pairs.chain(waiting.into_iter().map(|c| (&c.field, &c.value))) {
        match now.iter_mut().find(|(f, _)| f == field) {
            Some(slot) => slot.1 = value.clone(),
            None => now.push((field.clone(), value.clone())),
        }
    }
    now
}

/// Records the member's choice for one field at a visit: a change of the visit
/// unless it is what the household already had (`before`), which takes it back
/// out, so "no change" leaves nothing to upload. A change to an application
/// already running keeps its first day (see [`PolicyStatus::mark`]).
pub fn choose(
    changes: &mut Vec<VisitLedgerChange>,
    before: Option<&LedgerValue>,
    field: LedgerField,
    value: LedgerValue,
    new_id: impl FnOnce() -> Uuid,
) {
    let at = changes.iter().position(|c| c.field == field);
    if before == Some(&value) {
        if let Some(i) = at {
            changes.remove(i);
        }
        return;
    }
    match at {
        Some(i) => changes[i].value = value,
        None => changes.push(VisitLedgerChange { id: new_id(), field, value }),
    }
}

impl Housing {
    pub fn label_zh(self) -> &'static str {
        match self {
            Housing::Safe => "住房安全",
            Housing::NeedsRepair => "需要维修",
            Housing::Dangerous => "危房",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Housing::Safe => "Safe",
            Housing::NeedsRepair => "Needs repair",
            Housing::Dangerous => "Dangerous",
        }
    }
}

impl Water {
    pub fn label_zh(self) -> &'static str {
        match self {
            Water::Safe => "饮水安全",
            Water::Unsafe => "饮水不安全",
            Water::SeasonalShortage => "季节性缺水",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Water::Safe => "Safe",
            Water::Unsafe => "Unsafe",
            Water::SeasonalShortage => "Seasonal shortage",
        }
    }
}

/// A change as a phone or the console sends it; the server adds when it got it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LedgerWire", into = "LedgerWire")]
pub struct NewLedgerChange {
    /// Made on the device (UUID v7).
    pub id: Uuid,
    pub household_id: Uuid,
    pub field: LedgerField,
    pub value: LedgerValue,
    /// By the device's clock.
    pub at: DateTime<Utc>,
    /// The visit it was made at; none for a coordinator's correction.
    #[serde(default)]
    pub visit_id: Option<Uuid>,
}

impl NewLedgerChange {
    /// The change as stored, received by the server at `received_at`.
    pub fn received(self, received_at: DateTime<Utc>) -> LedgerChange {
        LedgerChange {
            id: self.id,
            household_id: self.household_id,
            field: self.field,
            value: self.value,
            at: self.at,
            received_at,
            visit_id: self.visit_id,
        }
    }
}

/// Most changes one upload may carry.
pub const MAX_LEDGER_BATCH: usize = 500;

/// One upload of ledger changes from a device's outbox (answered, like visits,
/// with one receipt per change, in order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LedgerBatch {
    pub device_id: Uuid,
    pub changes: Vec<NewLedgerChange>,
}

/// One stored change with who made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerEntry {
    pub change: LedgerChange,
    pub by_name: String,
}

/// A household's ledger: each field's current value and every change, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdLedger {
    pub household_id: Uuid,
    /// The current change of each field, in field order.
    pub current: Vec<LedgerEntry>,
    pub history: Vec<LedgerEntry>,
}

impl HouseholdLedger {
    /// The ledger of a household from all its changes (in any order).
    pub fn of(household_id: Uuid, mut history: Vec<LedgerEntry>) -> HouseholdLedger {
        let changes: Vec<LedgerChange> = history.iter().map(|e| e.change.clone()).collect();
        let now = current(&changes);
        let mut current_entries: Vec<LedgerEntry> = now
            .values()
            .filter_map(|c| history.iter().find(|e| e.change.id == c.id).cloned())
            .collect();
        current_entries.sort_by(|a, b| a.change.field.cmp(&b.change.field));
        history.sort_by(|a, b| (b.change.effective_at(), b.change.id).cmp(&(a.change.effective_at(), a.change.id)));
        HouseholdLedger { household_id, current: current_entries, history }
    }
}

/// One policy's households in an area: 应享未享 (entitled, not receiving, not
/// yet applying), applying, and of those overdue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyGapCount {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub entitled_not_receiving: u64,
    pub applying: u64,
    pub overdue: u64,
}

/// A household with a gap for one policy, as the coordinators' list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GapHousehold {
    pub household_id: Uuid,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub policy_key: String,
    pub state: PolicyState,
    #[serde(default)]
    pub applying_since: Option<NaiveDate>,
    pub overdue: bool,
}

/// The 应享未享 report of an area: counts per policy of the catalogue (active
/// ones, in catalogue order) and the households, overdue applications first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyGaps {
    pub policies: Vec<PolicyGapCount>,
    pub households: Vec<GapHousehold>,
}

impl GapHousehold {
    /// Overdue applications first (oldest first), then 应享未享, each by doorplate.
    pub fn sort(list: &mut [GapHousehold]) {
        list.sort_by(|a, b| {
            (!a.overdue, a.state != PolicyState::Applying, a.applying_since, &a.address, &a.policy_key)
                .cmp(&(!b.overdue, b.state != PolicyState::Applying, b.applying_since, &b.address, &b.policy_key))
        });
    }
}

/// The current value of each field of one household's ledger, from all its
/// changes in any order: per field the latest by [`LedgerChange::effective_at`],
/// ties broken by the change's id, so every server and phone agrees. The
/// changes themselves are the history and are all kept.
pub fn current(changes: &[LedgerChange]) -> BTreeMap<LedgerField, &LedgerChange> {
    let mut now: BTreeMap<LedgerField, &LedgerChange> = BTreeMap::new();
    for change in changes {
        let later = |held: &&LedgerChange| (change.effective_at(), change.id) > (held.effective_at(), held.id);
        match now.get(&change.field) {
            Some(held) if !later(held) => {}
            _ => {
                now.insert(change.field.clone(), change);
            }
        }
    }
    now
}

#[cfg(test)]
mod tests {

    #[test]
    fn profile_facts_travel_as_words_and_refuse_values_of_another_field() {
        use crate::profile::{Contact, Disabilities, Income, Incomes, Road};
        let pairs = [
            (LedgerField::ChronicIll, LedgerValue::Count(2), "chronic_ill", "2"),
            (LedgerField::Disability, LedgerValue::Disabilities(Disabilities::of([3, 1]).unwrap()), "disability", "1,3"),
            (LedgerField::Income, LedgerValue::Incomes(Incomes::of([Income::Pension, Income::Crops])), "income", "crops,pension"),
            (LedgerField::Road, LedgerValue::Road(Road::Gravel), "road", "gravel"),
            (LedgerField::Contact, LedgerValue::Contact(Contact::Relative), "contact", "relative"),
        ];
        for (field, value, field_word, value_word) in pairs {
            let now = LedgerNow { field: field.clone(), value: value.clone() };
            let json = serde_json::to_value(&now).unwrap();
            assert_eq!(json, serde_json::json!({ "field": field_word, "value": value_word }));
            assert_eq!(serde_json::from_value::<LedgerNow>(json).unwrap(), now);
            assert!(!field.in_first_version(), "{field_word}");
            let visit = VisitLedgerChange { id: Uuid::from_u128(9), field: field.clone(), value: value.clone() };
            assert_eq!(visit.check_shape(), Ok(()));
        }
        // A road's word where the heating belongs, a grade 5, too many ill.
        let wrong = VisitLedgerChange { id: Uuid::from_u128(9), field: LedgerField::Heating, value: LedgerValue::Road(Road::Paved) };
        assert_eq!(wrong.check_shape(), Err(LedgerError::OutOfRange(LedgerField::Heating)));
        assert_eq!(LedgerError::OutOfRange(LedgerField::Heating).message(true), "“冬季取暖”的值不在允许的范围内");
        let bad = serde_json::json!({ "id": Uuid::from_u128(9), "field": "disability", "value": "5" });
        assert!(serde_json::from_value::<VisitLedgerChange>(bad).is_err());
        let many = VisitLedgerChange { id: Uuid::from_u128(9), field: LedgerField::SeriousIll, value: LedgerValue::Count(31) };
        assert_eq!(many.check_shape(), Err(LedgerError::OutOfRange(LedgerField::SeriousIll)));
        assert!(LedgerField::Housing.in_first_version() && LedgerField::Policy("dibao".into()).in_first_version());
    }

    #[test]
    fn every_profile_field_has_a_name_and_a_way_to_enter_it() {
        let c = Catalogue::demo();
        for field in PROFILE_FIELDS {
            assert_eq!(LedgerField::parse(&field.word()), Some(field.clone()));
            assert!(!field_name(&field, &c, false).contains(|ch: char| !ch.is_ascii()), "{field:?}");
            for (word, label) in value_choices(&field, true) {
                assert!(LedgerValue::parse(&field, word, None).is_some(), "{field:?} {word}");
                assert!(!label.is_empty());
            }
        }
        let (name, value) = describe(
            &LedgerField::Income,
            &LedgerValue::Incomes(crate::profile::Incomes::of([crate::profile::Income::MigrantWork])),
            &c,
            true,
        );
        assert_eq!((name.as_str(), value.as_str()), ("收入来源", "外出务工"));
    }

    #[test]
    fn each_field_offers_the_values_it_takes() {
        let housing = value_choices(&LedgerField::Housing, true);
        assert_eq!(housing.iter().map(|c| c.0).collect::<Vec<_>>(), ["safe", "needs_repair", "dangerous"]);
        for (word, _) in housing {
            assert!(LedgerValue::parse(&LedgerField::Housing, word, None).is_some(), "{word}");
        }
        let policy = LedgerField::Policy("dibao".into());
        assert_eq!(value_choices(&policy, false).len(), PolicyState::ALL.len());
        assert!(value_choices(&LedgerField::PeopleAtHome, true).is_empty());
    }

    #[test]
    fn fields_and_values_read_in_words_with_old_policies_by_their_key() {
        let c = Catalogue::demo();
        let applying = LedgerValue::Policy(PolicyStatus {
            state: PolicyState::Applying,
            applying_since: NaiveDate::from_ymd_opt(2026, 11, 2),
        });
        assert_eq!(
            describe(&LedgerField::Policy("dibao".into()), &applying, &c, true),
            ("低保".to_string(), "帮办代办（自 2026-11-02 起）".to_string())
        );
        assert_eq!(describe(&LedgerField::Housing, &LedgerValue::Housing(Housing::Dangerous), &c, false), ("Housing".into(), "Dangerous".into()));
        assert_eq!(describe(&LedgerField::PeopleAtHome, &LedgerValue::Count(3), &c, true).1, "3");
        let gone = LedgerValue::Policy(PolicyStatus { state: PolicyState::Receiving, applying_since: None });
        assert_eq!(describe(&LedgerField::Policy("old_key".into()), &gone, &c, true), ("old_key".into(), "已享受".into()));
    }
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
    }

    fn change(id: u128, field: LedgerField, value: LedgerValue, device: DateTime<Utc>, received: DateTime<Utc>) -> LedgerChange {
        LedgerChange { id: Uuid::from_u128(id), household_id: Uuid::from_u128(1), field, value, at: device, received_at: received, visit_id: None }
    }

    fn state(state: PolicyState) -> LedgerValue {
        LedgerValue::Policy(PolicyStatus { state, applying_since: None })
    }

    #[test]
    fn section_checklists_are_catalogue_lists_that_start_from_the_old_items() {
        use crate::kinds::{Item, ItemList, Local};
        let list = ItemList::ContactCheck;
        let keys = |c: &Catalogue| c.checklist(list, |_| false).iter().map(|i| i.key.clone()).collect::<Vec<_>>();
        let old: Catalogue = serde_json::from_str(r#"{"version":3,"policies":[]}"#).unwrap();
        assert_eq!(keys(&old), ["known_to_family", "contact_card", "preferred_contact"]);
        // A county adds an item: the defaults stay, a version is made, and the
        // item travels in `checks`, where an app that knows no checklists never looks.
        let item = Item {
            list, key: "photo_taken".into(), name_zh: "合影留念".into(), name_en: "Photo taken".into(),
            contact: String::new(), active: true, local: None,
        };
        let v4 = old.apply(&CatalogueChange::AddItem { item: item.clone() }).unwrap();
        assert_eq!(v4.version, 4);
        assert_eq!(keys(&v4), ["known_to_family", "contact_card", "preferred_contact", "photo_taken"]);
        let json = serde_json::to_value(&v4).unwrap();
        assert!(json.get("items").is_none() && json["checks"].as_array().unwrap().len() == 4, "{json}");
        assert_eq!(serde_json::from_value::<Catalogue>(json).unwrap(), v4);
        // Other sections' checklists are untouched; a tick is known or refused.
        assert_eq!(v4.kinds(ItemList::PolicyCheck).len(), 3);
        let ticks = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(v4.check_ticks(list, &ticks(&["photo_taken", "contact_card"])), Ok(()));
        assert_eq!(old.check_ticks(list, &ticks(&["photo_taken"])), Err(LedgerError::UnknownItem(list, "photo_taken".into())));
        assert_eq!(v4.check_ticks(ItemList::PolicyCheck, &ticks(&["photo_taken"])), Err(LedgerError::UnknownItem(ItemList::PolicyCheck, "photo_taken".into())));
        // Retired: off the checklist unless this visit ticked it, still taken
        // from a phone that had it, and named as it was in histories.
        let v5 = v4.apply(&CatalogueChange::RetireItem { list, key: "contact_card".into() }).unwrap();
        assert_eq!(keys(&v5), ["known_to_family", "preferred_contact", "photo_taken"]);
        assert_eq!(v5.checklist(list, |k| k == "contact_card").len(), 4);
        assert_eq!(v5.check_ticks(list, &ticks(&["contact_card"])), Ok(()));
        assert_eq!(
            v5.ticked_names(list, &ticks(&["photo_taken", "gone_key", "contact_card"]), true),
            "发放党群联系卡（含党员电话）、合影留念、gone_key"
        );
        assert_eq!(old.ticked_names(list, &ticks(&["contact_card"]), false), "Contact card with the member's phone handed over");
        // A village's own item applies below it alone; the county's defaults stay beside it.
        let village = Local { path: "/c/t/v/".into(), name: "村".into() };
        let own = Item { key: "flag".into(), local: Some(village), ..item };
        let v6 = old.apply(&CatalogueChange::AddItem { item: own }).unwrap();
        assert_eq!(v6.at("/c/t/v/g/").kinds(list).len(), 4);
        assert_eq!(v6.at("/c/t/w/").kinds(list).len(), 3);
        assert_eq!(v6.at("/c/t/w/").check_ticks(list, &ticks(&["flag"])), Err(LedgerError::UnknownItem(list, "flag".into())));
    }

    #[test]
    fn service_kinds_start_from_the_defaults_and_retire_without_losing_names() {
        use crate::kinds::{Item, ItemList, ServiceGiven};
        // A catalogue made before the lists (no items in its JSON) offers the five defaults.
        let old: Catalogue = serde_json::from_str(r#"{"version":3,"policies":[]}"#).unwrap();
        assert_eq!(old.kinds(ItemList::Service).iter().map(|k| k.key.as_str()).collect::<Vec<_>>(),
            ["schooling", "medical", "employment", "paperwork", "daily_care"]);
        let given = |k: &str| vec![ServiceGiven { kind: k.into(), note: "陪同就医".into() }];
        assert_eq!(old.check_services(&given("medical")), Ok(()));
        assert_eq!(old.check_services(&given("legal")), Err(LedgerError::UnknownItem(ItemList::Service, "legal".into())));
        // Adding a kind keeps the five (the first edit writes them out), and makes a version.
        let legal = Item {
            list: ItemList::Service, key: "legal".into(), name_zh: "法律咨询".into(), name_en: "Legal advice".into(),
            contact: String::new(), active: true, local: None,
        };
        let v4 = old.apply(&CatalogueChange::AddItem { item: legal.clone() }).unwrap();
        assert_eq!((v4.version, v4.kinds(ItemList::Service).len()), (4, 6));
        assert_eq!(v4.check_services(&given("legal")), Ok(()));
        assert_eq!(v4.apply(&CatalogueChange::AddItem { item: legal.clone() }), Err(LedgerError::DuplicateKey("legal".into())));
        // The same key in another list is another item.
        let crop = Item { list: ItemList::Livelihood, name_zh: "法律服务业".into(), ..legal.clone() };
        assert!(v4.apply(&CatalogueChange::AddItem { item: crop }).is_ok());
        // Retiring a default kind of a catalogue without items also keeps the rest.
        let v5 = v4.apply(&CatalogueChange::RetireItem { list: ItemList::Service, key: "medical".into() }).unwrap();
        assert_eq!(v5.check_services(&given("medical")), Err(LedgerError::RetiredItem(ItemList::Service, "medical".into())));
        assert_eq!(v5.item_name(ItemList::Service, "medical", true), "就医服务", "a retired kind keeps its name for history");
        let v4b = old.apply(&CatalogueChange::RetireItem { list: ItemList::Service, key: "schooling".into() }).unwrap();
        assert_eq!(v4b.kinds(ItemList::Service).iter().filter(|k| k.active).count(), 4);
        let v6 = v5.apply(&CatalogueChange::ReactivateItem { list: ItemList::Service, key: "medical".into() }).unwrap();
        assert_eq!(v6.check_services(&given("medical")), Ok(()));
        // An edit renames, keeps the item's state, and a contact belongs to help resources only.
        let renamed = Item { name_zh: "法律援助".into(), active: false, ..legal.clone() };
        let v7 = v6.apply(&CatalogueChange::EditItem { item: renamed }).unwrap();
        assert_eq!(v7.item(ItemList::Service, "legal").map(|i| (i.name_zh.as_str(), i.active)), Some(("法律援助", true)));
        let with_phone = Item { contact: "12348".into(), ..legal.clone() };
        assert_eq!(v7.apply(&CatalogueChange::EditItem { item: with_phone.clone() }), Err(LedgerError::BadContact));
        let lawyer = Item { list: ItemList::Technician, ..with_phone };
        assert!(v7.apply(&CatalogueChange::AddItem { item: lawyer }).is_ok());
        assert_eq!(
            v7.apply(&CatalogueChange::RetireItem { list: ItemList::Buyer, key: "legal".into() }),
            Err(LedgerError::UnknownItem(ItemList::Buyer, "legal".into()))
        );
        // Visit intervals are the county's too, each edit a version; a bad one is refused.
        use crate::groups::Intervals;
        let weekly = Intervals { groups: vec![(SpecialGroup::ElderlyAlone, 7)], ..Intervals::default() };
        let v8 = v7.apply(&CatalogueChange::SetIntervals { intervals: weekly.clone() }).unwrap();
        assert_eq!((v8.version, v8.intervals.days_for(&[SpecialGroup::ElderlyAlone])), (v7.version + 1, 7));
        assert!(serde_json::to_string(&v7).unwrap().find("intervals").is_none(), "the defaults are not written");
        let zero = Intervals { ordinary: 0, ..weekly };
        assert_eq!(v8.apply(&CatalogueChange::SetIntervals { intervals: zero }), Err(LedgerError::BadInterval));
        // The demo county ships kinds and resources; its JSON reads back the same.
        let demo = Catalogue::demo();
        assert!(demo.items(ItemList::Livelihood).count() >= 6 && demo.items(ItemList::Technician).count() >= 1);
        assert_eq!(serde_json::from_str::<Catalogue>(&serde_json::to_string(&demo).unwrap()).unwrap(), demo);
    }

    #[test]
    fn a_townships_own_entries_apply_below_it_and_only_it_changes_them() {
        use crate::kinds::{Item, ItemList, Local};
        let (county, town, village, other) = ("/c/", "/c/t1/", "/c/t1/v1/", "/c/t2/v9/g1/");
        let mine = Local { path: town.into(), name: "东乡镇".into() };
        let mut tea = Catalogue::demo().policies[0].clone();
        tea.key = "tea_award".into();
        tea.local = Some(mine.clone());
        let buyer = Item {
            list: ItemList::Buyer, key: "town_market".into(), name_zh: "镇农贸市场".into(), name_en: "Town market".into(),
            contact: "0571-1".into(), active: true, local: Some(mine.clone()),
        };
        let c = Catalogue::demo()
            .apply(&CatalogueChange::Add { policy: tea.clone() }).unwrap()
            .apply(&CatalogueChange::AddItem { item: buyer.clone() }).unwrap();
        // It applies in the township and below, not in another township.
        assert!(c.at(village).policy("tea_award").is_some() && c.at(village).item(ItemList::Buyer, "town_market").is_some());
        assert!(c.at(other).policy("tea_award").is_none() && c.at(other).item(ItemList::Buyer, "town_market").is_none());
        assert_eq!(c.at(other).policies.len(), 12, "the county's own stay");
        let status = PolicyStatus { state: PolicyState::Receiving, applying_since: None };
        assert_eq!(c.at(other).check_state("tea_award", &status), Err(LedgerError::UnknownPolicy("tea_award".into())));
        // The county sees it; a member of the village sees it; another township does not.
        assert!(c.seen_from(county).policy("tea_award").is_some());
        assert!(c.seen_from(village).policy("tea_award").is_some());
        assert!(c.seen_from("/c/t2/").policy("tea_award").is_none());
        // Who changes what: the township its own; a village not the township's; the county anything.
        let retire = CatalogueChange::Retire { key: "tea_award".into() };
        assert!(c.may_change(&retire, town, false) && c.may_change(&retire, county, true));
        assert!(!c.may_change(&retire, village, false));
        assert!(!c.may_change(&CatalogueChange::Retire { key: "dibao".into() }, town, false), "the county's own policies");
        assert!(!c.may_change(&CatalogueChange::SetIntervals { intervals: Default::default() }, town, false));
        assert!(c.may_change(&CatalogueChange::AddItem { item: buyer.clone() }, village, false), "anyone adds their own");
        assert!(c.may_change(&CatalogueChange::RetireItem { list: ItemList::Buyer, key: "town_market".into() }, town, false));
        // An edit keeps where the entry applies, whatever it sends.
        let moved = Policy { local: None, name_zh: "茶产业奖补".into(), ..tea };
        let edited = c.apply(&CatalogueChange::Edit { policy: moved }).unwrap();
        assert_eq!(edited.policy("tea_award").unwrap().local.as_ref(), Some(&mine));
    }

    #[test]
    fn each_edit_is_a_new_version_and_retired_policies_keep_their_names() {
        let v1 = Catalogue::demo();
        assert_eq!(v1.version, 1);
        assert_eq!(v1.policies.len(), 12);
        let mut ramp = v1.policy("dibao").unwrap().clone();
        ramp.key = "wuzhangai".into();
        ramp.name_zh = "无障碍改造".into();
        ramp.name_en = "Accessibility works".into();
        let v2 = v1.apply(&CatalogueChange::Add { policy: ramp.clone() }).unwrap();
        assert_eq!((v2.version, v2.policies.len()), (2, 13));
        let v3 = v2.apply(&CatalogueChange::Retire { key: "wuzhangai".into() }).unwrap();
        assert_eq!(v3.version, 3);
        let retired = v3.policy("wuzhangai").unwrap();
        assert!(!retired.active);
        assert_eq!(retired.name_zh, "无障碍改造", "a retired policy keeps its name for history and downloads");
        // Its key stays taken; nothing new is recorded for it; it comes back on reactivation.
        assert_eq!(v3.apply(&CatalogueChange::Add { policy: ramp }), Err(LedgerError::DuplicateKey("wuzhangai".into())));
        let applying = PolicyStatus { state: PolicyState::EntitledNotReceiving, applying_since: None };
        assert_eq!(v3.check_state("wuzhangai", &applying), Err(LedgerError::RetiredPolicy("wuzhangai".into())));
        let v4 = v3.apply(&CatalogueChange::Reactivate { key: "wuzhangai".into() }).unwrap();
        assert_eq!(v4.check_state("wuzhangai", &applying), Ok(()));
        // An edit renames but neither retires nor reactivates.
        let mut renamed = v3.policy("wuzhangai").unwrap().clone();
        renamed.name_zh = "适老化和无障碍改造".into();
        renamed.active = true;
        let v5 = v3.apply(&CatalogueChange::Edit { policy: renamed }).unwrap();
        assert_eq!(v5.policy("wuzhangai").map(|p| (p.name_zh.as_str(), p.active)), Some(("适老化和无障碍改造", false)));
    }

    #[test]
    fn bad_catalogue_edits_are_refused_whole() {
        let v1 = Catalogue::demo();
        let mut p = v1.policies[0].clone();
        for key in ["", "Dibao", "1st", "di-bao", &"x".repeat(41)] {
            p.key = key.into();
            assert_eq!(v1.apply(&CatalogueChange::Add { policy: p.clone() }), Err(LedgerError::BadKey(key.into())), "{key}");
        }
        p.key = "new_one".into();
        p.name_en = " ".into();
        assert_eq!(v1.apply(&CatalogueChange::Add { policy: p.clone() }), Err(LedgerError::BadName));
        p.name_en = "New".into();
        p.apply_days = 0;
        assert_eq!(v1.apply(&CatalogueChange::Add { policy: p.clone() }), Err(LedgerError::BadLimit));
        assert_eq!(v1.apply(&CatalogueChange::Retire { key: "nope".into() }), Err(LedgerError::UnknownPolicy("nope".into())));
        assert_eq!(v1.check_state("nope", &PolicyStatus { state: PolicyState::Receiving, applying_since: None }),
            Err(LedgerError::UnknownPolicy("nope".into())));
        assert!(LedgerError::BadLimit.message(true).contains("365"));
    }

    #[test]
    fn a_households_groups_bring_their_policies_first() {
        let c = Catalogue::demo();
        let (first, more) = c.for_household(&[SpecialGroup::ElderlyAlone]);
        assert_eq!(first.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(), ["tekun", "gaoling"]);
        assert_eq!(first.len() + more.len(), 12);
        let (none, all) = c.for_household(&[]);
        assert!(none.is_empty());
        assert_eq!(all.len(), 12);
    }

    #[test]
    fn an_application_starts_once_and_is_overdue_past_the_policys_limit() {
        let c = Catalogue::demo();
        let dibao = c.policy("dibao").unwrap();
        let started = PolicyStatus::mark(None, PolicyState::Applying, day(1));
        assert_eq!(started.applying_since, Some(day(1)));
        // Marked again at a later visit: still the first day.
        let again = PolicyStatus::mark(Some(&started), PolicyState::Applying, day(20));
        assert_eq!(again.applying_since, Some(day(1)));
        assert!(!again.overdue(dibao, day(30)), "30 days allowed");
        assert!(again.overdue(dibao, NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()));
        assert!(again.is_gap());
        // Received: no date, never overdue, out of the 应享未享 list.
        let done = PolicyStatus::mark(Some(&again), PolicyState::Receiving, day(25));
        assert_eq!(done, PolicyStatus { state: PolicyState::Receiving, applying_since: None });
        assert!(!done.overdue(dibao, day(29)) && !done.is_gap());
        // A date only with an application.
        assert_eq!(c.check_state("dibao", &PolicyStatus { state: PolicyState::Applying, applying_since: None }), Err(LedgerError::BadApplyingDate));
        assert_eq!(c.check_state("dibao", &PolicyStatus { state: PolicyState::Receiving, applying_since: Some(day(1)) }), Err(LedgerError::BadApplyingDate));
    }

    #[test]
    fn values_must_fit_their_field() {
        let c = Catalogue::demo();
        let ok = change(1, LedgerField::PeopleAtHome, LedgerValue::Count(3), at(1, 8), at(1, 9));
        assert_eq!(ok.check(&c), Ok(()));
        let too_many = change(2, LedgerField::PeopleAtHome, LedgerValue::Count(31), at(1, 8), at(1, 9));
        assert_eq!(too_many.check(&c), Err(LedgerError::OutOfRange(LedgerField::PeopleAtHome)));
        let crossed = change(3, LedgerField::Housing, LedgerValue::Water(Water::Safe), at(1, 8), at(1, 9));
        assert_eq!(crossed.check(&c), Err(LedgerError::OutOfRange(LedgerField::Housing)));
        let unknown = change(4, LedgerField::Policy("nope".into()), state(PolicyState::Receiving), at(1, 8), at(1, 9));
        assert_eq!(unknown.check(&c), Err(LedgerError::UnknownPolicy("nope".into())));
        // The wire shape, as phones and the server write it.
        let text = serde_json::to_string(&ok).unwrap();
        assert!(text.contains(r#""field":"people_at_home","value":"3""#), "{text}");
        assert_eq!(serde_json::from_str::<LedgerChange>(&text).unwrap(), ok);
        let applying = VisitLedgerChange {
            id: Uuid::from_u128(5),
            field: LedgerField::Policy("dibao".into()),
            value: LedgerValue::Policy(PolicyStatus { state: PolicyState::Applying, applying_since: Some(day(2)) }),
        };
        let text = serde_json::to_string(&applying).unwrap();
        assert_eq!(text, r#"{"id":"00000000-0000-0000-0000-000000000005","field":"policy:dibao","value":"applying","since":"2026-11-02"}"#);
        assert_eq!(serde_json::from_str::<VisitLedgerChange>(&text).unwrap(), applying);
        // Refused as JSON: a value its field does not take, an unknown field or
        // key, what the visit itself says, an unknown property.
        for bad in [
            r#"{"id":"00000000-0000-0000-0000-000000000005","field":"water","value":"needs_repair"}"#,
            r#"{"id":"00000000-0000-0000-0000-000000000005","field":"roof","value":"safe"}"#,
            r#"{"id":"00000000-0000-0000-0000-000000000005","field":"policy:Bad Key","value":"receiving"}"#,
            r#"{"id":"00000000-0000-0000-0000-000000000005","field":"housing","value":"safe","at":"2026-11-02T00:00:00Z"}"#,
            r#"{"id":"00000000-0000-0000-0000-000000000005","field":"housing","value":"safe","extra":1}"#,
            r#"{"field":"housing","value":"safe"}"#,
        ] {
            assert!(serde_json::from_str::<VisitLedgerChange>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_latest_change_by_device_time_wins_each_field_in_any_order() {
        let housing = |id, v, device, received| change(id, LedgerField::Housing, LedgerValue::Housing(v), device, received);
        // Two members linked to one household (一联多), offline on different days, and a coordinator.
        let a = housing(10, Housing::Safe, at(3, 9), at(5, 8)); // member A, uploaded late
        let b = housing(11, Housing::NeedsRepair, at(4, 9), at(4, 10)); // member B, the later visit
        let water = change(12, LedgerField::Water, LedgerValue::Water(Water::Unsafe), at(2, 9), at(2, 9));
        for order in [vec![a.clone(), b.clone(), water.clone()], vec![b.clone(), water.clone(), a.clone()], vec![water.clone(), a.clone(), b.clone()]] {
            let now = current(&order);
            assert_eq!(now[&LedgerField::Housing].id, b.id, "B visited later, whatever arrived first");
            assert_eq!(now[&LedgerField::Water].id, water.id, "fields merge separately");
        }
        // The same moment: the larger id wins, everywhere alike.
        let tie = housing(9, Housing::Dangerous, at(4, 9), at(4, 9));
        assert_eq!(current(&[tie.clone(), b.clone()])[&LedgerField::Housing].id, b.id);
        assert_eq!(current(&[b.clone(), tie])[&LedgerField::Housing].id, b.id);
        // A phone whose clock said next year counts at the server's time instead.
        let skewed = housing(13, Housing::Dangerous, Utc.with_ymd_and_hms(2027, 11, 3, 9, 0, 0).unwrap(), at(3, 12));
        assert_eq!(skewed.effective_at(), at(3, 12));
        assert_eq!(current(&[skewed.clone(), b.clone()])[&LedgerField::Housing].id, b.id);
        // Before the upload, however long, the device's time stands.
        let close = housing(14, Housing::Dangerous, at(5, 9), at(9, 8));
        assert_eq!(close.effective_at(), at(5, 9));
        assert_eq!(current(&[close.clone(), b])[&LedgerField::Housing].id, close.id);
    }

    #[test]
    fn a_households_ledger_shows_each_fields_latest_and_the_history_newest_first() {
        let entry = |id: u128, field: LedgerField, value: LedgerValue, h: u32| LedgerEntry {
            change: change(id, field, value, at(3, h), at(9, 0)),
            by_name: format!("m{id}"),
        };
        let l = HouseholdLedger::of(
            Uuid::from_u128(1),
            vec![
                entry(1, LedgerField::Housing, LedgerValue::Housing(Housing::Safe), 8),
                entry(2, LedgerField::Policy("dibao".into()), state(PolicyState::Receiving), 9),
                entry(3, LedgerField::Housing, LedgerValue::Housing(Housing::NeedsRepair), 10),
            ],
        );
        let ids = |v: &[LedgerEntry]| v.iter().map(|e| e.change.id.as_u128()).collect::<Vec<_>>();
        assert_eq!(ids(&l.current), [2, 3], "one entry a field, in field order");
        assert_eq!(ids(&l.history), [3, 2, 1]);
        assert_eq!(LedgerField::Policy("dibao".into()).word(), "policy:dibao");
        assert_eq!(LedgerValue::Housing(Housing::NeedsRepair).word(), "needs_repair");
    }

    #[test]
    fn gap_lists_put_overdue_applications_first() {
        let gap = |n: u128, state: PolicyState, since: Option<u32>, overdue: bool| GapHousehold {
            household_id: Uuid::from_u128(n),
            head_name: String::new(),
            address: format!("{n}号"),
            grid_name: String::new(),
            policy_key: "dibao".into(),
            state,
            applying_since: since.map(day),
            overdue,
        };
        let mut list = vec![
            gap(1, PolicyState::EntitledNotReceiving, None, false),
            gap(2, PolicyState::Applying, Some(20), false),
            gap(3, PolicyState::Applying, Some(2), true),
            gap(4, PolicyState::Applying, Some(10), false),
        ];
        GapHousehold::sort(&mut list);
        let order: Vec<u128> = list.iter().map(|g| g.household_id.as_u128()).collect();
        assert_eq!(order, [3, 4, 2, 1]);
    }

    #[test]
    fn choosing_what_the_household_had_takes_the_change_back() {
        let before = state(PolicyState::Receiving);
        let mut changes = Vec::new();
        let field = LedgerField::Policy("dibao".into());
        let mut n = 0u128;
        let mut id = || {
            n += 1;
            Uuid::from_u128(n)
        };
        choose(&mut changes, Some(&before), field.clone(), state(PolicyState::EntitledNotReceiving), &mut id);
        assert_eq!(changes.len(), 1);
        // Chosen again: the same change, its value replaced, its id kept.
        choose(&mut changes, Some(&before), field.clone(), state(PolicyState::NotEligible), &mut id);
        assert_eq!((changes.len(), changes[0].id), (1, Uuid::from_u128(1)));
        assert_eq!(changes[0].value, state(PolicyState::NotEligible));
        // Back to what it was: nothing to upload.
        choose(&mut changes, Some(&before), field, before.clone(), &mut id);
        assert!(changes.is_empty());
        // A field never recorded takes any value as a change.
        choose(&mut changes, None, LedgerField::Housing, LedgerValue::Housing(Housing::Safe), &mut id);
        assert_eq!(changes.len(), 1);
        let roster = [LedgerNow { field: LedgerField::Housing, value: LedgerValue::Housing(Housing::Dangerous) }];
        let shown = phone_values(&roster, changes.iter());
        assert_eq!(shown, [(LedgerField::Housing, LedgerValue::Housing(Housing::Safe))], "the phone's own change on top");
    }
}
