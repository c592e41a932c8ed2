//! The catalogue's lists beside its policies (issue 17): the kinds of service
//! a member gives at a visit (就学, 就医, …), the kinds of livelihood a family
//! lives from, and the help resources a need is matched with (technicians,
//! cooperatives, buyers, funds, each with a contact). Like policies they are
//! the county's data, one version per edit, retired and never deleted, so a
//! stored visit keeps the names it was made with.
//!
//! And what a visit records of them: the services given ([`ServiceGiven`]).
//!
//! A township or village may add entries of its own ([`Local`]): they apply
//! to the households below it, and only it changes them.

use serde::{Deserialize, Serialize};

/// Longest note on a service given, in characters: a line, not a report.
pub const MAX_SERVICE_NOTE_CHARS: usize = 100;
/// Most services one visit records (one of each kind is the usual most).
pub const MAX_SERVICES: usize = 20;
/// Longest key of a policy or an item, in characters.
pub const MAX_KEY_CHARS: usize = 40;
/// Longest contact of a help resource.
pub const MAX_CONTACT_CHARS: usize = 60;

named_enum! {
    /// Which list of the catalogue an item belongs to.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum ItemList {
        /// 服务类别: what a member does for the family at a visit.
        Service = "service",
        /// 产业类别: what the family grows, raises or works at.
        Livelihood = "livelihood",
        /// 科技特派员 and other technicians.
        Technician = "technician",
        /// 合作社.
        Cooperative = "cooperative",
        /// 助销企业: buyers.
        Buyer = "buyer",
        /// 金融、资金: loans and funds.
        Fund = "fund",
        /// The checklist of 党员联系到户 (精准服务's is the service kinds).
        ContactCheck = "contact_check",
        /// The checklist of 民情走访到户.
        SentimentCheck = "sentiment_check",
        /// The checklist of 政策落实到户.
        PolicyCheck = "policy_check",
        /// The checklist of 产业对接到户.
        MatchupCheck = "matchup_check",
    }
}
labelled!(ItemList:
    Service => "服务类别", "Service kinds";
    Livelihood => "产业类别", "Livelihood kinds";
    Technician => "技术人员", "Technicians";
    Cooperative => "合作社", "Cooperatives";
    Buyer => "助销企业", "Buyers";
    Fund => "资金帮扶", "Funds";
    ContactCheck => "党员联系到户事项", "Member contact checklist";
    SentimentCheck => "民情走访到户事项", "Sentiment visit checklist";
    PolicyCheck => "政策落实到户事项", "Policy delivered checklist";
    MatchupCheck => "产业对接到户事项", "Industry matchup checklist";
);

impl ItemList {
    /// Whether its items are help resources (a need is matched with them); those carry a contact.
    pub fn is_resource(self) -> bool {
        matches!(self, ItemList::Technician | ItemList::Cooperative | ItemList::Buyer | ItemList::Fund)
    }

    /// Whether it is a section's checklist: kept apart in the catalogue
    /// (`Catalogue::checks`), where an app that knows no such list never reads it.
    pub fn is_check(self) -> bool {
        matches!(self, ItemList::ContactCheck | ItemList::SentimentCheck | ItemList::PolicyCheck | ItemList::MatchupCheck)
    }

    /// The entries a catalogue without its own has in this list: the items the
    /// five sections have always listed (none for livelihood and resources).
    pub fn defaults(self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self {
            ItemList::Service => &DEFAULT_SERVICES,
            ItemList::ContactCheck => MEMBER_CONTACT,
            ItemList::SentimentCheck => SENTIMENT_VISIT,
            ItemList::PolicyCheck => POLICY_DELIVERED,
            ItemList::MatchupCheck => INDUSTRY_MATCHUP,
            _ => &[],
        }
    }
}

/// The unit a township's or village's own catalogue entry applies below: its
/// path (`/<county>/<township>/…/`) and its name when the entry was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Local {
    pub path: String,
    pub name: String,
}

impl Local {
    /// Whether the entry applies at a unit of this path (the unit itself or one below it).
    pub fn applies_at(&self, path: &str) -> bool {
        path.starts_with(&self.path)
    }
}

/// Whether an entry (county-wide, or local) applies at `path`.
pub fn applies(local: Option<&Local>, path: &str) -> bool {
    local.is_none_or(|l| l.applies_at(path))
}

/// Whether someone at `path` sees an entry: county-wide, of a unit above or at
/// theirs (it applies to them), or of one below (theirs to oversee).
pub fn seen(local: Option<&Local>, path: &str) -> bool {
    local.is_none_or(|l| l.applies_at(path) || l.path.starts_with(path))
}

/// One entry of a list: a kind of service or livelihood, or a help resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Item {
    pub list: ItemList,
    /// Stable key within its list, like a policy's: lowercase ASCII letters, digits and `_`.
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    /// A help resource's contact (a person and a phone number); empty for kinds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub contact: String,
    /// Retired items stay for history; no new visit may record them.
    pub active: bool,
    /// A township's or village's own entry (none: the county's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<Local>,
}

impl Item {
    /// Its name in Chinese (`zh`) or English.
    pub fn name(&self, zh: bool) -> &str {
        if zh { &self.name_zh } else { &self.name_en }
    }
}

/// The service kinds a catalogue without its own starts with: the items the
/// 精准服务 section has always listed (their keys are the checklist's).
pub const DEFAULT_SERVICES: [(&str, &str, &str); 5] = [
    ("schooling", "就学服务", "Schooling"),
    ("medical", "就医服务", "Medical care"),
    ("employment", "就业服务", "Employment"),
    ("paperwork", "代办事项", "Paperwork done on the family's behalf"),
    ("daily_care", "生活照料", "Daily care"),
];

