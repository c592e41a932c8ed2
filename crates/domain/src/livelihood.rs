//! 产业对接 (issue 17): what a family lives from, what it needs, and the
//! matchups that answer a need with a help resource of the catalogue.
//!
//! The family's livelihoods (kinds from the county's catalogue) and its needs
//! (technique, funds, market, jobs) are two fields of the household's ledger,
//! each a set of words ([`Picks`]), merged and kept with their history like
//! housing. A matchup is a record of its own, made by a coordinator in the
//! console: a need, a resource, the day and the outcome. A need is unmatched
//! until its latest matchup is under way or succeeded; a failed one leaves it
//! open again. The phone receives each household's latest matchups with its
//! roster.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kinds::{valid_key, ItemList};
use crate::profile::{labels, split, words};

/// Longest note on a matchup, in characters.
pub const MAX_MATCHUP_NOTE_CHARS: usize = 200;

named_enum! {
    /// A need the family has (技术、资金、市场、就业).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Need {
        Technique = "technique",
        Funds = "funds",
        Market = "market",
        Jobs = "jobs",
    }
}
labelled!(Need:
    Technique => "技术", "Technique";
    Funds => "资金", "Funds";
    Market => "销路", "Market";
    Jobs => "就业", "Jobs";
);

impl Need {
    /// Every need as (word, label), for a form's checkboxes.
    pub fn choices(zh: bool) -> Vec<(String, String)> {
        Need::ALL.iter().map(|n| (n.as_str().to_string(), n.label(zh).to_string())).collect()
    }

    /// The help resources that usually answer it, for the console's choice.
    pub fn resources(self) -> &'static [ItemList] {
        match self {
            Need::Technique => &[ItemList::Technician, ItemList::Cooperative],
            Need::Funds => &[ItemList::Fund, ItemList::Cooperative],
            Need::Market => &[ItemList::Buyer, ItemList::Cooperative],
            Need::Jobs => &[ItemList::Cooperative, ItemList::Buyer, ItemList::Technician],
        }
    }
}

/// A set of words picked from a list (the catalogue's livelihood kinds, or
/// the needs), in the list's order, each once. It travels as one word:
/// `grain,fish`, or `none`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Picks(Vec<String>);

impl Picks {
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|k| k == key)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The set with `key` added (`on`) or taken out, in `order` (a key no
    /// longer in `order`, a retired kind say, stays at the end).
    pub fn with<'a>(&self, key: &str, on: bool, order: impl IntoIterator<Item = &'a str>) -> Picks {
        let picked = |k: &str| if k == key { on } else { self.has(k) };
        let mut out: Vec<String> = Vec::new();
        let mut take = |k: &str| {
            if picked(k) && !out.iter().any(|o| o == k) {
                out.push(k.to_string());
            }
        };
        order.into_iter().for_each(&mut take);
        self.keys().for_each(&mut take);
        take(key);
        Picks(out)
    }

    /// `grain,fish`, or `none`.
    pub fn word(&self) -> String {
        words(self.0.iter())
    }

    /// Reads a word back: keys of the catalogue's shape, each once.
    pub fn parse(word: &str) -> Option<Picks> {
        let mut out: Vec<String> = Vec::new();
        for part in split(word)? {
            if !valid_key(part) || out.iter().any(|o| o == part) {
                return None;
            }
            out.push(part.to_string());
        }
        Some(Picks(out))
    }

    /// The needs it holds, when every word is a need.
    pub fn needs(&self) -> Option<Vec<Need>> {
        self.keys().map(Need::parse).collect()
    }

    /// The picks by name: `name(key)` gives each key's (its key when it has none).
    pub fn label(&self, zh: bool, name: impl Fn(&str) -> Option<String>) -> String {
        labels(self.keys().map(|k| name(k).unwrap_or_else(|| k.to_string())), zh)
    }
}

named_enum! {
    /// How a matchup stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum MatchOutcome {
        /// 对接中: contacted, not yet settled.
        Underway = "underway",
        /// 对接成功.
        Succeeded = "succeeded",
        /// 未成功: the need is open again.
        Failed = "failed",
    }
}
labelled!(MatchOutcome:
    Underway => "对接中", "Under way";
    Succeeded => "对接成功", "Succeeded";
    Failed => "未成功", "Did not work out";
);

/// A matchup as the console sends it: a need of a household answered with a
/// help resource of the catalogue, on a day, with its outcome. A later matchup
/// of the same need (the same resource with a new outcome, or another) stands
/// in its place; every one is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewMatchup {
    /// Made by the console (UUID v7): a retry is the same matchup.
    pub id: Uuid,
    pub household_id: Uuid,
    pub need: Need,
    /// The resource: its list (technician, cooperative, buyer or fund) and key.
    pub list: ItemList,
    pub resource: String,
    pub on: NaiveDate,
    pub outcome: MatchOutcome,
    #[serde(default)]
    pub note: String,
}

/// Why a matchup is refused, in plain words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchupError {
    NotV7Id,
    /// Not a help resource's list (a service or livelihood kind).
    NotAResource,
    NoteTooLong,
}

