//! Where a problem goes after the door: "small matters stay in the village, big
//! ones in the township, hard ones in the county" (小事不出村、大事不出乡、难事不出县).
//!
//! A problem is a level and a state, changed only by events. Every event is
//! kept with its own id (nothing is overwritten), so changes made on a phone
//! offline and by coordinators online merge in time order; an event that does
//! not fit the state it meets (e.g. an answer to a problem already resolved) is
//! kept and flagged, never dropped.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::{ProblemOutcome, Urgency};

named_enum! {
    /// The level a problem sits at.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Level {
        Village = "village",
        Township = "township",
        County = "county",
    }
}

impl Level {
    pub fn label_zh(self) -> &'static str {
        match self {
            Level::Village => "村级",
            Level::Township => "乡镇级",
            Level::County => "县级",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Level::Village => "Village",
            Level::Township => "Township",
            Level::County => "County",
        }
    }
    pub fn up(self) -> Option<Level> {
        match self {
            Level::Village => Some(Level::Township),
            Level::Township => Some(Level::County),
            Level::County => None,
        }
    }
}

named_enum! {
    /// Where a problem stands at its level.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum ProblemState {
        /// Waiting at its level for someone to take it.
        New = "new",
        /// Given to a member or coordinator (网格下单 — 党员接单).
        Assigned = "assigned",
        InProgress = "in_progress",
        /// Answered; the answer goes back to the member who raised it.
        Resolved = "resolved",
    }
}

impl ProblemState {
    pub fn label_zh(self) -> &'static str {
        match self {
            ProblemState::New => "待处理",
            ProblemState::Assigned => "已派单",
            ProblemState::InProgress => "办理中",
            ProblemState::Resolved => "已办结",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            ProblemState::New => "New",
            ProblemState::Assigned => "Assigned",
            ProblemState::InProgress => "In progress",
            ProblemState::Resolved => "Resolved",
        }
    }
    pub fn is_open(self) -> bool {
        self != ProblemState::Resolved
    }
}

named_enum! {
    /// The family's verdict at the 回访, the follow-up on a resolved problem.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum Satisfaction {
        Satisfied = "satisfied",
        Basically = "basically_satisfied",
        Dissatisfied = "dissatisfied",
    }
}

labelled!(Satisfaction:
    Satisfied => "满意", "Satisfied";
    Basically => "基本满意", "Mostly satisfied";
    Dissatisfied => "不满意", "Not satisfied";
);

/// What happened to a problem. Read by hand ([`crate::tagged`]): the derive for an
/// internally tagged enum costs the phone about 10 KB.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventKind {
    /// Given to an account to handle.
    Assign { to: Uuid },
    /// Work has started.
    Start,
    /// The answer; resolves the problem.
    Answer { text: String },
    /// Sent up one level, with a note.
    Escalate { note: String },
    /// Opened again after an answer.
    Reopen { note: String },
    /// The member told the family the answer.
    FamilyTold,
    /// A remark that changes nothing.
    Note { text: String },
    /// The 回访: the family's verdict on the answer, asked at the next visit.
    /// 不满意 opens the problem again at its level, with the family's words.
    Feedback { level: Satisfaction, words: String },
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["assign", "start", "answer", "escalate", "reopen", "family_told", "note", "feedback"];
        let mut t = crate::tagged::Tagged::read(d, "kind")?;
        Ok(match t.tag.as_str() {
            "start" => EventKind::Start,
            "family_told" => EventKind::FamilyTold,
            "assign" => EventKind::Assign { to: t.sole(&["to"])?.parse().map_err(serde::de::Error::custom)? },
            "answer" => EventKind::Answer { text: t.sole(&["text"])? },
            "note" => EventKind::Note { text: t.sole(&["text"])? },
            "escalate" => EventKind::Escalate { note: t.sole(&["note"])? },
            "reopen" => EventKind::Reopen { note: t.sole(&["note"])? },
            "feedback" => {
                t.only(&["level", "words"])?;
                let level = t.string("level")?;
                EventKind::Feedback {
                    level: Satisfaction::parse(&level)
                        .ok_or_else(|| serde::de::Error::unknown_variant(&level, &Satisfaction::NAMES))?,
                    words: t.string("words")?,
                }
            }
            other => return Err(serde::de::Error::unknown_variant(other, VARIANTS)),
        })
    }
}

