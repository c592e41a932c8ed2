//! The organisation tree: county → township → village → grid, with counts,
//! and new units under any unit in the coordinator's part of the tree; each
//! unit's phones can be required to set a PIN (the app lock).

use daohu_domain::{NewUnit, OrgTree, OrgUnit};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use super::{load, report, require_coordinator, AdminNav, ErrorLine};
use crate::ctx::use_ctx;
use crate::routes::AppRoute;

#[component]
pub fn OrgPage() -> impl IntoView {
    require_coordinator();
    let ctx = use_ctx();
    let tree = RwSignal::new(None::<OrgTree>);
    let error = RwSignal::new(None::<String>);
    let reload = move || load(ctx, "/api/org".into(), tree, error);
    reload();

    let parent = RwSignal::new(None::<Uuid>);
    let name = RwSignal::new(String::new());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(client), Some(pid)) = (ctx.api(), parent.get_untracked()) else { return };
        let Some(kind) = tree.with_untracked(|t| {
            t.as_ref()?.units.iter().find(|u| u.id == pid).and_then(|u| u.kind.child())
        }) else {
            return;
        };
        let body = NewUnit { kind, name: name.get_untracked().trim().to_string(), parent_id: pid };
        spawn_local(async move {
            match client.send::<_, OrgUnit>("POST", "/api/org/units", Some(&body)).await {
                Ok(_) => {
                    name.set(String::new());
                    reload();
                }
                Err(e) => report(ctx, e, error),
            }
        });
    };

    // A PIN required on the phones of a unit and below (the app lock, issue 19).
    let require_pin = move |id: Uuid, on: bool| {
        let Some(client) = ctx.api() else { return };
        let body = daohu_domain::lock::PinRequirement { pin_required: on };
        spawn_local(async move {
            match client.send::<_, daohu_domain::lock::PinRequirement>("PUT", &format!("/api/org/units/{id}/phone-lock"), Some(&body)).await {
                Ok(_) => reload(),
                Err(e) => report(ctx, e, error),
            }
        });
    };

    let depth = move |u: &OrgUnit| {
        let mut d = 0;
        let mut p = u.parent_id;
        tree.with_untracked(|t| {
            while let Some(id) = p {
                d += 1;
                p = t.as_ref().and_then(|t| t.units.iter().find(|x| x.id == id)).and_then(|x| x.parent_id);
            }
        });
        d
    };

    view! {
        <section class="page admin">
            <AdminNav current=AppRoute::AdminOrg/>
            <h1>{ctx.tr("组织", "Organisation")}</h1>
            <ErrorLine error=error/>
            <table class="grid-table" data-testid="org-tree">
                <thead><tr>
                    <th>{ctx.tr("名称", "Name")}</th><th>{ctx.tr("户数", "Households")}</th><th>{ctx.tr("账号", "Accounts")}</th>
                    <th>{ctx.tr("手机须设 PIN", "Phones need a PIN")}</th>
                </tr></thead>
                <tbody>
                    {move || tree.get().map(|t| t.units.into_iter().map(|u| {
                        let pad = format!("padding-left:{}em", depth(&u));
                        let kind = if ctx.zh() { u.kind.label_zh() } else { u.kind.label_en() };
                        let label = if ctx.zh() { format!("{}及下级的手机须设 PIN", u.name) } else { format!("Phones in {} and below need a PIN", u.name) };
                        let (id, on) = (u.id, u.pin_required);
                        view! {
                            <tr>
                                <td style=pad>{u.name.clone()} " " <small class="muted">{kind}</small></td>
                                <td>{u.households}</td>
                                <td>{u.accounts}</td>
                                <td><input type="checkbox" class="pin-required" aria-label=label prop:checked=on
                                    on:change=move |ev| require_pin(id, event_target_checked(&ev))/></td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
            <h2>{ctx.tr("新建下级", "Add a unit below")}</h2>
            <form on:submit=create class="stack">
                <label for="parent">{ctx.tr("上级", "Parent")}</label>
                <select id="parent" on:change=move |ev| parent.set(Uuid::parse_str(&event_target_value(&ev)).ok())>
                    <option value="">{ctx.tr("请选择", "Choose")}</option>
                    {move || tree.get().map(|t| t.units.into_iter().filter(|u| u.kind.child().is_some()).map(|u| {
                        let child = u.kind.child().map(|k| if ctx.zh() { k.label_zh() } else { k.label_en() }).unwrap_or("");
                        view! { <option value=u.id.to_string()>{format!("{} → {}", u.name, child)}</option> }
                    }).collect_view())}
                </select>
                <label for="unit-name">{ctx.tr("名称", "Name")}</label>
                <input id="unit-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                <button type="submit" class="primary">{ctx.tr("新建", "Add")}</button>
            </form>
        </section>
    }
}