impl MatchupError {
    pub fn message(&self, zh: bool) -> String {
        match (self, zh) {
            (MatchupError::NotV7Id, true) => "对接记录的编号无效".into(),
            (MatchupError::NotV7Id, false) => "The matchup's id is not valid".into(),
            (MatchupError::NotAResource, true) => "只能和技术人员、合作社、助销企业或资金帮扶对接".into(),
            (MatchupError::NotAResource, false) => "A need is matched with a technician, a cooperative, a buyer or a fund".into(),
            (MatchupError::NoteTooLong, true) => format!("说明最多 {MAX_MATCHUP_NOTE_CHARS} 字"),
            (MatchupError::NoteTooLong, false) => format!("The note takes at most {MAX_MATCHUP_NOTE_CHARS} characters"),
        }
    }
}

impl NewMatchup {
    /// What it must hold on its own (the catalogue and the household's reach are the server's).
    pub fn check(&self) -> Result<(), MatchupError> {
        if !crate::is_v7(&self.id) {
            return Err(MatchupError::NotV7Id);
        }
        if !self.list.is_resource() {
            return Err(MatchupError::NotAResource);
        }
        if self.note.chars().count() > MAX_MATCHUP_NOTE_CHARS {
            return Err(MatchupError::NoteTooLong);
        }
        Ok(())
    }
}

/// A stored matchup with what people read of it: the resource's name and
/// contact (as the catalogue had them when it was made) and who made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Matchup {
    pub need: Need,
    pub resource_name: String,
    #[serde(default)]
    pub contact: String,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub on: NaiveDate,
    pub outcome: MatchOutcome,
    #[serde(default)]
    pub note: String,
}

impl Matchup {
    /// One line for a member: `销路：县农产品助销中心（0571-8800 3456）· 对接中 · 2026-12-01`.
    pub fn line(&self, zh: bool) -> String {
        let contact = match (self.contact.is_empty(), zh) {
            (true, _) => String::new(),
            (false, true) => format!("（{}）", self.contact),
            (false, false) => format!(" ({})", self.contact),
        };
        let colon = if zh { "：" } else { ": " };
        let mut line = format!("{}{colon}{}{contact} · {} · {}", self.need.label(zh), self.resource_name, self.outcome.label(zh), self.on);
        if !self.note.is_empty() {
            line.push_str(" · ");
            line.push_str(&self.note);
        }
        line
    }
}

/// A matchup in the console's lists, with its household, its maker and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchupRecord {
    pub id: Uuid,
    pub household_id: Uuid,
    pub list: ItemList,
    pub resource: String,
    pub matchup: Matchup,
    pub made_by_name: String,
    pub made_at: DateTime<Utc>,
}

/// The needs of `needs` still unmatched, given a household's matchups in the
/// order they were made: a need's latest matchup decides (under way or
/// succeeded: matched; failed, or none: unmatched).
pub fn unmatched(needs: &[Need], matchups: &[Matchup]) -> Vec<Need> {
    needs
        .iter()
        .copied()
        .filter(|n| !matchups.iter().rev().find(|m| m.need == *n).is_some_and(|m| m.outcome != MatchOutcome::Failed))
        .collect()
}

/// The latest matchup of each need, in need order: what the phone shows.
pub fn latest(matchups: &[Matchup]) -> Vec<Matchup> {
    Need::ALL.iter().filter_map(|n| matchups.iter().rev().find(|m| m.need == *n).cloned()).collect()
}

/// One household with needs still unmatched, for the village's and the
/// township's lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeedHousehold {
    pub household_id: Uuid,
    /// Its grid (the meeting sheet's page).
    pub grid_id: Uuid,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
    /// What the family lives from, by name.
    pub livelihood: String,
    pub needs: Vec<Need>,
    pub unmatched: Vec<Need>,
    /// Its matchups, in the order made.
    pub matchups: Vec<Matchup>,
}

/// The unmatched-needs list of an area: households (at most a page), and the
/// count of unmatched needs per need over the whole area.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeedsReport {
    pub households: Vec<NeedHousehold>,
    /// Households of the area with each need unmatched, one count a need in
    /// [`Need::ALL`] order (plain numbers: fewer bytes for the console to read).
    pub counts: Vec<u32>,
    /// Households of the area with needs recorded (`households` holds at most a page).
    pub total: u32,
}

