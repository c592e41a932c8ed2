//! The member's household list: one row per linked household with what asks for
//! action (due, a problem answered, an unfinished visit), in the order the list
//! shows them. The phone's `pages/households.rs` only draws these rows.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::groups::Intervals;
use crate::household::{Household, RosterHousehold};
use crate::local::{LocalVisit, SyncState};

/// A household as the list shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct HouseholdRow {
    pub household: Household,
    /// The latest visit, saved on this phone or known to the server.
    pub last_visit_on: Option<NaiveDate>,
    /// Past its visit interval (by default 14 days for special groups, 30 otherwise).
    pub due: bool,
    /// Unfinished visits kept on this phone.
    pub drafts: usize,
    /// A problem has an answer the family has not been told yet.
    pub answered: bool,
}

impl HouseholdRow {
    /// Every household of the roster once: due first (by the county's visit
    /// `intervals`), then special groups, then by doorplate. `visits` are the
    /// ones kept on this phone.
    pub fn list(roster: &[RosterHousehold], visits: &[LocalVisit], today: NaiveDate, intervals: &Intervals) -> Vec<HouseholdRow> {
        // What this phone adds per household (latest saved visit, drafts), sorted
        // for a binary search: a scan of every visit per household made 5,000
        // households with 2,000 stored visits 10 million steps.
        let mut local: Vec<(Uuid, Option<NaiveDate>, usize)> = visits
            .iter()
            .map(|v| match v.sync {
                SyncState::Draft => (v.visit.household_id, None, 1),
                _ => (v.visit.household_id, Some(v.visit.visited_on), 0),
            })
            .collect();
        crate::order::sort_by(&mut local, |a, b| a.0 < b.0);
        local.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 = first.1.max(later.1);
                first.2 += later.2;
            }
            same
        });
        let mut rows: Vec<HouseholdRow> = roster
            .iter()
            .map(|r| {
                let (mine, drafts) = match local.binary_search_by_key(&r.household.id, |e| e.0) {
                    Ok(i) => (local[i].1, local[i].2),
                    Err(_) => (None, 0),
                };
                let last_visit_on = mine.max(r.last_visit_on);
                HouseholdRow {
                    due: r.household.is_due(intervals, last_visit_on, today),
                    answered: r.problems.iter().any(|p| p.status.waits_to_be_told()),
                    household: r.household.clone(),
                    last_visit_on,
                    drafts,
                }
            })
            .collect();
        crate::order::sort_by(&mut rows, |a, b| {
            let key = |r: &HouseholdRow| (!r.due, !r.household.is_special());
            key(a) < key(b) || (key(a) == key(b) && a.household.address < b.household.address)
        });
        rows
    }

    /// One household's latest visit: the latest saved on this phone (drafts are not
    /// visits) or the server's, whichever is later. [`HouseholdRow::list`] applies
    /// the same rule to every household at once.
    pub fn last_visit_on(household: &RosterHousehold, visits: &[LocalVisit]) -> Option<NaiveDate> {
        visits
            .iter()
            .filter(|v| v.visit.household_id == household.household.id && v.sync != SyncState::Draft)
            .map(|v| v.visit.visited_on)
            .chain(household.last_visit_on)
            .max()
    }

    /// Whether a search (already trimmed) finds this row: the head's name or the
    /// doorplate contains it; an empty search finds every row.
    pub fn matches(&self, query: &str) -> bool {
        query.is_empty() || self.household.head_name.contains(query) || self.household.address.contains(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::{Level, ProblemState, ProblemStatus};
    use crate::household::SpecialGroup;
    use crate::visit::tests::complete_visit;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
    }

    fn roster_row(n: u128, address: &str, groups: Vec<SpecialGroup>, last: Option<NaiveDate>) -> RosterHousehold {
        RosterHousehold {
            household: Household {
                id: Uuid::from_u128(n),
                grid_id: Uuid::nil(),
                grid_name: "一组".into(),
                head_name: format!("户主{n}"),
                address: address.into(),
                people: 3,
                phone: None,
                special_groups: groups,
            },
            last_visit_on: last,
            history: Vec::new(),
            problems: Vec::new(),
            ledger: Vec::new(),
            facts: Vec::new(),
            later: Vec::new(),
            matchups: Vec::new(),
        }
    }

    fn stored(household: u128, on: NaiveDate, sync: SyncState) -> LocalVisit {
        let mut v = LocalVisit::draft(complete_visit());
        v.visit.household_id = Uuid::from_u128(household);
        v.visit.visited_on = on;
        v.sync = sync;
        v
    }

    fn order(rows: &[HouseholdRow]) -> Vec<&str> {
        rows.iter().map(|r| r.household.address.as_str()).collect()
    }

    #[test]
    fn due_first_then_special_groups_then_doorplate() {
        let today = d(30);
        let roster = vec![
            roster_row(1, "3号", vec![], Some(d(29))),
            roster_row(2, "1号", vec![], Some(d(29))),
            roster_row(3, "2号", vec![SpecialGroup::ElderlyAlone], Some(d(29))),
            roster_row(4, "9号", vec![], None),
            roster_row(5, "8号", vec![SpecialGroup::ExtremePoverty], None),
        ];
        let rows = HouseholdRow::list(&roster, &[], today, &Intervals::default());
        assert_eq!(order(&rows), ["8号", "9号", "2号", "1号", "3号"]);
        assert_eq!(rows.iter().map(|r| r.due).collect::<Vec<_>>(), [true, true, false, false, false]);
    }

    #[test]
    fn a_visit_saved_on_the_phone_counts_until_the_server_knows_it() {
        let today = d(30);
        let roster = vec![roster_row(1, "1号", vec![], None), roster_row(2, "2号", vec![], Some(d(20)))];
        let visits = vec![
            stored(1, d(28), SyncState::Pending),
            stored(1, d(25), SyncState::Stored { received_at: None }),
            // older than what the server knows: the server's date stays
            stored(2, d(2), SyncState::Pending),
        ];
        let rows = HouseholdRow::list(&roster, &visits, today, &Intervals::default());
        for (r, row) in roster.iter().map(|r| (r, rows.iter().find(|x| x.household.id == r.household.id).unwrap())) {
            assert_eq!(HouseholdRow::last_visit_on(r, &visits), row.last_visit_on, "one household or all: the same rule");
        }
        let one = rows.iter().find(|r| r.household.address == "1号").unwrap();
        assert_eq!((one.last_visit_on, one.due, one.drafts), (Some(d(28)), false, 0));
        let two = rows.iter().find(|r| r.household.address == "2号").unwrap();
        assert_eq!(two.last_visit_on, Some(d(20)));
    }

    #[test]
    fn drafts_are_counted_and_are_not_visits() {
        let roster = vec![roster_row(1, "1号", vec![], None)];
        let visits = vec![stored(1, d(29), SyncState::Draft), stored(1, d(29), SyncState::Draft)];
        let rows = HouseholdRow::list(&roster, &visits, d(30), &Intervals::default());
        assert_eq!((rows[0].drafts, rows[0].last_visit_on, rows[0].due), (2, None, true));
        // visits of households no longer linked add no row
        let rows = HouseholdRow::list(&roster, &[stored(9, d(29), SyncState::Pending)], d(30), &Intervals::default());
        assert_eq!(rows.len(), 1);
    }

    #[test]
    fn an_answer_the_family_has_not_heard_is_shown() {
        let status = |state, family_told| ProblemStatus { level: Level::Village, state, assignee: None, answer: None, family_told };
        assert!(status(ProblemState::Resolved, false).waits_to_be_told());
        assert!(!status(ProblemState::Resolved, true).waits_to_be_told());
        assert!(!status(ProblemState::New, false).waits_to_be_told());
    }

    #[test]
    fn search_finds_the_head_or_the_doorplate() {
        let rows = HouseholdRow::list(&[roster_row(7, "3组12号", vec![], None)], &[], d(30), &Intervals::default());
        assert!(rows[0].matches(""));
        assert!(rows[0].matches("户主7"));
        assert!(rows[0].matches("3组"));
        assert!(!rows[0].matches("4组"));
    }
}
