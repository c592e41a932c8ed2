//! Problems after the door: where each stands, who may change it, and its trail.
//!
//! A problem row is made when its visit is first stored ([`insert_from_visit`]), with
//! the status [`ProblemStatus::at_door`] gives. After that it changes only by events
//! (`problem_events`, never updated except their `flagged` cache, never deleted):
//! whenever an event is added, all events of the problem are replayed in time order
//! ([`ProblemStatus::replay`]) inside the same transaction and the status columns of
//! `problems` and each event's `flagged` are rewritten, so late and out-of-order
//! events from offline phones merge exactly as if they had arrived in order.
//!
//! Who may send what ([`store_events`]):
//! - a coordinator, for a problem of a household in their subtree whose current level
//!   is at or below their own (village coordinator: village; township: village or
//!   township; county: any): every kind. `Assign.to` must be an account in their subtree;
//! - whoever raised the problem (the visit's member): `FamilyTold`, `Note` and the
//!   family's verdict at the 回访 (`Feedback`);
//! - whoever it is assigned to: `Start`, `Answer` and `Note`.
//!
//! A problem the caller neither reaches as a coordinator nor raised nor was given is
//! "not found", exactly like one that does not exist.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use daohu_domain::escalation::due_at;
use daohu_domain::visit::MAX_TEXT_CHARS;
use daohu_domain::{
    is_v7, EventKind, Level, Misfit, ProblemEvent, ProblemOutcome,
    ProblemStatus, ProblemView, Receipt, Role, Satisfaction, Visit,
};
use crate::db::{Conn, Pool};
use uuid::Uuid;

use crate::auth::{sha256_hex, AuthUser};
use crate::db::{parse_ts, parse_uuid};
use crate::receipts::{self, Records};
use crate::{store, AppError};

/// Most events one request may carry (a phone sends its whole problem outbox at once).
pub const MAX_EVENTS: usize = 1_000;
/// Most problems one list answers.
pub const MAX_LIST: usize = 1_000;

/// Unknown problem, or one outside the caller's reach (the same words, so nothing leaks).
pub const NOT_FOUND_REASON: &str = "找不到这个问题";
/// A coordinator acting on a problem that sits above their level.
pub const NOT_YOUR_LEVEL_REASON: &str = "这个问题不在你这一级处理";
/// A member or grid leader sending something that is not theirs to send.
pub const NOT_YOURS_REASON: &str =
    "你只能对自己上报的问题记“已告知群众”或备注，对派给你的问题开始办理、答复或备注";
/// `Assign.to` is not an account of the caller's subtree.
pub const ASSIGNEE_OUT_OF_SCOPE_REASON: &str = "派单对象不在你的管辖范围内";
/// `Assign.to` is a disabled account.
pub const ASSIGNEE_DISABLED_REASON: &str = "这个账号已停用，不能派单";
/// An id that is not a UUID v7.
pub const BAD_ID_REASON: &str = "记录编号无效";
/// A time no device could have (before 2000 or after 9999).
pub const BAD_TIME_REASON: &str = "记录时间无效，请检查手机时间";

/// The level a coordinator handles; `None` for other roles.
pub fn coordinator_level(role: Role) -> Option<Level> {
    match role {
        Role::VillageCoordinator => Some(Level::Village),
        Role::TownshipCoordinator => Some(Level::Township),
        Role::CountyCoordinator => Some(Level::County),
        Role::Member | Role::GridLeader | Role::Volunteer => None,
    }
}

/// A device time as stored in `problem_events.at`: fixed width to the nanosecond, so
/// text order is time order and nothing of the sender's time is lost.
pub fn event_ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// Plain words for the kind of an event (the export's 动作 column).
pub fn action_label(change: &EventKind) -> &'static str {
    match change {
        EventKind::Assign { .. } => "派单",
        EventKind::Start => "开始办理",
        EventKind::Answer { .. } => "答复",
        EventKind::Escalate { .. } => "上报",
        EventKind::Reopen { .. } => "重新办理",
        EventKind::FamilyTold => "已告知群众",
        EventKind::Note { .. } => "备注",
        EventKind::Feedback { .. } => "回访",
    }
}

