//! Home: the households linked to the member, with special groups, last visit
//! and a "due" mark.

use crate::routes::Link;
use leptos::prelude::*;

use chrono::NaiveDate;
use daohu_domain::SyncState;
use uuid::Uuid;

use super::require_session;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

/// A household as the list shows it: last visit, due, drafts on this phone, an answered problem.
type Row = (
    daohu_domain::Household,
    Option<NaiveDate>,
    bool,
    usize,
    bool,
);

/// How many households the list draws at first and adds per "show more".
const PAGE: usize = 60;

#[component]
pub fn HouseholdsPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let query = RwSignal::new(String::new());
    let today = time::today();
    // Rows drawn at a time: a grid leader's 1,000 households drawn at once take
    // about 0.1 s per 1,000 on a cheap phone; search still looks through them all.
    let shown = RwSignal::new(PAGE);

    // Every household once, in order, recomputed when the roster or the stored
    // visits change, not per keystroke; a search only picks from these.
    let all = Memo::new(move |_| {
        // What this phone adds per household (latest saved visit, drafts), sorted for a
        // binary search: a scan of every visit per household made 5,000 households
        // with 2,000 stored visits 10 million steps.
        let mut by: Vec<(Uuid, Option<NaiveDate>, usize)> = ctx.visits.with(|all| {
            all.iter()
                .map(|v| {
                    if v.sync == SyncState::Draft {
                        (v.visit.household_id, None, 1)
                    } else {
                        (v.visit.household_id, Some(v.visit.visited_on), 0)
                    }
                })
                .collect()
        });
        by.sort_unstable_by_key(|e| e.0);
        by.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 = first.1.max(later.1);
                first.2 += later.2;
            }
            same
        });
        let local = by;
        ctx.roster.with(|r| {
            let mut rows: Vec<_> = r
                .iter()
                .flat_map(|r| r.households.iter())
                .map(|h| {
                    let (mine, drafts) = match local.binary_search_by_key(&h.household.id, |e| e.0)
                    {
                        Ok(i) => (local[i].1, local[i].2),
                        Err(_) => (None, 0),
                    };
                    let last = mine.max(h.last_visit_on);
                    let due = h.household.is_due(last, today);
                    let answered = h.problems.iter().any(|p| {
                        p.status.state == daohu_domain::ProblemState::Resolved
                            && !p.status.family_told
                    });
                    (h.household.clone(), last, due, drafts, answered)
                })
                .collect();
            // Due first, then special groups, then by doorplate.
            rows.sort_unstable_by(|a, b| {
                b.2.cmp(&a.2)
                    .then(b.0.is_special().cmp(&a.0.is_special()))
                    .then(a.0.address.cmp(&b.0.address))
            });
            rows
        })
    });
    // The households the search matches (a plain pass over `all`: a few
    // milliseconds for 5,000, and no second memo to carry in the wasm).
    let matching = move |f: &mut dyn FnMut(&Row)| {
        let q = query.get();
        let q = q.trim();
        all.with(|rows| {
            rows.iter()
                .filter(|r| q.is_empty() || r.0.head_name.contains(q) || r.0.address.contains(q))
                .for_each(|r| f(r))
        })
    };
    let shown_rows = move || {
        let n = shown.get();
        let mut out = Vec::new();
        matching(&mut |r| {
            if out.len() < n {
                out.push(r.clone())
            }
        });
        out
    };
    let count = move || {
        let mut n = 0;
        matching(&mut |_| n += 1);
        n
    };
    let due_count = move || {
        let mut n = 0;
        matching(&mut |r| n += usize::from(r.2));
        n
    };

    view! {
        <section class="page households">
            <h1>
                {move || ctx.session.get().map(|s| s.member.name).unwrap_or_default()}
                " · "
                {ctx.tr("我的联系户", "My households")}
            </h1>
            <p class="summary">
                {move || format!("{} {} · {} {}", count(), ctx.tr("户", "households"), due_count(), ctx.tr("户该走访了", "due"))}
            </p>
            <p><Link to=AppRoute::Activities>{ctx.tr("志愿活动 · 打卡", "Volunteer activities · check in")}</Link></p>
            <label class="visually-hidden" for="search">{ctx.tr("搜索户主或门牌", "Search head or doorplate")}</label>
            <input id="search" type="search" class="search"
                placeholder=ctx.tr("搜索户主或门牌", "Search head or doorplate")
                prop:value=query on:input=move |ev| { shown.set(PAGE); query.set(event_target_value(&ev)) }/>
            <Show when=move || ctx.roster.get().is_none()>
                <p class="empty">{ctx.tr("还没有下载联系户名单，请在有网时打开应用。", "The household list has not been downloaded yet; open the app where there is a network.")}</p>
            </Show>
            <ul class="cards" data-testid="household-list">
                <For each=shown_rows key=|r| (r.0.id, r.1, r.2, r.3, r.4) let:row>
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
            <Show when=move || { count() > shown.get() }>
                <button class="big" on:click=move |_| shown.update(|n| *n += PAGE) data-testid="show-more">
                    {move || format!("{} {} {}", ctx.tr("显示更多 · 还有", "Show more ·"), count().saturating_sub(shown.get()), ctx.tr("户", "more"))}
                </button>
            </Show>
        </section>
    }
}
