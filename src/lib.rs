//! Daohu (到户): the offline-first phone app for the five to-the-household visits.
//!
//! A Leptos client-side-rendered app built by Trunk. Everything is kept on the
//! phone ([`storage`]) and uploaded by [`sync`] when the network is there.
//! `main.rs` only calls [`mount`]; the rest lives here so tests can import it.

pub mod account;
pub mod act_ctx;
pub mod act_sync;
pub mod activities;
pub mod api;
pub mod components;
pub mod console;
pub mod ctx;
pub mod json;
pub mod pages;
pub mod photos;
pub mod routes;
pub mod storage;
pub mod sync;
pub mod time;
pub mod unlock;
pub mod vault;

use leptos::prelude::*;

use crate::components::header::Header;
use crate::ctx::AppCtx;
use crate::routes::AppRoute;
use crate::pages::{
    household::HouseholdPage, households::HouseholdsPage, lock::LockPage, outbox::OutboxPage, signout::SignOutPage, visit::VisitPage,
};

/// The root component: context, header and the screens.
#[component]
pub fn App() -> impl IntoView {
    let ctx = AppCtx::provide();
    sync::start(ctx);
    pages::lock::watch_policy(ctx);
    components::update::watch_for_update(ctx);
    routes::listen(ctx.route);
    // The whole tree is rebuilt on a language switch (rare), so the texts
    // inside need no reactive closures of their own.
    move || {
        ctx.lang.track();
        view! {
            <Header/>
            <main id="main">
                {move || match ctx.route.get() {
                    AppRoute::Households => view! { <HouseholdsPage/> }.into_any(),
                    AppRoute::Household(id) => view! { <HouseholdPage id=id/> }.into_any(),
                    AppRoute::Visit(id) => view! { <VisitPage id=id/> }.into_any(),
                    AppRoute::Outbox => view! { <OutboxPage/> }.into_any(),
                    AppRoute::SignOut => view! { <SignOutPage/> }.into_any(),
                    AppRoute::Lock => view! { <LockPage/> }.into_any(),
                    // Signing in and out, activities and the console are other
                    // bundles; a full page load fetches them.
                    r if r.bundle() != routes::Bundle::Phone => {
                        routes::load_page(r);
                        ().into_any()
                    }
                    _ => view! { <p class="empty">"页面不存在 / Page not found"</p> }.into_any(),
                }}
            </main>
        }
    }
}

/// Mounts a bundle's app once the account's records can be read: at once, or
/// after the lock screen took the PIN; a coordinator's required PIN not set
/// yet is set first (on the visit app's `/lock`, `set_pin_here`).
fn gated(mount: fn(), set_pin_here: bool) {
    match unlock::gate() {
        unlock::Gate::Unlock => components::lock::ask_pin(mount),
        unlock::Gate::SetPin if !set_pin_here => routes::load_page(AppRoute::Lock),
        unlock::Gate::SetPin => {
            routes::replace_address(AppRoute::Lock);
            mount();
        }
        unlock::Gate::Open => mount(),
    }
}

/// Mounts the app on the page's body.
pub fn mount() {
    gated(|| leptos::mount::mount_to_body(App), true);
}

/// Mounts the sign-in and enrolment bundle (`/login`, `/enroll`). It shows no
/// account's records, so it needs no unlocking: it is also the way back from a
/// forgotten PIN.
pub fn mount_account() {
    // account.html paints a static sign-in screen while this wasm arrives; the
    // bundle draws the real one in its place.
    if let Some(boot) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
    leptos::mount::mount_to_body(account::AccountApp);
}

/// Mounts the volunteer-activities bundle (`/activities`).
pub fn mount_activities() {
    gated(|| leptos::mount::mount_to_body(activities::ActivitiesApp), false);
}

/// Mounts the coordinators' console (the `/admin` bundle).
pub fn mount_console() {
    // No lock screen: the console keeps no records on this computer. With the
    // session sealed by a PIN set here in the visit app, it asks to sign in.
    leptos::mount::mount_to_body(console::ConsoleApp);
}