fn event_text(change: &EventKind) -> Option<&str> {
    match change {
        EventKind::Answer { text } | EventKind::Note { text } => Some(text),
        EventKind::Escalate { note } | EventKind::Reopen { note } => Some(note),
        // A verdict's words: required for 不满意, optional (but checked) otherwise.
        EventKind::Feedback { level, words } if *level == Satisfaction::Dissatisfied || !words.is_empty() => Some(words),
        EventKind::Assign { .. } | EventKind::Start | EventKind::FamilyTold | EventKind::Feedback { .. } => None,
    }
}

// ---------------------------------------------------------------------------
// At the door

/// Makes the problem rows of a visit being stored, with the status
/// [`ProblemStatus::at_door`] gives, raised by the visit's member at its
/// `recorded_at` (never later than `now`, so a phone clock running ahead does not
/// push the due date out). A problem id seen before keeps its first row, so
/// re-uploads and re-imports change nothing.
pub async fn insert_from_visit(
    conn: &mut Conn,
    visit: &Visit,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let raised_at = visit.recorded_at.min(now);
    for p in &visit.problems {
        let status = ProblemStatus::at_door(p.outcome, &p.action);
        store::problems::insert_from_visit(conn, visit, p, &status, raised_at, due_at(raised_at, p.urgency), now).await?;
    }
    Ok(())
}

/// Whether the visit lists a problem id that a problem of another household already
/// has (one raised by this very visit, or by another visit to the same household, is
/// fine: it keeps its first row). Such a visit would otherwise carry that problem,
/// and its trail, into the downloads of whoever reaches the visit's household.
pub async fn lists_foreign_problem(conn: &mut Conn, visit: &Visit) -> Result<bool, AppError> {
    if visit.problems.is_empty() {
        return Ok(false);
    }
    let ids: Vec<Uuid> = visit.problems.iter().map(|p| p.id).collect();
    store::problems::held_elsewhere(conn, &ids, visit.household_id, visit.id).await
}

// ---------------------------------------------------------------------------
// Who reaches a problem

pub use crate::store::problems::{level_str, parse_level, parse_state, state_str, Target};

/// A problem by id, whoever may see it.
pub async fn target(conn: &mut Conn, id: Uuid) -> Result<Option<Target>, AppError> {
    store::problems::target(conn, id, false).await
}

impl Target {
    /// Whether the problem's household is in the caller's subtree as a coordinator.
    pub fn in_subtree_of(&self, user: &AuthUser) -> bool {
        user.role.is_coordinator() && self.grid_path.starts_with(&user.unit_path)
    }

    /// Whether the caller may see the problem: a coordinator over its household, the
    /// member who raised it, or the account it is assigned to.
    pub fn seen_by(&self, user: &AuthUser) -> bool {
        self.in_subtree_of(user)
            || self.raised_by == Some(user.id)
            || self.status.assignee == Some(user.id)
    }

    /// Whether the caller may send this change now (the problem as it stands).
    fn allows(&self, user: &AuthUser, change: &EventKind) -> Result<(), &'static str> {
        let subtree = self.in_subtree_of(user);
        if subtree && coordinator_level(user.role).is_some_and(|mine| self.status.level <= mine) {
            return Ok(());
        }
        let raised = self.raised_by == Some(user.id);
        let assigned = self.status.assignee == Some(user.id);
        let ok = match change {
            EventKind::FamilyTold | EventKind::Feedback { .. } => raised,
            EventKind::Note { .. } => raised || assigned,
            EventKind::Start | EventKind::Answer { .. } => assigned,
            EventKind::Assign { .. } | EventKind::Escalate { .. } | EventKind::Reopen { .. } => {
                false
            }
        };
        match (ok, subtree) {
            (true, _) => Ok(()),
            (false, true) => Err(NOT_YOUR_LEVEL_REASON),
            (false, false) => Err(NOT_YOURS_REASON),
        }
    }
}

