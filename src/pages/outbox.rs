//! The outbox: what waits to upload, what uploaded today, the last success, the
//! last failure in plain words (no network is a state, not a failure), and
//! "upload now".

use leptos::prelude::*;
use crate::components::link::Link;

use super::require_session;
use crate::components::sync_label;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::{sync, time};

#[component]
pub fn OutboxPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    // Counted once as the screen opens (it reads every stored record), and again after an upload.
    let room = Memo::new(move |_| {
        ctx.outbox.track();
        crate::storage::local_usage().map(|(used, units, visits)| {
            let room = daohu_domain::visits_room(used, units, visits);
            (room, daohu_domain::room_is_short(used, room))
        })
    });

    let waiting = Memo::new(move |_| {
        ctx.visits.with(|all| {
            all.iter().filter(|v| v.sync.unsent()).cloned().collect::<Vec<_>>()
        })
    });
    let export_text = RwSignal::new(None::<String>);
    let export = move |_| match export_outbox(ctx) {
        Ok(text) => export_text.set(Some(text)),
        Err(e) => export_text.set(Some(e)),
    };
    let upload_now = move |_| {
        ctx.retry_attempt.set(0);
        sync::request_upload(ctx);
    };

    view! {
        <section class="page outbox">
            <h1>{ctx.tr("待上传", "Outbox")}</h1>
            <dl class="facts">
                <dt>{ctx.tr("等待上传", "Waiting")}</dt>
                <dd data-testid="outbox-waiting">{move || format!("{} {}", ctx.pending_count(), ctx.tr("条记录", "records"))}</dd>
                <dt>{ctx.tr("上次上传成功", "Last upload")}</dt>
                <dd data-testid="outbox-last-success">{move || ctx.outbox.get().last_success_ms.map(time::format_local).unwrap_or_else(|| ctx.tr("还没有", "never").into())}</dd>
                <dt>{ctx.tr("手机还能存", "Room on this phone")}</dt>
                <dd data-testid="storage-room" class:error=move || room.get().is_some_and(|(_, short)| short)>{move || match room.get() {
                    Some((n, short)) => format!("{}{n}{}{}", ctx.tr("约 ", "about "), ctx.tr(" 条走访记录", " more visits"),
                        if short { ctx.tr("，快满了，请尽快上传", ": nearly full, upload soon") } else { "" }),
                    None => "—".into(),
                }}</dd>
                <dt>{ctx.tr("手机锁", "Phone lock")}</dt>
                <dd><Link to=AppRoute::Lock>{
                    if crate::storage::load_lock().is_some() { ctx.tr("已设 PIN，更改", "PIN set: change") } else { ctx.tr("设置 PIN", "Set a PIN") }
                }</Link></dd>
                // A plain page outside the app (it needs the network anyway); the
                // phone number rides after the hash, never to the server.
                <dt>{ctx.tr("密码", "Password")}</dt>
                <dd><a href=format!("/password.html#{}", ctx.session.get_untracked().map(|s| s.member.phone).unwrap_or_default())
                    data-testid="change-password">{ctx.tr("修改密码", "Change the password")}</a></dd>
            </dl>
            // No signal is the usual state in the field, not a failure: said plainly,
            // and the last failure's box waits until there is a network again.
            <Show when=move || !ctx.online.get()>
                <p class="hint" role="status" data-testid="outbox-offline">{ctx.tr(
                    "现在没有网络。记录都存在这部手机上，有网时会自动上传。",
                    "No network now. Records are kept on this phone and upload by themselves when there is one.",
                )}</p>
            </Show>
            <Show when=move || ctx.online.get() && ctx.outbox.get().last_error.is_some()>
                <p class="error" role="alert" data-testid="outbox-error">
                    {ctx.tr("上次上传没成功：", "The last upload failed: ")}
                    {move || ctx.outbox.get().last_error}
                </p>
            </Show>
            <Show when=move || { ctx.other_waiting.get() > 0 }>
                <p class="hint" data-testid="outbox-activities">
                    {move || format!("{} {} ", ctx.other_waiting.get(), ctx.tr("条志愿活动记录（含照片、打卡）在志愿活动页上传：", "volunteer-activity records (with photos, check-ins) upload from the activities screen:"))}
                    <Link to=AppRoute::Activities>{ctx.tr("打开志愿活动", "Open activities")}</Link>
                </p>
            </Show>
            <button class="primary big" on:click=upload_now disabled=move || ctx.uploading.get() data-testid="upload-now">
                {move || if ctx.uploading.get() { ctx.tr("正在上传…", "Uploading…") } else { ctx.tr("立即上传", "Upload now") }}
            </button>
            <h2>{ctx.tr("备用：导出未上传的记录", "Fallback: export what has not uploaded")}</h2>
            <p class="hint">{ctx.tr("手机一直上传不了时，把文件发给村里管理员，由他导入，记录只会存一次。", "If this phone cannot upload, send the file to the village coordinator to import; each record is stored once.")}</p>
            <button class="big" on:click=export data-testid="export-outbox">{ctx.tr("导出为文件", "Export as a file")}</button>
            <Show when=move || export_text.get().is_some()>
                <label for="export-text">{ctx.tr("也可以复制下面的内容：", "Or copy the text below:")}</label>
                <textarea id="export-text" rows="4" readonly prop:value=move || export_text.get().unwrap_or_default()></textarea>
            </Show>
            {others_view(ctx)}
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
                // Today's uploads stay listed, with the time the server took them.
                {move || uploaded_today(ctx).into_iter().map(|(id, household, at)| view! {
                    <li class="uploaded" data-testid="uploaded-today">
                        <Link to=AppRoute::Visit(id)>{household_name(household)}</Link>
                        <br/>
                        <small>{format!("✓ {} {}", ctx.tr("已上传", "Uploaded"), at)}</small>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Visits the server took today (local day): (visit, household, local `HH:MM`).
fn uploaded_today(ctx: crate::ctx::AppCtx) -> Vec<(uuid::Uuid, uuid::Uuid, String)> {
    let today = time::today().to_string();
    ctx.visits.with(|all| {
        all.iter()
            .filter_map(|v| match &v.sync {
                daohu_domain::SyncState::Stored { received_at: Some(at) } => {
                    let local = time::format_local(at.timestamp_millis() as f64);
                    local.starts_with(&today).then(|| (v.visit.id, v.visit.household_id, local[11..].to_string()))
                }
                _ => None,
            })
            .collect()
    })
}

fn household_name(id: uuid::Uuid) -> String {
    let ctx = use_ctx();
    ctx.roster
        .with_untracked(|r| {
            r.as_ref()?.households.iter().find(|h| h.household.id == id).map(|h| h.household.head_name.clone())
        })
        .unwrap_or_default()
}

/// Other accounts' records kept on this phone (signed out, keeping them): they
/// upload when that account signs in here; an account that cannot any more
/// (disabled, or its member moved on) gives them to a coordinator in the file.
fn others_view(ctx: crate::ctx::AppCtx) -> impl IntoView {
    let others = crate::storage::waiting_elsewhere();
    (!others.is_empty()).then(|| {
        let rows = others
            .into_iter()
            .map(|w| {
                let label = if ctx.zh() {
                    format!("{}：{} 条记录没上传", w.who, w.waiting)
                } else {
                    format!("{}: {} records not uploaded", w.who, w.waiting)
                };
                let account = w.account;
                let save = move |_| {
                    let visits = crate::storage::unsent_visits_of(account);
                    let _ = save_export(ctx, account, &account.to_string(), visits);
                };
                view! {
                    <li>
                        {label}
                        <button class="big" on:click=save data-testid="export-other">{ctx.tr("导出这个账号的走访记录", "Export this account's visits")}</button>
                    </li>
                }
            })
            .collect_view();
        view! {
            <h2>{ctx.tr("这部手机上其他账号的记录", "Other accounts' records on this phone")}</h2>
            <p class="hint">{ctx.tr(
                "这些记录在那个账号在这部手机上登录后自动上传。如果那个账号已停用或不再使用，请导出文件交给村里管理员导入。",
                "These upload when that account signs in on this phone. If the account is disabled or no longer used, export the file and give it to the village coordinator to import.",
            )}</p>
            <ul class="list" data-testid="other-accounts">{rows}</ul>
        }
    })
}

/// Saves every record not yet acknowledged as a JSON file (and returns the
/// text, so it can also be copied).
pub(crate) fn export_outbox(ctx: crate::ctx::AppCtx) -> Result<String, String> {
    let session = ctx.session.get_untracked().ok_or_else(|| ctx.tr("请先登录", "Sign in first").to_string())?;
    let visits = ctx.visits.with_untracked(|all| {
        all.iter().filter(|v| v.sync.unsent()).map(|v| v.visit.clone()).collect::<Vec<_>>()
    });
    save_export(ctx, session.member.id, &session.member.phone, visits)
}

/// Saves one account's visits as the export file a coordinator imports
/// (`name` goes into the file's name).
fn save_export(ctx: crate::ctx::AppCtx, member_id: uuid::Uuid, name: &str, visits: Vec<daohu_domain::Visit>) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let export = daohu_domain::OutboxExport {
        format: daohu_domain::OUTBOX_EXPORT_FORMAT.into(),
        device_id: ctx.device_id,
        member_id,
        exported_at: time::now_utc(),
        visits,
    };
    let text = crate::json::to_string(&export)?;
    let fail = |_| ctx.tr("导出没有成功，请复制下面的内容", "Export failed; copy the text below").to_string();
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(&text));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag).map_err(fail)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(fail)?;
    let doc = web_sys::window().and_then(|w| w.document()).ok_or_else(|| fail(wasm_bindgen::JsValue::NULL))?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a").map_err(fail)?.dyn_into().map_err(|_| fail(wasm_bindgen::JsValue::NULL))?;
    a.set_href(&url);
    a.set_download(&format!("daohu-outbox-{}-{}.json", name, time::today()));
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(text)
}

