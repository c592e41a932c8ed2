//! The account bundle (`/login`, `/enroll/<code>`): signing a phone in. A
//! bundle of its own because signing in is the first screen a phone shows: it arrives in a fraction of the visit app's bytes, and the
//! service worker fetches the visit app meanwhile. It shares the session, the
//! account's records and the upload code with the visit app (same origin, same
//! storage); after signing in, the visit app (or the console, or the
//! activities) is a page load away, from the phone's cache. Signing out and
//! the app lock are the visit app's (see `routes::Bundle`).

use leptos::prelude::*;

use crate::components::header::Header;
use crate::ctx::AppCtx;
use crate::pages::{enroll::EnrollPage, login::LoginPage};
use crate::routes::{self, AppRoute, Bundle};

/// The bundle's root component.
#[component]
pub fn AccountApp() -> impl IntoView {
    let ctx = AppCtx::provide();
    crate::components::update::watch_for_update(ctx);
    routes::listen(ctx.route);
    move || {
        ctx.lang.track();
        view! {
            <Header/>
            <main id="main">
                {move || match ctx.route.get() {
                    AppRoute::Login => view! { <LoginPage/> }.into_any(),
                    AppRoute::Enroll => view! { <EnrollPage/> }.into_any(),
                    r if r.bundle() != Bundle::Account => {
                        routes::load_page(r);
                        ().into_any()
                    }
                    _ => view! { <p class="empty">"页面不存在 / Page not found"</p> }.into_any(),
                }}
            </main>
        }
    }
}
