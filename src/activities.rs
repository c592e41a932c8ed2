//! The volunteer-activities bundle (`/activities`): volunteers, and members
//! too, record activities and check in (打卡) offline. A bundle of its own so
//! the members' visit app stays small; it shares the session, the outbox
//! count and the upload lock with the visit app (same origin, same storage).
//! Visits upload from the visit app; this bundle uploads activities, their
//! photos and check-ins.

use daohu_domain::{
    Activity, ActivityRoster, CheckIn, CheckKind, GeoPoint, LocalActivity, LocalCheckIn, SyncState,
    LOCAL_SCHEMA_VERSION,
};
use leptos::prelude::*;
use uuid::Uuid;

use crate::components::header::Header;
use crate::ctx::AppCtx;
use crate::pages::activities::ActivitiesPage;
use crate::pages::activity::ActivityPage;
use crate::routes::{self, AppRoute, Bundle};
use crate::storage::{self, StorageError};
use crate::{act_sync, time};

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
        act_sync::request(ctx, self);
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

/// The bundle's root component.
#[component]
pub fn ActivitiesApp() -> impl IntoView {
    let ctx = AppCtx::provide_light();
    let actx = ActivityCtx::provide();
    act_sync::start(ctx, actx);
    crate::components::update::watch_for_update(ctx);
    routes::listen(ctx.route);
    move || {
        ctx.lang.track();
        view! {
            <Header/>
            <main id="main">
                {move || match ctx.route.get() {
                    AppRoute::Activities => view! { <ActivitiesPage/> }.into_any(),
                    AppRoute::Activity(id) => view! { <ActivityPage id=id/> }.into_any(),
                    r if r.bundle() != Bundle::Activities => {
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().assign(&r.href());
                        }
                        ().into_any()
                    }
                    _ => view! { <p class="empty">"页面不存在 / Page not found"</p> }.into_any(),
                }}
            </main>
        }
    }
}

/// The phone's position, when the volunteer allowed it and the phone answers
/// within a few seconds; otherwise none (a check-in never waits on it).
pub async fn locate() -> Option<GeoPoint> {
    use js_sys::{Function, Object, Promise, Reflect};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};
    let nav = web_sys::window()?.navigator();
    let geo = Reflect::get(&nav, &"geolocation".into()).ok().filter(|g| !g.is_undefined())?;
    let get = Reflect::get(&geo, &"getCurrentPosition".into()).ok()?.dyn_into::<Function>().ok()?;
    let promise = Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |pos: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &pos);
        });
        let fail = Closure::once_into_js(move |e: JsValue| {
            let _ = reject.call1(&JsValue::NULL, &e);
        });
        let opts = Object::new();
        let _ = Reflect::set(&opts, &"timeout".into(), &8000.into());
        let _ = Reflect::set(&opts, &"maximumAge".into(), &60000.into());
        let _ = get.call3(&geo, &ok, &fail, &opts);
    });
    let pos = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let coords = Reflect::get(&pos, &"coords".into()).ok()?;
    let num = |k: &str| Reflect::get(&coords, &k.into()).ok().and_then(|v| v.as_f64());
    let p = GeoPoint { lat: num("latitude")?, lon: num("longitude")?, accuracy_m: num("accuracy").unwrap_or(0.0) };
    p.is_valid().then_some(p)
}

/// Checks the signed-in volunteer in or out: the time is the tap's, the
/// location (if allowed) follows. `done` gets plain words for the screen.
pub fn tap_check(ctx: AppCtx, actx: ActivityCtx, activity_id: Uuid, kind: CheckKind, done: RwSignal<Option<String>>) {
    let at = time::now_utc();
    let geo = actx.geo.get_untracked();
    leptos::task::spawn_local(async move {
        let location = if geo { locate().await } else { None };
        let msg = match actx.check(ctx, activity_id, kind, location, at) {
            Ok(()) => match kind {
                CheckKind::In => format!("{} {}", ctx.tr("已签到", "Checked in at"), time::format_local(at.timestamp_millis() as f64)),
                CheckKind::Out => format!("{} {}", ctx.tr("已签退", "Checked out at"), time::format_local(at.timestamp_millis() as f64)),
            },
            Err(e) => e.message(ctx.zh()),
        };
        done.set(Some(msg));
    });
}
