//! Enrolment: a new phone opens `/enroll/<code>` by scanning the QR code a
//! coordinator shows, and is signed in without typing a password.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::ctx::use_ctx;
use crate::components::link::Link;
use crate::routes::AppRoute;

#[component]
pub fn EnrollPage() -> impl IntoView {
    let ctx = use_ctx();
    let error = RwSignal::new(None::<String>);
    let code = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .and_then(|p| p.trim_end_matches('/').rsplit('/').next().map(str::to_string))
        .unwrap_or_default();
    spawn_local(async move {
        let zh = ctx.zh();
        match api::enroll(&code).await {
            Ok(session) => {
                let home = AppRoute::home(session.member.role);
                match ctx.keep_session(session) {
                    Ok(()) => ctx.redirect(home),
                    Err(e) => error.set(Some(e.message(zh))),
                }
            }
            Err(e) => error.set(Some(e.message(zh))),
        }
    });
    view! {
        <section class="page">
            <h1>{ctx.tr("扫码登录", "Sign in by QR code")}</h1>
            {move || match error.get() {
                None => view! { <p role="status">{ctx.tr("正在登录…", "Signing in…")}</p> }.into_any(),
                Some(e) => view! {
                    <p class="error" role="alert">{e}</p>
                    <Link to=AppRoute::Login class="button big">{ctx.tr("用手机号和密码登录", "Sign in with phone and password")}</Link>
                }.into_any(),
            }}
        </section>
    }
}
