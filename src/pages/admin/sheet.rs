//! The weekly meeting sheet (民情碰头会): one printable A4 page per grid for the
//! chosen week — households visited and the problems raised.

use chrono::{Datelike, Duration, NaiveDate};
use daohu_domain::{MeetingSheet, OrgTree, UnitKind};
use leptos::prelude::*;
use uuid::Uuid;

use super::{load, require_coordinator, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

#[component]
pub fn SheetPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let tree = RwSignal::new(None::<OrgTree>);
    let sheet = RwSignal::new(None::<MeetingSheet>);
    let error = RwSignal::new(None::<String>);
    let unit = RwSignal::new(None::<Uuid>);
    let week = RwSignal::new(monday(time::today()));
    load(ctx, "/api/org".into(), tree, error);
    let refresh = move || {
        let mut q = format!("/api/meeting-sheet?week_start={}", week.get_untracked());
        if let Some(u) = unit.get_untracked() {
            q.push_str(&format!("&unit_id={u}"));
        }
        load(ctx, q, sheet, error);
    };
    refresh();
    let print = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };

    view! {
        <section class="page admin">
            <div class="no-print">
                <AdminNav current=AppRoute::AdminSheet/>
                <h1>{ctx.tr("民情碰头会记录表", "Weekly meeting sheet")}</h1>
                <ErrorLine error=error/>
                <div class="filters">
                    <label>{ctx.tr("范围", "Area")}
                        <select on:change=move |ev| { unit.set(Uuid::parse_str(&event_target_value(&ev)).ok()); refresh(); }>
                            <option value="">{ctx.tr("我管理的全部", "All of mine")}</option>
                            {move || tree.get().map(|t| t.units.into_iter().filter(|u| u.kind != UnitKind::Grid).map(|u| view! {
                                <option value=u.id.to_string()>{u.name}</option>
                            }).collect_view())}
                        </select>
                    </label>
                    <label>{ctx.tr("哪一周（选这周任意一天）", "Week (any day of it)")}
                        <input type="date" prop:value=move || week.get().to_string()
                            on:change=move |ev| { if let Ok(d) = event_target_value(&ev).parse::<NaiveDate>() { week.set(monday(d)); refresh(); } }/>
                    </label>
                </div>
                <button class="primary" on:click=print>{ctx.tr("打印", "Print")}</button>
            </div>
            {move || sheet.get().map(|s| {
                let end = s.week_start + Duration::days(6);
                s.grids.into_iter().map(|g| view! {
                    <article class="sheet-page" data-testid="sheet-page">
                        <h2>{format!("{} {} · {} {} {} {}", g.village_name, g.grid_name, ctx.tr("民情碰头会", "weekly meeting"), s.week_start, ctx.tr("至", "to"), end)}</h2>
                        <p>{format!("{} {} · {} {}", ctx.tr("本网格", "Households"), g.households, ctx.tr("本周走访", "visits this week"), g.visits.len())}</p>
                        <table class="grid-table">
                            <thead><tr><th>{ctx.tr("日期", "Date")}</th><th>{ctx.tr("户主", "Head")}</th><th>{ctx.tr("门牌", "Doorplate")}</th><th>{ctx.tr("党员", "Member")}</th></tr></thead>
                            <tbody>{g.visits.into_iter().map(|v| view! {
                                <tr><td>{v.visited_on.to_string()}</td><td>{v.head_name}</td><td>{v.address}</td><td>{v.member_name}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                        <h3>{ctx.tr("群众反映的问题", "Problems raised")}</h3>
                        <table class="grid-table">
                            <thead><tr><th>{ctx.tr("户主", "Head")}</th><th>{ctx.tr("类别", "Category")}</th><th>{ctx.tr("问题", "Problem")}</th><th>{ctx.tr("处理", "Outcome")}</th></tr></thead>
                            <tbody>{g.problems.into_iter().map(|p| view! {
                                <tr><td>{p.head_name}</td>
                                    <td>{format!("{}·{}", if ctx.zh() { p.category.label_zh() } else { p.category.label_en() }, if ctx.zh() { p.urgency.label_zh() } else { p.urgency.label_en() })}</td>
                                    <td>{p.description}</td>
                                    <td>{if ctx.zh() { p.outcome.label_zh() } else { p.outcome.label_en() }}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                        <h3>{ctx.tr("本周该走访的户（含已超期）", "Due for a visit this week, or overdue")}</h3>
                        <table class="grid-table" data-testid="sheet-due">
                            <thead><tr><th>{ctx.tr("户主", "Head")}</th><th>{ctx.tr("门牌", "Doorplate")}</th><th>{ctx.tr("特殊群体", "Special groups")}</th><th>{ctx.tr("上次走访", "Last visit")}</th></tr></thead>
                            <tbody>{g.due.into_iter().map(|h| view! {
                                <tr><td>{h.head_name}</td><td>{h.address}</td>
                                    <td>{ctx.join(h.special_groups.iter().map(|s| if ctx.zh() { s.label_zh() } else { s.label_en() }))}</td>
                                    <td>{h.last_visit_on.map(|d| d.to_string()).unwrap_or_else(|| ctx.tr("从未走访", "never").into())}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                        <h3>{ctx.tr("政策落实：本周新记的应享未享、超期的帮办代办", "Policies: newly not receiving this week, overdue applications")}</h3>
                        <table class="grid-table" data-testid="sheet-ledger">
                            <thead><tr><th>{ctx.tr("户主", "Head")}</th><th>{ctx.tr("门牌", "Doorplate")}</th><th>{ctx.tr("政策", "Policy")}</th><th>{ctx.tr("情况", "State")}</th><th>{ctx.tr("开始办理", "Applying since")}</th></tr></thead>
                            <tbody>{g.ledger.into_iter().map(|l| view! {
                                <tr><td>{l.head_name}</td><td>{l.address}</td>
                                    <td>{if ctx.zh() { l.policy_zh } else { l.policy_en }}</td>
                                    <td>{if ctx.zh() { l.state.label_zh() } else { l.state.label_en() }}
                                        {l.overdue.then(|| view! { " " <span class="tag">{ctx.tr("已超期", "Overdue")}</span> })}</td>
                                    <td>{l.applying_since.map(|d| d.to_string()).unwrap_or_default()}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                        <h3>{ctx.tr("产业对接：还没对接上的需求", "Livelihood: needs not yet matched")}</h3>
                        <table class="grid-table" data-testid="sheet-needs">
                            <thead><tr><th>{ctx.tr("户主", "Head")}</th><th>{ctx.tr("门牌", "Doorplate")}</th><th>{ctx.tr("产业", "Livelihood")}</th><th>{ctx.tr("需求", "Needs")}</th></tr></thead>
                            <tbody>{g.needs.into_iter().map(|n| view! {
                                <tr><td>{n.head_name}</td><td>{n.address}</td><td>{n.livelihood}</td>
                                    <td>{ctx.join(n.unmatched.iter().map(|x| x.label(ctx.zh())))}</td></tr>
                            }).collect_view()}</tbody>
                        </table>
                        <p class="sign">{ctx.tr("参会人员：", "Present:")}<span class="blank"></span>{ctx.tr("记录人：", "Recorded by:")}</p>
                    </article>
                }).collect_view()
            })}
        </section>
    }
}
