//! The dashboard: coverage ("every household seen by a member") by unit as bars
//! and a table, visits per week as a line, special-group households overdue,
//! members with no visit, and phones that have not synced for a while.
//! Charts are plain SVG drawn here; every figure is also written out as text.

use chrono::NaiveDate;
use daohu_domain::ledger::{Housing, Water};
use daohu_domain::{Dashboard, Need, OrgTree, Satisfaction, WeekCount};
use leptos::prelude::*;
use uuid::Uuid;

use super::{load, require_coordinator, AdminNav, ErrorLine};
use crate::components::link::Link;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

fn pct(visited: u32, households: u32) -> u32 {
    if households == 0 {
        0
    } else {
        visited * 100 / households
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let tree = RwSignal::new(None::<OrgTree>);
    let data = RwSignal::new(None::<Dashboard>);
    let error = RwSignal::new(None::<String>);
    let unit = RwSignal::new(None::<Uuid>);
    // The period starts as the server's default (its last 30 days, by China's
    // calendar, whatever this computer's clock or zone says) and shows what it was.
    let from = RwSignal::new(None::<NaiveDate>);
    let to = RwSignal::new(None::<NaiveDate>);
    load(ctx, "/api/org".into(), tree, error);
    let refresh = move || {
        let mut q = String::from("/api/dashboard?");
        for (name, day) in [("from", from.get_untracked()), ("to", to.get_untracked())] {
            if let Some(d) = day {
                q.push_str(&format!("{name}={d}&"));
            }
        }
        if let Some(u) = unit.get_untracked() {
            q.push_str(&format!("unit_id={u}"));
        }
        load(ctx, q, data, error);
    };
    refresh();
    Effect::new(move |_| {
        if let Some(d) = data.get() {
            if from.get_untracked().is_none() || to.get_untracked().is_none() {
                from.set(Some(d.from));
                to.set(Some(d.to));
            }
        }
    });

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::Admin/>
            <h1>{ctx.tr("走访概况", "Visits at a glance")}</h1>
            <ErrorLine error=error/>
            <div class="filters">
                <label>{ctx.tr("范围", "Area")}
                    <select on:change=move |ev| { unit.set(Uuid::parse_str(&event_target_value(&ev)).ok()); refresh(); }>
                        <option value="">{ctx.tr("我管理的全部", "All of mine")}</option>
                        {move || tree.get().map(|t| t.units.into_iter().filter(|u| u.kind != daohu_domain::UnitKind::Grid).map(|u| view! {
                            <option value=u.id.to_string()>{u.name}</option>
                        }).collect_view())}
                    </select>
                </label>
                <label>{ctx.tr("从", "From")}
                    <input type="date" prop:value=move || from.get().map(|d| d.to_string()).unwrap_or_default()
                        on:change=move |ev| { if let Ok(d) = event_target_value(&ev).parse::<NaiveDate>() { from.set(Some(d)); refresh(); } }/>
                </label>
                <label>{ctx.tr("到", "To")}
                    <input type="date" prop:value=move || to.get().map(|d| d.to_string()).unwrap_or_default()
                        on:change=move |ev| { if let Ok(d) = event_target_value(&ev).parse::<NaiveDate>() { to.set(Some(d)); refresh(); } }/>
                </label>
            </div>
            {move || data.get().map(|d| view! { <DashboardBody d=d/> })}
        </section>
    }
}

