//! The volunteer-activities bundle (`/activities`): volunteers, and members
//! too, record activities and check in (打卡) offline. A bundle of its own so
//! the members' visit app stays small; it shares the session, the outbox
//! count and the upload lock with the visit app (same origin, same storage).
//! Visits upload from the visit app; this bundle uploads activities, their
//! photos and check-ins.

use leptos::prelude::*;

use crate::act_ctx::ActivityCtx;
use crate::act_sync;
use crate::components::header::Header;
use crate::ctx::AppCtx;
use crate::pages::activities::ActivitiesPage;
use crate::pages::activity::ActivityPage;
use crate::routes::{self, AppRoute, Bundle};

/// The bundle's root component.
#[component]
pub fn ActivitiesApp() -> impl IntoView {
    let ctx = AppCtx::provide_light();
    let actx = ActivityCtx::provide();
    act_sync::start(ctx, actx);
    crate::components::update::watch_for_update(ctx);
    routes::listen(ctx.route);
    move || {
        ctx.lang.track();
        view! {
            <Header/>
            <main id="main">
                {move || match ctx.route.get() {
                    AppRoute::Activities => view! { <ActivitiesPage/> }.into_any(),
                    AppRoute::Activity(id) => view! { <ActivityPage id=id/> }.into_any(),
                    r if r.bundle() != Bundle::Activities => {
                        routes::load_page(r);
                        ().into_any()
                    }
                    _ => view! { <p class="empty">"页面不存在 / Page not found"</p> }.into_any(),
                }}
            </main>
        }
    }
}
