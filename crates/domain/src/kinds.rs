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
    }
}
labelled!(ItemList:
    Service => "服务类别", "Service kinds";
    Livelihood => "产业类别", "Livelihood kinds";
    Technician => "技术人员", "Technicians";
    Cooperative => "合作社", "Cooperatives";
    Buyer => "助销企业", "Buyers";
    Fund => "资金帮扶", "Funds";
);

impl ItemList {
    /// Whether its items are help resources (a need is matched with them); those carry a contact.
    pub fn is_resource(self) -> bool {
        !matches!(self, ItemList::Service | ItemList::Livelihood)
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
