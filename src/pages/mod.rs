//! The app's screens, one module each.

pub mod household;
pub mod households;
pub mod login;
pub mod outbox;
pub mod visit;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The `:id` of the current route as a UUID.
pub(crate) fn id_param() -> Memo<Option<Uuid>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|s| Uuid::parse_str(&s).ok()))
}

use chrono::NaiveDate;
use daohu_domain::{LocalVisit, RosterHousehold, SyncState};

/// The last visit known on this phone: the server's, or a later one recorded here.
pub(crate) fn last_visit_on(h: &RosterHousehold, local: &[LocalVisit]) -> Option<NaiveDate> {
    local
        .iter()
        .filter(|v| v.visit.household_id == h.household.id && v.sync != SyncState::Draft)
        .map(|v| v.visit.visited_on)
        .chain(h.last_visit_on)
        .max()
}

/// Sends a member without a session to the sign-in screen.
pub(crate) fn require_session() {
    let ctx = crate::ctx::use_ctx();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if ctx.session.get().is_none() {
            navigate(&crate::routes::AppRoute::Login.href(), Default::default());
        }
    });
}