/// One change of a problem, as sent by a phone or a coordinator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProblemEvent {
    /// Made where the change was made (UUID v7), so a retry never repeats it.
    pub id: Uuid,
    pub problem_id: Uuid,
    /// When the change was made, by the clock of the device that made it.
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub at: DateTime<Utc>,
    /// What changed (`{"kind": "answer", "text": …}`).
    pub change: EventKind,
}

/// Why an event does not fit the problem as it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Misfit {
    /// The problem was already resolved; the event is kept and flagged.
    AlreadyResolved,
    /// Escalation from the county: there is no level above.
    NoLevelAbove,
    /// Telling the family before there is an answer.
    NotAnswered,
    /// Start or reopen in a state where it means nothing.
    WrongState(ProblemState),
    /// An answer, escalation note or remark with no text.
    EmptyText,
}

impl Misfit {
    pub fn message_zh(&self) -> &'static str {
        match self {
            Misfit::AlreadyResolved => "问题已办结，这次改动已记下并标出",
            Misfit::NoLevelAbove => "县级已是最高一级，不能再上报",
            Misfit::NotAnswered => "问题还没有答复，不能记“已告知群众”",
            Misfit::WrongState(_) => "问题当前的状态不能这样改",
            Misfit::EmptyText => "请写上内容",
        }
    }
}

/// A problem's level and state, rebuilt from its events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemStatus {
    pub level: Level,
    pub state: ProblemState,
    pub assignee: Option<Uuid>,
    pub answer: Option<String>,
    pub family_told: bool,
}

impl ProblemStatus {
    /// Answered, and the member has not yet told the family: the list marks the household.
    pub fn waits_to_be_told(&self) -> bool {
        self.state == ProblemState::Resolved && !self.family_told
    }

    /// How a problem starts, from what happened at the door.
    pub fn at_door(outcome: ProblemOutcome, action: &str) -> ProblemStatus {
        let resolved = outcome == ProblemOutcome::ResolvedOnSpot;
        ProblemStatus {
            level: Level::Village,
            state: if resolved { ProblemState::Resolved } else { ProblemState::New },
            assignee: None,
            answer: resolved.then(|| action.to_string()),
            family_told: resolved,
        }
    }

    /// Applies one event. A fitting event changes the status and returns
    /// `Ok`; one that does not fit leaves it unchanged and returns the misfit,
    /// so the caller keeps the event and flags it.
    pub fn apply(&mut self, kind: &EventKind) -> Result<(), Misfit> {
        use EventKind as E;
        use ProblemState as S;
        let nonempty = |t: &str| if t.trim().is_empty() { Err(Misfit::EmptyText) } else { Ok(()) };
        match kind {
            E::Note { text } => nonempty(text),
            E::FamilyTold => {
                if self.state != S::Resolved {
                    return Err(Misfit::NotAnswered);
                }
                self.family_told = true;
                Ok(())
            }
            E::Feedback { level, words } => {
                if self.state != S::Resolved {
                    return Err(Misfit::NotAnswered);
                }
                if *level == Satisfaction::Dissatisfied {
                    nonempty(words)?;
                    self.state = S::New;
                    self.answer = None;
                    self.family_told = false;
                }
                Ok(())
            }
            E::Reopen { note } => {
                nonempty(note)?;
                if self.state != S::Resolved {
                    return Err(Misfit::WrongState(self.state));
                }
                self.state = S::New;
                self.answer = None;
                self.family_told = false;
                Ok(())
            }
            _ if self.state == S::Resolved => Err(Misfit::AlreadyResolved),
            E::Assign { to } => {
                self.assignee = Some(*to);
                self.state = S::Assigned;
                Ok(())
            }
            E::Start => {
                if self.state == S::InProgress {
                    return Err(Misfit::WrongState(self.state));
                }
                self.state = S::InProgress;
                Ok(())
            }
            E::Answer { text } => {
                nonempty(text)?;
                self.state = S::Resolved;
                self.answer = Some(text.clone());
                Ok(())
            }
            E::Escalate { note } => {
                nonempty(note)?;
                self.level = self.level.up().ok_or(Misfit::NoLevelAbove)?;
                self.state = S::New;
                self.assignee = None;
                Ok(())
            }
        }
    }

