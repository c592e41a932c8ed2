//! A visit and its five sections (五个到户), with validation.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::kinds::{services_fit, valid_key, ItemList, ServiceGiven, DEFAULT_SERVICES, MAX_SERVICE_NOTE_CHARS};
use crate::problem::{ProblemEntry, ProblemOutcome};

/// Longest note or summary a member can type (characters).
pub const MAX_TEXT_CHARS: usize = 2000;
/// Most problems one visit can carry.
pub const MAX_PROBLEMS: usize = 30;

named_enum! {
    /// One of the five to-the-household sections, in the order a visit walks them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum SectionKind {
        /// 党员联系到户
        MemberContact = "member_contact",
        /// 民情走访到户
        SentimentVisit = "sentiment_visit",
        /// 政策落实到户
        PolicyDelivered = "policy_delivered",
        /// 产业对接到户
        IndustryMatchup = "industry_matchup",
        /// 精准服务到户
        PreciseService = "precise_service",
    }
}

/// Most items one section's checklist may have ticked.
pub const MAX_TICKS: usize = 40;

impl SectionKind {
    pub fn title_zh(self) -> &'static str {
        match self {
            SectionKind::MemberContact => "党员联系到户",
            SectionKind::SentimentVisit => "民情走访到户",
            SectionKind::PolicyDelivered => "政策落实到户",
            SectionKind::IndustryMatchup => "产业对接到户",
            SectionKind::PreciseService => "精准服务到户",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            SectionKind::MemberContact => "Member contact",
            SectionKind::SentimentVisit => "Sentiment visit",
            SectionKind::PolicyDelivered => "Policy delivered",
            SectionKind::IndustryMatchup => "Industry matchup",
            SectionKind::PreciseService => "Precise service",
        }
    }

    /// The catalogue's list that is this section's checklist (精准服务's: the service kinds).
    pub fn list(self) -> ItemList {
        match self {
            SectionKind::MemberContact => ItemList::ContactCheck,
            SectionKind::SentimentVisit => ItemList::SentimentCheck,
            SectionKind::PolicyDelivered => ItemList::PolicyCheck,
            SectionKind::IndustryMatchup => ItemList::MatchupCheck,
            SectionKind::PreciseService => ItemList::Service,
        }
    }

    /// Position in the visit, 0 to 4.
    pub fn index(self) -> usize {
        SectionKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

named_enum! {
    /// How a section ended at this visit.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum SectionState {
        /// 已完成
        Done = "done",
        /// 不适用
        NotApplicable = "not_applicable",
        /// 下次再办
        NextTime = "next_time",
    }
}

impl SectionState {
    /// Position in [`SectionState::ALL`], 0 to 2.
    pub fn index(self) -> usize {
        SectionState::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    /// The bit a stored visit sets for `kind` ending in this state
    /// (`3 × section + state`; the server's `section_state_bits` table lists the same).
    pub fn bit(self, kind: SectionKind) -> i64 {
        1 << (3 * kind.index() + self.index())
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SectionState::Done => "已完成",
            SectionState::NotApplicable => "不适用",
            SectionState::NextTime => "下次再办",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            SectionState::Done => "Done",
            SectionState::NotApplicable => "Not applicable",
            SectionState::NextTime => "Next time",
        }
    }
}

/// What the member recorded for one section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SectionEntry {
    pub kind: SectionKind,
    pub state: Option<SectionState>,
    /// Keys of the checklist items ticked.
    pub checked: Vec<String>,
    pub notes: String,
}

impl SectionEntry {
    pub fn empty(kind: SectionKind) -> Self {
        SectionEntry { kind, state: None, checked: Vec::new(), notes: String::new() }
    }

    pub fn is_checked(&self, key: &str) -> bool {
        self.checked.iter().any(|k| k == key)
    }

    /// Ticks or unticks an item, in the order ticked, each once (reports
    /// show them in the checklist's order).
    pub fn set_checked(&mut self, key: &str, on: bool) {
        self.checked.retain(|k| k != key);
        if on {
            self.checked.push(key.to_string());
        }
    }
}

