//! 应享未享 (the household ledger's gaps): for the coordinator's area, how many
//! households are entitled to each policy and not receiving it, how many are
//! applying with a member's help and how many of those are overdue; then the
//! households, overdue applications first. The server counts and orders
//! (`GET /api/ledger/gaps`); this screen shows what it answers.

use daohu_domain::{PolicyGaps, PolicyState};
use leptos::prelude::*;

use super::{load, require_coordinator, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

#[component]
pub fn GapsPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let gaps = RwSignal::new(None::<PolicyGaps>);
    let error = RwSignal::new(None::<String>);
    let policy = RwSignal::new(String::new());
    Effect::new(move |_| {
        let key = policy.get();
        let path = if key.is_empty() { "/api/ledger/gaps".to_string() } else { format!("/api/ledger/gaps?policy={key}") };
        load(ctx, path, gaps, error);
    });
    let state_label = move |s: PolicyState| if ctx.zh() { s.label_zh() } else { s.label_en() };
    // The whole ledger of the area (every household's policies, profile and
    // matchups; a CSV file holds one sheet), through a one-time link the
    // browser's download manager fetches.
    let download = move |format: &'static str| {
        super::download_link(ctx, format!("/api/exports?format={format}&dataset=ledger"), error)
    };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminGaps/>
            <h1>{ctx.tr("应享未享", "Entitled, not receiving")}</h1>
            <p class="hint">{ctx.tr(
                "联户党员走访时记下每户的政策落实情况。这里是你管辖范围内应享未享和正在帮办代办的户，超过办理期限的排在前面。",
                "Members record each household's policies at their visits. These are the households in your area entitled to a policy and not receiving it, or applying with a member's help; overdue applications first.",
            )}</p>
            <ErrorLine error=error/>
            <div class="actions">
                <button on:click=move |_| download("xlsx") data-testid="dl-ledger-xlsx">{ctx.tr("下载台账 Excel", "Download the ledger (Excel)")}</button>
                <button on:click=move |_| download("csv") data-testid="dl-ledger-csv">{ctx.tr("下载台账 CSV", "Download the ledger (CSV)")}</button>
                <button on:click=move |_| download("csv&sheet=living") data-testid="dl-living-csv">{ctx.tr("家庭情况 CSV", "Family conditions (CSV)")}</button>
                <button on:click=move |_| download("csv&sheet=matchups") data-testid="dl-matchups-csv">{ctx.tr("产业对接 CSV", "Matchups (CSV)")}</button>
            </div>
            {move || gaps.get().map(|g| {
                let names: Vec<(String, String)> = g.policies.iter()
                    .map(|p| (p.key.clone(), if ctx.zh() { p.name_zh.clone() } else { p.name_en.clone() }))
                    .collect();
                let name_of = {
                    let names = names.clone();
                    move |key: &str| names.iter().find(|(k, _)| k == key).map_or_else(|| key.to_string(), |(_, n)| n.clone())
                };
                view! {
                    <table class="grid-table" data-testid="gap-counts">
                        <thead><tr>
                            <th>{ctx.tr("政策", "Policy")}</th><th>{ctx.tr("应享未享", "Not receiving")}</th>
                            <th>{ctx.tr("帮办代办中", "Applying")}</th><th>{ctx.tr("已超期", "Overdue")}</th>
                        </tr></thead>
                        <tbody>{g.policies.iter().map(|p| view! {
                            <tr data-key=p.key.clone()>
                                <td>{if ctx.zh() { p.name_zh.clone() } else { p.name_en.clone() }}</td>
                                <td>{p.entitled_not_receiving}</td><td>{p.applying}</td><td>{p.overdue}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                    <label for="gap-policy">{ctx.tr("只看一项政策", "One policy only")}</label>
                    <select id="gap-policy" on:change=move |ev| policy.set(event_target_value(&ev))>
                        <option value="" selected=policy.get_untracked().is_empty()>{ctx.tr("全部政策", "Every policy")}</option>
                        {names.into_iter().map(|(k, n)| {
                            let selected = policy.get_untracked() == k;
                            view! { <option value=k selected=selected>{n}</option> }
                        }).collect_view()}
                    </select>
                    <h2>{format!("{} {}", g.households.len(), ctx.tr("户", "households"))}</h2>
                    <table class="grid-table" data-testid="gap-households">
                        <thead><tr>
                            <th>{ctx.tr("户主", "Head")}</th><th>{ctx.tr("门牌", "Doorplate")}</th><th>{ctx.tr("网格", "Grid")}</th>
                            <th>{ctx.tr("政策", "Policy")}</th><th>{ctx.tr("情况", "State")}</th><th>{ctx.tr("开始办理", "Applying since")}</th>
                        </tr></thead>
                        <tbody>{g.households.into_iter().map(|h| view! {
                            <tr data-household=h.household_id.to_string() class:overdue=h.overdue>
                                <td>{h.head_name}</td><td>{h.address}</td><td>{h.grid_name}</td>
                                <td>{name_of(&h.policy_key)}</td>
                                <td>{state_label(h.state)}
                                    {h.overdue.then(|| view! { <span class="tag">{ctx.tr("已超期", "Overdue")}</span> })}</td>
                                <td>{h.applying_since.map(|d| d.to_string()).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }
            })}
        </section>
    }
}