    /// Rebuilds the status from all events in time order (ties by id, which
    /// for v7 ids is creation order); returns the ids of the flagged events.
    pub fn replay(start: ProblemStatus, events: &mut [ProblemEvent]) -> (ProblemStatus, Vec<Uuid>) {
        events.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        let mut status = start;
        let mut flagged = Vec::new();
        for e in events.iter() {
            if status.apply(&e.change).is_err() {
                flagged.push(e.id);
            }
        }
        (status, flagged)
    }
}

/// When an answer is due, by urgency, counted from when the problem was raised.
pub fn due_at(raised: DateTime<Utc>, urgency: Urgency) -> DateTime<Utc> {
    raised + Duration::days(urgency.due_days())
}

/// The household a problem came from, by name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemHousehold {
    pub id: Uuid,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
}

/// One event of a problem's trail, with who made it and whether it was flagged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrailEntry {
    pub event: ProblemEvent,
    pub actor_name: String,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub received_at: DateTime<Utc>,
    /// It did not fit the problem's state when merged (e.g. came after the answer); kept anyway.
    pub flagged: bool,
}

/// A problem with its status and whole trail, as the console and the phone show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemView {
    pub id: Uuid,
    pub visit_id: Uuid,
    pub household: ProblemHousehold,
    pub raised_by: crate::auth::LinkedMember,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub raised_at: DateTime<Utc>,
    pub category: crate::problem::ProblemCategory,
    pub urgency: Urgency,
    pub description: String,
    pub status: ProblemStatus,
    pub assignee_name: Option<String>,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub due_at: DateTime<Utc>,
    /// Open past its due date.
    pub overdue: bool,
    pub trail: Vec<TrailEntry>,
}

impl ProblemView {
    /// Whether the family is still to be asked about the answer (the 回访):
    /// resolved, and no verdict since it was (at the door or by an answer).
    pub fn awaits_feedback(&self) -> bool {
        if self.status.state != ProblemState::Resolved {
            return false;
        }
        let last = |pick: fn(&EventKind) -> bool| {
            self.trail.iter().filter(|t| !t.flagged && pick(&t.event.change)).map(|t| (t.event.at, t.event.id)).max()
        };
        let verdict = last(|c| matches!(c, EventKind::Feedback { .. }));
        let answer = last(|c| matches!(c, EventKind::Answer { .. }));
        match (verdict, answer) {
            (None, _) => true,
            (Some(v), Some(a)) => v < a,
            (Some(_), None) => false,
        }
    }
}

/// The 回访 verdicts in an area and period, for the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SatisfactionCount {
    pub satisfied: u32,
    pub basically: u32,
    pub dissatisfied: u32,
}

impl SatisfactionCount {
    /// Counts one more `n` verdicts of `level`.
    pub fn add(&mut self, level: Satisfaction, n: u32) {
        let slot = match level {
            Satisfaction::Satisfied => &mut self.satisfied,
            Satisfaction::Basically => &mut self.basically,
            Satisfaction::Dissatisfied => &mut self.dissatisfied,
        };
        *slot = slot.saturating_add(n);
    }

    pub fn total(&self) -> u32 {
        self.satisfied + self.basically + self.dissatisfied
    }

    /// 满意率: satisfied and mostly satisfied over every verdict, in tenths of a
    /// percent (985 is 98.5 %); none without a verdict.
    pub fn rate_permille(&self) -> Option<u32> {
        let total = u64::from(self.total());
        (total > 0).then(|| ((u64::from(self.satisfied + self.basically) * 1000 + total / 2) / total) as u32)
    }

    /// The rate as people read it: `98.5%`, or `—`.
    pub fn rate_text(&self) -> String {
        self.rate_permille().map_or_else(|| "—".into(), |r| format!("{}.{}%", r / 10, r % 10))
    }
}

/// Open and overdue problems at one level, for the dashboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelCount {
    pub level: Level,
    pub open: u32,
    pub overdue: u32,
}

/// Problem changes sent together, from a phone's outbox or the console.
/// The server answers one [`crate::Receipt`] per event, like visits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProblemEventBatch {
    pub device_id: Uuid,
    pub events: Vec<ProblemEvent>,
}

