//! Signing out. The screen counts the account's records that have not
//! uploaded, and the member either keeps them on this phone (apart from other
//! accounts; they upload when the account signs in here again) or removes
//! everything of the account from the phone. Removing is refused while records
//! wait, until they are uploaded or, for visits, saved to the export file:
//! nothing is ever dropped silently. Either way the server's session ends.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::require_session;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::sync;

/// The waiting records: (visits, which the export file carries; others, which
/// only an upload saves).
fn waiting(ctx: crate::ctx::AppCtx) -> (usize, usize) {
    let visits = ctx.visits.with(|all| all.iter().filter(|v| v.sync.unsent()).count());
    let others = ctx.events.with(|all| all.iter().filter(|e| e.sync.in_outbox()).count()) + ctx.other_waiting.get();
    (visits, others)
}

// Few reactive parts on purpose: every `Show` and closure costs the members'
// first download bytes, and this screen is seldom seen.
#[component]
pub fn SignOutPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let zh = ctx.zh();
    let exported = StoredValue::new(false);
    // What the screen last said: (text, whether it is a refusal or failure).
    let note = RwSignal::new(None::<(String, bool)>);
    let busy = StoredValue::new(false);
    let who = ctx.session.get_untracked().as_ref().map(crate::ctx::who).unwrap_or_default();
    let (visits_at_start, others_at_start) = waiting(ctx);

    let upload_now = move |_| {
        ctx.retry_attempt.set(0);
        sync::request_upload(ctx);
    };
    let export = move |_| match crate::pages::outbox::export_outbox(ctx) {
        Ok(_) => {
            exported.set_value(true);
            note.set(Some((ctx.tr("导出文件已保存。", "The export file is saved.").into(), false)));
        }
        Err(e) => note.set(Some((e, true))),
    };
    let finish = move |remove: bool| {
        if busy.get_value() {
            return;
        }
        let (visits, others) = waiting(ctx);
        let refusal = match (remove, others, visits > 0 && !exported.get_value()) {
            (false, ..) | (true, 0, false) => None,
            (true, 0, true) if zh => Some(format!("还有 {visits} 条走访记录没上传。请先上传，或先保存导出文件，再删除。")),
            (true, 0, true) => Some(format!("{visits} visits are not uploaded yet. Upload them or save the export file first, then remove.")),
            (true, n, _) if zh => Some(format!("还有 {n} 条问题进展或志愿活动记录没上传，请先联网上传，再删除。")),
            (true, n, _) => Some(format!("{n} problem updates or volunteer activities are not uploaded yet. Upload them first, then remove.")),
        };
        if let Some(refusal) = refusal {
            note.set(Some((refusal, true)));
            return;
        }
        busy.set_value(true);
        spawn_local(async move {
            // An upload in flight writes its receipts to whichever account is open
            // when it ends: it ends first, and none starts until this is done
            // (an upload is not started while one is marked running).
            while ctx.uploading.get_untracked() {
                crate::time::pause_ms(100).await;
            }
            ctx.uploading.set(true);
            // Ends the session on the server; without a network it ends there when it expires.
            if let Some(api) = ctx.api() {
                let _ = api.logout().await;
            }
            // Sealed writes still on their way are stored before the key leaves memory.
            let _ = crate::storage::flushed().await;
            let signed_out = ctx.sign_out(remove);
            ctx.uploading.set(false);
            match signed_out {
                Ok(()) => ctx.go(AppRoute::Login),
                Err(e) => note.set(Some((e.message(zh), true))),
            }
            busy.set_value(false);
        });
    };

    view! {
        <section class="page signout">
            <h1>{ctx.tr("退出登录", "Sign out")}</h1>
            <p>{who}</p>
            <p data-testid="signout-waiting" role="status">{move || {
                let (visits, others) = waiting(ctx);
                match (visits + others, zh) {
                    (0, true) => "这部手机上你的记录都已上传。".to_string(),
                    (0, false) => "Everything you recorded on this phone is uploaded.".to_string(),
                    (n, true) => format!("这部手机上还有你的 {n} 条记录没上传。"),
                    (n, false) => format!("{n} of your records on this phone are not uploaded yet."),
                }
            }}</p>
            {(visits_at_start + others_at_start > 0).then(|| view! {
                <button class="big" on:click=upload_now data-testid="signout-upload">{ctx.tr("现在上传", "Upload now")}</button>
            })}

            <h2>{ctx.tr("退出，记录留在这部手机上", "Sign out and keep my records on this phone")}</h2>
            <p class="hint">{ctx.tr(
                "没上传的记录留在这部手机上，下次你在这部手机上登录时自动上传。别人在这部手机上登录看不到你的联系户和记录。",
                "Records not yet uploaded stay on this phone and upload the next time you sign in here. Anyone else signing in here does not see your households or records.",
            )}</p>
            <button class="primary big" on:click=move |_| finish(false) data-testid="signout-keep">
                {ctx.tr("退出登录", "Sign out")}
            </button>

            <h2>{ctx.tr("退出并删除我在这部手机上的数据", "Sign out and remove my data from this phone")}</h2>
            <p class="hint">{ctx.tr(
                "手机要交给别人，或者容易丢时用。删除后，这部手机上不再有你的联系户资料、走访记录和照片，不能恢复。",
                "For a phone you hand on, or may lose. Afterwards this phone holds none of your households, visits or photos; this cannot be undone.",
            )}</p>
            {(visits_at_start > 0).then(|| view! {
                <button class="big" on:click=export data-testid="signout-export">{ctx.tr("先保存导出文件", "Save the export file first")}</button>
            })}
            <button class="danger big" on:click=move |_| finish(true) data-testid="signout-remove">
                {ctx.tr("退出并删除", "Sign out and remove")}
            </button>
            <p role="alert" data-testid="signout-note" hidden=move || note.with(Option::is_none)
                class:error=move || note.with(|n| n.as_ref().is_some_and(|(_, bad)| *bad))>
                {move || note.get().map(|(text, _)| text)}
            </p>
        </section>
    }
}

