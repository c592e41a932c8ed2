//! Volunteer activities (志愿服务) for coordinators: every activity in their area,
//! filtered by area, team, kind and dates; one opened in full with its check-ins
//! and photos; hours per volunteer and per team per month (a bar chart and
//! tables); downloads (XLSX, CSV, JSON lines) of what the filter shows; and small
//! forms to make a team and (county coordinators) a new kind of activity.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use daohu_domain::{
    Account, ActivityDetail, ActivityFilter, ActivityKind, ActivitySummary, CheckKind, GeoPoint,
    HoursReport, HoursRow, NewActivityKind, NewTeam, OrgTree, Role, Team, UnitKind,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::{load, report, require_coordinator, AdminNav, ErrorLine};
use crate::ctx::{use_ctx, AppCtx};
use crate::routes::AppRoute;

/// Minutes as hours with one decimal, rounded like the downloads
/// (`hours_one_decimal`), by integer arithmetic: no float formatting in the wasm.
fn hours_text(ctx: AppCtx, minutes: i64) -> String {
    let tenths = (minutes + 3) / 6;
    format!("{}.{} {}", tenths / 10, tenths % 10, ctx.tr("小时", "h"))
}

/// `20:00–22:00`, with "next day" when the end is at or before the start.
fn span(start: NaiveTime, end: NaiveTime, ctx: AppCtx) -> String {
    let next = if end <= start { ctx.tr("（次日）", " (next day)") } else { "" };
    format!("{}–{}{next}", crate::time::hhmm(start), crate::time::hhmm(end))
}

/// A moment in the browser's own time zone, like every time in the console.
fn local(at: DateTime<Utc>) -> String {
    crate::time::format_local(at.timestamp_millis() as f64)
}

/// Degrees to five decimals (about a metre), by integer arithmetic.
fn deg(x: f64) -> String {
    let n = (x * 1e5).round() as i64;
    format!("{}{}.{:05}", if n < 0 { "-" } else { "" }, n.abs() / 100_000, n.abs() % 100_000)
}

/// Whether `unit` is `top` or below it in the tree.
fn within(tree: &OrgTree, mut unit: Uuid, top: Uuid) -> bool {
    for _ in 0..8 {
        if unit == top {
            return true;
        }
        match tree.units.iter().find(|u| u.id == unit).and_then(|u| u.parent_id) {
            Some(p) => unit = p,
            None => return false,
        }
    }
    false
}

/// Rows added up by a key: (label, minutes), first seen first.
fn totals<K: PartialEq>(rows: &[HoursRow], key: impl Fn(&HoursRow) -> (K, String)) -> Vec<(String, i64)> {
    let mut out: Vec<(K, String, i64)> = Vec::new();
    for r in rows {
        let (k, label) = key(r);
        match out.iter_mut().find(|x| x.0 == k) {
            Some(x) => x.2 += r.minutes,
            None => out.push((k, label, r.minutes)),
        }
    }
    out.into_iter().map(|(_, l, m)| (l, m)).collect()
}


