//! One activity: the form while it is a draft (every change stored at once),
//! check-in and check-out, photos (camera or gallery, shrunk, kept in
//! IndexedDB), and save. A saved activity is shown read-only with where it
//! and each photo stand.

use daohu_domain::{CheckKind, LocalActivity, PhotoRef, PhotoState, SyncState};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;
use wasm_bindgen::JsCast;

use super::require_session;
use crate::act_ctx::{use_activity_ctx, ActivityCtx};
use crate::act_sync::tap_check;
use crate::time::hhmm;
use crate::components::sync_label;
use crate::ctx::{use_ctx, AppCtx};
use crate::components::link::Link;
use crate::routes::AppRoute;
use crate::{act_sync, photos, time};

/// The record being edited and where problems are reported.
#[derive(Clone, Copy)]
struct Editor {
    ctx: AppCtx,
    actx: ActivityCtx,
    record: RwSignal<Option<LocalActivity>>,
    warn: RwSignal<Option<String>>,
}

impl Editor {
    /// Changes the draft and writes it to storage straight away.
    fn edit(self, f: impl FnOnce(&mut LocalActivity)) {
        let _ = self.try_edit(f);
    }
    /// [`Editor::edit`], saying whether the write succeeded (the warning says why not).
    fn try_edit(self, f: impl FnOnce(&mut LocalActivity)) -> bool {
        let mut changed = None;
        self.record.update(|r| {
            if let Some(r) = r.as_mut().filter(|r| r.sync == SyncState::Draft) {
                f(r);
                changed = Some(r.clone());
            }
        });
        let Some(rec) = changed else { return false };
        match self.actx.put(self.ctx, rec) {
            Ok(()) => {
                self.warn.set(None);
                true
            }
            Err(e) => {
                self.warn.set(Some(e.message(self.ctx.zh())));
                false
            }
        }
    }
    fn read<T>(self, f: impl FnOnce(&LocalActivity) -> T) -> Option<T> {
        self.record.with(|r| r.as_ref().map(f))
    }
}

fn parse_time(s: &str) -> Option<chrono::NaiveTime> {
    let (h, m) = s.split_once(':')?;
    chrono::NaiveTime::from_hms_opt(h.parse().ok()?, m.get(..2)?.parse().ok()?, 0)
}