#[component]
fn DashboardBody(d: Dashboard) -> impl IntoView {
    let ctx = use_ctx();
    let by_need = move |counts: &[u32]| {
        Need::ALL.iter().zip(counts).map(|(n, c)| format!("{} {c}", n.label(ctx.zh()))).collect::<Vec<_>>().join(" · ")
    };
    let total_pct = pct(d.visited, d.households);
    view! {
        <p class="big-figure" data-testid="coverage-total">
            <strong>{format!("{}%", total_pct)}</strong>
            {format!(" {} {}/{} {} · {} {}", ctx.tr("户已走访", "of households visited:"), d.visited, d.households,
                ctx.tr("户", ""), d.visits, ctx.tr("次走访", "visits"))}
        </p>
        <h2>{ctx.tr("各单位覆盖率", "Coverage by unit")}</h2>
        <CoverageBars rows=d.coverage.clone()/>
        <table class="grid-table" data-testid="coverage-table">
            <thead><tr><th>{ctx.tr("单位", "Unit")}</th><th>{ctx.tr("户数", "Households")}</th><th>{ctx.tr("已走访", "Visited")}</th><th>"%"</th></tr></thead>
            <tbody>
                {d.coverage.iter().map(|r| view! {
                    <tr data-unit=r.name.clone()><td>{r.name.clone()}</td><td>{r.households}</td><td>{r.visited}</td><td>{pct(r.visited, r.households)}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <h2>{ctx.tr("每周走访次数", "Visits per week")}</h2>
        <WeeklyLine weeks=d.weekly.clone()/>
        <h2>{ctx.tr("群众诉求（未办结 / 已超期）", "Problems (open / overdue)")}</h2>
        <table class="grid-table" data-testid="problem-levels">
            <thead><tr><th>{ctx.tr("级别", "Level")}</th><th>{ctx.tr("未办结", "Open")}</th><th>{ctx.tr("已超期", "Overdue")}</th></tr></thead>
            <tbody>
                {d.problems.iter().map(|c| view! {
                    <tr><td>{if ctx.zh() { c.level.label_zh() } else { c.level.label_en() }}</td><td>{c.open}</td><td class:overdue={c.overdue > 0}>{c.overdue}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <h2>{ctx.tr("回访满意率（这段时间）", "Follow-up satisfaction (in the period)")}</h2>
        <table class="grid-table" data-testid="satisfaction">
            <thead><tr>
                <th>{ctx.tr("范围", "Area")}</th>
                <th>{Satisfaction::Satisfied.label(ctx.zh())}</th><th>{Satisfaction::Basically.label(ctx.zh())}</th>
                <th>{Satisfaction::Dissatisfied.label(ctx.zh())}</th><th>{ctx.tr("满意率", "Satisfaction rate")}</th>
            </tr></thead>
            // The area, then each unit below it that had a verdict in the period.
            <tbody>{std::iter::once((d.unit_name.clone(), d.satisfaction.clone()))
                .chain(d.coverage.iter().filter(|r| r.satisfaction.total() > 0).map(|r| (r.name.clone(), r.satisfaction.clone())))
                .map(|(name, c)| view! {
                    <tr>
                        <td>{name}</td><td>{c.satisfied}</td><td>{c.basically}</td>
                        <td class:overdue={c.dissatisfied > 0}>{c.dissatisfied}</td><td>{c.rate_text()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <h2>{ctx.tr("提供的服务（这段时间，按类别）", "Services given (in the period, by kind)")}</h2>
        <table class="grid-table" data-testid="services">
            <thead><tr><th>{ctx.tr("服务类别", "Kind")}</th><th>{ctx.tr("次数", "Times")}</th><th>{ctx.tr("户数", "Households")}</th></tr></thead>
            <tbody>
                {d.services.iter().map(|c| view! {
                    <tr><td>{if ctx.zh() { c.name_zh.clone() } else { c.name_en.clone() }}</td><td>{c.services}</td><td>{c.households}</td></tr>
                }).collect_view()}
                {d.services.is_empty().then(|| view! { <tr><td colspan="3">{ctx.tr("这段时间没有记录服务", "No service recorded in the period")}</td></tr> })}
            </tbody>
        </table>
        <h2>{ctx.tr("还没对接上的产业需求（户数，现在）", "Needs not yet matched (households, now)")}</h2>
        <p data-testid="unmatched-needs">
            {by_need(&d.unmatched_needs)}
            {(!d.unmatched_needs_in_period.is_empty()).then(|| format!("{}{}{}", ctx.tr("（其中这段时间新记：", " (recorded in the period: "),
                by_need(&d.unmatched_needs_in_period), ctx.tr("）", ")")))}
            " "<Link to=AppRoute::AdminNeeds>{ctx.tr("查看和对接", "See and match")}</Link>
        </p>
        <h2>{ctx.tr("政策落实和住房饮水不安全的户（最新记录）", "Policies, and homes with unsafe housing or water (as last recorded)")}</h2>
        <p data-testid="ledger-gaps">
            {format!("{} {}{}{}{} · {} {} · {} {} ", ctx.tr("应享未享", "Not receiving"), d.ledger.entitled_not_receiving,
                ctx.tr("（这段时间新记 ", " ("), d.ledger.entitled_in_period, ctx.tr("）", " recorded in the period)"),
                ctx.tr("帮办代办中", "Applying"), d.ledger.applying, ctx.tr("已超期", "Overdue"), d.ledger.overdue)}
            {format!("{}{} ", ctx.tr("· 这段时间开始办理 ", "· started in the period "), d.ledger.applying_in_period)}
            <Link to=AppRoute::AdminGaps>{ctx.tr("查看各户", "See the households")}</Link>
        </p>
        <table class="grid-table" data-testid="ledger-living">
            <thead><tr><th>{ctx.tr("项目", "Item")}</th><th>{ctx.tr("情况", "Condition")}</th><th>{ctx.tr("户数", "Households")}</th>
                <th>{ctx.tr("其中这段时间新记", "Of those, recorded in the period")}</th></tr></thead>
            <tbody>
                {d.ledger.housing.iter().filter_map(|(w, n)| Housing::parse(w).map(|h| (h, *n, d.ledger.in_period(false, w)))).map(|(h, n, new)| view! {
                    <tr><td>{ctx.tr("住房", "Housing")}</td><td>{if ctx.zh() { h.label_zh() } else { h.label_en() }}</td><td>{n}</td><td>{new}</td></tr>
                }).collect_view()}
                {d.ledger.water.iter().filter_map(|(w, n)| Water::parse(w).map(|x| (x, *n, d.ledger.in_period(true, w)))).map(|(x, n, new)| view! {
                    <tr><td>{ctx.tr("饮水", "Water")}</td><td>{if ctx.zh() { x.label_zh() } else { x.label_en() }}</td><td>{n}</td><td>{new}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
        <h2>{format!("{} ({}{})", ctx.tr("超期未走访的户，特殊群体在前", "Households overdue for a visit, special groups first"),
            d.overdue.len(), if d.overdue.len() >= 200 { ctx.tr("，只列前 200 户", "; the first 200 shown") } else { "" })}</h2>
        <ul class="list" data-testid="overdue">
            {d.overdue.iter().map(|h| view! {
                <li>{format!("{} · {} · {} · {} {}", h.head_name, h.address, h.grid_name,
                    ctx.tr("上次：", "last:"), h.last_visit_on.map(|x| x.to_string()).unwrap_or_else(|| "—".into()))}
                    " " {h.special_groups.iter().map(|g| view! { <span class="tag">{if ctx.zh() { g.label_zh() } else { g.label_en() }}</span> }).collect_view()}
                </li>
            }).collect_view()}
        </ul>
        <h2>{format!("{} ({})", ctx.tr("这段时间没有走访的党员", "Members with no visit in the period"), d.idle_members.len())}</h2>
        <ul class="list" data-testid="idle-members">
            {d.idle_members.iter().map(|m| view! { <li>{format!("{} · {}", m.name, m.unit_name)}</li> }).collect_view()}
        </ul>
        <h2>{format!("{} ({})", ctx.tr("7 天以上没有同步的手机", "Phones not synced for 7+ days"), d.stale_device_count.max(d.stale_devices.len() as u32))}</h2>
        <p class="hint">{ctx.tr("这些手机上可能还有没上传的记录，请提醒党员联网上传或导出文件。", "These phones may still hold records; ask the member to upload or export a file.")}</p>
        <ul class="list" data-testid="stale-devices">
            {d.stale_devices.iter().map(|s| view! { <li>{format!("{} · {}", s.member_name, crate::time::format_local(s.last_sync_at.timestamp_millis() as f64))}</li> }).collect_view()}
        </ul>
    }
}

/// Horizontal bars, one per unit; the number is written beside each bar and
/// in its tooltip, so it reads on a phone without hovering.
#[component]
fn CoverageBars(rows: Vec<daohu_domain::CoverageRow>) -> impl IntoView {
    let ctx = use_ctx();
    let h = 36 * rows.len().max(1) as u32;
    view! {
        <svg class="chart" viewBox=format!("0 0 360 {h}") role="img" aria-label=ctx.tr("各单位覆盖率条形图", "Coverage bar chart")>
            {rows.into_iter().enumerate().map(|(i, r)| {
                let p = pct(r.visited, r.households);
                let y = i as u32 * 36;
                let w = 200 * p / 100;
                view! {
                    <g>
                        <title>{format!("{}: {}/{} ({}%)", r.name, r.visited, r.households, p)}</title>
                        <text x="0" y=y + 22 class="chart-label">{r.name.chars().take(6).collect::<String>()}</text>
                        <rect x="100" y=y + 6 width="200" height="22" class="bar-bg"/>
                        <rect x="100" y=y + 6 width=w height="22" class="bar"/>
                        <text x="306" y=y + 22 class="chart-label">{format!("{p}%")}</text>
                    </g>
                }
            }).collect_view()}
        </svg>
    }
}

/// Visits per week as a line with a labelled point per week.
#[component]
fn WeeklyLine(weeks: Vec<WeekCount>) -> impl IntoView {
    let ctx = use_ctx();
    let max = weeks.iter().map(|w| w.visits).max().unwrap_or(0).max(1);
    let n = weeks.len().max(2) as u32;
    let x = move |i: usize| 20 + (i as u32) * 320 / (n - 1);
    let y = move |v: u32| 150 - v * 120 / max;
    let points = weeks.iter().enumerate().map(|(i, w)| format!("{},{}", x(i), y(w.visits))).collect::<Vec<_>>().join(" ");
    view! {
        <svg class="chart" viewBox="0 0 360 180" role="img" aria-label=ctx.tr("每周走访次数折线图", "Visits per week line chart")>
            <line x1="20" y1="150" x2="340" y2="150" class="axis"/>
            <polyline points=points class="line"/>
            {weeks.iter().enumerate().map(|(i, w)| view! {
                <g>
                    <title>{format!("{}: {}", time::month_day(w.week_start), w.visits)}</title>
                    <circle cx=x(i) cy=y(w.visits) r="6" class="dot-point" tabindex="0"/>
                    <text x=x(i) y=y(w.visits).saturating_sub(10) class="chart-label" text-anchor="middle">{w.visits}</text>
                    <text x=x(i) y="172" class="chart-small" text-anchor="middle">{time::month_day(w.week_start)}</text>
                </g>
            }).collect_view()}
        </svg>
    }
}
