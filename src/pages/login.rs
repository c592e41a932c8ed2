//! Sign-in with phone number and password (online, once). Choosing a new
//! password is a plain page outside the app (`public/password.html`), so the
//! phone's first download does not carry it.

use daohu_domain::LoginRequest;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = use_ctx();
    let phone = RwSignal::new(
        ctx.session.get_untracked().map(|s| s.member.phone).unwrap_or_default(),
    );
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let req = LoginRequest { phone: phone.get_untracked(), password: password.get_untracked() };
        if req.phone.trim().is_empty() || req.password.is_empty() {
            error.set(Some(ctx.tr("请填写手机号和密码", "Enter your phone number and password").into()));
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let zh = ctx.zh();
            match api::login(&req).await {
                Ok(session) => {
                    let home = AppRoute::home(session.member.role);
                    match ctx.keep_session(session) {
                    Ok(()) => {
                        password.set(String::new());
                        ctx.go(home);
                    }
                    Err(e) => error.set(Some(e.message(zh))),
                    }
                }
                Err(e) => {
                    // A coordinator's first password: the member chooses their own first.
                    if matches!(&e, api::ApiFailure::Server { error, .. } if error.error == "password_change_required") {
                        if let Some(w) = web_sys::window() {
                            let _ = w.location().assign(&format!("/password.html#{}", req.phone));
                        }
                    }
                    error.set(Some(e.message(zh)));
                }
            }
            busy.set(false);
        });
    };

    // Kept apart, and uploaded when their own account signs in here.
    let elsewhere: usize = crate::storage::waiting_elsewhere().iter().map(|w| w.waiting).sum();

    view! {
        <section class="page login">
            <h1>{ctx.tr("登录", "Sign in")}</h1>
            {(elsewhere > 0).then(|| view! {
                <p class="hint" data-testid="waiting-elsewhere">{if ctx.zh() {
                    format!("这部手机上还有别的账号的 {elsewhere} 条记录没上传，那个账号在这部手机上登录后会自动上传。")
                } else {
                    format!("{elsewhere} records of another account on this phone are not uploaded yet; they upload when that account signs in here.")
                }}</p>
            })}
            <p class="hint">{ctx.tr("第一次用请在有网的地方登录，之后没有网也能记录走访。", "Sign in once where there is a network; after that you can record visits with no signal.")}</p>
            <form on:submit=submit>
                <label for="phone">{ctx.tr("手机号", "Phone number")}</label>
                <input id="phone" name="phone" type="tel" inputmode="numeric" autocomplete="username"
                    prop:value=phone on:input=move |ev| phone.set(event_target_value(&ev))/>
                <label for="password">{ctx.tr("密码", "Password")}</label>
                <input id="password" name="password" type="password" autocomplete="current-password"
                    prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || if busy.get() { ctx.tr("正在登录…", "Signing in…") } else { ctx.tr("登录", "Sign in") }}
                </button>
            </form>
            <p><a class="more" href=move || format!("/password.html#{}", phone.get()) data-testid="change-password">
                {ctx.tr("修改密码", "Change the password")}</a></p>
        </section>
    }
}
