//! The app's screens, one module each.

pub mod activities;
pub mod activity;
pub mod admin;
pub mod enroll;
pub mod household;
pub mod households;
pub mod lock;
pub mod login;
pub mod outbox;
pub mod signout;
pub mod visit;

use leptos::prelude::*;

/// Sends a member without a session to the sign-in screen.
pub(crate) fn require_session() {
    let ctx = crate::ctx::use_ctx();
    Effect::new(move |_| {
        if ctx.session.get().is_none() {
            ctx.redirect(crate::routes::AppRoute::Login);
        }
    });
}
