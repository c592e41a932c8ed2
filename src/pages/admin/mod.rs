//! The coordinators' screens (online only): the organisation tree, accounts,
//! households and links, and roster import. The server checks role and scope
//! on every call; these screens only show what it answers.

pub mod accounts;
pub mod activities;
pub mod catalogue;
pub mod dashboard;
pub mod gaps;
pub mod needs;
pub mod household_ledger;
pub mod households;
pub mod import;
pub mod org;
pub mod problems;
pub mod sheet;
pub mod visits;

use daohu_domain::{OrgTree, UnitKind};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;

use crate::api::ApiFailure;
use crate::ctx::{use_ctx, AppCtx};
use crate::components::link::Link;
use crate::routes::AppRoute;

/// Tabs across the top of every coordinator screen.
#[component]
pub fn AdminNav(current: AppRoute) -> impl IntoView {
    let ctx = use_ctx();
    let tab = move |to: AppRoute, zh: &'static str, en: &'static str| {
        let class = if to == current { "tab current" } else { "tab" };
        view! { <Link to=to class=class>{ctx.tr(zh, en)}</Link> }
    };
    view! {
        <nav class="tabs" aria-label=ctx.tr("管理", "Console")>
            {tab(AppRoute::Admin, "概况", "Dashboard")}
            {tab(AppRoute::AdminVisits, "走访记录", "Visit log")}
            {tab(AppRoute::AdminProblems, "群众诉求", "Problems")}
            {tab(AppRoute::AdminSheet, "碰头会", "Weekly sheet")}
            {tab(AppRoute::AdminActivities, "志愿活动", "Volunteers")}
            {tab(AppRoute::AdminGaps, "应享未享", "Not receiving")}
            {tab(AppRoute::AdminNeeds, "产业对接", "Matchups")}
            {tab(AppRoute::AdminCatalogue, "政策目录", "Policies")}
            {tab(AppRoute::AdminOrg, "组织", "Organisation")}
            {tab(AppRoute::AdminAccounts, "账号", "Accounts")}
            {tab(AppRoute::AdminHouseholds, "联系户", "Households")}
            {tab(AppRoute::AdminImport, "导入花名册", "Import roster")}
        </nav>
    }
}

/// Sends anyone who is not a coordinator away from these screens.
pub(crate) fn require_coordinator() {
    let ctx = use_ctx();
    Effect::new(move |_| match ctx.session.get() {
        None => ctx.redirect(AppRoute::Login),
        Some(s) if !s.member.role.is_coordinator() => ctx.redirect(AppRoute::Households),
        Some(_) => {}
    });
}

/// Loads `path` into `target`, putting a plain-words failure into `error`.
pub(crate) fn load<T: DeserializeOwned + Send + Sync + 'static>(
    ctx: AppCtx,
    path: String,
    target: RwSignal<Option<T>>,
    error: RwSignal<Option<String>>,
) {
    let Some(client) = ctx.api() else { return };
    spawn_local(async move {
        match client.get::<T>(&path).await {
            Ok(v) => {
                target.set(Some(v));
                error.set(None);
            }
            Err(e) => report(ctx, e, error),
        }
    });
}

/// Asks the server for a one-time download link (`path`: `/api/exports?…`) and
/// hands it to the browser, whose own download manager fetches it and shows
/// progress; a failure goes to `error`.
pub(crate) fn download_link(ctx: AppCtx, path: String, error: RwSignal<Option<String>>) {
    let Some(client) = ctx.api() else { return };
    spawn_local(async move {
        match client.send::<(), daohu_domain::ExportLink>("POST", &path, None).await {
            Ok(link) => {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().assign(&link.url);
                }
            }
            Err(e) => report(ctx, e, error),
        }
    });
}

/// Shows a failure; an expired session also raises the sign-in banner.
pub(crate) fn report(ctx: AppCtx, e: ApiFailure, error: RwSignal<Option<String>>) {
    if e == ApiFailure::SignedOut {
        ctx.signed_out.set(true);
    }
    error.set(Some(e.message(ctx.zh())));
}

/// The units of one kind, as (id, name) for a `<select>`.
pub(crate) fn units_of(tree: &Option<OrgTree>, kind: UnitKind) -> Vec<(uuid::Uuid, String)> {
    tree.as_ref()
        .map(|t| t.units.iter().filter(|u| u.kind == kind).map(|u| (u.id, u.name.clone())).collect())
        .unwrap_or_default()
}

/// A failure line, shown while `error` holds one.
#[component]
pub fn ErrorLine(error: RwSignal<Option<String>>) -> impl IntoView {
    crate::components::message_line(error, "error", "alert")
}
