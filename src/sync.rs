//! The uploader: sends the outbox, stores each receipt, retries with backoff.
//!
//! Triggers: app start, the `online` event, the page becoming visible, a save,
//! the "upload now" button and the retry timer. One uploader runs at a time
//! across tabs (Web Locks where the browser has them), and a record leaves the
//! outbox only when its receipt has been written to storage.

use std::time::Duration;

use daohu_domain::{backoff_ms, SyncBatch, MAX_BATCH};
use js_sys::{Function, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::api::ApiFailure;
use crate::ctx::AppCtx;
use crate::storage;
use crate::time;

const LOCK_NAME: &str = "daohu-upload";

/// Starts an upload unless one is already running in this tab.
pub fn request_upload(ctx: AppCtx) {
    if ctx.uploading.get_untracked() || ctx.session.get_untracked().is_none() {
        return;
    }
    ctx.uploading.set(true);
    spawn_local(async move {
        with_upload_lock(async move { upload_outbox(ctx).await }).await;
        ctx.uploading.set(false);
    });
}

/// Runs `f` while holding the cross-tab upload lock, or directly where the
/// browser has no Web Locks (then two tabs may both send a record; the
/// server's duplicate receipt keeps it stored once).
pub async fn with_upload_lock<F>(f: F)
where
    F: std::future::Future<Output = ()> + 'static,
{
    let navigator = match web_sys::window() {
        Some(w) => JsValue::from(w.navigator()),
        None => return,
    };
    let locks = Reflect::get(&navigator, &"locks".into()).unwrap_or(JsValue::UNDEFINED);
    let request = Reflect::get(&locks, &"request".into())
        .ok()
        .and_then(|r| r.dyn_into::<Function>().ok());
    let Some(request) = request.filter(|_| !locks.is_undefined()) else {
        f.await;
        return;
    };
    let mut task = Some(f);
    let callback = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        let fut = task.take();
        future_to_promise(async move {
            if let Some(fut) = fut {
                settle().await;
                fut.await;
            }
            Ok(JsValue::UNDEFINED)
        })
        .into()
    });
    if let Ok(p) = request.call2(&locks, &LOCK_NAME.into(), &callback) {
        if let Ok(p) = p.dyn_into::<Promise>() {
            let _ = JsFuture::from(p).await;
        }
    }
}

/// A short wait after taking the lock. Chromium hands local-storage writes from
/// another tab to this one asynchronously: a tab that took the lock just as the
/// other let it go could still read the records it had uploaded as waiting, and
/// send them again (seen once in the two-tab browser test; the server kept each
/// record once). 100 ms is far more than that hand-over takes.
async fn settle() {
    crate::time::pause_ms(100).await;
}

