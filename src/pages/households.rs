//! Home: the households linked to the member, with special groups, last visit
//! and a "due" mark.

use crate::components::link::Link;
use leptos::prelude::*;

use daohu_domain::HouseholdRow;

use super::require_session;
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

/// Height of one row of the list in CSS pixels at the normal text size.
/// `style/main.css` fixes `.vlist > li` to it (in rem, so it grows with the
/// phone's text size; the drawn row's height is then read back), so the rows
/// on screen follow from the scroll position alone and only those are drawn: a
/// grid leader's 5,000 households cost the same to show and scroll as 20.
const ROW_H: usize = 164;
/// Rows drawn beyond each edge of the screen, so a flick or Tab finds them there.
const OVERSCAN: usize = 5;

#[component]
pub fn HouseholdsPage() -> impl IntoView {
    require_session();
    let ctx = use_ctx();
    let query = RwSignal::new(String::new());
    let today = time::today();
    // The rows drawn: the first and how many, from the window's scroll position,
    // set only when it moves past a whole row. The list's own top (a few hundred
    // pixels down) is taken as 0: that draws a row or two more above and below,
    // and spares the wasm a node reference and a layout read.
    let drawn = RwSignal::new((0usize, 0usize, ROW_H));
    let place = move || {
        let Some(w) = web_sys::window() else { return };
        let above = w.scroll_y().unwrap_or(0.0) as usize;
        let screen = w.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(640.0) as usize;
        let row = w
            .document()
            .and_then(|d| d.query_selector(".vlist>li").ok().flatten())
            .map_or(ROW_H, |li| li.client_height().max(40) as usize);
        let next = (
            (above / row).saturating_sub(OVERSCAN),
            screen / row + 1 + 2 * OVERSCAN,
            row,
        );
        if drawn.get_untracked() != next {
            drawn.set(next);
        }
    };
    place();
    let on_scroll = window_event_listener(leptos::ev::scroll, move |_| place());
    on_cleanup(move || on_scroll.remove());

    // Every household once, in order (the rules are the domain's
    // `HouseholdRow::list`), recomputed when the roster or the stored visits
    // change, not per keystroke; a search only picks from these.
    let all = Memo::new(move |_| {
        ctx.visits.with(|visits| {
            ctx.roster.with(|r| {
                r.as_ref().map_or_else(Vec::new, |r| HouseholdRow::list(&r.households, visits, today, &r.intervals()))
            })
        })
    });
    // The households the search matches (a plain pass over `all`: a few
    // milliseconds for 5,000, and no second memo to carry in the wasm).
    let matching = move |f: &mut dyn FnMut(&HouseholdRow)| {
        let q = query.get();
        let q = q.trim();
        all.with(|rows| rows.iter().filter(|r| r.matches(q)).for_each(|r| f(r)))
    };
    // The drawn rows with their place in the list and its length (for screen
    // readers), from one pass.
    let shown_rows = move || {
        let (first, n, _) = drawn.get();
        let mut out = Vec::new();
        let mut at = 0;
        matching(&mut |r| {
            at += 1;
            if at > first && out.len() < n {
                out.push((at, r.clone()))
            }
        });
        out.into_iter().map(move |(i, r)| (i, at, r)).collect::<Vec<_>>()
    };
    let count = move || {
        let mut n = 0;
        matching(&mut |_| n += 1);
        n
    };
    let due_count = move || {
        let mut n = 0;
        matching(&mut |r| n += usize::from(r.due));
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
            <p><Link to=AppRoute::Activities class="more">{ctx.tr("志愿活动 · 打卡", "Volunteer activities · check in")}</Link></p>
            <label class="visually-hidden" for="search">{ctx.tr("搜索户主或门牌", "Search head or doorplate")}</label>
            <input id="search" type="search" class="search"
                placeholder=ctx.tr("搜索户主或门牌", "Search head or doorplate")
                prop:value=query on:input=move |ev| query.set(event_target_value(&ev))/>
            <Show when=move || ctx.roster.get().is_none()>
                <p class="empty">{ctx.tr("还没有下载联系户名单，请在有网时打开应用。", "The household list has not been downloaded yet; open the app where there is a network.")}</p>
            </Show>
            // Rows above the drawn ones are the list's top padding, rows below
            // the rest of its height.
            <ul class="cards vlist" data-testid="household-list"
                style=move || {
                    let (first, _, row) = drawn.get();
                    format!("padding-top:{}px;height:{}px", first * row, count() * row)
                }>
                <For each=shown_rows key=|(at, of, r)| (*at, *of, r.household.id, r.last_visit_on, r.due, r.drafts, r.answered) let:row>
                    {
                        let (at, of, HouseholdRow { household: h, last_visit_on: last, due, drafts, answered }) = row;
                        let tags = h.special_groups.clone();
                        view! {
                            <li aria-setsize=of aria-posinset=at>
                                <Link to=AppRoute::Household(h.id) class="card">
                                    <span class="card-title">{h.head_name.clone()}</span>
                                    <span class="card-sub">{h.address.clone()}</span>
                                    // What asks for action first: one line of tags.
                                    <span class="tags">
                                        {due.then(|| view! { <span class="tag due">{ctx.tr("该走访了", "Due")}</span> })}
                                        {answered.then(|| view! { <span class="tag answered">{ctx.tr("问题有答复", "Problem answered")}</span> })}
                                        {(drafts > 0).then(|| view! { <span class="tag draft">{ctx.tr("有未完成的走访", "Unfinished visit")}</span> })}
                                        {tags.into_iter().map(|g| view! {
                                            <span class="tag">{if ctx.zh() { g.label_zh() } else { g.short_en() }}</span>
                                        }).collect_view()}
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
