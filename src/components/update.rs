//! "New version, reload": the service worker installs a new version in the
//! background and waits; the inline script in index.html tells us, and the
//! member chooses when to switch (never in the middle of a visit by surprise).

use js_sys::{Function, Reflect};
use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};

use crate::ctx::AppCtx;

/// Shows the banner when a waiting version exists, now or later.
pub fn watch_for_update(ctx: AppCtx) {
    let flagged = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"__daohuUpdate".into()).ok())
        .map(|v| v.is_truthy())
        .unwrap_or(false);
    if flagged {
        ctx.update_ready.set(true);
    }
    let _ = window_event_listener_untyped("daohu-update", move |_| ctx.update_ready.set(true));
}

/// Lets the waiting version take over; the page reloads when it has.
pub fn apply_update() {
    let Some(w) = web_sys::window() else { return };
    if let Ok(f) = Reflect::get(&w, &"daohuApplyUpdate".into()) {
        if let Ok(f) = f.dyn_into::<Function>() {
            let _ = f.call0(&JsValue::NULL);
            return;
        }
    }
    let _ = w.location().reload();
}