// The checklists of the other four sections as they were fixed in code
// before the catalogue held them: (key, Chinese, English).
const MEMBER_CONTACT: &[(&str, &str, &str)] = &[
    ("known_to_family", "家人认识联户党员", "The family knows the member"),
    ("contact_card", "发放党群联系卡（含党员电话）", "Contact card with the member's phone handed over"),
    ("preferred_contact", "问清家人希望的联系方式", "Asked how the family prefers to be reached"),
];

const SENTIMENT_VISIT: &[(&str, &str, &str)] = &[
    ("family_facts", "了解家庭基本情况（在家人数、健康、收入来源）", "Family facts: people at home, health, income"),
    ("housing_safe", "查看住房安全", "Housing safety checked"),
    ("drinking_water", "了解饮水情况", "Drinking water checked"),
    ("road_access", "了解出行道路", "Road access checked"),
    ("winter_heating", "了解冬季取暖", "Winter heating checked"),
    ("urgent_needs", "听取急难愁盼问题和意见", "Urgent problems and opinions heard"),
];

const POLICY_DELIVERED: &[(&str, &str, &str)] = &[
    ("entitlements_checked", "核对应享政策是否享受", "Entitled policies checked against those received"),
    ("policy_card", "发放政策明白卡", "Policy card handed over"),
    ("help_apply", "帮办代办申请", "Helped to apply"),
];

const INDUSTRY_MATCHUP: &[(&str, &str, &str)] = &[
    ("livelihood", "了解种养殖和务工情况", "What the family grows, raises or works at"),
    ("needs", "了解技术、资金、市场、就业需求", "Needs: technique, funds, market, jobs"),
    ("matched", "对接科技特派员、合作社或助销企业", "Matched with a technician, cooperative or buyer"),
];

/// One service a member gave the family at a visit: its kind (a key of the
/// catalogue's service list) and a short note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ServiceGiven {
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

/// How many services of one kind were given in a period, for the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceCount {
    pub kind: String,
    /// The kind's name in the county's catalogue now (its key when the catalogue has no such kind).
    pub name_zh: String,
    pub name_en: String,
    pub services: i64,
    /// Households that were given at least one.
    pub households: i64,
}

/// Whether a key has the catalogue's shape: lowercase ASCII letters, digits and
/// `_`, not starting with a digit, at most [`MAX_KEY_CHARS`].
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_KEY_CHARS
        && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !key.as_bytes()[0].is_ascii_digit()
}

/// Turns a service on or off in a visit's list, keeping the order it was
/// given in and one entry a kind (turning one off drops its note).
pub fn set_service(services: &mut Vec<ServiceGiven>, kind: &str, on: bool) {
    let has = services.iter().any(|s| s.kind == kind);
    if on && !has {
        services.push(ServiceGiven { kind: kind.into(), note: String::new() });
    } else if !on {
        services.retain(|s| s.kind != kind);
    }
}

/// The services a visit gave, as reports count them: `services`, then each
/// 精准服务 checklist tick not among them (an older app's visit has only
/// those), each kind once, without a note.
pub fn with_ticks<'a>(services: &[ServiceGiven], ticks: impl IntoIterator<Item = &'a String>) -> Vec<ServiceGiven> {
    let mut all = services.to_vec();
    for key in ticks {
        set_service(&mut all, key, true);
    }
    all
}

/// Whether a visit's services hold together on their own (the catalogue is
/// checked apart, by the server): at most [`MAX_SERVICES`], a kind once,
/// keys of the catalogue's shape and short notes.
pub fn services_fit(services: &[ServiceGiven]) -> bool {
    services.len() <= MAX_SERVICES
        && services.iter().enumerate().all(|(i, s)| {
            valid_key(&s.kind)
                && s.note.chars().count() <= MAX_SERVICE_NOTE_CHARS
                && !services[..i].iter().any(|o| o.kind == s.kind)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_is_listed_once_in_the_order_given_and_off_drops_its_note() {
        let mut s = Vec::new();
        set_service(&mut s, "medical", true);
        set_service(&mut s, "schooling", true);
        set_service(&mut s, "medical", true);
        assert_eq!(s.iter().map(|x| x.kind.as_str()).collect::<Vec<_>>(), ["medical", "schooling"]);
        s[0].note = "陪同去县医院复查".into();
        set_service(&mut s, "medical", false);
        set_service(&mut s, "medical", true);
        assert_eq!(s[1], ServiceGiven { kind: "medical".into(), note: String::new() });
    }

    #[test]
    fn services_that_do_not_fit_are_caught() {
        let one = |k: &str, n: &str| ServiceGiven { kind: k.into(), note: n.into() };
        assert!(services_fit(&[one("medical", "复查"), one("schooling", "")]));
        assert!(!services_fit(&[one("medical", ""), one("medical", "again")]), "a kind twice");
        assert!(!services_fit(&[one("Medical", "")]), "not a key");
        assert!(!services_fit(&[one("medical", &"字".repeat(MAX_SERVICE_NOTE_CHARS + 1))]));
        assert!(services_fit(&[one("medical", &"字".repeat(MAX_SERVICE_NOTE_CHARS))]));
        let many: Vec<_> = (0..=MAX_SERVICES).map(|i| one(&format!("k{i}"), "")).collect();
        assert!(!services_fit(&many));
    }

    #[test]
    fn lists_have_names_and_labels_in_both_languages() {
        for list in ItemList::ALL {
            assert_eq!(ItemList::parse(list.as_str()), Some(list));
            assert!(!list.label(true).is_empty() && !list.label(false).is_empty());
        }
        assert!(ItemList::Buyer.is_resource() && !ItemList::Service.is_resource());
    }
}
