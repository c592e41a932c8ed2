//! 产业对接: the households of the coordinator's area with needs (technique,
//! funds, market, jobs), those with a need still unmatched first, what each
//! lives from and how its matchups stand; and the form that matches a need
//! with a help resource of the catalogue (`POST /api/matchups`), which reaches
//! the member's phone with the roster. The server decides what is unmatched.

use chrono::NaiveDate;
use daohu_domain::{Catalogue, MatchOutcome, Need, NeedsReport, NewMatchup};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::{load, report, require_coordinator, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;
use crate::time;

#[component]
pub fn NeedsPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let needs = RwSignal::new(None::<NeedsReport>);
    let catalogue = RwSignal::new(None::<Catalogue>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let refresh = move || load(ctx, "/api/needs".into(), needs, error);
    refresh();
    load(ctx, "/api/catalogue".into(), catalogue, error);

    // The form: the household being matched, and its fields.
    let chosen = RwSignal::new(None::<(Uuid, String, Vec<Need>)>);
    let need = RwSignal::new(String::new());
    let resource = RwSignal::new(String::new());
    let on = RwSignal::new(time::today().to_string());
    let outcome = RwSignal::new(MatchOutcome::Underway.as_str().to_string());
    let note = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(client), Some((household_id, head, _))) = (ctx.api(), chosen.get_untracked()) else { return };
        // "list:key" from the resource's select.
        let picked = resource.get_untracked();
        let (list, key) = picked.split_once(':').unwrap_or_default();
        let body = NewMatchup {
            id: time::new_id(),
            household_id,
            need: Need::parse(&need.get_untracked()).unwrap_or(Need::Technique),
            list: daohu_domain::ItemList::parse(list).unwrap_or(daohu_domain::ItemList::Technician),
            resource: key.to_string(),
            on: on.get_untracked().parse::<NaiveDate>().unwrap_or_else(|_| time::today()),
            outcome: MatchOutcome::parse(&outcome.get_untracked()).unwrap_or(MatchOutcome::Underway),
            note: note.get_untracked().trim().to_string(),
        };
        notice.set(None);
        spawn_local(async move {
            // The answer (the stored record) is not read: the list is fetched again.
            match client.send::<_, serde::de::IgnoredAny>("POST", "/api/matchups", Some(&body)).await {
                Ok(_) => {
                    notice.set(Some(format!("{}{head}", ctx.tr("已保存对接：", "Matchup saved: "))));
                    error.set(None);
                    chosen.set(None);
                    note.set(String::new());
                    refresh();
                }
                Err(e) => report(ctx, e, error),
            }
        });
    };
    let need_label = move |n: &Need| n.label(ctx.zh());
    let labels = move |ns: &[Need]| ctx.join(ns.iter().map(need_label));

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminNeeds/>
            <h1>{ctx.tr("产业对接", "Livelihood matchups")}</h1>
            <p class="hint">{ctx.tr(
                "联户党员走访时记下每户的产业和需求。这里是你管辖范围内有需求的户，还没对接上的排在前面；对接结果会同步到党员的手机上。",
                "Members record each household's livelihood and needs at their visits. These are the households in your area with needs, those still unmatched first; a matchup reaches the member's phone.",
            )}</p>
            <ErrorLine error=error/>
            <Show when=move || notice.get().is_some()>
                <p class="ok" role="status">{move || notice.get()}</p>
            </Show>
            {move || needs.get().map(|r| view! {
                <table class="grid-table" data-testid="need-counts">
                    <thead><tr><th>{ctx.tr("需求", "Need")}</th><th>{ctx.tr("未对接的户", "Households unmatched")}</th></tr></thead>
                    <tbody>{Need::ALL.iter().zip(r.counts).map(|(n, c)| view! { <tr><td>{need_label(n)}</td><td>{c}</td></tr> }).collect_view()}</tbody>
                </table>
                <h2>{format!("{} {}", r.total, ctx.tr("户有需求", "households with needs"))}</h2>
                <table class="grid-table" data-testid="need-households">
                    <thead><tr>
                        <th>{ctx.tr("户主", "Head")}</th><th>{ctx.tr("门牌", "Doorplate")}</th><th>{ctx.tr("网格", "Grid")}</th>
                        <th>{ctx.tr("产业", "Livelihood")}</th><th>{ctx.tr("未对接", "Unmatched")}</th>
                        <th>{ctx.tr("对接情况", "Matchups")}</th><th>{ctx.tr("操作", "Action")}</th>
                    </tr></thead>
                    <tbody>{r.households.into_iter().map(|h| {
                        let pick = (h.household_id, h.head_name.clone(), h.needs.clone());
                        view! {
                            <tr data-household=h.household_id.to_string() class:overdue=!h.unmatched.is_empty()>
                                <td>{h.head_name.clone()}</td><td>{h.address.clone()}</td><td>{h.grid_name.clone()}</td>
                                <td>{h.livelihood.clone()}</td><td>{labels(&h.unmatched)}</td>
                                <td>{h.matchups.iter().rev().map(|m| view! { <div>{m.line(ctx.zh())}</div> }).collect_view()}</td>
                                <td><button class="link" data-testid="match" on:click=move |_| {
                                    need.set(pick.2.first().map(|n| n.as_str().to_string()).unwrap_or_default());
                                    chosen.set(Some(pick.clone()));
                                }>{ctx.tr("对接", "Match")}</button></td>
                            </tr>
                        }
                    }).collect_view()}</tbody>
                </table>
            })}
            {move || chosen.get().map(|(_, head, household_needs)| {
                let resources: Vec<(String, String)> = catalogue.get().map(|c| {
                    c.items.iter().filter(|i| i.list.is_resource() && i.active)
                        .map(|i| (format!("{}:{}", i.list.as_str(), i.key), format!("{} · {}", i.list.label(ctx.zh()), i.name(ctx.zh()))))
                        .collect()
                }).unwrap_or_default();
                if resource.get_untracked().is_empty() {
                    resource.set(resources.first().map(|r| r.0.clone()).unwrap_or_default());
                }
                view! {
                    <h2>{format!("{}{head}", ctx.tr("对接：", "Match: "))}</h2>
                    <form class="stack" on:submit=submit data-testid="matchup-form">
                        <label for="m-need">{ctx.tr("需求", "Need")}</label>
                        <select id="m-need" on:change=move |ev| need.set(event_target_value(&ev))>
                            {household_needs.iter().map(|n| {
                                let w = n.as_str();
                                view! { <option value=w selected=move || need.get() == w>{need_label(n)}</option> }
                            }).collect_view()}
                        </select>
                        <label for="m-resource">{ctx.tr("帮扶资源", "Help resource")}</label>
                        <select id="m-resource" on:change=move |ev| resource.set(event_target_value(&ev))>
                            {resources.into_iter().map(|(w, label)| {
                                let selected = resource.get_untracked() == w;
                                view! { <option value=w selected=selected>{label}</option> }
                            }).collect_view()}
                        </select>
                        <label for="m-on">{ctx.tr("对接日期", "Date")}</label>
                        <input id="m-on" type="date" prop:value=on on:input=move |ev| on.set(event_target_value(&ev))/>
                        <label for="m-outcome">{ctx.tr("结果", "Outcome")}</label>
                        <select id="m-outcome" on:change=move |ev| outcome.set(event_target_value(&ev))>
                            {MatchOutcome::ALL.into_iter().map(|o| view! {
                                <option value=o.as_str() selected=move || outcome.get() == o.as_str()>{o.label(ctx.zh())}</option>
                            }).collect_view()}
                        </select>
                        <label for="m-note">{ctx.tr("说明（可不填）", "Note (optional)")}</label>
                        <input id="m-note" prop:value=note on:input=move |ev| note.set(event_target_value(&ev))/>
                        <button type="submit" class="primary">{ctx.tr("保存对接", "Save the matchup")}</button>
                    </form>
                }
            })}
        </section>
    }
}