// ---------------------------------------------------------------------------
// Events

fn rejected(event: &ProblemEvent, reason: impl Into<String>) -> Receipt {
    Receipt::rejected(event.id, reason)
}

/// Why an event cannot be stored whatever the problem's state, if it cannot.
fn invalid(event: &ProblemEvent) -> Option<String> {
    if !is_v7(&event.id) {
        return Some(BAD_ID_REASON.into());
    }
    if !(2000..=9999).contains(&event.at.year()) {
        return Some(BAD_TIME_REASON.into());
    }
    let text = event_text(&event.change)?;
    if text.trim().is_empty() {
        return Some(Misfit::EmptyText.message_zh().into());
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Some(format!("内容最多 {MAX_TEXT_CHARS} 字"));
    }
    None
}

/// Decides and stores events sent by `user` from `device_id`, inside the caller's write
/// transaction: one receipt per event, in order.
///
/// - invalid (not a v7 id, impossible time, empty or over-long text) → `rejected`;
/// - the id already stored: same sender and content → `duplicate` with the first
///   `received_at`; otherwise → `conflict` (the stored event is kept);
/// - a problem the caller does not reach, or a change they may not send now →
///   `rejected` (see the module's rules);
/// - otherwise `stored`, and the problem is replayed. An event that does not fit the
///   problem's state (an answer after the answer…) is stored all the same and
///   flagged; its receipt says why in `reason`.
pub async fn store_events(
    conn: &mut Conn,
    user: &AuthUser,
    device_id: Uuid,
    events: &[ProblemEvent],
    now: DateTime<Utc>,
) -> Result<Vec<Receipt>, AppError> {
    let mut receipts = Vec::with_capacity(events.len());
    for event in events {
        receipts.push(store_event(conn, user, device_id, event, now).await?);
    }
    Ok(receipts)
}

async fn store_event(
    conn: &mut Conn,
    user: &AuthUser,
    device_id: Uuid,
    event: &ProblemEvent,
    now: DateTime<Utc>,
) -> Result<Receipt, AppError> {
    if let Some(reason) = invalid(event) {
        return Ok(rejected(event, reason));
    }
    let change = serde_json::to_string(&event.change)?;
    let hash = sha256_hex(format!("{}\n{}", user.id, serde_json::to_string(event)?));

    // A retry is a duplicate even when the sender could no longer send it now
    // (the problem moved up a level since, or was given to someone else).
    if let Some(receipt) = receipts::held(conn, Records::ProblemEvents, event.id, &hash).await? {
        return Ok(receipt);
    }

    let Some(target) = store::problems::target(conn, event.problem_id, true).await? else {
        return Ok(rejected(event, NOT_FOUND_REASON));
    };
    if !target.seen_by(user) {
        return Ok(rejected(event, NOT_FOUND_REASON));
    }
    if let Err(reason) = target.allows(user, &event.change) {
        return Ok(rejected(event, reason));
    }
    if let EventKind::Assign { to } = &event.change {
        let area = crate::scope::Subtree { path: user.unit_path.clone() };
        match store::problems::account_disabled(conn, &area, *to).await? {
            None => return Ok(rejected(event, ASSIGNEE_OUT_OF_SCOPE_REASON)),
            Some(false) => {}
            Some(true) => return Ok(rejected(event, ASSIGNEE_DISABLED_REASON)),
        }
    }

    let at = event_ts(event.at);
    let feedback = match &event.change {
        EventKind::Feedback { level, .. } => Some(level.as_str()),
        _ => None,
    };
    let new = store::problems::NewEvent { id: event.id, problem: target.id, actor: user.id, device: device_id, at: &at, hash: &hash, change: &change, feedback };
    if !store::problems::insert_event(conn, &new, now).await? {
        // Stored meanwhile by another upload of the same event (PostgreSQL, where
        // uploads run side by side): decided against the stored one.
        return receipts::decided(conn, Records::ProblemEvents, event.id, &hash, false, now).await;
    }
    let misfit = replay(conn, target.id, Some(event.id)).await?;
    // Stored, with a note when it did not fit the problem's state at the time.
    Ok(Receipt { reason: misfit.map(|m| m.message_zh().to_string()), ..Receipt::stored(event.id, now) })
}