/// One visit to one household.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// Made on the phone (UUID v7), so a retry can never create a second record.
    pub id: Uuid,
    pub household_id: Uuid,
    pub member_id: Uuid,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub visited_on: NaiveDate,
    /// The phone's clock when the visit was saved; the server keeps its own receive time beside it.
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub recorded_at: DateTime<Utc>,
    pub sections: Vec<SectionEntry>,
    pub problems: Vec<ProblemEntry>,
    pub summary: String,
    /// Changes to the household's ledger made at this visit (policy states,
    /// housing, water). Absent from older apps' visits; never written when
    /// empty, so a visit stored before keeps its content hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ledger: Vec<crate::ledger::VisitLedgerChange>,
    /// The services given at this visit (精准服务), kinds from the catalogue.
    /// Like `ledger`: absent from older apps' visits, never written when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceGiven>,
    /// The catalogue version the phone had when the visit began (none from
    /// older apps, or before the phone had a catalogue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<u32>,
}

/// Why a visit cannot be saved or stored, in words a member understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValidationError {
    NotV7Id,
    WrongSections,
    SectionStateMissing(SectionKind),
    UnknownChecklistItem(SectionKind, String),
    TextTooLong,
    TooManyProblems,
    ProblemEmpty(usize),
    ProblemActionMissing(usize),
    ProblemNotV7Id(usize),
    /// A ledger change that does not fit its field (the phone offers only
    /// values that do; the server says which), or a second change of one field.
    LedgerValue,
    LedgerTwice,
    LedgerNotV7Id,
    /// A service twice, too many, a bad kind or a note too long.
    Services,
}

impl ValidationError {
    pub fn message_zh(&self) -> String {
        match self {
            ValidationError::NotV7Id => "记录编号无效".into(),
            ValidationError::WrongSections => "走访必须包含五个到户事项".into(),
            ValidationError::SectionStateMissing(k) => {
                format!("请为“{}”选择：已完成、不适用或下次再办", k.title_zh())
            }
            ValidationError::UnknownChecklistItem(k, key) => {
                format!("“{}”中有未知的事项：{}", k.title_zh(), key)
            }
            ValidationError::TextTooLong => format!("备注最多 {} 字", MAX_TEXT_CHARS),
            ValidationError::TooManyProblems => format!("一次走访最多记录 {} 个问题", MAX_PROBLEMS),
            ValidationError::ProblemEmpty(i) => format!("第 {} 个问题还没有写内容", i + 1),
            ValidationError::ProblemActionMissing(i) => {
                format!("第 {} 个问题标为当场解决，请写明怎么解决的", i + 1)
            }
            ValidationError::ProblemNotV7Id(i) => format!("第 {} 个问题的编号无效", i + 1),
            ValidationError::LedgerValue => "台账里有一项的值不对".into(),
            ValidationError::LedgerTwice => "同一项情况在一次走访里只能记一次".into(),
            ValidationError::LedgerNotV7Id => "台账变化的编号无效".into(),
            ValidationError::Services => format!("服务每类记一次，说明最多 {MAX_SERVICE_NOTE_CHARS} 字"),
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            ValidationError::NotV7Id => "The record id is not valid".into(),
            ValidationError::WrongSections => "A visit must have the five sections".into(),
            ValidationError::SectionStateMissing(k) => {
                format!("Choose done, not applicable or next time for “{}”", k.title_en())
            }
            ValidationError::UnknownChecklistItem(k, key) => {
                format!("“{}” has an unknown item: {}", k.title_en(), key)
            }
            ValidationError::TextTooLong => format!("Notes can be at most {} characters", MAX_TEXT_CHARS),
            ValidationError::TooManyProblems => format!("At most {} problems per visit", MAX_PROBLEMS),
            ValidationError::ProblemEmpty(i) => format!("Problem {} has no description", i + 1),
            ValidationError::ProblemActionMissing(i) => {
                format!("Problem {} is marked resolved: say what was done", i + 1)
            }
            ValidationError::ProblemNotV7Id(i) => format!("Problem {} has an invalid id", i + 1),
            ValidationError::LedgerValue => "A ledger item has a value it does not take".into(),
            ValidationError::LedgerTwice => "A visit records each item of the ledger once".into(),
            ValidationError::LedgerNotV7Id => "A ledger change has an invalid id".into(),
            ValidationError::Services => format!("Each kind of service once, with a note of at most {MAX_SERVICE_NOTE_CHARS} characters"),
        }
    }
}

