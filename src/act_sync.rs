//! The activities uploader: activities first, then their photos (resumable,
//! in chunks, each checked by the server against the record's SHA-256), then
//! check-ins. Same rules as visits: one uploader across tabs (the same Web
//! Lock), a record leaves the outbox only once its receipt is stored, and
//! failures retry with full-jitter backoff. A check-in tap is recorded here
//! too ([`tap_check`]), since it ends by asking for an upload.

use std::time::Duration;

use daohu_domain::{
    backoff_ms, ActivityBatch, ActivityRoster, CheckInBatch, CheckKind, GeoPoint, LocalActivity, PhotoState, PhotoStatus, SyncResponse,
    SyncState, MAX_BATCH,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::act_ctx::ActivityCtx;
use crate::api::{self, ApiFailure};
use crate::ctx::AppCtx;
use crate::{photos, storage, sync, time};

/// Bytes of a photo sent per request: small enough to get through a weak signal.
pub const CHUNK: f64 = 256.0 * 1024.0;

/// Starts an upload unless one is running in this tab.
pub fn request(ctx: AppCtx, actx: ActivityCtx) {
    if actx.uploading.get_untracked() || ctx.session.get_untracked().is_none() {
        return;
    }
    actx.uploading.set(true);
    spawn_local(async move {
        sync::with_upload_lock(async move { upload(ctx, actx).await }).await;
        actx.uploading.set(false);
    });
}

/// Why one photo did not finish.
enum PhotoFail {
    Api(ApiFailure),
    Local(photos::PhotoError),
}

async fn upload(ctx: AppCtx, actx: ActivityCtx) {
    // Only for the account signed in on the phone now (see `sync::upload_outbox`).
    if storage::reload_if_account_changed() {
        return;
    }
    let Some(client) = ctx.api() else { return };
    actx.reload();
    let mut failure: Option<ApiFailure> = None;

    let pending: Vec<_> = actx.activities.get_untracked().into_iter().filter(|a| a.sync.in_outbox()).collect();
    for chunk in pending.chunks(MAX_BATCH) {
        let batch = ActivityBatch { device_id: ctx.device_id, activities: chunk.iter().map(|a| a.activity.clone()).collect() };
        match client.send::<_, SyncResponse>("POST", "/api/sync/activities", Some(&batch)).await {
            Ok(resp) => {
                for r in &resp.receipts {
                    if let Ok(Some(mut a)) = storage::load_activity(r.id) {
                        if a.apply_receipt(r) {
                            let _ = storage::save_activity(&a);
                        }
                    }
                }
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }

    // Photos of records the server holds.
    let mut photo_problem = None;
    if failure.is_none() {
        let stored: Vec<_> = storage::load_activities()
            .map(|(l, _)| l)
            .unwrap_or_default()
            .into_iter()
            .filter(|a| matches!(a.sync, SyncState::Stored { .. }) && a.photo_bytes_waiting() > 0)
            .collect();
        'outer: for a in stored {
            let waiting: Vec<(usize, Uuid)> = a.photos_waiting().map(|(i, p)| (i, p.id)).collect();
            for (i, id) in waiting {
                match upload_photo(&client, id).await {
                    Ok(()) => mark_uploaded(a.activity.id, i).await,
                    Err(PhotoFail::Api(e)) => {
                        failure = Some(e);
                        break 'outer;
                    }
                    Err(PhotoFail::Local(e)) => photo_problem = Some(e),
                }
            }
        }
    }

    // Check-ins whose activity the server holds (stored from here, or a team activity from the server).
    if failure.is_none() {
        let local = storage::load_activities().map(|(l, _)| l).unwrap_or_default();
        let ready: Vec<_> = storage::load_check_ins()
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.sync.in_outbox())
            .filter(|c| match local.iter().find(|a| a.activity.id == c.check_in.activity_id) {
                Some(a) => matches!(a.sync, SyncState::Stored { .. }),
                None => true,
            })
            .collect();
        for chunk in ready.chunks(MAX_BATCH) {
            let batch = CheckInBatch { device_id: ctx.device_id, check_ins: chunk.iter().map(|c| c.check_in.clone()).collect() };
            match client.send::<_, SyncResponse>("POST", "/api/sync/check-ins", Some(&batch)).await {
                Ok(resp) => {
                    for r in &resp.receipts {
                        if let Some(mut c) = chunk.iter().find(|c| c.check_in.id == r.id).cloned() {
                            c.sync = SyncState::from_receipt(r);
                            let _ = storage::save_check_in(&c);
                        }
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }

    actx.reload();
    ctx.recount_other();
    let zh = ctx.zh();
    match failure {
        None => {
            actx.retry_attempt.set(0);
            ctx.outbox.update(|m| {
                m.last_success_ms = Some(time::now_ms());
                m.last_error = photo_problem.map(|p| p.message(zh).to_string());
            });
            refresh_roster(ctx, actx);
        }
        Some(e) => {
            ctx.outbox.update(|m| m.last_error = Some(e.message(zh)));
            if e == ApiFailure::SignedOut {
                ctx.signed_out.set(true);
            } else {
                schedule_retry(ctx, actx);
            }
        }
    }
    let _ = storage::save_outbox_meta(&ctx.outbox.get_untracked());
}

/// Sends one photo from where the server's copy ends, in chunks.
async fn upload_photo(client: &api::SignedIn, id: Uuid) -> Result<(), PhotoFail> {
    let path = format!("/api/photos/{id}");
    let mut status: PhotoStatus = client.get(&path).await.map_err(PhotoFail::Api)?;
    if status.complete {
        return Ok(());
    }
    let blob = photos::get(id).await.map_err(PhotoFail::Local)?.ok_or(PhotoFail::Local(photos::PhotoError::Missing))?;
    let size = blob.size();
    // A bounded number of requests: a photo that keeps failing waits for the next round.
    for _ in 0..(size / CHUNK) as usize + 8 {
        if status.complete {
            return Ok(());
        }
        let from = status.received as f64;
        let part = blob.slice_with_f64_and_f64(from, (from + CHUNK).min(size)).map_err(|_| PhotoFail::Local(photos::PhotoError::Missing))?;
        let put = client.send_blob::<PhotoStatus>("PUT", &format!("{path}?offset={}", status.received), &part, "application/octet-stream").await;
        status = match put {
            Ok(s) => s,
            // The server's copy is elsewhere (an answer lost on the way) or was
            // found corrupt and reset: ask where it stands and go on from there.
            Err(ApiFailure::Server { status: 409 | 422, .. }) => client.get(&path).await.map_err(PhotoFail::Api)?,
            Err(e) => return Err(PhotoFail::Api(e)),
        };
    }
    if status.complete {
        Ok(())
    } else {
        Err(PhotoFail::Api(ApiFailure::BadAnswer))
    }
}

/// Marks photo `index` of an activity uploaded and frees its bytes on the phone.
async fn mark_uploaded(activity_id: Uuid, index: usize) {
    let Ok(Some(mut a)) = storage::load_activity(activity_id) else { return };
    let n = a.activity.photos.len();
    a.photo_states.resize(n, PhotoState::Pending);
    if let Some(s) = a.photo_states.get_mut(index) {
        *s = PhotoState::Uploaded;
    }
    if storage::save_activity(&a).is_ok() {
        // Only after the record says "uploaded": if this delete never happens the
        // photo just takes room until the next upload finds it complete.
        let _ = photos::delete(a.activity.photos[index].id).await;
    }
}

fn schedule_retry(ctx: AppCtx, actx: ActivityCtx) {
    let attempt = actx.retry_attempt.get_untracked();
    actx.retry_attempt.set(attempt.saturating_add(1));
    let wait = backoff_ms(attempt, js_sys::Math::random());
    actx.retry_timer.update_value(|t| {
        if let Some(h) = t.take() {
            h.clear();
        }
    });
    let handle = set_timeout_with_handle(move || request(ctx, actx), Duration::from_millis(wait)).ok();
    actx.retry_timer.set_value(handle);
}

/// Fetches kinds, teams and households, keeping the stored copy when offline.
pub fn refresh_roster(ctx: AppCtx, actx: ActivityCtx) {
    let Some(client) = ctx.api() else { return };
    spawn_local(async move {
        match client.get::<ActivityRoster>("/api/activity-roster").await {
            Ok(r) => {
                let _ = storage::save_activity_roster(&r);
                actx.roster.set(Some(r));
            }
            Err(ApiFailure::SignedOut) => ctx.signed_out.set(true),
            Err(_) => {}
        }
    });
}

/// Wires the triggers: online, page visible, another tab's changes, and start.
pub fn start(ctx: AppCtx, actx: ActivityCtx) {
    // Photos kept before a PIN was set are sealed now.
    spawn_local(photos::seal_kept());
    let _ = window_event_listener(leptos::ev::online, move |_| {
        ctx.online.set(true);
        actx.retry_attempt.set(0);
        request(ctx, actx);
    });
    let _ = window_event_listener(leptos::ev::offline, move |_| ctx.online.set(false));
    let _ = window_event_listener_untyped("visibilitychange", move |_| {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
            .unwrap_or(false);
        if visible {
            request(ctx, actx);
        }
    });
    let _ = window_event_listener(leptos::ev::storage, move |ev| {
        if storage::reload_if_account_changed() {
            return;
        }
        if ev.key().map(|k| storage::is_our_key(&k)).unwrap_or(true) {
            storage::follow_other_tab(&ev, move || {
                actx.reload();
                ctx.recount_other();
            });
        }
    });
    // Photos take room: ask the browser not to clear this site under pressure.
    sync::request_persistent_storage();
    spawn_local(async move {
        if let Some((used, quota)) = storage::estimate().await {
            if quota > 0.0 {
                ctx.storage_pct.set(Some((used / quota * 100.0) as u32));
            }
        }
    });
    refresh_roster(ctx, actx);
    request(ctx, actx);
}

/// Saves a finished activity into the outbox and starts an upload.
pub fn save_for_upload(ctx: AppCtx, actx: ActivityCtx, mut a: LocalActivity) -> Result<(), crate::storage::StorageError> {
    a.sync = SyncState::Pending;
    a.activity.recorded_at = time::now_utc();
    a.photo_states.resize(a.activity.photos.len(), PhotoState::Pending);
    actx.put(ctx, a)?;
    request(ctx, actx);
    Ok(())
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
            Ok(()) => {
                request(ctx, actx);
                match kind {
                    CheckKind::In => format!("{} {}", ctx.tr("已签到", "Checked in at"), time::format_local(at.timestamp_millis() as f64)),
                    CheckKind::Out => format!("{} {}", ctx.tr("已签退", "Checked out at"), time::format_local(at.timestamp_millis() as f64)),
                }
            }
            Err(e) => e.message(ctx.zh()),
        };
        done.set(Some(msg));
    });
}
