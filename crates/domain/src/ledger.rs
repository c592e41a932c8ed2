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
//! The server keeps each county's catalogue versions (`/api/catalogue`); the
//! ledger's changes and the visit's policy step are not wired yet.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::household::SpecialGroup;

/// Longest policy name, description and key, in characters.
pub const MAX_NAME_CHARS: usize = 40;
pub const MAX_DESCRIPTION_CHARS: usize = 400;
pub const MAX_KEY_CHARS: usize = 40;
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
}

/// A county's catalogue at one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Catalogue {
    /// 1 for the first catalogue; every change adds one.
    pub version: u32,
    pub policies: Vec<Policy>,
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
    OutOfRange(&'static str),
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
            (LedgerError::OutOfRange(what), true) => format!("{what}的值不在允许的范围内"),
            (LedgerError::OutOfRange(what), false) => format!("The value of {what} is out of range"),
        }
    }
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !key.as_bytes()[0].is_ascii_digit()
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

impl Catalogue {
    pub fn policy(&self, key: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.key == key)
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
                *slot = Policy { active: slot.active, ..policy.clone() };
            }
            CatalogueChange::Retire { key } | CatalogueChange::Reactivate { key } => {
                let slot = next.policies.iter_mut().find(|p| &p.key == key);
                let slot = slot.ok_or_else(|| LedgerError::UnknownPolicy(key.clone()))?;
                slot.active = matches!(change, CatalogueChange::Reactivate { .. });
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
        }
    }
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
pub struct PolicyStatus {
    pub state: PolicyState,
    /// The day the application started; only (and always) for `Applying`.
    #[serde(default)]
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
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "field", content = "key", rename_all = "snake_case")]
pub enum LedgerField {
    Policy(String),
    PeopleAtHome,
    Housing,
    Water,
}

/// A field's new value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum LedgerValue {
    Policy(PolicyStatus),
    Count(u8),
    Housing(Housing),
    Water(Water),
}

/// One change to a household's ledger, made at a visit or in the console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
        match (&self.field, &self.value) {
            (LedgerField::Policy(key), LedgerValue::Policy(status)) => catalogue.check_state(key, status),
            (LedgerField::PeopleAtHome, LedgerValue::Count(n)) if *n <= MAX_PEOPLE_AT_HOME => Ok(()),
            (LedgerField::PeopleAtHome, LedgerValue::Count(_)) => Err(LedgerError::OutOfRange("people at home")),
            (LedgerField::Housing, LedgerValue::Housing(_)) | (LedgerField::Water, LedgerValue::Water(_)) => Ok(()),
            (LedgerField::Policy(_), _) => Err(LedgerError::OutOfRange("a policy state")),
            (LedgerField::PeopleAtHome, _) => Err(LedgerError::OutOfRange("people at home")),
            (LedgerField::Housing, _) => Err(LedgerError::OutOfRange("housing")),
            (LedgerField::Water, _) => Err(LedgerError::OutOfRange("water")),
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
        assert_eq!(too_many.check(&c), Err(LedgerError::OutOfRange("people at home")));
        let crossed = change(3, LedgerField::Housing, LedgerValue::Water(Water::Safe), at(1, 8), at(1, 9));
        assert_eq!(crossed.check(&c), Err(LedgerError::OutOfRange("housing")));
        let unknown = change(4, LedgerField::Policy("nope".into()), state(PolicyState::Receiving), at(1, 8), at(1, 9));
        assert_eq!(unknown.check(&c), Err(LedgerError::UnknownPolicy("nope".into())));
        // The wire shape, as phones and the server write it.
        let text = serde_json::to_string(&ok).unwrap();
        assert!(text.contains(r#""field":{"field":"people_at_home"}"#) && text.contains(r#""value":{"kind":"count","value":3}"#), "{text}");
        assert_eq!(serde_json::from_str::<LedgerChange>(&text).unwrap(), ok);
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
}
