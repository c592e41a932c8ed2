//! Households, their special groups, and when a household is due for a visit.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::visit::{SectionKind, SectionState};

pub use crate::groups::SpecialGroup;

/// A family linked to a party member (联系户).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Household {
    pub id: Uuid,
    pub grid_id: Uuid,
    pub grid_name: String,
    /// Head of household (户主).
    pub head_name: String,
    /// Doorplate or address (门牌号).
    pub address: String,
    pub people: u16,
    pub phone: Option<String>,
    pub special_groups: Vec<SpecialGroup>,
}

impl Household {
    /// Whether the household belongs to any special group.
    pub fn is_special(&self) -> bool {
        !self.special_groups.is_empty()
    }

    /// Days allowed between two visits by the county's intervals (by default
    /// 14 for special groups, 30 otherwise).
    pub fn visit_interval_days(&self, intervals: &crate::groups::Intervals) -> i64 {
        i64::from(intervals.days_for(&self.special_groups))
    }

    /// Whether a visit is due on `today`, given the date of the last visit.
    /// A household never visited is due.
    pub fn is_due(&self, intervals: &crate::groups::Intervals, last_visit: Option<NaiveDate>, today: NaiveDate) -> bool {
        intervals.is_due(&self.special_groups, last_visit, today)
    }
}

/// One past visit as the household's history shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitSummary {
    pub id: Uuid,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub visited_on: NaiveDate,
    pub member_name: String,
    pub sections: Vec<(SectionKind, Option<SectionState>)>,
    pub problem_count: u32,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub received_at: DateTime<Utc>,
    /// The sections' notes that are not empty, on the household's latest visit
    /// only (what the next visit shows from last time); empty on the others.
    #[serde(default)]
    pub notes: Vec<(SectionKind, String)>,
}

/// What a section's step shows from the household's last visit on the server.
#[derive(Clone, Debug, PartialEq)]
pub struct LastTime {
    pub visited_on: NaiveDate,
    /// The section's state then.
    pub state: Option<SectionState>,
    /// The section's note then (may be empty).
    pub note: String,
}

/// A household as the phone downloads it: the household, its last visit and its history on the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterHousehold {
    pub household: Household,
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::date_opt"))]
    pub last_visit_on: Option<NaiveDate>,
    pub history: Vec<VisitSummary>,
    /// Problems of this household the member raised or was given, with their answers.
    #[serde(default)]
    pub problems: Vec<crate::escalation::ProblemView>,
    /// The household's ledger now (policy states, housing, water), one entry a field set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ledger: Vec<crate::ledger::LedgerNow>,
    /// The profile's later facts (illness, disability, income, road, heating,
    /// contact: `LedgerField::in_first_version` is false), apart from `ledger`
    /// so that an app from before them, which refuses a field it does not know,
    /// still reads its roster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<crate::ledger::LedgerNow>,
    /// Fields newer still (livelihood and needs: `LedgerField::in_later`), for
    /// the same reason; read leniently, so fields added after them can join
    /// this list without a new one.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "crate::ledger::known_fields")]
    pub later: Vec<crate::ledger::LedgerNow>,
    /// The latest matchup of each of the family's needs (产业对接), as the
    /// console made them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matchups: Vec<crate::livelihood::Matchup>,
}

/// The roster of the signed-in member's linked households.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RosterResponse {
    pub households: Vec<RosterHousehold>,
    /// The county's policy catalogue now, for the visit's policy step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<crate::ledger::Catalogue>,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub server_time: DateTime<Utc>,
}

impl RosterResponse {
    /// The county's visit intervals (the defaults before its catalogue set any).
    pub fn intervals(&self) -> crate::groups::Intervals {
        self.catalogue.as_ref().map(|c| c.intervals.clone()).unwrap_or_default()
    }
}

