//! The visit log: every visit in the coordinator's area, filtered by area,
//! member, dates, a section's state, special group and free text; one visit
//! opened in full; and downloads (XLSX, CSV, JSON lines) of exactly what the
//! filter shows.

use chrono::NaiveDate;
use daohu_domain::{
    Account, OrgTree, SectionKind, SectionState, SpecialGroup, VisitDetail, VisitFilter,
    VisitLogPage,
};
use leptos::prelude::*;
use uuid::Uuid;

use super::{load, require_coordinator, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

const PAGE: u32 = 50;

fn state_mark(s: Option<SectionState>) -> &'static str {
    match s {
        Some(SectionState::Done) => "✓",
        Some(SectionState::NotApplicable) => "—",
        Some(SectionState::NextTime) => "…",
        None => "?",
    }
}

#[component]
pub fn VisitsPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let tree = RwSignal::new(None::<OrgTree>);
    let accounts = RwSignal::new(None::<Vec<Account>>);
    let page = RwSignal::new(None::<VisitLogPage>);
    let error = RwSignal::new(None::<String>);
    let filter = RwSignal::new(VisitFilter { limit: Some(PAGE), ..Default::default() });
    // A household link from elsewhere opens its whole history.
    if let Some(hid) = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|s| s.strip_prefix("?household_id=").and_then(|v| Uuid::parse_str(v).ok()))
    {
        filter.update(|f| f.household_id = Some(hid));
    }
    load(ctx, "/api/org".into(), tree, error);
    load(ctx, "/api/accounts".into(), accounts, error);
    let search = move || load(ctx, format!("/api/visits?{}", filter.get_untracked().to_query()), page, error);
    search();
    let set = move |f: Box<dyn FnOnce(&mut VisitFilter)>| {
        filter.update(|x| {
            f(x);
            x.offset = None;
        });
        search();
    };
    let open = RwSignal::new(None::<VisitDetail>);
    let show = move |id: Uuid| load(ctx, format!("/api/visits/{id}"), open, error);
    let download = move |format: &'static str| {
        let mut f = filter.get_untracked();
        f.limit = None;
        f.offset = None;
        super::download_link(ctx, format!("/api/exports?format={format}&{}", f.to_query()), error)
    };
    let go_page = move |delta: i64| {
        filter.update(|f| {
            let o = f.offset.unwrap_or(0) as i64 + delta * PAGE as i64;
            f.offset = Some(o.max(0) as u32);
        });
        search();
    };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminVisits/>
            <h1>{ctx.tr("走访记录", "Visit log")}</h1>
            <ErrorLine error=error/>
            <div class="filters">
                <label>{ctx.tr("范围", "Area")}
                    <select id="f-unit" on:change=move |ev| { let v = Uuid::parse_str(&event_target_value(&ev)).ok(); set(Box::new(move |f| f.unit_id = v)) }>
                        <option value="">{ctx.tr("全部", "All")}</option>
                        {move || tree.get().map(|t| t.units.into_iter().map(|u| view! { <option value=u.id.to_string()>{u.name}</option> }).collect_view())}
                    </select>
                </label>
                <label>{ctx.tr("党员", "Member")}
                    <select id="f-member" on:change=move |ev| { let v = Uuid::parse_str(&event_target_value(&ev)).ok(); set(Box::new(move |f| f.member_id = v)) }>
                        <option value="">{ctx.tr("全部", "All")}</option>
                        {move || accounts.get().unwrap_or_default().into_iter().filter(|a| a.role.records_visits()).map(|a| view! {
                            <option value=a.id.to_string()>{a.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label>{ctx.tr("从", "From")}
                    <input id="f-from" type="date" on:change=move |ev| { let v = event_target_value(&ev).parse::<NaiveDate>().ok(); set(Box::new(move |f| f.from = v)) }/>
                </label>
                <label>{ctx.tr("到", "To")}
                    <input id="f-to" type="date" on:change=move |ev| { let v = event_target_value(&ev).parse::<NaiveDate>().ok(); set(Box::new(move |f| f.to = v)) }/>
                </label>
                <label>{ctx.tr("事项", "Section")}
                    <select id="f-section" on:change=move |ev| {
                        let v = SectionKind::ALL.into_iter().find(|k| format!("{k:?}") == event_target_value(&ev));
                        set(Box::new(move |f| f.section = v))
                    }>
                        <option value="">{ctx.tr("任一", "Any")}</option>
                        {SectionKind::ALL.into_iter().map(|k| view! { <option value=format!("{k:?}")>{if ctx.zh() { k.title_zh() } else { k.title_en() }}</option> }).collect_view()}
                    </select>
                </label>
                <label>{ctx.tr("状态", "State")}
                    <select id="f-state" on:change=move |ev| {
                        let v = SectionState::ALL.into_iter().find(|s| format!("{s:?}") == event_target_value(&ev));
                        set(Box::new(move |f| f.state = v))
                    }>
                        <option value="">{ctx.tr("任一", "Any")}</option>
                        {SectionState::ALL.into_iter().map(|s| view! { <option value=format!("{s:?}")>{if ctx.zh() { s.label_zh() } else { s.label_en() }}</option> }).collect_view()}
                    </select>
                </label>
                <label>{ctx.tr("特殊群体", "Special group")}
                    <select id="f-group" on:change=move |ev| {
                        let v = SpecialGroup::ALL.into_iter().find(|g| format!("{g:?}") == event_target_value(&ev));
                        set(Box::new(move |f| f.group = v))
                    }>
                        <option value="">{ctx.tr("全部", "All")}</option>
                        {SpecialGroup::ALL.into_iter().map(|g| view! { <option value=format!("{g:?}")>{if ctx.zh() { g.label_zh() } else { g.label_en() }}</option> }).collect_view()}
                    </select>
                </label>
                <label>{ctx.tr("搜索", "Search")}
                    <input id="f-q" type="search"
                        placeholder=ctx.tr("户主、党员、备注、问题、答复", "Head, member, notes, problems, answers")
                        on:change=move |ev| { let v = Some(event_target_value(&ev)); set(Box::new(move |f| f.q = v)) }/>
                </label>
            </div>
            <div class="actions">
                <button on:click=move |_| download("xlsx") data-testid="dl-xlsx">{ctx.tr("下载 Excel", "Download Excel")}</button>
                <button on:click=move |_| download("csv") data-testid="dl-csv">{ctx.tr("下载 CSV", "Download CSV")}</button>
                <button on:click=move |_| download("csv&sheet=services") data-testid="dl-services-csv">{ctx.tr("服务记录 CSV", "Services (CSV)")}</button>
                <button on:click=move |_| download("csv&sheet=problems") data-testid="dl-problems-csv">{ctx.tr("问题 CSV", "Problems (CSV)")}</button>
                <button on:click=move |_| download("csv&sheet=trail") data-testid="dl-trail-csv">{ctx.tr("办理经过 CSV", "Problem history (CSV)")}</button>
                <button on:click=move |_| download("jsonl") data-testid="dl-jsonl">{ctx.tr("JSON（每行一条）", "JSON lines")}</button>
            </div>
            <p class="muted" data-testid="visit-total">{move || page.get().map(|p| if p.total_capped {
                format!("{} {} {}", ctx.tr("超过", "More than"), p.total, ctx.tr("次走访", "visits"))
            } else {
                format!("{} {} {}", ctx.tr("共", "Total"), p.total, ctx.tr("次走访", "visits"))
            })}</p>
            <table class="grid-table" data-testid="visit-log">
                <thead><tr>
                    <th>{ctx.tr("日期", "Date")}</th><th>{ctx.tr("户", "Household")}</th><th>{ctx.tr("党员", "Member")}</th>
                    <th title=ctx.tr("党员联系 民情走访 政策落实 产业对接 精准服务", "Member contact, sentiment visit, policy delivered, industry matchup, precise service")>{ctx.tr("五个到户", "Five sections")}</th><th>{ctx.tr("问题", "Problems")}</th>
                </tr></thead>
                <tbody>
                    {move || page.get().map(|p| p.rows.into_iter().map(|r| {
                        let id = r.id;
                        let marks = r.sections.iter().map(|(_, s)| state_mark(*s)).collect::<Vec<_>>().join(" ");
                        view! {
                            <tr>
                                <td>
                                    <button class="link" on:click=move |_| show(id)>{r.visited_on.to_string()}</button>
                                    {r.clock_flag.then(|| view! { <span class="tag" title=ctx.tr("手机时间与服务器相差超过一天", "Phone clock off by over a day")>{ctx.tr("时间存疑", "clock?")}</span> })}
                                </td>
                                <td>{r.head_name.clone()}<br/><small>{format!("{} · {}", r.address, r.grid_name)}</small></td>
                                <td>{r.member_name.clone()}</td>
                                <td class="marks">{marks}</td>
                                <td>{format!("{} ({}↑)", r.problem_count, r.escalated_count)}</td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
            <div class="step-buttons">
                <button on:click=move |_| go_page(-1) disabled=move || filter.get().offset.unwrap_or(0) == 0>{ctx.tr("上一页", "Previous")}</button>
                <button on:click=move |_| go_page(1) disabled=move || {
                    let f = filter.get();
                    page.get().map(|p| !p.has_more(u64::from(f.offset.unwrap_or(0)), u64::from(PAGE))).unwrap_or(true)
                }>{ctx.tr("下一页", "Next")}</button>
            </div>
            {move || open.get().map(|d| view! { <VisitCard d=d close=move || open.set(None)/> })}
        </section>
    }
}

/// One visit in full: every section with its items and notes, and the problems.
#[component]
fn VisitCard(d: VisitDetail, close: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    let ctx = use_ctx();
    let v = d.visit;
    view! {
        <div class="card visit-detail" role="dialog" aria-label=ctx.tr("走访详情", "Visit") data-testid="visit-detail">
            <h2>{format!("{} · {} · {}", d.row.head_name, d.row.visited_on, d.row.member_name)}</h2>
            <p class="muted">{format!("{} {} · {} {}", ctx.tr("手机时间", "Phone time"), crate::time::format_local(d.row.recorded_at.timestamp_millis() as f64), ctx.tr("收到", "received"), crate::time::format_local(d.row.received_at.timestamp_millis() as f64))}</p>
            {v.sections.into_iter().map(|s| {
                let items = d.items.iter().filter(|i| i.list == s.kind.list()).map(|i| i.name(ctx.zh())).collect::<Vec<_>>().join("；");
                view! {
                    <h3>{format!("{} · {}", if ctx.zh() { s.kind.title_zh() } else { s.kind.title_en() },
                        s.state.map(|x| if ctx.zh() { x.label_zh() } else { x.label_en() }).unwrap_or("?"))}</h3>
                    <p>{items}</p>
                    {(!s.notes.is_empty()).then(|| view! { <p class="muted">{s.notes.clone()}</p> })}
                }
            }).collect_view()}
            <h3>{ctx.tr("问题", "Problems")}</h3>
            <ul class="list">
                {v.problems.into_iter().map(|p| view! {
                    <li>{format!("[{}·{}] {} — {}{}", if ctx.zh() { p.category.label_zh() } else { p.category.label_en() },
                        if ctx.zh() { p.urgency.label_zh() } else { p.urgency.label_en() }, p.description,
                        if ctx.zh() { p.outcome.label_zh() } else { p.outcome.label_en() },
                        if p.action.is_empty() { String::new() } else { format!("：{}", p.action) })}</li>
                }).collect_view()}
            </ul>
            <p>{v.summary}</p>
            <button on:click=move |_| close()>{ctx.tr("关闭", "Close")}</button>
        </div>
    }
}