async fn upload_outbox(ctx: AppCtx) {
    // Only for the account signed in on the phone now: a page still open after
    // its account signed out elsewhere (another tab, the sign-out page) reloads
    // instead of sending that account's records with a token it may still hold.
    if storage::reload_if_account_changed() {
        return;
    }
    let Some(client) = ctx.api() else { return };
    // Another tab may have saved or uploaded since this one last looked.
    ctx.reload_visits();
    let pending: Vec<_> = ctx
        .visits
        .get_untracked()
        .into_iter()
        .filter(|v| v.sync.in_outbox())
        .collect();
    let events: Vec<_> = ctx.events.get_untracked().into_iter().filter(|e| e.sync.in_outbox()).collect();
    if pending.is_empty() && events.is_empty() {
        ctx.retry_attempt.set(0);
        return;
    }
    let mut failure = None;
    for chunk in pending.chunks(MAX_BATCH) {
        let batch = SyncBatch {
            device_id: ctx.device_id,
            visits: chunk.iter().map(|v| v.visit.clone()).collect(),
        };
        match client.upload(&batch).await {
            Ok(resp) => {
                for receipt in &resp.receipts {
                    // Reread the record so a change made meanwhile in another tab is not overwritten.
                    let current = storage::load_visit(receipt.id).ok().flatten();
                    if let Some(mut v) = current {
                        if v.apply_receipt(receipt) {
                            // If this write fails the record stays in the outbox and the
                            // next upload gets a duplicate receipt: nothing is lost.
                            let _ = storage::save_visit(&v);
                        }
                    }
                }
                ctx.outbox.update(|m| {
                    m.last_success_ms = Some(time::now_ms());
                    m.last_error = None;
                });
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    // Problem changes after visits: a change may concern a problem raised in a visit just sent.
    if failure.is_none() && !events.is_empty() {
        let batch = daohu_domain::ProblemEventBatch {
            device_id: ctx.device_id,
            events: events.iter().map(|e| e.event.clone()).collect(),
        };
        match client.upload_events(&batch).await {
            Ok(resp) => {
                for r in &resp.receipts {
                    if let Some(mut e) = events.iter().find(|e| e.event.id == r.id).cloned() {
                        e.sync = daohu_domain::SyncState::from_receipt(r);
                        let _ = storage::save_event(&e);
                    }
                }
            }
            Err(e) => failure = Some(e),
        }
    }
    ctx.reload_visits();
    match failure {
        None => {
            ctx.retry_attempt.set(0);
            refresh_roster(ctx);
        }
        Some(e) => {
            let zh = ctx.lang.get_untracked() == crate::ctx::Lang::Zh;
            ctx.outbox.update(|m| m.last_error = Some(e.message(zh)));
            if e == ApiFailure::SignedOut {
                // Nothing is retried until the member signs in again; the outbox is untouched.
                ctx.signed_out.set(true);
            } else {
                schedule_retry(ctx);
            }
        }
    }
    let _ = storage::save_outbox_meta(&ctx.outbox.get_untracked());
}

/// Arms the retry timer with full-jitter exponential backoff.
fn schedule_retry(ctx: AppCtx) {
    let attempt = ctx.retry_attempt.get_untracked();
    ctx.retry_attempt.set(attempt.saturating_add(1));
    let wait = backoff_ms(attempt, js_sys::Math::random());
    ctx.retry_timer.update_value(|t| {
        if let Some(h) = t.take() {
            h.clear();
        }
    });
    let handle = set_timeout_with_handle(move || request_upload(ctx), Duration::from_millis(wait)).ok();
    ctx.retry_timer.set_value(handle);
}

/// Fetches the member's households and their history from the server, keeping
/// the stored copy when offline.
pub fn refresh_roster(ctx: AppCtx) {
    let Some(client) = ctx.api() else { return };
    spawn_local(async move {
        match client.roster().await {
            Ok((r, text)) => {
                let _ = storage::save_roster(text);
                ctx.roster.set(Some(r));
            }
            Err(ApiFailure::SignedOut) => ctx.signed_out.set(true),
            Err(_) => {}
        }
    });
}

/// Wires the triggers: online, page visible, another tab's changes, and start.
pub fn start(ctx: AppCtx) {
    let _ = window_event_listener(leptos::ev::online, move |_| {
        ctx.online.set(true);
        ctx.retry_attempt.set(0);
        request_upload(ctx);
    });
    let _ = window_event_listener(leptos::ev::offline, move |_| ctx.online.set(false));
    let _ = window_event_listener_untyped("visibilitychange", move |_| {
        let visible = web_sys::window()
            .and_then(|w| w.document())
            .map(|d| d.visibility_state() == web_sys::VisibilityState::Visible)
            .unwrap_or(false);
        if visible {
            request_upload(ctx);
        }
    });
    // Another tab saved or uploaded: show it here too, so no edit is silently lost.
    let _ = window_event_listener(leptos::ev::storage, move |ev| {
        if storage::reload_if_account_changed() {
            return;
        }
        if ev.key().map(|k| storage::is_our_key(&k)).unwrap_or(true) {
            storage::follow_other_tab(&ev, move || {
                ctx.reload_visits();
                ctx.recount_other();
                ctx.outbox.set(storage::load_outbox_meta());
                if let Some(r) = storage::load_roster() {
                    ctx.roster.set(Some(r));
                }
            });
        }
    });
    request_persistent_storage();
    // The fuller of the two: the site's quota (photos, the app's cache) and local
    // storage (the records), which browsers limit apart and much lower.
    let local_pct = storage::local_usage().map(|(used, _, _)| (used * 100 / daohu_domain::local::LOCAL_STORAGE_UNITS) as u32);
    spawn_local(async move {
        let quota_pct = match storage::estimate().await {
            Some((used, quota)) if quota > 0.0 => Some((used / quota * 100.0) as u32),
            _ => None,
        };
        ctx.storage_pct.set(quota_pct.max(local_pct));
    });
    refresh_roster(ctx);
    request_upload(ctx);
}

/// Asks the browser not to clear this app's storage under pressure.
pub fn request_persistent_storage() {
    let Some(w) = web_sys::window() else { return };
    let storage = Reflect::get(&w.navigator(), &"storage".into()).unwrap_or(JsValue::UNDEFINED);
    if let Ok(persist) = Reflect::get(&storage, &"persist".into()) {
        if let Ok(f) = persist.dyn_into::<Function>() {
            let _ = f.call0(&storage);
        }
    }
}

/// Records a problem change made on this phone and queues it for upload.
pub fn add_event(ctx: AppCtx, problem_id: uuid::Uuid, change: daohu_domain::EventKind) -> Result<(), crate::storage::StorageError> {
    ctx.keep_event(problem_id, change)?;
    request_upload(ctx);
    Ok(())
}