impl Visit {
    /// A new, empty visit with the five sections in order.
    pub fn new(
        id: Uuid,
        household_id: Uuid,
        member_id: Uuid,
        visited_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Visit {
        Visit {
            id,
            household_id,
            member_id,
            visited_on,
            recorded_at: now,
            sections: SectionKind::ALL.into_iter().map(SectionEntry::empty).collect(),
            problems: Vec::new(),
            summary: String::new(),
            ledger: Vec::new(),
            services: Vec::new(),
            catalogue: None,
        }
    }

    pub fn section(&self, kind: SectionKind) -> Option<&SectionEntry> {
        self.sections.iter().find(|s| s.kind == kind)
    }

    pub fn section_mut(&mut self, kind: SectionKind) -> Option<&mut SectionEntry> {
        self.sections.iter_mut().find(|s| s.kind == kind)
    }

    /// How many sections have a state chosen.
    pub fn sections_answered(&self) -> usize {
        self.sections.iter().filter(|s| s.state.is_some()).count()
    }

    /// Gives or takes back a service: listed in `services`, and ticked in the
    /// 精准服务 checklist too when it is one of that checklist's items.
    pub fn set_service(&mut self, kind: &str, on: bool) {
        crate::kinds::set_service(&mut self.services, kind, on);
        if let Some(s) = self.section_mut(SectionKind::PreciseService) {
            if DEFAULT_SERVICES.iter().any(|(key, _, _)| *key == kind) {
                s.set_checked(kind, on);
            }
        }
    }

    /// Whether a service of this kind was given (listed, or ticked by an older app's draft).
    pub fn service_on(&self, kind: &str) -> bool {
        self.services.iter().any(|s| s.kind == kind)
            || self.section(SectionKind::PreciseService).is_some_and(|s| s.is_checked(kind))
    }

    /// The note on a service given, if any.
    pub fn service_note(&self, kind: &str) -> Option<String> {
        self.services.iter().find(|s| s.kind == kind).map(|s| s.note.clone())
    }

    /// Writes the note of a service, giving it if it was not yet.
    pub fn set_service_note(&mut self, kind: &str, note: String) {
        self.set_service(kind, true);
        if let Some(s) = self.services.iter_mut().find(|s| s.kind == kind) {
            s.note = note;
        }
    }

    /// The services given at this visit, as reports count them ([`crate::kinds::with_ticks`]).
    pub fn services_given(&self) -> Vec<ServiceGiven> {
        let ticks = self.section(SectionKind::PreciseService).map(|s| s.checked.as_slice()).unwrap_or_default();
        crate::kinds::with_ticks(&self.services, ticks)
    }

    /// Problems marked for escalation.
    pub fn escalated_count(&self) -> usize {
        self.problems.iter().filter(|p| p.outcome == ProblemOutcome::Escalate).count()
    }

    /// Checks everything a saved visit must satisfy. The phone calls it before
    /// saving, the server before storing, so both refuse the same things.
    pub fn validate(&self) -> Result<(), Vec<ValidationError>> {
        let mut errors = Vec::new();
        if !crate::is_v7(&self.id) {
            errors.push(ValidationError::NotV7Id);
        }
        let kinds: Vec<SectionKind> = self.sections.iter().map(|s| s.kind).collect();
        if kinds != SectionKind::ALL {
            errors.push(ValidationError::WrongSections);
        }
        for s in &self.sections {
            if s.state.is_none() {
                errors.push(ValidationError::SectionStateMissing(s.kind));
            }
            // Keys of the catalogue's shape, each once; the server checks them
            // against the catalogue at the household's place.
            for (i, key) in s.checked.iter().enumerate() {
                if !valid_key(key) || s.checked[..i].contains(key) || i >= MAX_TICKS {
                    errors.push(ValidationError::UnknownChecklistItem(s.kind, key.clone()));
                }
            }
        }
        let too_long = |t: &str| t.chars().count() > MAX_TEXT_CHARS;
        if too_long(&self.summary)
            || self.sections.iter().any(|s| too_long(&s.notes))
            || self.problems.iter().any(|p| too_long(&p.description) || too_long(&p.action))
        {
            errors.push(ValidationError::TextTooLong);
        }
        if self.problems.len() > MAX_PROBLEMS {
            errors.push(ValidationError::TooManyProblems);
        }
        for (i, p) in self.problems.iter().enumerate() {
            if !crate::is_v7(&p.id) {
                errors.push(ValidationError::ProblemNotV7Id(i));
            }
            if p.description.trim().is_empty() {
                errors.push(ValidationError::ProblemEmpty(i));
            }
            if p.outcome == ProblemOutcome::ResolvedOnSpot && p.action.trim().is_empty() {
                errors.push(ValidationError::ProblemActionMissing(i));
            }
        }
        for (i, change) in self.ledger.iter().enumerate() {
            if !crate::is_v7(&change.id) {
                errors.push(ValidationError::LedgerNotV7Id);
            }
            if change.check_shape().is_err() {
                errors.push(ValidationError::LedgerValue);
            }
            if self.ledger[..i].iter().any(|c| c.field == change.field) {
                errors.push(ValidationError::LedgerTwice);
            }
        }
        if !services_fit(&self.services) {
            errors.push(ValidationError::Services);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::problem::{ProblemCategory, Urgency};
    use crate::uuid_v7;

    pub fn complete_visit() -> Visit {
        let mut v = Visit::new(
            uuid_v7(1_750_000_000_000, [7; 10]),
            Uuid::nil(),
            Uuid::nil(),
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            DateTime::from_timestamp(1_750_000_000, 0).unwrap(),
        );
        for s in &mut v.sections {
            s.state = Some(SectionState::Done);
        }
        v
    }

    #[test]
    fn services_given_tick_the_checklist_and_older_visits_read_and_hash_the_same() {
        let mut v = complete_visit();
        let before = serde_json::to_string(&v).unwrap();
        assert!(!before.contains("services") && !before.contains("catalogue"), "an older visit's JSON is unchanged");
        let ticked = |v: &Visit, k: &str| v.section(SectionKind::PreciseService).unwrap().is_checked(k);
        v.section_mut(SectionKind::PreciseService).unwrap().checked.clear();
        v.set_service("medical", true);
        v.set_service("legal", true); // a county's own kind: no checklist item of that key
        assert!(ticked(&v, "medical") && !ticked(&v, "legal"));
        assert_eq!(v.services.len(), 2);
        assert_eq!(v.validate(), Ok(()));
        v.set_service("medical", false);
        assert!(!ticked(&v, "medical") && v.services.len() == 1);
        v.set_service_note("legal", "帮助咨询法律援助".into());
        assert!(v.service_on("legal") && !v.service_on("medical"));
        assert_eq!(v.service_note("legal").as_deref(), Some("帮助咨询法律援助"));
        v.section_mut(SectionKind::PreciseService).unwrap().set_checked("schooling", true); // an older app's tick
        let counted: Vec<_> = v.services_given().into_iter().map(|s| (s.kind, s.note)).collect();
        assert_eq!(counted, [("legal".into(), "帮助咨询法律援助".into()), ("schooling".to_string(), String::new())]);
        v.services.push(v.services[0].clone());
        assert_eq!(v.validate(), Err(vec![ValidationError::Services]));
    }

    #[test]
    fn new_visit_has_five_sections_in_order() {
        let v = complete_visit();
        let kinds: Vec<_> = v.sections.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, SectionKind::ALL);
        assert_eq!(v.sections_answered(), 5);
        assert!(v.validate().is_ok());
    }

    #[test]
    fn every_section_has_default_items_with_unique_keys_and_its_own_bits() {
        for k in SectionKind::ALL {
            let items = k.list().defaults();
            assert!(!items.is_empty());
            let mut keys: Vec<_> = items.iter().map(|i| i.0).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), items.len(), "{k:?} has duplicate keys");
            assert!(keys.iter().all(|key| valid_key(key)));
            assert_eq!(k.list().is_check(), k != SectionKind::PreciseService);
            assert_eq!(SectionKind::ALL[k.index()], k);
            for st in SectionState::ALL {
                assert_eq!(SectionState::ALL[st.index()], st);
                // Fifteen distinct bits, one per section and state.
                let others = SectionKind::ALL
                    .iter()
                    .flat_map(|k2| SectionState::ALL.map(|s2| (*k2, s2)))
                    .filter(|&(k2, s2)| (k2, s2) != (k, st));
                assert!(others.into_iter().all(|(k2, s2)| s2.bit(k2) & st.bit(k) == 0));
            }
        }
    }

