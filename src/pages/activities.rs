//! Volunteer home: start an activity (and check in), record one afterwards,
//! the activities on this phone and where each stands, the team's recent
//! activities to check in on, and what waits to upload (records and photo bytes).

use daohu_domain::{CheckKind, SyncState};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::require_session;
use crate::act_ctx::use_activity_ctx;
use crate::act_sync::tap_check;
use crate::time::hhmm;
use crate::components::sync_label;
use crate::ctx::use_ctx;
use crate::components::link::Link;
use crate::routes::AppRoute;
use crate::{act_sync, storage, time};

#[component]
pub fn ActivitiesPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let actx = use_activity_ctx();
    let message = RwSignal::new(None::<String>);
    let usage = RwSignal::new(None::<(f64, f64)>);
    spawn_local(async move { usage.set(storage::estimate().await) });

    let start_now = move |_| {
        let draft = actx.new_draft(ctx);
        let id = draft.activity.id;
        match actx.put(ctx, draft) {
            Ok(()) => {
                tap_check(ctx, actx, id, CheckKind::In, message);
                ctx.go(AppRoute::Activity(id));
            }
            Err(e) => message.set(Some(e.message(ctx.zh()))),
        }
    };
    let record_past = move |_| {
        let draft = actx.new_draft(ctx);
        let id = draft.activity.id;
        match actx.put(ctx, draft) {
            Ok(()) => ctx.go(AppRoute::Activity(id)),
            Err(e) => message.set(Some(e.message(ctx.zh()))),
        }
    };
    let upload_now = move |_| {
        actx.retry_attempt.set(0);
        act_sync::request(ctx, actx);
    };
    let toggle_geo = move |ev: leptos::ev::Event| {
        let on = event_target_checked(&ev);
        if storage::set_geo_allowed(on).is_ok() {
            actx.geo.set(on);
        }
    };
    let photo_kb = move || actx.activities.with(|all| all.iter().map(|a| a.photo_bytes_waiting()).sum::<u64>()) / 1024;
    let photos_waiting = move || actx.activities.with(|all| all.iter().map(|a| a.photos_waiting().count()).sum::<usize>());

    let team_recent = move || {
        let local = actx.activities.get();
        actx.roster
            .get()
            .map(|r| r.recent)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| !local.iter().any(|a| a.activity.id == s.id))
            .take(10)
            .collect::<Vec<_>>()
    };

    view! {
        <section class="page activities">
            <h1>
                {move || ctx.session.get().map(|s| s.member.name).unwrap_or_default()}
                " · " {ctx.tr("志愿活动", "Volunteer activities")}
            </h1>
            <button class="primary big" on:click=start_now data-testid="start-activity">
                {ctx.tr("开始活动并签到", "Start an activity and check in")}
            </button>
            <button class="big" on:click=record_past data-testid="record-activity">
                {ctx.tr("补记一次活动", "Record a past activity")}
            </button>
            <Show when=move || message.get().is_some()>
                <p class="ok" role="status">{move || message.get()}</p>
            </Show>
            <label class="check">
                <input type="checkbox" prop:checked=move || actx.geo.get() on:change=toggle_geo data-testid="geo-allowed"/>
                {ctx.tr("打卡时记录我的位置", "Record my location when I check in")}
            </label>

            <h2>{ctx.tr("待上传", "Waiting to upload")}</h2>
            <dl class="facts">
                <dt>{ctx.tr("记录", "Records")}</dt>
                <dd data-testid="activities-waiting">{move || ctx.other_waiting.get()}</dd>
                <dt>{ctx.tr("照片", "Photos")}</dt>
                <dd data-testid="photos-waiting">{move || format!("{} {} · {} KB", photos_waiting(), ctx.tr("张", "photos"), photo_kb())}</dd>
                <dt>{ctx.tr("手机还能存", "Room on this phone")}</dt>
                <dd data-testid="storage-usage">{move || match usage.get() {
                    Some((used, quota)) if quota > 0.0 => {
                        let bytes = actx.activities.with(|all| all.iter().map(|a| a.photo_bytes_waiting()).sum::<u64>());
                        let n = daohu_domain::photos_room(used as u64, quota as u64, bytes, photos_waiting() as u64);
                        format!("{}{n}{}", ctx.tr("约 ", "about "), ctx.tr(" 张照片", " more photos"))
                    }
                    _ => "—".into(),
                }}</dd>
            </dl>
            <Show when=move || ctx.outbox.get().last_error.is_some()>
                <p class="error" role="alert" data-testid="activities-error">{move || ctx.outbox.get().last_error}</p>
            </Show>
            <button class="big" on:click=upload_now disabled=move || actx.uploading.get() data-testid="activities-upload-now">
                {move || if actx.uploading.get() { ctx.tr("正在上传…", "Uploading…") } else { ctx.tr("立即上传", "Upload now") }}
            </button>

            <h2>{ctx.tr("我的活动", "My activities")}</h2>
            <Show when=move || actx.activities.with(|a| a.is_empty())>
                <p class="empty">{ctx.tr("还没有记录。", "Nothing recorded yet.")}</p>
            </Show>
            <ul class="cards" data-testid="my-activities">
                <For each=move || actx.activities.get() key=|a| (a.activity.id, crate::components::sync_key(&a.sync), a.photo_bytes_waiting()) children=move |a| {
                    let id = a.activity.id;
                    let label = if a.activity.kind.is_empty() { ctx.tr("（未选类型）", "(no kind yet)").to_string() } else { actx.kind_label(&a.activity.kind, ctx.zh()) };
                    let photos = a.activity.photos.len();
                    let up = photos - a.photos_waiting().count();
                    let draft = a.sync == SyncState::Draft;
                    view! {
                        <li>
                            <Link to=AppRoute::Activity(id) class="card">
                                <span class="card-title">{label}</span>
                                <span class="card-sub">
                                    {a.activity.date.to_string()} " " {hhmm(a.activity.start)} "–" {hhmm(a.activity.end)} " · " {a.activity.place.clone()}
                                </span>
                                <span class="tags">
                                    <span class="tag" class:draft=draft data-testid="activity-state">{sync_label(&a.sync, ctx.zh())}</span>
                                    {(photos > 0).then(|| view! { <span class="tag">{format!("{} {up}/{photos}", ctx.tr("照片", "photos"))}</span> })}
                                    {move || actx.checked_in(id).then(|| view! { <span class="tag due">{ctx.tr("已签到", "Checked in")}</span> })}
                                </span>
                            </Link>
                        </li>
                    }
                }/>
            </ul>

            <Show when=move || !team_recent().is_empty()>
                <h2>{ctx.tr("队里最近的活动", "Recent team activities")}</h2>
                <ul class="cards">
                    <For each=team_recent key=|s| s.id children=move |s| {
                        let id = s.id;
                        let tap = move |_| {
                            let kind = if actx.checked_in(id) { CheckKind::Out } else { CheckKind::In };
                            tap_check(ctx, actx, id, kind, message);
                        };
                        view! {
                            <li class="card">
                                <span class="card-title">{s.kind_label.clone()}</span>
                                <span class="card-sub">{s.date.to_string()} " " {hhmm(s.start)} "–" {hhmm(s.end)} " · " {s.place.clone()} " · " {s.recorder_name.clone()}</span>
                                <button class="big" on:click=tap>
                                    {move || if actx.checked_in(id) { ctx.tr("签退", "Check out") } else { ctx.tr("签到", "Check in") }}
                                </button>
                            </li>
                        }
                    }/>
                </ul>
            </Show>
            {ctx.session.get_untracked().filter(|s| s.member.role.records_visits()).map(|_| view! {
                <p><Link to=AppRoute::Households class="more">{ctx.tr("返回联系户", "Back to households")}</Link></p>
            })}
            {move || ctx.outbox.get().last_success_ms.map(|ms| view! { <p class="hint">{ctx.tr("上次上传成功：", "Last upload: ")}{time::format_local(ms)}</p> })}
        </section>
    }
}
