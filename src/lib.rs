//! Daohu (到户): the offline-first phone app for the five to-the-household visits.
//!
//! A Leptos client-side-rendered app built by Trunk. Everything is kept on the
//! phone ([`storage`]) and uploaded by [`sync`] when the network is there.
//! `main.rs` only calls [`mount`]; the rest lives here so tests can import it.

pub mod api;
pub mod components;
pub mod ctx;
pub mod pages;
pub mod routes;
pub mod storage;
pub mod sync;
pub mod time;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::header::Header;
use crate::ctx::AppCtx;
use crate::pages::{
    household::HouseholdPage, households::HouseholdsPage, login::LoginPage, outbox::OutboxPage,
    visit::VisitPage,
};

/// The root component: context, header and the screens.
#[component]
pub fn App() -> impl IntoView {
    let ctx = AppCtx::provide();
    sync::start(ctx);
    components::update::watch_for_update(ctx);
    view! {
        <Router>
            <Header/>
            <main id="main">
                <Routes fallback=|| view! { <p class="empty">"页面不存在 / Page not found"</p> }>
                    <Route path=path!("/") view=HouseholdsPage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/household/:id") view=HouseholdPage/>
                    <Route path=path!("/visit/:id") view=VisitPage/>
                    <Route path=path!("/outbox") view=OutboxPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// Mounts the app on the page's body.
pub fn mount() {
    leptos::mount::mount_to_body(App);
}
