//! The app's screens, one module each.

pub mod activities;
pub mod activity;
pub mod admin;
pub mod enroll;
pub mod household;
pub mod households;
pub mod login;
pub mod outbox;
pub mod visit;

use leptos::prelude::*;

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
    Effect::new(move |_| {
        if ctx.session.get().is_none() {
            ctx.redirect(crate::routes::AppRoute::Login);
        }
    });
}
