//! What the activity screens share: the activities, check-ins and roster kept on
//! this phone, read from and written to storage. Uploading them is
//! [`crate::act_sync`]'s; the bundle's root is [`crate::activities`].

use daohu_domain::{
    Activity, ActivityRoster, CheckIn, CheckKind, GeoPoint, LocalActivity, LocalCheckIn, SyncState,
    LOCAL_SCHEMA_VERSION,
};
use leptos::prelude::*;
use uuid::Uuid;

use crate::ctx::AppCtx;
use crate::storage::{self, StorageError};
use crate::time;

/// What the activity screens share (alongside [`AppCtx`]).
#[derive(Clone, Copy)]
pub struct ActivityCtx {
    /// Activities kept on this phone, newest first.
    pub activities: RwSignal<Vec<LocalActivity>>,
    /// Check-ins made on this phone.
    pub check_ins: RwSignal<Vec<LocalCheckIn>>,
    /// Kinds, teams and households from the server (kept for offline use).
    pub roster: RwSignal<Option<ActivityRoster>>,
    /// Stored records this version cannot read (kept untouched).
    pub unreadable: RwSignal<usize>,
    pub uploading: RwSignal<bool>,
    pub retry_attempt: RwSignal<u32>,
    pub retry_timer: StoredValue<Option<TimeoutHandle>>,
    /// Whether check-ins record the phone's location (the volunteer's choice).
    pub geo: RwSignal<bool>,
}

impl ActivityCtx {
    pub fn provide() -> ActivityCtx {
        let a = ActivityCtx {
            activities: RwSignal::new(Vec::new()),
            check_ins: RwSignal::new(Vec::new()),
            roster: RwSignal::new(storage::load_activity_roster()),
            unreadable: RwSignal::new(0),
            uploading: RwSignal::new(false),
            retry_attempt: RwSignal::new(0),
            retry_timer: StoredValue::new(None),
            geo: RwSignal::new(storage::geo_allowed()),
        };
        a.reload();
        provide_context(a);
        a
    }

    /// Rereads activities and check-ins from storage (another tab or the uploader changed them).
    pub fn reload(self) {
        if let Ok((list, bad)) = storage::load_activities() {
            self.activities.set(list);
            self.unreadable.set(bad);
        }
        self.check_ins.set(storage::load_check_ins().unwrap_or_default());
    }

    /// Writes an activity and only then shows it; on failure nothing on screen changes.
    pub fn put(self, ctx: AppCtx, a: LocalActivity) -> Result<(), StorageError> {
        storage::save_activity(&a)?;
        self.activities.update(|all| match all.iter_mut().find(|x| x.activity.id == a.activity.id) {
            Some(slot) => *slot = a,
            None => all.insert(0, a),
        });
        ctx.recount_other();
        Ok(())
    }

    pub fn get(self, id: Uuid) -> Option<LocalActivity> {
        self.activities.with_untracked(|all| all.iter().find(|a| a.activity.id == id).cloned())
    }

    /// Records a check-in or check-out for the signed-in volunteer, stamped with
    /// the time of the tap; the location (when allowed) is looked up after.
    pub fn check(self, ctx: AppCtx, activity_id: Uuid, kind: CheckKind, location: Option<GeoPoint>, at: chrono::DateTime<chrono::Utc>) -> Result<(), StorageError> {
        let volunteer_id = ctx.session.get_untracked().map(|s| s.member.id).unwrap_or_default();
        let c = LocalCheckIn {
            schema: LOCAL_SCHEMA_VERSION,
            check_in: CheckIn { id: time::new_id(), activity_id, volunteer_id, kind, at, location },
            sync: SyncState::Pending,
        };
        storage::save_check_in(&c)?;
        self.check_ins.update(|all| all.push(c));
        ctx.recount_other();
        Ok(())
    }

    /// Whether the signed-in volunteer is checked in on an activity now.
    pub fn checked_in(self, activity_id: Uuid) -> bool {
        self.check_ins.with(|all| {
            all.iter().filter(|c| c.check_in.activity_id == activity_id).max_by_key(|c| c.check_in.at).map(|c| c.check_in.kind)
                == Some(CheckKind::In)
        })
    }

    /// A new draft activity for the signed-in volunteer, starting now.
    pub fn new_draft(self, ctx: AppCtx) -> LocalActivity {
        let me = ctx.session.get_untracked().map(|s| s.member.id).unwrap_or_default();
        let team = self.roster.with_untracked(|r| r.as_ref().and_then(|r| r.teams.first().map(|t| t.id)));
        let now = time::now_local_time();
        LocalActivity::draft(Activity {
            id: time::new_id(),
            recorder_id: me,
            team_id: team,
            kind: String::new(),
            date: time::today(),
            start: now,
            end: now + chrono::Duration::hours(1),
            place: String::new(),
            participants: vec![me],
            others: 0,
            served: 0,
            household_ids: Vec::new(),
            description: String::new(),
            photos: Vec::new(),
            recorded_at: time::now_utc(),
        })
    }

    /// The label of a kind code, Chinese or English.
    pub fn kind_label(self, code: &str, zh: bool) -> String {
        let from_roster = self.roster.with_untracked(|r| {
            r.as_ref()?.kinds.iter().find(|k| k.code == code).map(|k| if zh { k.label_zh.clone() } else { k.label_en.clone() })
        });
        from_roster
            .or_else(|| {
                daohu_domain::activity::DEFAULT_KINDS
                    .iter()
                    .find(|k| k.0 == code)
                    .map(|k| if zh { k.1.to_string() } else { k.2.to_string() })
            })
            .unwrap_or_else(|| code.to_string())
    }
}

pub fn use_activity_ctx() -> ActivityCtx {
    expect_context::<ActivityCtx>()
}