impl RosterHousehold {
    /// The last visit's word on one section, when it left the section "下次再办"
    /// or wrote a note there: the next visit starts from it. Nothing otherwise;
    /// what was done last time is not carried over, the member confirms it anew.
    pub fn last_time(&self, kind: SectionKind) -> Option<LastTime> {
        let last = self.history.iter().max_by_key(|v| (v.visited_on, v.received_at))?;
        let state = last.sections.iter().find(|(k, _)| *k == kind).and_then(|(_, s)| *s);
        let note = last.notes.iter().find(|(k, _)| *k == kind).map(|(_, n)| n.trim().to_string()).unwrap_or_default();
        (state == Some(SectionState::NextTime) || !note.is_empty()).then_some(LastTime { visited_on: last.visited_on, state, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::groups::Intervals;

    fn household(groups: Vec<SpecialGroup>) -> Household {
        Household {
            id: Uuid::nil(),
            grid_id: Uuid::nil(),
            grid_name: "一组".into(),
            head_name: "张三".into(),
            address: "1号".into(),
            people: 3,
            phone: None,
            special_groups: groups,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn ordinary_household_is_due_after_30_days() {
        let h = household(vec![]);
        assert_eq!(h.visit_interval_days(&Intervals::default()), 30);
        assert!(!h.is_due(&Intervals::default(), Some(d(2026, 1, 1)), d(2026, 1, 30)));
        assert!(h.is_due(&Intervals::default(), Some(d(2026, 1, 1)), d(2026, 1, 31)));
        assert!(h.is_due(&Intervals::default(), None, d(2026, 1, 1)));
    }

    #[test]
    fn special_household_is_due_after_14_days() {
        let h = household(vec![SpecialGroup::ElderlyAlone]);
        assert_eq!(h.visit_interval_days(&Intervals::default()), 14);
        assert!(!h.is_due(&Intervals::default(), Some(d(2026, 1, 1)), d(2026, 1, 14)));
        assert!(h.is_due(&Intervals::default(), Some(d(2026, 1, 1)), d(2026, 1, 15)));
    }

    fn summary(day: NaiveDate, states: [Option<SectionState>; 5], notes: Vec<(SectionKind, &str)>) -> VisitSummary {
        VisitSummary {
            id: Uuid::nil(),
            visited_on: day,
            member_name: "张党员".into(),
            sections: SectionKind::ALL.into_iter().zip(states).collect(),
            problem_count: 0,
            received_at: DateTime::<Utc>::from_timestamp(1_770_000_000, 0).unwrap(),
            notes: notes.into_iter().map(|(k, n)| (k, n.to_string())).collect(),
        }
    }

    #[test]
    fn last_time_shows_what_was_left_for_next_time_and_its_note() {
        use SectionState::*;
        let older = summary(d(2026, 1, 1), [Some(NextTime); 5], vec![(SectionKind::MemberContact, "旧的")]);
        let latest = summary(
            d(2026, 2, 1),
            [Some(Done), Some(NextTime), Some(Done), Some(NotApplicable), None],
            vec![(SectionKind::SentimentVisit, " 下次带医保表 "), (SectionKind::IndustryMatchup, "不种地了")],
        );
        let h = RosterHousehold {
            household: household(vec![]),
            last_visit_on: Some(d(2026, 2, 1)),
            // Not in date order: the latest visit is found by its day.
            history: vec![older, latest],
            problems: vec![],
            ledger: vec![],
            facts: vec![],
            later: Vec::new(),
            matchups: Vec::new(),
        };
        // Done last time, no note: nothing carried over.
        assert_eq!(h.last_time(SectionKind::MemberContact), None);
        assert_eq!(
            h.last_time(SectionKind::SentimentVisit),
            Some(LastTime { visited_on: d(2026, 2, 1), state: Some(NextTime), note: "下次带医保表".into() })
        );
        // A note alone is shown too, with the state it had.
        assert_eq!(
            h.last_time(SectionKind::IndustryMatchup),
            Some(LastTime { visited_on: d(2026, 2, 1), state: Some(NotApplicable), note: "不种地了".into() })
        );
        assert_eq!(h.last_time(SectionKind::PreciseService), None);
        let never = RosterHousehold { history: vec![], ..h };
        assert_eq!(never.last_time(SectionKind::SentimentVisit), None);
    }

    #[test]
    fn special_group_labels_parse() {
        for g in SpecialGroup::ALL {
            assert_eq!(SpecialGroup::from_label(g.label_zh()), Some(g));
            assert_eq!(SpecialGroup::from_label(g.label_en()), Some(g));
        }
        assert_eq!(SpecialGroup::from_label(" 五保户 "), Some(SpecialGroup::ExtremePoverty));
        assert_eq!(SpecialGroup::from_label("富裕户"), None);
    }
}