    #[test]
    fn missing_state_is_refused() {
        let mut v = complete_visit();
        v.sections[2].state = None;
        let errs = v.validate().unwrap_err();
        assert_eq!(errs, vec![ValidationError::SectionStateMissing(SectionKind::PolicyDelivered)]);
        assert!(errs[0].message_zh().contains("政策落实到户"));
    }

    #[test]
    fn wrong_or_reordered_sections_are_refused() {
        let mut v = complete_visit();
        v.sections.swap(0, 1);
        assert!(v.validate().unwrap_err().contains(&ValidationError::WrongSections));
        let mut v = complete_visit();
        v.sections.pop();
        assert!(v.validate().unwrap_err().contains(&ValidationError::WrongSections));
    }

    #[test]
    fn a_malformed_or_repeated_tick_and_long_text_are_refused() {
        let mut v = complete_visit();
        // A key of the catalogue's shape is the server's to check against the catalogue.
        v.sections[0].checked.push("county_own_item".into());
        assert_eq!(v.validate(), Ok(()));
        v.sections[0].checked.push("Bogus!".into());
        v.sections[1].checked = vec!["family_facts".into(), "family_facts".into()];
        v.summary = "字".repeat(MAX_TEXT_CHARS + 1);
        let errs = v.validate().unwrap_err();
        assert!(errs.contains(&ValidationError::UnknownChecklistItem(
            SectionKind::MemberContact,
            "Bogus!".into()
        )));
        assert!(errs.contains(&ValidationError::UnknownChecklistItem(SectionKind::SentimentVisit, "family_facts".into())));
        let mut many = complete_visit();
        many.sections[0].checked = (0..=MAX_TICKS).map(|i| format!("k{i}")).collect();
        assert_eq!(many.validate().unwrap_err().len(), 1, "one past the most ticks");
        assert!(errs.contains(&ValidationError::TextTooLong));
        // exactly at the limit is fine
        let mut v = complete_visit();
        v.summary = "字".repeat(MAX_TEXT_CHARS);
        assert!(v.validate().is_ok());
    }

