//! The bar at the top of every screen: title, network state, outbox count,
//! sign-out, language, and the banners that need the member's attention.

use leptos::prelude::*;
use crate::components::link::Link;

use crate::ctx::{use_ctx, Lang};
use crate::routes::AppRoute;

#[component]
pub fn Header() -> impl IntoView {
    let ctx = use_ctx();
    let pending = move || ctx.pending_count();
    let toggle_lang = move |_| {
        ctx.set_lang(if ctx.lang.get_untracked() == Lang::Zh { Lang::En } else { Lang::Zh })
    };
    let apply_update = move |_| crate::components::update::apply_update();
    view! {
        <header class="topbar">
            <Link to=AppRoute::Households class="brand">
                {ctx.tr("到户", "Daohu")}
            </Link>
            <span class="net" class:offline=move || !ctx.online.get() role="status" aria-live="polite">
                {move || if ctx.online.get() { ctx.tr("在线", "Online") } else { ctx.tr("离线", "Offline") }}
            </span>
            {ctx.session.get_untracked().filter(|s| s.member.role.is_coordinator()).map(|_| view! {
                <Link to=AppRoute::Admin class="admin-link">{ctx.tr("管理", "Console")}</Link>
            })}
            <Link to=AppRoute::Outbox class="outbox-link">
                {ctx.tr("待上传", "To upload")}
                " "
                <span class="badge" data-testid="pending-count">{pending}</span>
            </Link>
            {move || ctx.session.with(|s| s.is_some()).then(|| view! {
                <Link to=AppRoute::SignOut class="signout-link">{ctx.tr("退出", "Sign out")}</Link>
            })}
            // The spoken name starts with the text on the button (WCAG "label in name").
            // Its words are in the language it switches to, marked so a screen reader says them in it.
            <button class="lang" on:click=toggle_lang lang=if ctx.zh() { "en" } else { "zh-CN" }
                aria-label=move || if ctx.zh() { "EN: Switch to English" } else { "中文：切换到中文" }>
                {if ctx.zh() { "EN" } else { "中文" }}
            </button>
        </header>
        <Show when=move || ctx.update_ready.get()>
            <div class="banner info" role="status">
                {ctx.tr("有新版本。", "A new version is ready.")}
                <button on:click=apply_update>{ctx.tr("重新加载", "Reload")}</button>
            </div>
        </Show>
        <Show when=move || ctx.signed_out.get()>
            <div class="banner warn" role="alert">
                {ctx.tr("登录已过期，请重新登录。没上传的记录仍在手机上。", "Your sign-in has expired. Records not yet uploaded stay on the phone.")}
                " "
                <Link to=AppRoute::Login>{ctx.tr("去登录", "Sign in")}</Link>
            </div>
        </Show>
        <Show when=move || ctx.storage_pct.get().is_some_and(|p| p >= 80)>
            <div class="banner warn" role="alert">
                {ctx.tr("手机给本应用的存储空间快用完了，请尽快联网上传。", "This app's storage on the phone is nearly full; upload soon.")}
            </div>
        </Show>
        <Show when=move || { ctx.unreadable.get() > 0 }>
            <div class="banner warn" role="alert">
                {ctx.tr("有记录是新版本保存的，这个版本读不出来，已原样保留。请更新应用。", "Some records were saved by a newer version and are kept as they are. Please update the app.")}
            </div>
        </Show>
    }
}
