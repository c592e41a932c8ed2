//! Households in the coordinator's part of the tree: who is linked to whom,
//! linking a member to one (一联一) or several (一联多) households, and moving
//! a household to another grid (its visit history goes with it), and a
//! household's ledger (台账) with corrections.

use std::collections::HashSet;

use daohu_domain::{Account, AdminHousehold, HouseholdMove, MemberLinks, OrgTree, UnitKind};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::household_ledger::HouseholdLedgerPanel;
use super::{load, report, require_coordinator, units_of, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

/// Most rows drawn at once; the search narrows the rest.
const SHOWN: usize = 200;

#[component]
pub fn AdminHouseholdsPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let tree = RwSignal::new(None::<OrgTree>);
    let households = RwSignal::new(None::<Vec<AdminHousehold>>);
    let accounts = RwSignal::new(None::<Vec<Account>>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let reload = move || load(ctx, "/api/households".into(), households, error);
    load(ctx, "/api/org".into(), tree, error);
    load(ctx, "/api/accounts".into(), accounts, error);
    reload();

    // The household whose ledger is open (id, head's name).
    let open_ledger = RwSignal::new(None::<(Uuid, String)>);
    let query = RwSignal::new(String::new());
    let member = RwSignal::new(None::<Uuid>);
    let picked = RwSignal::new(HashSet::<Uuid>::new());
    // Selecting a member starts from their current links (over every household, not only those shown).
    let choose_member = move |id: Option<Uuid>| {
        member.set(id);
        let set = match id {
            Some(m) => households.with_untracked(|h| {
                h.iter().flatten().filter(|x| x.members.iter().any(|lm| lm.id == m)).map(|x| x.household.id).collect()
            }),
            None => HashSet::new(),
        };
        picked.set(set);
        notice.set(None);
    };
    let save_links = move |_| {
        let (Some(client), Some(m)) = (ctx.api(), member.get_untracked()) else { return };
        let body = MemberLinks { household_ids: picked.get_untracked().into_iter().collect() };
        spawn_local(async move {
            match client.send::<_, Vec<AdminHousehold>>("PUT", &format!("/api/accounts/{m}/households"), Some(&body)).await {
                Ok(linked) => {
                    notice.set(Some(format!("{} {} {}", ctx.tr("已保存：联系", "Saved: linked to"), linked.len(), ctx.tr("户", "households"))));
                    reload();
                }
                Err(e) => report(ctx, e, error),
            }
        });
    };
    let move_to = move |hid: Uuid, grid: Uuid| {
        let Some(client) = ctx.api() else { return };
        spawn_local(async move {
            let body = HouseholdMove { grid_id: grid };
            match client.send::<_, AdminHousehold>("PATCH", &format!("/api/households/{hid}"), Some(&body)).await {
                Ok(_) => reload(),
                Err(e) => report(ctx, e, error),
            }
        });
    };

    let rows = Memo::new(move |_| {
        let q = query.get().trim().to_string();
        households.with(|h| {
            h.iter()
                .flatten()
                .filter(|x| q.is_empty() || x.household.head_name.contains(&q) || x.household.address.contains(&q) || x.household.grid_name.contains(&q))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let grids = Memo::new(move |_| units_of(&tree.get(), UnitKind::Grid));

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminHouseholds/>
            <h1>{ctx.tr("联系户", "Households")}</h1>
            <ErrorLine error=error/>
            <div class="card">
                <label for="link-member">{ctx.tr("给党员分配联系户：先选党员，再勾选下面的户，最后保存", "Link a member: choose the member, tick households below, then save")}</label>
                <select id="link-member" on:change=move |ev| choose_member(Uuid::parse_str(&event_target_value(&ev)).ok())>
                    <option value="">{ctx.tr("不分配，只查看", "None (just look)")}</option>
                    {move || accounts.get().unwrap_or_default().into_iter().filter(|a| a.role.records_visits() && !a.disabled).map(|a| view! {
                        <option value=a.id.to_string()>{ctx.aside(&a.name, &a.unit_name)}</option>
                    }).collect_view()}
                </select>
                <Show when=move || member.get().is_some()>
                    <p>{move || format!("{} {} {}", ctx.tr("已勾选", "Ticked"), picked.with(|p| p.len()), ctx.tr("户", "households"))}</p>
                    <button class="primary" on:click=save_links data-testid="save-links">{ctx.tr("保存联系户", "Save links")}</button>
                </Show>
                {crate::components::message_line(notice, "ok", "status")}
            </div>
            {move || open_ledger.get().map(|(id, head)| view! { <HouseholdLedgerPanel household=id head=head/> })}
            <label for="hh-search">{ctx.tr("搜索户主、门牌或网格", "Search head, doorplate or grid")}</label>
            <input id="hh-search" type="search" prop:value=query on:input=move |ev| query.set(event_target_value(&ev))/>
            <p class="muted">{move || {
                let n = rows.with(|r| r.len());
                if n > SHOWN { format!("{} {} {}", n, ctx.tr("户，只显示前", "households; showing the first"), SHOWN) } else { format!("{} {}", n, ctx.tr("户", "households")) }
            }}</p>
            <table class="grid-table" data-testid="admin-households">
                <thead><tr>
                    <th></th><th>{ctx.tr("户主 / 门牌", "Head / doorplate")}</th><th>{ctx.tr("联户党员", "Members")}</th><th>{ctx.tr("网格", "Grid")}</th>
                </tr></thead>
                <tbody>
                    {move || rows.get().into_iter().take(SHOWN).map(|x| {
                        let hid = x.household.id;
                        let grid_id = x.household.grid_id;
                        let names = ctx.join(x.members.iter().map(|m| m.name.as_str()));
                        view! {
                            <tr data-household=x.household.address.clone()>
                                <td>
                                    <input type="checkbox" aria-label=ctx.tr("联系这一户", "Link this household")
                                        disabled=move || member.get().is_none()
                                        prop:checked=move || picked.with(|p| p.contains(&hid))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            picked.update(|p| { if on { p.insert(hid); } else { p.remove(&hid); } });
                                        }/>
                                </td>
                                <td>{x.household.head_name.clone()}<br/><small>{x.household.address.clone()}</small>
                                    <br/><a href=format!("/admin/visits?household_id={hid}")>{ctx.tr("全部走访记录", "All visits")}</a>
                                    " " <button class="link" data-testid="open-ledger" on:click={
                                        let head = x.household.head_name.clone();
                                        move |_| {
                                            open_ledger.set(Some((hid, head.clone())));
                                            if let Some(w) = web_sys::window() { w.scroll_to_with_x_and_y(0.0, 0.0); }
                                        }
                                    }>{ctx.tr("台账", "Ledger")}</button></td>
                                <td>{names}</td>
                                <td>
                                    <select aria-label=ctx.tr("移到网格", "Move to grid") on:change=move |ev| {
                                        if let Ok(g) = Uuid::parse_str(&event_target_value(&ev)) { if g != grid_id { move_to(hid, g) } }
                                    }>
                                        {grids.get().into_iter().map(|(g, n)| view! {
                                            <option value=g.to_string() selected=g == grid_id>{n}</option>
                                        }).collect_view()}
                                    </select>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
