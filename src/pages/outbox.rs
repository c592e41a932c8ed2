//! The outbox: what waits to upload, the last success, the last failure in
//! plain words, and "upload now".

use leptos::prelude::*;
use leptos::task::spawn_local;
use crate::routes::Link;

use super::require_session;
use crate::components::sync_label;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::{sync, time};

#[component]
pub fn OutboxPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let usage = RwSignal::new(None::<(f64, f64)>);
    spawn_local(async move { usage.set(storage_estimate().await) });

    let waiting = Memo::new(move |_| {
        ctx.visits.with(|all| {
            all.iter().filter(|v| v.sync.in_outbox() || v.sync.needs_attention()).cloned().collect::<Vec<_>>()
        })
    });
    let upload_now = move |_| {
        ctx.retry_attempt.set(0);
        sync::request_upload(ctx);
    };

    view! {
        <section class="page outbox">
            <h1>{ctx.tr("待上传", "Outbox")}</h1>
            <dl class="facts">
                <dt>{ctx.tr("等待上传", "Waiting")}</dt>
                <dd data-testid="outbox-waiting">{move || format!("{} {}", ctx.pending_count(), ctx.tr("条走访", "visits"))}</dd>
                <dt>{ctx.tr("上次上传成功", "Last upload")}</dt>
                <dd data-testid="outbox-last-success">{move || ctx.outbox.get().last_success_ms.map(time::format_local).unwrap_or_else(|| ctx.tr("还没有", "never").into())}</dd>
                <dt>{ctx.tr("手机存储", "Phone storage")}</dt>
                <dd>{move || match usage.get() {
                    Some((used, quota)) if quota > 0.0 => {
                        // Whole numbers only: float formatting costs kilobytes of wasm.
                        let pct = (used / quota * 100.0) as u32;
                        format!("{} KB / {} MB ({}%){}", (used / 1e3) as u64, (quota / 1e6) as u64, pct,
                            if pct >= 80 { ctx.tr(" 快满了，请尽快上传", " nearly full: upload soon") } else { "" })
                    }
                    _ => "—".into(),
                }}</dd>
            </dl>
            <Show when=move || ctx.outbox.get().last_error.is_some()>
                <p class="error" role="alert" data-testid="outbox-error">
                    {ctx.tr("上次上传没成功：", "The last upload failed: ")}
                    {move || ctx.outbox.get().last_error}
                </p>
            </Show>
            <button class="primary big" on:click=upload_now disabled=move || ctx.uploading.get() data-testid="upload-now">
                {move || if ctx.uploading.get() { ctx.tr("正在上传…", "Uploading…") } else { ctx.tr("立即上传", "Upload now") }}
            </button>
            <ul class="list">
                <For each=move || waiting.get() key=|v| (v.visit.id, crate::components::sync_key(&v.sync)) children=move |v| {
                    let attention = v.sync.needs_attention();
                    let sync = v.sync.clone();
                    view! {
                        <li class:attention=attention>
                            <Link to=AppRoute::Visit(v.visit.id)>
                                {household_name(v.visit.household_id)} " · " {v.visit.visited_on.to_string()}
                            </Link>
                            <br/>
                            <small>{move || sync_label(&sync, ctx.zh())}</small>
                        </li>
                    }
                }/>
            </ul>
        </section>
    }
}

fn household_name(id: uuid::Uuid) -> String {
    let ctx = use_ctx();
    ctx.roster
        .with_untracked(|r| {
            r.as_ref()?.households.iter().find(|h| h.household.id == id).map(|h| h.household.head_name.clone())
        })
        .unwrap_or_default()
}

/// Bytes used and allowed for this site, where the browser says.
async fn storage_estimate() -> Option<(f64, f64)> {
    use js_sys::Reflect;
    use wasm_bindgen::JsCast;
    let nav = web_sys::window()?.navigator();
    let storage = Reflect::get(&nav, &"storage".into()).ok()?;
    let estimate = Reflect::get(&storage, &"estimate".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
    let promise = estimate.call0(&storage).ok()?.dyn_into::<js_sys::Promise>().ok()?;
    let result = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let used = Reflect::get(&result, &"usage".into()).ok()?.as_f64()?;
    let quota = Reflect::get(&result, &"quota".into()).ok()?.as_f64()?;
    Some((used, quota))
}
