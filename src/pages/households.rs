//! Home: the households linked to the member, with special groups, last visit
//! and a "due" mark.

use leptos::prelude::*;
use crate::routes::Link;

use super::{last_visit_on, require_session};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

#[component]
pub fn HouseholdsPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let query = RwSignal::new(String::new());
    let today = time::today();

    let rows = Memo::new(move |_| {
        let q = query.get().trim().to_string();
        let local = ctx.visits.get();
        let mut rows: Vec<_> = ctx
            .roster
            .get()
            .map(|r| r.households)
            .unwrap_or_default()
            .into_iter()
            .filter(|h| {
                q.is_empty() || h.household.head_name.contains(&q) || h.household.address.contains(&q)
            })
            .map(|h| {
                let last = last_visit_on(&h, &local);
                let due = h.household.is_due(last, today);
                let drafts = local
                    .iter()
                    .filter(|v| v.visit.household_id == h.household.id && v.sync == daohu_domain::SyncState::Draft)
                    .count();
                let answered = h.problems.iter().any(|p| p.status.state == daohu_domain::ProblemState::Resolved && !p.status.family_told);
                (h.household, last, due, drafts, answered)
            })
            .collect();
        // Due first, then special groups, then by doorplate.
        rows.sort_unstable_by(|a, b| {
            b.2.cmp(&a.2)
                .then(b.0.is_special().cmp(&a.0.is_special()))
                .then(a.0.address.cmp(&b.0.address))
        });
        rows
    });

    let due_count = move || rows.with(|r| r.iter().filter(|x| x.2).count());

    view! {
        <section class="page households">
            <h1>
                {move || ctx.session.get().map(|s| s.member.name).unwrap_or_default()}
                " · "
                {ctx.tr("我的联系户", "My households")}
            </h1>
            <p class="summary">
                {move || format!("{} {} · {} {}", rows.with(|r| r.len()), ctx.tr("户", "households"), due_count(), ctx.tr("户该走访了", "due"))}
            </p>
            <p><Link to=AppRoute::Activities>{ctx.tr("志愿活动 · 打卡", "Volunteer activities · check in")}</Link></p>
            <label class="visually-hidden" for="search">{ctx.tr("搜索户主或门牌", "Search head or doorplate")}</label>
            <input id="search" type="search" class="search"
                placeholder=ctx.tr("搜索户主或门牌", "Search head or doorplate")
                prop:value=query on:input=move |ev| query.set(event_target_value(&ev))/>
            <Show when=move || ctx.roster.get().is_none()>
                <p class="empty">{ctx.tr("还没有下载联系户名单，请在有网时打开应用。", "The household list has not been downloaded yet; open the app where there is a network.")}</p>
            </Show>
            <ul class="cards" data-testid="household-list">
                <For each=move || rows.get() key=|r| (r.0.id, r.1, r.2, r.3, r.4) let:row>
                    {
                        let (h, last, due, drafts, answered) = row;
                        let tags = h.special_groups.clone();
                        view! {
                            <li>
                                <Link to=AppRoute::Household(h.id) class="card">
                                    <span class="card-title">{h.head_name.clone()}</span>
                                    <span class="card-sub">{h.address.clone()}</span>
                                    <span class="tags">
                                        {tags.into_iter().map(|g| view! {
                                            <span class="tag">{if ctx.zh() { g.label_zh() } else { g.label_en() }}</span>
                                        }).collect_view()}
                                        {due.then(|| view! { <span class="tag due">{ctx.tr("该走访了", "Due")}</span> })}
                                        {answered.then(|| view! { <span class="tag answered">{ctx.tr("问题有答复", "Problem answered")}</span> })}
                                        {(drafts > 0).then(|| view! { <span class="tag draft">{ctx.tr("有未完成的走访", "Unfinished visit")}</span> })}
                                    </span>
                                    <span class="card-sub">
                                        {ctx.tr("上次走访：", "Last visit: ")}
                                        {match last { Some(d) => d.to_string(), None => "—".into() }}
                                    </span>
                                </Link>
                            </li>
                        }
                    }
                </For>
            </ul>
        </section>
    }
}
