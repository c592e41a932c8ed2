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

use leptos::prelude::*;

use crate::components::header::Header;
use crate::ctx::AppCtx;
use crate::routes::AppRoute;
use crate::pages::{household::HouseholdPage, households::HouseholdsPage, outbox::OutboxPage, visit::VisitPage};

/// The root component: context, header and the screens.
#[component]
pub fn App() -> impl IntoView {
    let ctx = AppCtx::provide();
    sync::start(ctx);
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

/// Mounts the app on the page's body.
pub fn mount() {
    leptos::mount::mount_to_body(App);
}

/// Mounts the sign-in, enrolment and sign-out bundle (`/login`, `/enroll`, `/signout`).
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
    leptos::mount::mount_to_body(activities::ActivitiesApp);
}

/// Mounts the coordinators' console (the `/admin` bundle).
pub fn mount_console() {
    leptos::mount::mount_to_body(console::ConsoleApp);
}