/// Every event of a problem, as sent (unsorted).
async fn events_of(
    conn: &mut Conn,
    problem: Uuid,
) -> Result<Vec<ProblemEvent>, AppError> {
    store::problems::events_of(conn, problem).await
}

/// Rebuilds a problem's status from the door and all its events
/// ([`ProblemStatus::replay`]) and rewrites the cached columns: the problem's status
/// and every event's `flagged`. Answers why `new_event` was flagged, if it was.
pub async fn replay(
    conn: &mut Conn,
    problem: Uuid,
    new_event: Option<Uuid>,
) -> Result<Option<Misfit>, AppError> {
    let (outcome, action) = store::problems::door(conn, problem).await?;
    let outcome = ProblemOutcome::parse(&outcome)
        .ok_or_else(|| AppError::internal(format!("unknown stored outcome {outcome:?}")))?;
    let start = ProblemStatus::at_door(outcome, &action);
    let mut events = events_of(conn, problem).await?;
    let (status, flagged) = ProblemStatus::replay(start.clone(), &mut events);

    store::problems::set_status(conn, problem, &status).await?;
    store::problems::set_flagged(conn, problem, &flagged).await?;

    // Why the new event did not fit: the status just before it, in merge order.
    let Some(new_event) = new_event.filter(|id| flagged.contains(id)) else {
        return Ok(None);
    };
    let Some(index) = events.iter().position(|e| e.id == new_event) else {
        return Ok(None);
    };
    let mut before = events[..index].to_vec();
    let (mut status, _) = ProblemStatus::replay(start, &mut before);
    Ok(status.apply(&events[index].change).err())
}

// ---------------------------------------------------------------------------
// Reading

pub use crate::store::problems::{trails, views};