    #[test]
    fn problems_need_text_and_an_action_when_resolved() {
        let mut v = complete_visit();
        v.problems.push(ProblemEntry {
            id: uuid_v7(1, [1; 10]),
            category: ProblemCategory::Water,
            urgency: Urgency::High,
            description: " ".into(),
            outcome: ProblemOutcome::ResolvedOnSpot,
            action: String::new(),
        });
        let errs = v.validate().unwrap_err();
        assert!(errs.contains(&ValidationError::ProblemEmpty(0)));
        assert!(errs.contains(&ValidationError::ProblemActionMissing(0)));
        v.problems[0].description = "自来水管冻裂".into();
        v.problems[0].outcome = ProblemOutcome::Escalate;
        assert!(v.validate().is_ok());
        assert_eq!(v.escalated_count(), 1);
    }

    #[test]
    fn non_v7_id_is_refused() {
        let mut v = complete_visit();
        v.id = Uuid::from_u128(42);
        assert!(v.validate().unwrap_err().contains(&ValidationError::NotV7Id));
    }

    #[test]
    fn checked_items_are_kept_once_in_the_order_ticked() {
        let mut s = SectionEntry::empty(SectionKind::SentimentVisit);
        s.set_checked("urgent_needs", true);
        s.set_checked("family_facts", true);
        s.set_checked("family_facts", true);
        assert_eq!(s.checked, vec!["urgent_needs", "family_facts"]);
        s.set_checked("family_facts", false);
        assert_eq!(s.checked, vec!["urgent_needs"]);
        assert!(s.is_checked("urgent_needs"));
    }

    #[test]
    fn unknown_fields_are_refused_on_the_wire() {
        let v = complete_visit();
        let mut json = serde_json::to_value(&v).unwrap();
        json["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Visit>(json).is_err());
        let round: Visit = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(round, v);
    }
}