#[component]
pub fn ActivitiesPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let county = ctx.session.get_untracked().map(|s| s.member.role) == Some(Role::CountyCoordinator);
    let tree = RwSignal::new(None::<OrgTree>);
    let teams = RwSignal::new(None::<Vec<Team>>);
    let kinds = RwSignal::new(None::<Vec<ActivityKind>>);
    let accounts = RwSignal::new(None::<Vec<Account>>);
    let list = RwSignal::new(None::<Vec<ActivitySummary>>);
    let hours = RwSignal::new(None::<HoursReport>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let filter = RwSignal::new(ActivityFilter::default());
    load(ctx, "/api/org".into(), tree, error);
    load(ctx, "/api/accounts".into(), accounts, error);
    let load_teams = move || load(ctx, "/api/teams".into(), teams, error);
    let load_kinds = move || load(ctx, "/api/activity-kinds".into(), kinds, error);
    load_teams();
    load_kinds();
    let search = move || {
        let q = filter.get_untracked().to_query();
        load(ctx, format!("/api/activities?{q}"), list, error);
        load(ctx, format!("/api/activities/hours?{q}"), hours, error);
    };
    search();
    let set = move |f: Box<dyn FnOnce(&mut ActivityFilter)>| {
        filter.update(|x| f(x));
        search();
    };
    let open = RwSignal::new(None::<ActivityDetail>);
    let show = move |id: Uuid| load(ctx, format!("/api/activities/{id}"), open, error);
    let download = move |format: &'static str| {
        let path = format!("/api/exports?dataset=activities&format={format}&{}", filter.get_untracked().to_query());
        super::download_link(ctx, path, error)
    };
    // What a POST answers is not needed: the lists are loaded again.
    let post = move |path: &'static str, body: serde_json::Value, done: Box<dyn Fn()>| {
        let Some(client) = ctx.api() else { return };
        spawn_local(async move {
            match client.send::<_, serde_json::Value>("POST", path, Some(&body)).await {
                Ok(_) => {
                    error.set(None);
                    notice.set(Some(ctx.tr("已保存", "Saved").into()));
                    done();
                }
                Err(e) => report(ctx, e, error),
            }
        });
    };

    let team_unit = RwSignal::new(None::<Uuid>);
    let team_name = RwSignal::new(String::new());
    let team_members = RwSignal::new(Vec::<Uuid>::new());
    let create_team = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let name = team_name.get_untracked().trim().to_string();
        let Some(unit_id) = team_unit.get_untracked() else {
            error.set(Some(ctx.tr("请选择服务队所属的村或乡镇", "Choose the team's village or township").into()));
            return;
        };
        if name.is_empty() {
            error.set(Some(ctx.tr("请填写服务队名称", "Enter the team's name").into()));
            return;
        }
        let body = NewTeam { unit_id, name, member_ids: team_members.get_untracked() };
        post("/api/teams", serde_json::to_value(body).unwrap_or_default(), Box::new(move || {
            team_name.set(String::new());
            team_members.set(Vec::new());
            load_teams();
        }));
    };
    let code = RwSignal::new(String::new());
    let label_zh = RwSignal::new(String::new());
    let label_en = RwSignal::new(String::new());
    let create_kind = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        notice.set(None);
        let body = NewActivityKind {
            code: code.get_untracked().trim().to_string(),
            label_zh: label_zh.get_untracked().trim().to_string(),
            label_en: label_en.get_untracked().trim().to_string(),
        };
        let code_ok = !body.code.is_empty()
            && body.code.len() <= 40
            && body.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !code_ok || body.label_zh.is_empty() || body.label_en.is_empty() {
            error.set(Some(ctx.tr("代码只能用英文小写字母、数字和下划线；中文和英文名称都要填", "The code takes lowercase letters, digits and _ only; both names are required").into()));
            return;
        }
        post("/api/activity-kinds", serde_json::to_value(body).unwrap_or_default(), Box::new(move || {
            code.set(String::new());
            label_zh.set(String::new());
            label_en.set(String::new());
            load_kinds();
        }));
    };
    let kind_label = move |k: &ActivityKind| {
        let l = if ctx.zh() || k.label_en.is_empty() { k.label_zh.clone() } else { k.label_en.clone() };
        if k.active { l } else { format!("{l}{}", ctx.tr("（已停用）", " (retired)")) }
    };
    let areas = move || {
        tree.get()
            .map(|t| t.units.into_iter().filter(|u| u.kind != UnitKind::Grid).map(|u| (u.id, u.name)).collect::<Vec<_>>())
            .unwrap_or_default()
    };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminActivities/>
            <h1>{ctx.tr("志愿活动", "Volunteer activities")}</h1>
            <ErrorLine error=error/>
            <div class="filters">
                <label>{ctx.tr("范围", "Area")}
                    <select id="a-unit" on:change=move |ev| { let v = Uuid::parse_str(&event_target_value(&ev)).ok(); set(Box::new(move |f| f.unit_id = v)) }>
                        <option value="">{ctx.tr("我管理的全部", "All of mine")}</option>
                        {move || areas().into_iter().map(|(id, n)| view! { <option value=id.to_string()>{n}</option> }).collect_view()}
                    </select>
                </label>
                <label>{ctx.tr("服务队", "Team")}
                    <select id="a-team" on:change=move |ev| { let v = Uuid::parse_str(&event_target_value(&ev)).ok(); set(Box::new(move |f| f.team_id = v)) }>
                        <option value="">{ctx.tr("全部", "All")}</option>
                        {move || teams.get().unwrap_or_default().into_iter().map(|t| view! {
                            <option value=t.id.to_string()>{ctx.aside(&t.name, &t.unit_name)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{ctx.tr("活动类型", "Kind")}
                    <select id="a-kind" on:change=move |ev| { let v = Some(event_target_value(&ev)).filter(|k| !k.is_empty()); set(Box::new(move |f| f.kind = v)) }>
                        <option value="">{ctx.tr("全部", "All")}</option>
                        {move || kinds.get().unwrap_or_default().into_iter().map(|k| view! { <option value=k.code.clone()>{kind_label(&k)}</option> }).collect_view()}
                    </select>
                </label>
                <label>{ctx.tr("从", "From")}
                    <input id="a-from" type="date" on:change=move |ev| { let v = event_target_value(&ev).parse::<NaiveDate>().ok(); set(Box::new(move |f| f.from = v)) }/>
                </label>
                <label>{ctx.tr("到", "To")}
                    <input id="a-to" type="date" on:change=move |ev| { let v = event_target_value(&ev).parse::<NaiveDate>().ok(); set(Box::new(move |f| f.to = v)) }/>
                </label>
            </div>
            <div class="actions">
                <button on:click=move |_| download("xlsx") data-testid="dl-xlsx">{ctx.tr("下载 Excel", "Download Excel")}</button>
                <button on:click=move |_| download("csv") data-testid="dl-csv">{ctx.tr("下载 CSV", "Download CSV")}</button>
                <button on:click=move |_| download("csv&sheet=check_ins") data-testid="dl-check-ins-csv">{ctx.tr("打卡 CSV", "Check-ins (CSV)")}</button>
                <button on:click=move |_| download("csv&sheet=hours") data-testid="dl-hours-csv">{ctx.tr("工时 CSV", "Hours (CSV)")}</button>
                <button on:click=move |_| download("csv&sheet=team_hours") data-testid="dl-team-hours-csv">{ctx.tr("队伍工时 CSV", "Team hours (CSV)")}</button>
                <button on:click=move |_| download("jsonl") data-testid="dl-jsonl">{ctx.tr("JSON（每行一条）", "JSON lines")}</button>
            </div>
            <p class="muted" data-testid="activity-total">{move || list.get().map(|l| if l.is_empty() {
                ctx.tr("没有符合筛选条件的志愿活动", "No activities match the filter").to_string()
            } else {
                format!("{} {} {}", ctx.tr("共", "Total"), l.len(), ctx.tr("次活动", "activities"))
            })}</p>
            <table class="grid-table" data-testid="activity-list">
                <thead><tr>
                    <th>{ctx.tr("日期", "Date")}</th><th>{ctx.tr("活动", "Activity")}</th><th>{ctx.tr("服务队 · 记录人", "Team · recorder")}</th>
                    <th>{ctx.tr("参加 / 服务人数", "Took part / served")}</th><th>{ctx.tr("照片 · 打卡", "Photos · check-ins")}</th>
                </tr></thead>
                <tbody>
                    {move || list.get().unwrap_or_default().into_iter().map(|a| {
                        let id = a.id;
                        view! {
                            <tr>
                                <td><button class="link" on:click=move |_| show(id)>{a.date.to_string()}</button><br/><span class="muted">{span(a.start, a.end, ctx)}</span></td>
                                <td>{a.kind_label.clone()}<br/><span class="muted">{format!("{} · {}", a.place, a.unit_name)}</span></td>
                                <td>{a.team_name.clone().unwrap_or_else(|| "—".into())}<br/><span class="muted">{a.recorder_name.clone()}</span></td>
                                <td>{format!("{} / {}", a.attendance, a.served)}</td>
                                <td>{format!("{}/{} · {}", a.photos_received, a.photos, a.check_ins)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h2>{ctx.tr("志愿服务时长", "Volunteer hours")}</h2>
            <p class="hint">{ctx.tr("签到到签退的时间；忘了签退的按活动结束时间计；同一时段只算一次。", "Check-in to check-out; a missing check-out counts to the activity's end; overlapping time counts once.")}</p>
            {move || hours.get().map(|h| view! { <HoursBody h=h/> })}
            {move || open.get().map(|d| view! { <ActivityCard d=d close=move || open.set(None)/> })}

            <h2>{ctx.tr("志愿服务队", "Volunteer teams")}</h2>
            <ul class="list" data-testid="teams">
                {move || teams.get().unwrap_or_default().into_iter().map(|t| view! {
                    <li>{format!("{} · {} · {} {}{}{}", t.name, t.unit_name, t.members.len(), ctx.tr("人", "people"), ctx.tr("：", ": "),
                        ctx.join(t.members.iter().map(|m| m.name.as_str())))}</li>
                }).collect_view()}
            </ul>
            {crate::components::message_line(notice, "ok", "status")}
            <h3>{ctx.tr("新建服务队", "New team")}</h3>
            <form on:submit=create_team class="stack" data-testid="team-form">
                <label for="team-unit">{ctx.tr("所属村或乡镇", "Village or township")}</label>
                <select id="team-unit" on:change=move |ev| { team_unit.set(Uuid::parse_str(&event_target_value(&ev)).ok()); team_members.set(Vec::new()); }>
                    <option value="">{ctx.tr("请选择", "Choose")}</option>
                    {move || areas().into_iter().map(|(id, n)| view! { <option value=id.to_string()>{n}</option> }).collect_view()}
                </select>
                <label for="team-name">{ctx.tr("服务队名称", "Team name")}</label>
                <input id="team-name" prop:value=team_name on:input=move |ev| team_name.set(event_target_value(&ev))/>
                <fieldset>
                    <legend>{ctx.tr("队员（所选单位的党员、网格长和志愿者）", "Members (members, grid leaders and volunteers of the chosen unit)")}</legend>
                    {move || {
                        let (Some(top), Some(t)) = (team_unit.get(), tree.get()) else {
                            return view! { <p class="hint">{ctx.tr("请先选择所属单位", "Choose the unit first")}</p> }.into_any();
                        };
                        accounts.get().unwrap_or_default().into_iter().filter(|a| !a.disabled && a.role.records_activities() && within(&t, a.unit_id, top)).map(|a| {
                            let id = a.id;
                            view! {
                                <label class="check">
                                    <input type="checkbox" prop:checked=move || team_members.with(|m| m.contains(&id))
                                        on:change=move |ev| { let on = event_target_checked(&ev); team_members.update(|m| { m.retain(|x| *x != id); if on { m.push(id) } }) }/>
                                    {format!("{} · {}", a.name, a.unit_name)}
                                </label>
                            }
                        }).collect_view().into_any()
                    }}
                </fieldset>
                <button type="submit" class="primary">{ctx.tr("新建服务队", "Create team")}</button>
            </form>
            {county.then(|| view! {
                <h3>{ctx.tr("新增活动类型（全县通用）", "New kind of activity (county-wide)")}</h3>
                <form on:submit=create_kind class="stack" data-testid="kind-form">
                    <label for="kind-code">{ctx.tr("代码（英文小写字母、数字、下划线，如 river_patrol）", "Code (lowercase letters, digits, _; e.g. river_patrol)")}</label>
                    <input id="kind-code" autocomplete="off" prop:value=code on:input=move |ev| code.set(event_target_value(&ev))/>
                    <label for="kind-zh">{ctx.tr("中文名称", "Chinese name")}</label>
                    <input id="kind-zh" prop:value=label_zh on:input=move |ev| label_zh.set(event_target_value(&ev))/>
                    <label for="kind-en">{ctx.tr("英文名称", "English name")}</label>
                    <input id="kind-en" prop:value=label_en on:input=move |ev| label_en.set(event_target_value(&ev))/>
                    <button type="submit" class="primary">{ctx.tr("新增类型", "Add kind")}</button>
                </form>
            })}
        </section>
    }
}

/// Hours as a bar chart (by team for the period, or by month) and two tables.
#[component]
fn HoursBody(h: HoursReport) -> impl IntoView {
    let ctx = use_ctx();
    let by_month = RwSignal::new(false);
    let (teams, volunteers) = (h.teams.clone(), h.volunteers.clone());
    let bars = move || {
        let mut b = if by_month.get() {
            let mut b = totals(&volunteers, |r| (r.month.clone(), r.month.clone()));
            daohu_domain::order::sort_by(&mut b, |x, y| x < y);
            b
        } else {
            let mut b = totals(&teams, |r| (r.id, r.name.clone()));
            daohu_domain::order::sort_by(&mut b, |x, y| x.1 > y.1);
            b
        };
        b.truncate(30);
        view! { <HoursBars bars=b/> }
    };
    let choice = move |month: bool, zh: &'static str, en: &'static str| view! {
        <button aria-pressed=move || (by_month.get() == month).to_string() class:primary=move || by_month.get() == month
            on:click=move |_| by_month.set(month)>{ctx.tr(zh, en)}</button>
    };
    view! {
        <div class="actions" role="group" aria-label=ctx.tr("图表", "Chart")>
            {choice(false, "按服务队", "By team")}
            {choice(true, "按月份", "By month")}
        </div>
        {bars}
        <h3>{ctx.tr("每位志愿者每月时长", "Hours per volunteer per month")}</h3>
        <HoursTable rows=h.volunteers head=ctx.tr("志愿者", "Volunteer") testid="hours-volunteers"/>
        <h3>{ctx.tr("每个服务队每月时长", "Hours per team per month")}</h3>
        <HoursTable rows=h.teams head=ctx.tr("服务队", "Team") testid="hours-teams"/>
    }
}

/// Horizontal bars; the hours are written beside each bar and in its tooltip.
#[component]
fn HoursBars(bars: Vec<(String, i64)>) -> impl IntoView {
    let ctx = use_ctx();
    if bars.is_empty() {
        return view! { <p class="empty">{ctx.tr("这段时间没有时长记录", "No hours in this period")}</p> }.into_any();
    }
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let h = 36 * bars.len() as i64;
    view! {
        <svg class="chart" viewBox=format!("0 0 360 {h}") role="img" aria-label=ctx.tr("志愿服务时长条形图", "Volunteer hours bar chart") data-testid="hours-chart">
            {bars.into_iter().enumerate().map(|(i, (name, m))| {
                let y = i as i64 * 36;
                let label = hours_text(ctx, m);
                view! {
                    <g>
                        <title>{format!("{name}: {label}")}</title>
                        <text x="0" y=y + 22 class="chart-label">{name.chars().take(7).collect::<String>()}</text>
                        <rect x="100" y=y + 6 width="180" height="22" class="bar-bg"/>
                        <rect x="100" y=y + 6 width=180 * m / max height="22" class="bar"/>
                        <text x="286" y=y + 22 class="chart-label">{label.clone()}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
    .into_any()
}

#[component]
fn HoursTable(rows: Vec<HoursRow>, head: &'static str, testid: &'static str) -> impl IntoView {
    let ctx = use_ctx();
    view! {
        <table class="grid-table" data-testid=testid>
            <thead><tr>
                <th>{head}</th><th>{ctx.tr("月份", "Month")}</th><th>{ctx.tr("时长", "Hours")}</th><th>{ctx.tr("活动次数", "Activities")}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let missing = r.missing_check_outs;
                    view! {
                        <tr data-name=r.name.clone()>
                            <td>{r.name.clone()}
                                {(missing > 0).then(|| view! { <br/><span class="tag draft">{if ctx.zh() {
                                    format!("有 {missing} 次未签退，按活动结束时间计")
                                } else {
                                    format!("{missing} without check-out: counted to the activity's end")
                                }}</span> })}
                            </td>
                            <td>{r.month.clone()}</td>
                            <td>{hours_text(ctx, r.minutes)}</td>
                            <td>{r.activities}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// One activity in full: what, when, where, who, check-ins and photos.
#[component]
fn ActivityCard(d: ActivityDetail, close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = use_ctx();
    let (s, a) = (d.summary, d.activity);
    let dash = |t: String| if t.is_empty() { "—".to_string() } else { t };
    let fact = move |dt: &'static str, en: &'static str, dd: String| view! { <dt>{ctx.tr(dt, en)}</dt><dd>{dd}</dd> };
    let card = NodeRef::<leptos::html::Div>::new();
    card.on_load(|el| {
        let _ = el.focus();
    });
    let kind = s.kind_label.clone();
    view! {
        <div class="card visit-detail" role="dialog" tabindex="-1" node_ref=card aria-label=ctx.tr("活动详情", "Activity") data-testid="activity-detail"
            on:keydown=move |ev| if ev.key() == "Escape" { close() }>
            <h2>{format!("{} · {} · {}", s.kind_label, s.date, s.place)}</h2>
            <dl class="facts">
                {fact("时间", "Time", format!("{} {}", s.date, span(a.start, a.end, ctx)))}
                {fact("地点", "Place", s.place.clone())}
                {fact("单位", "Unit", s.unit_name.clone())}
                {fact("服务队", "Team", s.team_name.clone().unwrap_or_else(|| "—".into()))}
                {fact("记录人", "Recorded by", s.recorder_name.clone())}
                {fact("参加的队员", "Team members who took part", dash(ctx.join(d.participant_names.iter().map(String::as_str))))}
                {fact("其他参加人数", "Others who took part", a.others.to_string())}
                {fact("参加人数合计", "People who took part", s.attendance.to_string())}
                {fact("服务群众人数", "People served", a.served.to_string())}
                {fact("服务的户", "Households served", dash(d.households.iter().map(|h| ctx.aside(&h.head_name, &h.address)).collect::<Vec<_>>().join(ctx.tr("、", ", "))))}
                {fact("手机记录时间", "Recorded on the phone", local(a.recorded_at))}
                {fact("服务器收到", "Received", local(d.received_at))}
            </dl>
            <h3>{ctx.tr("活动内容", "What was done")}</h3>
            <p class="pre" data-testid="activity-description">{dash(a.description.clone())}</p>
            <h3>{format!("{} ({})", ctx.tr("打卡", "Check-ins"), d.check_ins.len())}</h3>
            <ul class="list" data-testid="activity-checkins">
                {d.check_ins.into_iter().map(|c| {
                    let what = match c.kind { CheckKind::In => ctx.tr("签到", "in"), CheckKind::Out => ctx.tr("签退", "out") };
                    let place = match c.location {
                        Some(GeoPoint { lat, lon, accuracy_m }) => ctx.aside(&format!("{} {}, {}", ctx.tr("位置", "at"), deg(lat), deg(lon)), &format!("±{} {}", accuracy_m as u32, ctx.tr("米", "m"))),
                        None => ctx.tr("没有位置", "no location").into(),
                    };
                    view! { <li>{format!("{} · {} · {} · {}", c.volunteer_name, what, local(c.at), place)}</li> }
                }).collect_view()}
            </ul>
            <h3>{format!("{} ({})", ctx.tr("照片", "Photos"), d.photos.len())}</h3>
            <div class="photos">
                {d.photos.into_iter().enumerate().map(|(i, p)| {
                    let alt = format!("{}{} {} {}", ctx.tr("活动照片：", "Activity photo: "), kind, ctx.tr("第", "no."), i + 1);
                    if p.complete {
                        view! { <Photo id=p.id alt=alt/> }.into_any()
                    } else {
                        view! { <p class="muted">{format!("{} {}/{} KB", ctx.tr("照片还没传完：", "Photo still uploading:"), p.received / 1024, p.bytes / 1024)}</p> }.into_any()
                    }
                }).collect_view()}
            </div>
            <button on:click=move |_| close()>{ctx.tr("关闭", "Close")}</button>
        </div>
    }
}

/// A photo fetched with the session token and shown from an object URL, freed
/// when the card closes.
#[component]
fn Photo(id: Uuid, alt: String) -> impl IntoView {
    let ctx = use_ctx();
    // None: loading; Some(None): could not be loaded.
    let src = RwSignal::new(None::<Option<String>>);
    if let Some(client) = ctx.api() {
        spawn_local(async move {
            // The server wants the session token, which an `<img src>` cannot send.
            let url = client.object_url(&format!("/api/photos/{id}/content")).await;
            // The card may have closed meanwhile.
            if let Some(Some(Some(u))) = src.try_set(Some(url)) {
                let _ = web_sys::Url::revoke_object_url(&u);
            }
        });
    }
    on_cleanup(move || {
        if let Some(Some(Some(u))) = src.try_get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&u);
        }
    });
    move || match src.get() {
        Some(Some(u)) => view! { <img src=u alt=alt.clone() data-testid="activity-photo"/> }.into_any(),
        Some(None) => view! { <p class="error">{ctx.tr("这张照片打不开", "This photo could not be loaded")}</p> }.into_any(),
        None => view! { <p class="muted">{ctx.tr("照片加载中…", "Loading photo…")}</p> }.into_any(),
    }
}
