//! One household: its facts, the visits on this phone, and its history on the server.

use daohu_domain::{HouseholdRow, LocalVisit, SyncState, Visit};
use leptos::prelude::*;
use crate::components::link::Link;

use super::require_session;
use uuid::Uuid;
use crate::components::sync_label;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

#[component]
pub fn HouseholdPage(id: Uuid) -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let error = RwSignal::new(None::<String>);

    let household = Memo::new(move |_| {
        
        ctx.roster.with(|r| r.as_ref()?.households.iter().find(|h| h.household.id == id).cloned())
    });
    let local = Memo::new(move |_| {
        ctx.visits.with(|all| {
            all.iter().filter(|v| v.visit.household_id == id).cloned().collect::<Vec<_>>()
        })
    });
    let draft = Memo::new(move |_| {
        local.with(|l| l.iter().find(|v| v.sync == SyncState::Draft).map(|v| v.visit.id))
    });

    let start = move |_| {
        if let Some(d) = draft.get_untracked() {
            ctx.go(AppRoute::Visit(d));
            return;
        }
        let Some(session) = ctx.session.get_untracked() else { return };
        let mut visit = Visit::new(time::new_id(), id, session.member.id, time::today(), time::now_utc());
        visit.catalogue = ctx.roster.with_untracked(|r| Some(r.as_ref()?.catalogue.as_ref()?.version));
        let vid = visit.id;
        match ctx.put_visit(LocalVisit::draft(visit)) {
            Ok(()) => ctx.go(AppRoute::Visit(vid)),
            Err(e) => error.set(Some(e.message(ctx.zh()))),
        }
    };

    view! {
        <section class="page household">
            <Link to=AppRoute::Households class="back">{ctx.tr("‹ 返回联系户", "‹ Households")}</Link>
            {move || match household.get() {
                None => view! { <p class="empty">{ctx.tr("找不到这一户。", "Household not found.")}</p> }.into_any(),
                Some(h) => {
                    let last = ctx.visits.with(|l| HouseholdRow::last_visit_on(&h, l));
                    let intervals = ctx.roster.with_untracked(|r| r.as_ref().map(|r| r.intervals()).unwrap_or_default());
                    let due = h.household.is_due(&intervals, last, time::today());
                    let hh = h.household.clone();
                    view! {
                        <h1>{hh.head_name.clone()}</h1>
                        <dl class="facts">
                            <dt>{ctx.tr("门牌", "Doorplate")}</dt><dd>{hh.address.clone()}</dd>
                            <dt>{ctx.tr("网格", "Grid")}</dt><dd>{hh.grid_name.clone()}</dd>
                            <dt>{ctx.tr("人口", "People")}</dt><dd>{hh.people}</dd>
                            <dt>{ctx.tr("电话", "Phone")}</dt><dd>{hh.phone.clone().unwrap_or_else(|| "—".into())}</dd>
                            <dt>{ctx.tr("上次走访", "Last visit")}</dt>
                            <dd>{last.map(|d| d.to_string()).unwrap_or_else(|| "—".into())}
                                {due.then(|| view! { " " <span class="tag due">{ctx.tr("该走访了", "Due")}</span> })}</dd>
                            <dt>{ctx.tr("走访周期", "Interval")}</dt>
                            <dd>{format!("{} {}", hh.visit_interval_days(&intervals), ctx.tr("天", "days"))}</dd>
                        </dl>
                        <p class="tags">
                            {hh.special_groups.iter().map(|g| view! {
                                <span class="tag">{if ctx.zh() { g.label_zh() } else { g.label_en() }}</span>
                            }).collect_view()}
                        </p>
                        {(!h.problems.is_empty()).then(|| view! {
                            <h2>{ctx.tr("这户反映的问题", "Problems of this household")}</h2>
                            {h.problems.clone().into_iter().map(|p| view! { <crate::components::problem::ProblemCard p=p/> }).collect_view()}
                        })}
                        // How the coordinators' matchups of its needs stand (产业对接).
                        {(!h.matchups.is_empty()).then(|| view! {
                            <h2>{ctx.tr("产业对接", "Matchups")}</h2>
                            <ul class="list" data-testid="household-matchups">
                                {h.matchups.iter().map(|m| view! { <li>{m.line(ctx.zh())}</li> }).collect_view()}
                            </ul>
                        })}
                        <HistoryList history=h.history.clone()/>
                    }.into_any()
                }
            }}
            <h2>{ctx.tr("这部手机上的走访", "Visits on this phone")}</h2>
            <ul class="list" data-testid="local-visits">
                <For each=move || local.get() key=|v| (v.visit.id, crate::components::sync_key(&v.sync)) let:v>
                    <li>
                        <Link to=AppRoute::Visit(v.visit.id)>
                            {v.visit.visited_on.to_string()} " · " {move || sync_label(&v.sync, ctx.zh())}
                        </Link>
                    </li>
                </For>
            </ul>
            // The visit button stays at the bottom of the screen however long the
            // household's history grows (style: .action-bar).
            <div class="action-bar">
                {crate::components::message_line(error, "error", "alert")}
                <button class="primary big" on:click=start data-testid="start-visit">
                    {move || if draft.get().is_some() { ctx.tr("继续未完成的走访", "Continue the unfinished visit") } else { ctx.tr("开始走访", "Start a visit") }}
                </button>
            </div>
        </section>
    }
}

/// The household's visits as the server holds them.
/// The latest three first; "show all" opens the rest, so a household visited for
/// years does not push everything else far down the page.
#[component]
fn HistoryList(history: Vec<daohu_domain::VisitSummary>) -> impl IntoView {
    let ctx = use_ctx();
    let empty = history.is_empty();
    let all = RwSignal::new(false);
    let more = history.len().saturating_sub(3);
    view! {
        <h2>{ctx.tr("服务器上的走访记录", "Visits on the server")}</h2>
        {empty.then(|| view! { <p class="empty">{ctx.tr("还没有。", "None yet.")}</p> })}
        <ul class="list" data-testid="server-history">
            {move || history.iter().take(if all.get() { usize::MAX } else { 3 }).cloned().map(|s| {
                let done = s.sections.iter().filter(|(_, st)| *st == Some(daohu_domain::SectionState::Done)).count();
                view! {
                    <li data-visit-id=s.id.to_string()>
                        {s.visited_on.to_string()} " · " {s.member_name.clone()} " · "
                        {move || format!("{} {}/5", ctx.tr("完成", "done"), done)}
                        {(s.problem_count > 0).then(|| format!(" · {} {}", s.problem_count, if ctx.zh() { "个问题" } else { "problems" }))}
                    </li>
                }
            }).collect_view()}
        </ul>
        {(more > 0).then(|| view! {
            <Show when=move || !all.get()>
                <button class="big" on:click=move |_| all.set(true) data-testid="history-more">
                    {if ctx.zh() { format!("显示全部（还有 {more} 次）") } else { format!("Show all ({more} more)") }}
                </button>
            </Show>
        })}
    }
}