#[component]
pub fn ActivityPage(id: Uuid) -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let actx = use_activity_ctx();
    let record = RwSignal::new(actx.get(id).or_else(|| crate::storage::load_activity(id).ok().flatten()));
    let ed = Editor { ctx, actx, record, warn: RwSignal::new(None) };
    let note = RwSignal::new(None::<String>);
    let errors = RwSignal::new(Vec::<String>::new());
    let busy = RwSignal::new(false);
    // Another tab or the uploader changed this record: show that version.
    Effect::new(move |_| {
        let latest = actx.activities.with(|all| all.iter().find(|a| a.activity.id == id).cloned());
        if let Some(latest) = latest {
            if record.with_untracked(|r| r.as_ref() != Some(&latest)) {
                record.set(Some(latest));
            }
        }
    });

    let Some(_) = record.get_untracked() else {
        return view! {
            <section class="page">
                <p class="empty">{ctx.tr("这条活动不在这部手机上。", "This activity is not on this phone.")}</p>
                <Link to=AppRoute::Activities>{ctx.tr("返回志愿活动", "Back to activities")}</Link>
            </section>
        }
        .into_any();
    };
    let is_draft = move || ed.read(|r| r.sync == SyncState::Draft).unwrap_or(false);
    let zh = ctx.zh();

    let tap = move |_| {
        let kind = if actx.checked_in(id) { CheckKind::Out } else { CheckKind::In };
        if kind == CheckKind::Out {
            // Checking out of one's own draft ends it now (at least a minute after its start).
            let now = time::now_local_time();
            ed.edit(|r| r.activity.end = if now == r.activity.start { now + chrono::Duration::minutes(1) } else { now });
        }
        tap_check(ctx, actx, id, kind, note);
    };

    let add_photos = move |ev: leptos::ev::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let files: Vec<web_sys::File> = input
            .files()
            .map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect())
            .unwrap_or_default();
        input.set_value("");
        busy.set(true);
        spawn_local(async move {
            for f in files {
                if let Err(e) = add_photo(ed, &f).await {
                    ed.warn.set(Some(e));
                    break;
                }
            }
            busy.set(false);
        });
    };

    let save = move |_| {
        let Some(rec) = record.get_untracked() else { return };
        let mut problems: Vec<String> = match rec.activity.validate() {
            Ok(()) => Vec::new(),
            Err(list) => list.iter().map(|e| if zh { e.message_zh() } else { e.message_en() }).collect(),
        };
        if rec.activity.date > time::today() {
            problems.push(ctx.tr("活动日期不能晚于今天", "The date cannot be after today").into());
        }
        errors.set(problems.clone());
        if !problems.is_empty() {
            return;
        }
        match act_sync::save_for_upload(ctx, actx, rec) {
            Ok(()) => note.set(Some(ctx.tr("已保存，有网时会自动上传。", "Saved; it uploads by itself when there is a network.").into())),
            Err(e) => ed.warn.set(Some(e.message(zh))),
        }
    };
    let discard = move |_| {
        let photo_ids = ed.read(|r| r.activity.photos.iter().map(|p| p.id).collect::<Vec<_>>()).unwrap_or_default();
        if crate::storage::delete_activity(id).is_ok() {
            spawn_local(async move {
                for p in photo_ids {
                    let _ = photos::delete(p).await;
                }
            });
            actx.reload();
            ctx.recount_other();
            ctx.go(AppRoute::Activities);
        }
    };

    let kinds = move || {
        actx.roster.with(|r| match r {
            Some(r) => r.kinds.iter().filter(|k| k.active).map(|k| (k.code.clone(), if zh { k.label_zh.clone() } else { k.label_en.clone() })).collect::<Vec<_>>(),
            None => daohu_domain::activity::DEFAULT_KINDS.iter().map(|k| (k.0.to_string(), if zh { k.1 } else { k.2 }.to_string())).collect(),
        })
    };
    let teams = move || actx.roster.with(|r| r.as_ref().map(|r| r.teams.clone()).unwrap_or_default());
    let team_members = move || {
        let team = ed.read(|r| r.activity.team_id).flatten();
        teams().into_iter().find(|t| Some(t.id) == team).map(|t| t.members).unwrap_or_default()
    };
    let hh_query = RwSignal::new(String::new());
    let households = move || {
        let q = hh_query.get();
        let chosen = ed.read(|r| r.activity.household_ids.clone()).unwrap_or_default();
        actx.roster.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.households
                        .iter()
                        .filter(|h| chosen.contains(&h.id) || (!q.trim().is_empty() && (h.head_name.contains(q.trim()) || h.address.contains(q.trim()))))
                        .take(30)
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let num = |ev: &leptos::ev::Event| event_target_value(ev).trim().parse::<u32>().unwrap_or(0);

    let form = move || {
        view! {
            <label for="a-kind">{ctx.tr("活动类型", "Kind")}</label>
            <select id="a-kind" data-testid="a-kind" on:change=move |ev| { let v = event_target_value(&ev); ed.edit(|r| r.activity.kind = v) }>
                <option value="" selected=move || ed.read(|r| r.activity.kind.is_empty()).unwrap_or(true)>{ctx.tr("请选择", "Choose")}</option>
                {kinds().into_iter().map(|(code, label)| {
                    let c = code.clone();
                    view! { <option value=code selected=move || ed.read(|r| r.activity.kind == c).unwrap_or(false)>{label}</option> }
                }).collect_view()}
            </select>
            <label for="a-date">{ctx.tr("日期", "Date")}</label>
            <input id="a-date" type="date" prop:value=move || ed.read(|r| r.activity.date.to_string()).unwrap_or_default()
                on:change=move |ev| if let Ok(d) = daohu_domain::stamp::parse_date(&event_target_value(&ev)) { ed.edit(|r| r.activity.date = d) }/>
            <div class="states">
                <div class="state">
                    <label for="a-start">{ctx.tr("开始时间", "Start")}</label>
                    <input id="a-start" type="time" data-testid="a-start" prop:value=move || ed.read(|r| hhmm(r.activity.start)).unwrap_or_default()
                        on:change=move |ev| if let Some(t) = parse_time(&event_target_value(&ev)) { ed.edit(|r| r.activity.start = t) }/>
                </div>
                <div class="state">
                    <label for="a-end">{ctx.tr("结束时间", "End")}</label>
                    <input id="a-end" type="time" data-testid="a-end" prop:value=move || ed.read(|r| hhmm(r.activity.end)).unwrap_or_default()
                        on:change=move |ev| if let Some(t) = parse_time(&event_target_value(&ev)) { ed.edit(|r| r.activity.end = t) }/>
                </div>
            </div>
            <p class="hint">{ctx.tr("结束早于开始，算作第二天结束。", "An end before the start means the next day.")}</p>
            <label for="a-place">{ctx.tr("地点", "Place")}</label>
            <input id="a-place" type="search" data-testid="a-place" prop:value=move || ed.read(|r| r.activity.place.clone()).unwrap_or_default()
                on:input=move |ev| { let v = event_target_value(&ev); ed.edit(|r| r.activity.place = v) }/>
            <Show when=move || !teams().is_empty()>
                <label for="a-team">{ctx.tr("队伍", "Team")}</label>
                <select id="a-team" on:change=move |ev| { let v = Uuid::parse_str(&event_target_value(&ev)).ok(); ed.edit(|r| { r.activity.team_id = v; let me = r.activity.recorder_id; r.activity.participants.retain(|p| *p == me); }) }>
                    <option value="" selected=move || ed.read(|r| r.activity.team_id.is_none()).unwrap_or(true)>{ctx.tr("不属于队伍", "No team")}</option>
                    {teams().into_iter().map(|t| {
                        let tid = t.id;
                        view! { <option value=t.id.to_string() selected=move || ed.read(|r| r.activity.team_id == Some(tid)).unwrap_or(false)>{t.name}</option> }
                    }).collect_view()}
                </select>
                <fieldset>
                    <legend>{ctx.tr("参加的队员", "Team members who took part")}</legend>
                    {move || team_members().into_iter().map(|m| {
                        let mid = m.id;
                        view! {
                            <label class="check">
                                <input type="checkbox" data-testid="a-participant"
                                    prop:checked=move || ed.read(|r| r.activity.participants.contains(&mid)).unwrap_or(false)
                                    on:change=move |ev| { let on = event_target_checked(&ev); ed.edit(|r| { r.activity.participants.retain(|p| *p != mid); if on { r.activity.participants.push(mid) } }) }/>
                                {m.name}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            </Show>
            <div class="states">
                <div class="state">
                    <label for="a-others">{ctx.tr("其他参加人数", "Others who took part")}</label>
                    <input id="a-others" type="number" inputmode="numeric" min="0" data-testid="a-others" prop:value=move || ed.read(|r| r.activity.others.to_string()).unwrap_or_default()
                        on:input=move |ev| { let n = num(&ev); ed.edit(|r| r.activity.others = n) }/>
                </div>
                <div class="state">
                    <label for="a-served">{ctx.tr("服务群众人数", "People served")}</label>
                    <input id="a-served" type="number" inputmode="numeric" min="0" data-testid="a-served" prop:value=move || ed.read(|r| r.activity.served.to_string()).unwrap_or_default()
                        on:input=move |ev| { let n = num(&ev); ed.edit(|r| r.activity.served = n) }/>
                </div>
            </div>
            <Show when=move || actx.roster.with(|r| r.as_ref().is_some_and(|r| !r.households.is_empty()))>
                <label for="a-hh">{ctx.tr("入户服务的家庭（搜户主或门牌）", "Households served at the door (search name or doorplate)")}</label>
                <input id="a-hh" type="search" prop:value=move || hh_query.get() on:input=move |ev| hh_query.set(event_target_value(&ev))/>
                {move || households().into_iter().map(|h| {
                    let hid = h.id;
                    view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || ed.read(|r| r.activity.household_ids.contains(&hid)).unwrap_or(false)
                                on:change=move |ev| { let on = event_target_checked(&ev); ed.edit(|r| { r.activity.household_ids.retain(|x| *x != hid); if on { r.activity.household_ids.push(hid) } }) }/>
                            {h.head_name} " · " {h.address}
                        </label>
                    }
                }).collect_view()}
            </Show>
            <label for="a-desc">{ctx.tr("活动内容", "What was done")}</label>
            <textarea id="a-desc" rows="4" data-testid="a-desc" prop:value=move || ed.read(|r| r.activity.description.clone()).unwrap_or_default()
                on:input=move |ev| { let v = event_target_value(&ev); ed.edit(|r| r.activity.description = v) }></textarea>
            <h2>{ctx.tr("照片", "Photos")}</h2>
            <div class="states">
                // The input comes first so its keyboard focus can ring the label (see main.css).
                <input id="a-camera" class="visually-hidden" type="file" accept="image/*" capture="environment" on:change=add_photos disabled=move || busy.get()/>
                <label class="button state" for="a-camera">{ctx.tr("拍照", "Take a photo")}</label>
                <input id="a-gallery" class="visually-hidden" type="file" accept="image/*" multiple data-testid="a-gallery" on:change=add_photos disabled=move || busy.get()/>
                <label class="button state" for="a-gallery">{ctx.tr("从相册选", "From the gallery")}</label>
            </div>
            <Show when=move || busy.get()><p role="status">{ctx.tr("正在处理照片…", "Processing photos…")}</p></Show>
        }
    };

    view! {
        <section class="page activity">
            <Link to=AppRoute::Activities class="back">{ctx.tr("‹ 志愿活动", "‹ Activities")}</Link>
            <h1>
                {move || ed.read(|r| if r.activity.kind.is_empty() { ctx.tr("新活动", "New activity").to_string() } else { actx.kind_label(&r.activity.kind, zh) })}
                <small data-testid="activity-sync">{move || ed.read(|r| sync_label(&r.sync, zh))}</small>
            </h1>
            <button class="primary big" on:click=tap data-testid="check-button">
                {move || if actx.checked_in(id) { ctx.tr("签退", "Check out") } else { ctx.tr("签到", "Check in") }}
            </button>
            <ul class="trail" data-testid="check-ins">
                {move || actx.check_ins.get().into_iter().filter(|c| c.check_in.activity_id == id).map(|c| view! {
                    <li>
                        {if c.check_in.kind == CheckKind::In { ctx.tr("签到", "In") } else { ctx.tr("签退", "Out") }}
                        " " {time::format_local(c.check_in.at.timestamp_millis() as f64)}
                        {c.check_in.location.map(|_| ctx.tr(" · 已记录位置", " · location recorded"))}
                        " · " {sync_label(&c.sync, zh)}
                    </li>
                }).collect_view()}
            </ul>
            <Show when=move || note.get().is_some()><p class="ok" role="status" data-testid="activity-note">{move || note.get()}</p></Show>
            <Show when=move || ed.warn.get().is_some()><p class="error" role="alert" data-testid="activity-warn">{move || ed.warn.get()}</p></Show>
            <Show when=is_draft fallback=move || view! { <Summary ed=ed/> }>
                {form}
            </Show>
            <PhotoList ed=ed/>
            <Show when=is_draft>
                <Show when=move || !errors.get().is_empty()>
                    <ul class="error" role="alert" data-testid="activity-errors">
                        {move || errors.get().into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
                    </ul>
                </Show>
                // Held at the bottom of the screen (style: .action-bar): the form
                // runs to three screens, and saving is what it is for.
                <div class="step-buttons action-bar">
                    <button class="danger" on:click=discard>{ctx.tr("删除草稿", "Delete draft")}</button>
                    <button class="primary" on:click=save data-testid="activity-save" disabled=move || busy.get()>{ctx.tr("保存", "Save")}</button>
                </div>
            </Show>
        </section>
    }
    .into_any()
}

/// Shrinks a picked photo, checks there is room, keeps it in IndexedDB, then
/// names it in the draft. Nothing stored changes when any step fails.
async fn add_photo(ed: Editor, file: &web_sys::File) -> Result<(), String> {
    let zh = ed.ctx.zh();
    let count = ed.read(|r| r.activity.photos.len()).unwrap_or(0);
    if count >= daohu_domain::activity::MAX_PHOTOS {
        return Err(ed.ctx.tr("照片最多 9 张", "At most 9 photos").into());
    }
    let msg = |e: photos::PhotoError| e.message(zh).to_string();
    photos::has_room_for(file.size()).await.map_err(msg)?;
    let small = photos::shrink(file).await.map_err(msg)?;
    photos::has_room_for(small.size()).await.map_err(msg)?;
    let sha256 = photos::sha256_hex(&small).await.map_err(msg)?;
    let id = time::new_id();
    photos::put(id, &small).await.map_err(msg)?;
    let photo = PhotoRef { id, bytes: small.size() as u64, sha256 };
    let stored = ed.try_edit(|r| {
        r.activity.photos.push(photo);
        r.photo_states.resize(r.activity.photos.len() - 1, PhotoState::Pending);
        r.photo_states.push(PhotoState::Pending);
    });
    if !stored {
        // The record could not be written: take the photo back out so nothing points nowhere.
        let _ = photos::delete(id).await;
        ed.record.update(|r| {
            if let Some(r) = r {
                r.activity.photos.retain(|p| p.id != id);
                r.photo_states.truncate(r.activity.photos.len());
            }
        });
        return Err(ed.warn.get_untracked().unwrap_or_default());
    }
    Ok(())
}

/// Thumbnails of the photos (from IndexedDB while they are on the phone), with
/// where each stands; a draft's photo can be removed.
#[component]
fn PhotoList(ed: Editor) -> impl IntoView {
    let ctx = ed.ctx;
    let list = move || ed.read(|r| r.activity.photos.iter().cloned().enumerate().map(|(i, p)| (p, r.photo_states.get(i).copied() == Some(PhotoState::Uploaded), r.sync == SyncState::Draft)).collect::<Vec<_>>()).unwrap_or_default();
    view! {
        <ul class="photos" data-testid="photo-list">
            <For each=list key=|(p, up, d)| (p.id, *up, *d) children=move |(p, uploaded, draft)| {
                let src = RwSignal::new(None::<String>);
                let pid = p.id;
                if !uploaded {
                    spawn_local(async move {
                        if let Ok(Some(b)) = photos::get(pid).await {
                            src.set(photos::object_url(&b));
                        }
                    });
                }
                on_cleanup(move || {
                    if let Some(u) = src.get_untracked() {
                        let _ = web_sys::Url::revoke_object_url(&u);
                    }
                });
                let remove = move |_| {
                    ed.edit(|r| {
                        if let Some(i) = r.activity.photos.iter().position(|x| x.id == pid) {
                            r.activity.photos.remove(i);
                            if i < r.photo_states.len() {
                                r.photo_states.remove(i);
                            }
                        }
                    });
                    spawn_local(async move {
                        let _ = photos::delete(pid).await;
                    });
                };
                view! {
                    <li data-photo-id=p.id.to_string()>
                        {move || src.get().map(|s| view! { <img src=s alt=ctx.tr("活动照片", "Activity photo") width="96"/> })}
                        <span>{format!("{} KB · ", p.bytes / 1024)}{if uploaded { ctx.tr("已上传", "Uploaded") } else { ctx.tr("等待上传", "Waiting to upload") }}</span>
                        {draft.then(|| view! { <button class="link danger" on:click=remove>{ctx.tr("移除", "Remove")}</button> })}
                    </li>
                }
            }/>
        </ul>
    }
}

/// A saved activity, read-only.
#[component]
fn Summary(ed: Editor) -> impl IntoView {
    let ctx = ed.ctx;
    let actx = ed.actx;
    let zh = ctx.zh();
    ed.read(|r| {
        let a = &r.activity;
        let team = actx.roster.with_untracked(|ro| ro.as_ref().and_then(|ro| ro.teams.iter().find(|t| Some(t.id) == a.team_id).map(|t| t.name.clone())));
        view! {
            <dl class="facts" data-testid="activity-summary">
                <dt>{ctx.tr("类型", "Kind")}</dt><dd>{actx.kind_label(&a.kind, zh)}</dd>
                <dt>{ctx.tr("时间", "When")}</dt><dd>{a.date.to_string()} " " {hhmm(a.start)} "–" {hhmm(a.end)}</dd>
                <dt>{ctx.tr("地点", "Place")}</dt><dd>{a.place.clone()}</dd>
                <dt>{ctx.tr("队伍", "Team")}</dt><dd>{team.unwrap_or_else(|| "—".into())}</dd>
                <dt>{ctx.tr("参加人数", "Took part")}</dt><dd>{a.attendance()}</dd>
                <dt>{ctx.tr("服务人数", "Served")}</dt><dd>{a.served}</dd>
                <dt>{ctx.tr("服务户数", "Households")}</dt><dd>{a.household_ids.len()}</dd>
                <dt>{ctx.tr("内容", "What was done")}</dt><dd>{a.description.clone()}</dd>
            </dl>
        }
    })
}