/// One problem as the caller may see it (see [`Target::seen_by`]); `None` otherwise.
pub async fn view_for(
    conn: &mut Conn,
    user: &AuthUser,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<ProblemView>, AppError> {
    match target(conn, id).await? {
        Some(t) if t.seen_by(user) => {
            let mut found = views(conn, "p.id = $1", &[id.to_string()], Some(1), now).await?;
            Ok(found.pop())
        }
        _ => Ok(None),
    }
}

/// The problems the caller raised or was given, by household (for the phone's roster).
pub async fn raised_or_assigned(
    conn: &mut Conn,
    user: &AuthUser,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, Vec<ProblemView>>, AppError> {
    let me = user.id.to_string();
    let list = views(
        conn,
        "(p.raised_by = $1 OR p.assignee_id = $1)",
        &[me],
        None,
        now,
    )
    .await?;
    let mut out: HashMap<Uuid, Vec<ProblemView>> = HashMap::new();
    for v in list {
        out.entry(v.household.id).or_default().push(v);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Exports

/// One line of the export's 办理经过 sheet.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportEvent {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    /// 动作: [`action_label`].
    pub action: &'static str,
    /// 内容: the text, or for an assignment the name of the account given it.
    pub content: String,
    pub flagged: bool,
}

/// Where a problem stands, for the export's 问题 sheet, with its trail.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportProblem {
    /// The household the problem belongs to: a visit shows it only when it is the visit's.
    pub household_id: Uuid,
    pub status: ProblemStatus,
    pub overdue: bool,
    pub events: Vec<ExportEvent>,
}

/// Status and trail of these problems, each asked with the household of the visit
/// that lists it: a problem is joined only when it belongs to that household (the
/// export's visits are the caller's scope, so their households are too), never by
/// the id a visit's body names alone. Those without such a row are left out.
pub async fn export_details(
    pool: &Pool,
    wanted: &[(Uuid, Uuid)],
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, ExportProblem>, AppError> {
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let asked: std::collections::HashSet<(Uuid, Uuid)> = wanted.iter().copied().collect();
    let ids: Vec<Uuid> = wanted.iter().map(|(id, _)| *id).collect();
    let mut conn = pool.acquire().await?;
    for chunk in ids.chunks(500) {
        let rows = store::problems::export_rows(&mut conn, chunk).await?;
        for r in rows {
            let id = parse_uuid(&r.id)?;
            let household_id = parse_uuid(&r.household_id)?;
            if !asked.contains(&(id, household_id)) {
                continue;
            }
            let status = ProblemStatus {
                level: parse_level(&r.level)?,
                state: parse_state(&r.state)?,
                assignee: r.assignee_id.as_deref().map(parse_uuid).transpose()?,
                answer: r.answer,
                family_told: r.family_told,
            };
            let due = r.due_at.as_deref().map(parse_ts).transpose()?;
            out.insert(
                id,
                ExportProblem {
                    household_id,
                    overdue: status.state.is_open() && due.is_some_and(|d| now > d),
                    status,
                    events: Vec::new(),
                },
            );
        }
    }
    let found: Vec<Uuid> = out.keys().copied().collect();
    let trails = trails(&mut conn, &found).await?;
    let assignees: Vec<Uuid> = trails
        .values()
        .flatten()
        .filter_map(|t| match t.event.change {
            EventKind::Assign { to } => Some(to),
            _ => None,
        })
        .collect();
    let mut names: HashMap<Uuid, String> = HashMap::new();
    for chunk in assignees.chunks(500) {
        let rows = store::problems::member_names(&mut conn, chunk).await?;
        for (id, name) in rows {
            names.insert(parse_uuid(&id)?, name);
        }
    }
    for (id, trail) in trails {
        if let Some(p) = out.get_mut(&id) {
            p.events = trail
                .into_iter()
                .map(|t| ExportEvent {
                    at: t.event.at,
                    action: action_label(&t.event.change),
                    content: match &t.event.change {
                        EventKind::Assign { to } => {
                            names.get(to).cloned().unwrap_or_else(|| to.to_string())
                        }
                        other => event_text(other).unwrap_or_default().to_string(),
                    },
                    actor_name: t.actor_name,
                    flagged: t.flagged,
                })
                .collect();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use daohu_domain::ProblemState;

    #[test]
    fn stored_words_round_trip_and_match_serde() {
        for l in [Level::Village, Level::Township, Level::County] {
            assert_eq!(parse_level(level_str(l)).unwrap(), l);
            assert_eq!(
                serde_json::to_string(&l).unwrap(),
                format!("\"{}\"", level_str(l))
            );
        }
        for s in [
            ProblemState::New,
            ProblemState::Assigned,
            ProblemState::InProgress,
            ProblemState::Resolved,
        ] {
            assert_eq!(parse_state(state_str(s)).unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", state_str(s))
            );
        }
    }

    #[test]
    fn event_times_keep_their_order_and_precision() {
        let a = DateTime::from_timestamp(1_800_000_000, 5).unwrap();
        let b = DateTime::from_timestamp(1_800_000_000, 400_000_000).unwrap();
        assert!(event_ts(a) < event_ts(b));
        assert_eq!(event_ts(a).len(), event_ts(b).len());
        assert_eq!(parse_ts(&event_ts(a)).unwrap(), a);
    }

    #[test]
    fn coordinators_handle_their_level() {
        assert_eq!(
            coordinator_level(Role::VillageCoordinator),
            Some(Level::Village)
        );
        assert_eq!(
            coordinator_level(Role::CountyCoordinator),
            Some(Level::County)
        );
        assert_eq!(coordinator_level(Role::Member), None);
        assert!(Level::Village < Level::Township && Level::Township < Level::County);
    }
}
