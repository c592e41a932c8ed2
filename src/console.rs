//! The coordinators' console: the `/admin` screens, mounted by the
//! `daohu-console` binary as a bundle of its own. It shares the session the
//! phone app keeps (same origin, same storage) and needs the network.

use leptos::prelude::*;

use crate::components::header::Header;
use crate::ctx::AppCtx;
use crate::pages::admin::{
    accounts::AccountsPage, activities::ActivitiesPage, catalogue::CataloguePage, dashboard::DashboardPage, gaps::GapsPage, needs::NeedsPage,
    households::AdminHouseholdsPage,
    import::ImportPage, org::OrgPage, problems::ProblemsPage, sheet::SheetPage, visits::VisitsPage,
};
use crate::routes::{self, AppRoute};

/// The console's root component.
#[component]
pub fn ConsoleApp() -> impl IntoView {
    let ctx = AppCtx::provide();
    routes::listen(ctx.route);
    move || {
        ctx.lang.track();
        view! {
            <Header/>
            <main id="main" class="console">
                {move || match ctx.route.get() {
                    AppRoute::Admin => view! { <DashboardPage/> }.into_any(),
                    AppRoute::AdminOrg => view! { <OrgPage/> }.into_any(),
                    AppRoute::AdminVisits => view! { <VisitsPage/> }.into_any(),
                    AppRoute::AdminSheet => view! { <SheetPage/> }.into_any(),
                    AppRoute::AdminProblems => view! { <ProblemsPage/> }.into_any(),
                    AppRoute::AdminAccounts => view! { <AccountsPage/> }.into_any(),
                    AppRoute::AdminHouseholds => view! { <AdminHouseholdsPage/> }.into_any(),
                    AppRoute::AdminImport => view! { <ImportPage/> }.into_any(),
                    AppRoute::AdminActivities => view! { <ActivitiesPage/> }.into_any(),
                    AppRoute::AdminCatalogue => view! { <CataloguePage/> }.into_any(),
                    AppRoute::AdminGaps => view! { <GapsPage/> }.into_any(),
                    AppRoute::AdminNeeds => view! { <NeedsPage/> }.into_any(),
                    other => {
                        // A phone-app screen: load that bundle.
                        routes::load_page(other);
                        ().into_any()
                    }
                }}
            </main>
        }
    }
}