/// A problem change kept on the phone until the server's receipt arrives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalEvent {
    pub schema: u32,
    pub event: ProblemEvent,
    pub sync: crate::local::SyncState,
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind as E;
    use ProblemState as S;

    fn open() -> ProblemStatus {
        ProblemStatus::at_door(ProblemOutcome::Escalate, "")
    }
    fn text(s: &str) -> String {
        s.to_string()
    }

    #[test]
    fn door_outcome_sets_the_start() {
        let s = ProblemStatus::at_door(ProblemOutcome::ResolvedOnSpot, "修好了水管");
        assert_eq!((s.level, s.state, s.answer.as_deref()), (Level::Village, S::Resolved, Some("修好了水管")));
        assert_eq!(open().state, S::New);
    }

    #[test]
    fn every_transition_from_every_state() {
        let m = Uuid::from_u128(9);
        let states = [S::New, S::Assigned, S::InProgress, S::Resolved];
        let events = [
            E::Assign { to: m },
            E::Start,
            E::Answer { text: text("已解决") },
            E::Escalate { note: text("村里解决不了") },
            E::Reopen { note: text("群众不满意") },
            E::FamilyTold,
            E::Note { text: text("打过电话") },
        ];
        // (state, event index) → resulting state, or the misfit.
        let expect = |st: S, i: usize| -> Result<S, Misfit> {
            match (st, i) {
                (_, 6) => Ok(st),
                (S::Resolved, 4) => Ok(S::New),
                (_, 4) => Err(Misfit::WrongState(st)),
                (S::Resolved, 5) => Ok(S::Resolved),
                (_, 5) => Err(Misfit::NotAnswered),
                (S::Resolved, _) => Err(Misfit::AlreadyResolved),
                (_, 0) => Ok(S::Assigned),
                (S::InProgress, 1) => Err(Misfit::WrongState(S::InProgress)),
                (_, 1) => Ok(S::InProgress),
                (_, 2) => Ok(S::Resolved),
                (_, 3) => Ok(S::New),
                _ => unreachable!(),
            }
        };
        for st in states {
            for (i, e) in events.iter().enumerate() {
                let mut s = open();
                s.state = st;
                let before = s.clone();
                let got = s.apply(e).map(|_| s.state);
                assert_eq!(got, expect(st, i), "{st:?} + {e:?}");
                if got.is_err() {
                    assert_eq!(s, before, "a misfit changes nothing");
                }
            }
        }
    }

    #[test]
    fn a_verdict_fits_a_resolved_problem_and_dissatisfied_reopens_it_at_its_level() {
        let satisfied = E::Feedback { level: Satisfaction::Satisfied, words: String::new() };
        let unhappy = E::Feedback { level: Satisfaction::Dissatisfied, words: text("水管又漏了") };
        let mut s = open();
        assert_eq!(s.apply(&satisfied), Err(Misfit::NotAnswered), "no verdict before an answer");
        s.apply(&E::Escalate { note: text("上报") }).unwrap();
        s.apply(&E::Answer { text: text("已修") }).unwrap();
        s.family_told = true;
        let resolved = s.clone();
        assert_eq!(s.apply(&satisfied), Ok(()));
        assert_eq!(s, resolved, "satisfied changes nothing");
        let silent = E::Feedback { level: Satisfaction::Dissatisfied, words: text(" ") };
        assert_eq!(s.apply(&silent), Err(Misfit::EmptyText), "不满意 needs the family's words");
        assert_eq!(s.apply(&unhappy), Ok(()));
        assert_eq!((s.level, s.state, s.answer.as_deref(), s.family_told), (Level::Township, S::New, None, false));
    }

    #[test]
    fn a_problem_awaits_its_verdict_until_given_and_again_after_a_new_answer() {
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let entry = |n: u128, at: i64, change| TrailEntry {
            event: ProblemEvent { id: Uuid::from_u128(n), problem_id: Uuid::nil(), at: t(at), change },
            actor_name: String::new(),
            received_at: t(at),
            flagged: false,
        };
        let mut view = ProblemView {
            id: Uuid::nil(),
            visit_id: Uuid::nil(),
            household: ProblemHousehold { id: Uuid::nil(), head_name: String::new(), address: String::new(), grid_name: String::new(), village_name: String::new() },
            raised_by: crate::auth::LinkedMember { id: Uuid::nil(), name: String::new() },
            raised_at: t(0),
            category: crate::problem::ProblemCategory::Other,
            urgency: Urgency::Normal,
            description: String::new(),
            status: ProblemStatus::at_door(ProblemOutcome::ResolvedOnSpot, "修好了"),
            assignee_name: None,
            due_at: t(0),
            overdue: false,
            trail: vec![],
        };
        assert!(view.awaits_feedback(), "resolved at the door, not yet asked");
        view.trail.push(entry(1, 10, E::Feedback { level: Satisfaction::Basically, words: String::new() }));
        assert!(!view.awaits_feedback());
        view.trail.push(entry(2, 20, E::Answer { text: text("又修了一次") }));
        assert!(view.awaits_feedback(), "a new answer is asked about again");
        view.status.state = S::InProgress;
        assert!(!view.awaits_feedback(), "only a resolved problem");
    }

    #[test]
    fn the_satisfaction_rate_counts_mostly_satisfied_as_satisfied() {
        let c = SatisfactionCount { satisfied: 190, basically: 7, dissatisfied: 3 };
        assert_eq!((c.total(), c.rate_permille(), c.rate_text()), (200, Some(985), "98.5%".to_string()));
        assert_eq!(SatisfactionCount::default().rate_text(), "—");
        assert_eq!(SatisfactionCount { satisfied: 2, basically: 0, dissatisfied: 1 }.rate_text(), "66.7%");
    }

    #[test]
    fn escalation_climbs_to_the_county_and_stops() {
        let mut s = open();
        let up = E::Escalate { note: text("上报") };
        assert!(s.apply(&up).is_ok());
        assert_eq!(s.level, Level::Township);
        assert!(s.apply(&up).is_ok());
        assert_eq!(s.level, Level::County);
        assert_eq!(s.apply(&up), Err(Misfit::NoLevelAbove));
        assert_eq!(s.level, Level::County);
        assert_eq!(s.apply(&E::Escalate { note: text(" ") }), Err(Misfit::EmptyText));
    }

    #[test]
    fn replay_merges_phone_and_console_in_time_order_and_flags_late_changes() {
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let ev = |n: u128, at: i64, change| ProblemEvent { id: Uuid::from_u128(n), problem_id: Uuid::nil(), at: t(at), change };
        // The console escalated and answered; the phone, offline, noted and then
        // "answered" after the county already had: kept, flagged.
        let mut events = vec![
            ev(4, 40, E::Answer { text: text("村里另行答复") }),
            ev(1, 10, E::Escalate { note: text("需要镇里协调") }),
            ev(3, 30, E::Answer { text: text("镇里已安排维修") }),
            ev(2, 20, E::Note { text: text("群众又打来电话") }),
            ev(5, 50, E::FamilyTold),
        ];
        let (status, flagged) = ProblemStatus::replay(open(), &mut events);
        assert_eq!(status.level, Level::Township);
        assert_eq!(status.state, S::Resolved);
        assert_eq!(status.answer.as_deref(), Some("镇里已安排维修"));
        assert!(status.family_told);
        assert_eq!(flagged, vec![Uuid::from_u128(4)]);
        assert_eq!(events.len(), 5, "nothing is dropped");
    }

    #[test]
    fn events_travel_as_json_and_refuse_unknown_fields() {
        let e = ProblemEvent {
            id: Uuid::from_u128(1),
            problem_id: Uuid::from_u128(2),
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            change: E::Answer { text: text("好了") },
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["change"]["kind"], "answer");
        assert_eq!(json["change"]["text"], "好了");
        assert_eq!(serde_json::from_value::<ProblemEvent>(json.clone()).unwrap(), e);
        let mut bad = json;
        bad["change"]["extra"] = serde_json::json!(1);
        assert!(serde_json::from_value::<ProblemEvent>(bad).is_err());
        let verdict = serde_json::json!({ "kind": "feedback", "level": "basically_satisfied", "words": "还行" });
        let read: EventKind = serde_json::from_value(verdict.clone()).unwrap();
        assert_eq!(read, E::Feedback { level: Satisfaction::Basically, words: text("还行") });
        assert_eq!(serde_json::to_value(&read).unwrap(), verdict);
        for bad in [
            serde_json::json!({ "kind": "feedback", "level": "happy", "words": "" }),
            serde_json::json!({ "kind": "feedback", "level": "satisfied" }),
        ] {
            assert!(serde_json::from_value::<EventKind>(bad).is_err());
        }
    }

    #[test]
    fn due_dates_follow_urgency() {
        let raised = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert_eq!(due_at(raised, Urgency::High) - raised, Duration::days(3));
        assert_eq!(due_at(raised, Urgency::Low) - raised, Duration::days(30));
    }
}
