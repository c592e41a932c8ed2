//! The app lock's screen (`/lock`, in the visit app): set a PIN, change
//! it, choose when an idle phone locks, or remove it. Right after a password
//! sign-in on a phone whose records are locked, it asks for a PIN again (a new
//! one, or the same): that is how a forgotten PIN is replaced.

use daohu_domain::lock::{pin_problem, IDLE_CHOICES, IDLE_DEFAULT_MINUTES};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::require_session;
use crate::components::link::Link;
use crate::ctx::{use_ctx, AppCtx};
use crate::routes::AppRoute;
use crate::{storage, unlock};

/// Learns, when online, whether a coordinator requires a PIN here (and, just
/// after a sign-in, readies the key a PIN will wrap); sends the member to set
/// one when required and not set.
pub fn watch_policy(ctx: AppCtx) {
    // Until the required PIN is set, every screen but signing out leads here.
    Effect::new(move |_| {
        let route = ctx.route.get();
        if !matches!(route, AppRoute::Lock | AppRoute::SignOut) && unlock::must_set_pin() {
            ctx.redirect(AppRoute::Lock);
        }
    });
    let Some(api) = ctx.api() else { return };
    spawn_local(async move {
        if unlock::refresh_policy(&api).await.is_some() && unlock::must_set_pin() && ctx.route.get_untracked() != AppRoute::Lock {
            ctx.redirect(AppRoute::Lock);
        }
    });
}

#[component]
pub fn LockPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let zh = ctx.zh();
    let lock = storage::load_lock();
    let has_lock = lock.is_some();
    // Just signed in with the password: the old PIN is not needed.
    let reset = has_lock && unlock::opened_by_phone_key();
    let required = storage::pin_required();
    let idle = lock.map(|l| l.idle_minutes).unwrap_or(IDLE_DEFAULT_MINUTES);
    let home = ctx.session.get_untracked().map(|s| AppRoute::home(s.member.role)).unwrap_or(AppRoute::Login);
    let (current, new, again) = (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let note = RwSignal::new(None::<(String, bool)>);
    let busy = StoredValue::new(false);

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_value() {
            return;
        }
        if let Some(p) = pin_problem(&new.get_untracked(), &again.get_untracked()) {
            note.set(Some((p.message(zh).into(), true)));
            return;
        }
        busy.set_value(true);
        note.set(Some((ctx.tr("正在加密手机上的记录…", "Locking the records on this phone…").into(), false)));
        spawn_local(async move {
            let old = current.get_untracked();
            match unlock::set_pin(&new.get_untracked(), (has_lock && !reset).then_some(old.as_str())).await {
                Ok(()) => ctx.go(home),
                Err(e) => note.set(Some((e.message(zh), true))),
            }
            busy.set_value(false);
        });
    };
    let remove = move |_| {
        if busy.get_value() {
            return;
        }
        busy.set_value(true);
        spawn_local(async move {
            match unlock::remove_pin(&current.get_untracked()).await {
                Ok(()) => ctx.go(home),
                Err(e) => note.set(Some((e.message(zh), true))),
            }
            busy.set_value(false);
        });
    };
    let pin_field = move |id: &'static str, label: &'static str, value: RwSignal<String>| {
        view! {
            <label for=id>{label}</label>
            <input id=id type="password" inputmode="numeric" autocomplete="off" maxlength="6"
                prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/>
        }
    };

    view! {
        <section class="page lock-settings">
            <h1>{ctx.tr("手机锁（PIN）", "Phone lock (PIN)")}</h1>
            <p class="hint">{ctx.tr(
                "设了 PIN，你在这部手机上的联系户资料、走访记录和照片都加密保存；打开应用时和一段时间不用后要输入 PIN。",
                "With a PIN, your households, visits and photos on this phone are kept encrypted; the app asks for the PIN when it opens and after a while unused.",
            )}</p>
            {required.then(|| view! {
                <p class="hint" data-testid="pin-required">{ctx.tr("管理员要求这部手机设置 PIN。", "A coordinator requires a PIN on this phone.")}</p>
            })}
            {reset.then(|| view! {
                <p data-testid="pin-reset">{ctx.tr("请再设一次 PIN（可以和原来的一样）。", "Set your PIN again (it may be the same as before).")}</p>
            })}
            <form on:submit=save>
                {(has_lock && !reset).then(|| pin_field("pin-current", ctx.tr("现在的 PIN", "Current PIN"), current))}
                {pin_field("pin-new", ctx.tr("新的 PIN（4 到 6 位数字）", "New PIN (4 to 6 digits)"), new)}
                {pin_field("pin-again", ctx.tr("再输一次", "Type it again"), again)}
                <button type="submit" class="primary big" data-testid="set-pin">
                    {if has_lock && !reset { ctx.tr("更换 PIN", "Change the PIN") } else { ctx.tr("设置 PIN", "Set the PIN") }}
                </button>
            </form>
            <p role="alert" data-testid="lock-note" hidden=move || note.with(Option::is_none)
                class:error=move || note.with(|n| n.as_ref().is_some_and(|(_, bad)| *bad))>
                {move || note.get().map(|(text, _)| text)}
            </p>
            {(has_lock && !reset).then(|| view! {
                <label for="idle">{ctx.tr("多久不用就锁上", "Lock after this long unused")}</label>
                <select id="idle" on:change=move |ev| {
                    if let Ok(m) = event_target_value(&ev).parse() {
                        let _ = unlock::set_idle_minutes(m);
                    }
                }>
                    {IDLE_CHOICES.iter().map(|m| view! {
                        <option value=m.to_string() selected=*m == idle>
                            {if zh { format!("{m} 分钟") } else { format!("{m} minutes") }}
                        </option>
                    }).collect_view()}
                </select>
            })}
            {(has_lock && !reset && !required).then(|| view! {
                <h2>{ctx.tr("关闭手机锁", "Remove the lock")}</h2>
                <p class="hint">{ctx.tr("先在上面填现在的 PIN。关闭后记录不再加密。", "Type the current PIN above first. Records are no longer encrypted afterwards.")}</p>
                <button class="big" on:click=remove data-testid="remove-pin">{ctx.tr("关闭手机锁", "Remove the lock")}</button>
            })}
            {(has_lock || !required).then(|| view! { <Link to=home class="button">{ctx.tr("返回", "Back")}</Link> })}
        </section>
    }
}