impl NeedsReport {
    /// The report of an area's households with needs (in the area's order):
    /// the counts over all of them, and the first `limit` of those with a need
    /// unmatched, then of the others (matched, for a change of outcome).
    pub fn of(households: Vec<NeedHousehold>, limit: usize) -> NeedsReport {
        let counts = Need::ALL.iter().map(|n| households.iter().filter(|h| h.unmatched.contains(n)).count() as u32).collect();
        let (open, matched): (Vec<_>, Vec<_>) = households.into_iter().partition(|h| !h.unmatched.is_empty());
        let total = (open.len() + matched.len()) as u32;
        NeedsReport { households: open.into_iter().chain(matched).take(limit).collect(), counts, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(need: Need, outcome: MatchOutcome) -> Matchup {
        Matchup {
            need,
            resource_name: "茶叶专业合作社".into(),
            contact: String::new(),
            on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            outcome,
            note: String::new(),
        }
    }

    #[test]
    fn a_need_is_unmatched_until_its_latest_matchup_is_under_way_or_succeeded() {
        use MatchOutcome::*;
        use Need::*;
        let needs = [Technique, Market, Funds];
        assert_eq!(unmatched(&needs, &[]), needs);
        let made = [m(Technique, Underway), m(Market, Failed), m(Funds, Succeeded)];
        assert_eq!(unmatched(&needs, &made), [Market], "a failed matchup leaves the need open");
        // A later matchup stands in the place of an earlier one of the same need.
        let later = [m(Market, Failed), m(Market, Underway), m(Technique, Underway), m(Technique, Failed)];
        assert_eq!(unmatched(&needs, &later), [Technique, Funds]);
        assert_eq!(latest(&later).iter().map(|x| (x.need, x.outcome)).collect::<Vec<_>>(), [(Technique, Failed), (Market, Underway)]);
        let shown = Matchup { contact: "李社长 139 0000 1111".into(), note: "收购春茶".into(), ..m(Market, Underway) };
        assert_eq!(shown.line(true), "销路：茶叶专业合作社（李社长 139 0000 1111） · 对接中 · 2026-11-02 · 收购春茶");
        assert_eq!(m(Funds, Failed).line(false), "Funds: 茶叶专业合作社 · Did not work out · 2026-11-02");
        // A matchup of a need the family no longer has counts for nothing.
        assert_eq!(unmatched(&[Jobs], &made), [Jobs]);
    }

    #[test]
    fn the_needs_report_counts_every_household_and_lists_the_unmatched_first() {
        let home = |n: u128, needs: Vec<Need>, made: Vec<Matchup>| NeedHousehold {
            household_id: Uuid::from_u128(n),
            grid_id: Uuid::nil(),
            head_name: format!("户主{n}"),
            address: String::new(),
            grid_name: String::new(),
            village_name: String::new(),
            livelihood: String::new(),
            unmatched: unmatched(&needs, &made),
            needs,
            matchups: Vec::new(),
        };
        let all = vec![
            home(1, vec![Need::Funds], vec![m(Need::Funds, MatchOutcome::Succeeded)]),
            home(2, vec![Need::Funds, Need::Jobs], vec![]),
            home(3, vec![Need::Market], vec![m(Need::Market, MatchOutcome::Failed)]),
        ];
        let r = NeedsReport::of(all.clone(), 2);
        assert_eq!(r.households.iter().map(|h| h.head_name.as_str()).collect::<Vec<_>>(), ["户主2", "户主3"]);
        assert_eq!(r.counts, [0, 1, 1, 1]);
        assert_eq!(r.total, 3);
        assert_eq!(NeedsReport::of(all, 10).households.last().unwrap().head_name, "户主1");
    }

    #[test]
    fn picks_keep_the_lists_order_and_read_back_from_one_word() {
        let order = ["grain", "vegetables", "fish"];
        let p = Picks::default().with("fish", true, order).with("grain", true, order);
        assert_eq!(p.word(), "grain,fish", "in the list's order whatever the taps' order");
        assert_eq!(Picks::parse("grain,fish"), Some(p.clone()));
        assert_eq!(p.with("grain", false, order).word(), "fish");
        assert_eq!(Picks::default().word(), "none");
        assert_eq!(Picks::parse("none"), Some(Picks::default()));
        // A kind retired since stays, after the listed ones.
        let old = Picks::parse("tobacco,grain").unwrap();
        assert_eq!(old.with("fish", true, order).word(), "grain,fish,tobacco");
        for bad in ["", "grain,grain", "Grain", "1x", "grain,,fish"] {
            assert_eq!(Picks::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Picks::parse("funds,jobs").unwrap().needs(), Some(vec![Need::Funds, Need::Jobs]));
        assert_eq!(Picks::parse("funds,grain").unwrap().needs(), None);
        assert_eq!(Picks::parse("grain").unwrap().label(true, |k| (k == "grain").then(|| "粮食种植".into())), "粮食种植");
    }

    #[test]
    fn a_matchup_is_with_a_help_resource_and_a_short_note() {
        let ok = NewMatchup {
            id: crate::uuid_v7(1_780_000_000_000, [3; 10]),
            household_id: Uuid::nil(),
            need: Need::Market,
            list: ItemList::Buyer,
            resource: "county_market".into(),
            on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            outcome: MatchOutcome::Underway,
            note: "茶叶 500 斤".into(),
        };
        assert_eq!(ok.check(), Ok(()));
        assert_eq!(NewMatchup { list: ItemList::Livelihood, ..ok.clone() }.check(), Err(MatchupError::NotAResource));
        assert_eq!(NewMatchup { note: "字".repeat(MAX_MATCHUP_NOTE_CHARS + 1), ..ok.clone() }.check(), Err(MatchupError::NoteTooLong));
        assert_eq!(NewMatchup { id: Uuid::nil(), ..ok }.check(), Err(MatchupError::NotV7Id));
    }
}
