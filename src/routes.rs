//! The app's screens, as one enum, and the small router that follows it.
//!
//! A hand-written router instead of leptos_router: the app has five flat
//! screens, and leptos_router cost about 20 KB of gzipped wasm, which put the
//! first screen over its 250 KB budget.

use leptos::prelude::*;
use uuid::Uuid;
use wasm_bindgen::JsValue;


/// A screen of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppRoute {
    /// The member's linked households (home).
    Households,
    Login,
    Household(Uuid),
    Visit(Uuid),
    Outbox,
    /// Signing out: keep this account's records on the phone, or remove them.
    SignOut,
    /// Signs a phone in with the one-time code in the path (`/enroll/<code>`).
    Enroll,
    /// The app lock: set, change or remove the PIN.
    Lock,
    /// Coordinators: the dashboard (console home).
    Admin,
    AdminOrg,
    AdminVisits,
    AdminSheet,
    AdminProblems,
    AdminAccounts,
    AdminHouseholds,
    AdminImport,
    AdminActivities,
    /// The county's policy catalogue (政策目录).
    AdminCatalogue,
    /// Households entitled to a policy and not receiving it (应享未享).
    AdminGaps,
    /// Households with needs, and their matchups (产业对接).
    AdminNeeds,
    /// Volunteer activities (their own bundle): the list and check-ins.
    Activities,
    /// One activity kept on this phone (new, draft or saved).
    Activity(Uuid),
    NotFound,
}

/// Which web bundle a screen belongs to; moving between bundles is a page load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bundle {
    /// The members' phone app (`/`).
    Phone,
    /// Signing in and enrolment (`/login`, `/enroll/<code>`): a small bundle of
    /// its own, so a phone's first screen does not wait for the visit app (which
    /// downloads meanwhile, for the service worker). Signing out and the app
    /// lock are the visit app's: they read the account's records, which a PIN
    /// seals, and the unlocking code stays off the first screen.
    Account,
    /// Volunteer activities (`/activities`), also used by members.
    Activities,
    /// The coordinators' console (`/admin`).
    Console,
}

impl AppRoute {
    /// The path of this screen.
    pub fn href(self) -> String {
        match self {
            AppRoute::Households => "/".into(),
            AppRoute::Login => "/login".into(),
            AppRoute::Household(id) => format!("/household/{id}"),
            AppRoute::Visit(id) => format!("/visit/{id}"),
            AppRoute::Outbox => "/outbox".into(),
            AppRoute::SignOut => "/signout".into(),
            AppRoute::Enroll => "/enroll".into(),
            AppRoute::Lock => "/lock".into(),
            AppRoute::Admin => "/admin".into(),
            AppRoute::AdminOrg => "/admin/org".into(),
            AppRoute::AdminVisits => "/admin/visits".into(),
            AppRoute::AdminSheet => "/admin/sheet".into(),
            AppRoute::AdminProblems => "/admin/problems".into(),
            AppRoute::AdminAccounts => "/admin/accounts".into(),
            AppRoute::AdminHouseholds => "/admin/households".into(),
            AppRoute::AdminImport => "/admin/import".into(),
            AppRoute::AdminActivities => "/admin/activities".into(),
            AppRoute::AdminCatalogue => "/admin/catalogue".into(),
            AppRoute::AdminGaps => "/admin/gaps".into(),
            AppRoute::AdminNeeds => "/admin/needs".into(),
            AppRoute::Activities => "/activities".into(),
            AppRoute::Activity(id) => format!("/activities/{id}"),
            AppRoute::NotFound => "/404".into(),
        }
    }

    /// The screen for a path; the inverse of [`AppRoute::href`].
    pub fn parse(path: &str) -> AppRoute {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let id = |s: &str| Uuid::parse_str(s).ok();
        match parts.as_slice() {
            [""] => AppRoute::Households,
            ["login"] => AppRoute::Login,
            ["outbox"] => AppRoute::Outbox,
            ["signout"] => AppRoute::SignOut,
            ["enroll", _] => AppRoute::Enroll,
            ["lock"] => AppRoute::Lock,
            ["admin"] => AppRoute::Admin,
            ["admin", "org"] => AppRoute::AdminOrg,
            ["admin", "visits"] => AppRoute::AdminVisits,
            ["admin", "sheet"] => AppRoute::AdminSheet,
            ["admin", "problems"] => AppRoute::AdminProblems,
            ["admin", "accounts"] => AppRoute::AdminAccounts,
            ["admin", "households"] => AppRoute::AdminHouseholds,
            ["admin", "import"] => AppRoute::AdminImport,
            ["admin", "activities"] => AppRoute::AdminActivities,
            ["admin", "catalogue"] => AppRoute::AdminCatalogue,
            ["admin", "gaps"] => AppRoute::AdminGaps,
            ["admin", "needs"] => AppRoute::AdminNeeds,
            ["activities"] => AppRoute::Activities,
            ["activities", x] => id(x).map(AppRoute::Activity).unwrap_or(AppRoute::NotFound),
            ["household", x] => id(x).map(AppRoute::Household).unwrap_or(AppRoute::NotFound),
            ["visit", x] => id(x).map(AppRoute::Visit).unwrap_or(AppRoute::NotFound),
            _ => AppRoute::NotFound,
        }
    }

    /// The bundle that shows this screen.
    pub fn bundle(self) -> Bundle {
        match self {
            AppRoute::Admin
            | AppRoute::AdminOrg
            | AppRoute::AdminVisits
            | AppRoute::AdminSheet
            | AppRoute::AdminProblems
            | AppRoute::AdminAccounts
            | AppRoute::AdminHouseholds
            | AppRoute::AdminImport
            | AppRoute::AdminActivities
            | AppRoute::AdminCatalogue
            | AppRoute::AdminGaps
            | AppRoute::AdminNeeds => Bundle::Console,
            AppRoute::Activities | AppRoute::Activity(_) => Bundle::Activities,
            AppRoute::Login | AppRoute::Enroll => Bundle::Account,
            _ => Bundle::Phone,
        }
    }

    /// Where an account starts: the console, the households, or the activities.
    pub fn home(role: daohu_domain::Role) -> AppRoute {
        if role.is_coordinator() {
            AppRoute::Admin
        } else if role.records_visits() {
            AppRoute::Households
        } else {
            AppRoute::Activities
        }
    }

    /// Whether the screen belongs to the coordinators' console bundle.
    pub fn is_console(self) -> bool {
        self.bundle() == Bundle::Console
    }

    /// The bundle of the page loaded now (from the address it was loaded at).
    pub fn loaded_bundle() -> Bundle {
        AppRoute::current().bundle()
    }

    /// The screen the browser's address shows now.
    pub fn current() -> AppRoute {
        let path = web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default();
        AppRoute::parse(&path)
    }
}

thread_local! {
    /// The bundle this page loaded (fixed for the page's life).
    static LOADED: Bundle = AppRoute::loaded_bundle();
    /// A page load has been started ([`load_page`]).
    static LEAVING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether `route` is drawn by another bundle (reached by a page load).
pub fn in_other_bundle(route: AppRoute) -> bool {
    route.bundle() != LOADED.with(|b| *b)
}

/// Loads the page of another bundle's screen (a full page load; from the
/// phone's cache for the phone bundles).
pub fn load_page(route: AppRoute) {
    // Once: a second load started meanwhile (a redirect and a button both
    // leaving, say) would abort the first and leave for the same place.
    if LEAVING.with(|l| l.replace(true)) {
        return;
    }
    if let Some(w) = web_sys::window() {
        let _ = w.location().assign(&route.href());
    }
}

/// Puts `route` in the address bar without a page load (before the app mounts, which then shows it).
pub fn replace_address(route: AppRoute) {
    if let Some(h) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&route.href()));
    }
}

/// Shows `route`, adding it to the browser's history, or replacing the
/// current entry when `replace` (for redirects).
pub fn go_with(signal: RwSignal<AppRoute>, route: AppRoute, replace: bool) {
    if in_other_bundle(route) {
        load_page(route);
        return;
    }
    if let Some(w) = web_sys::window() {
        if let Ok(h) = w.history() {
            let url = route.href();
            let _ = if replace {
                h.replace_state_with_url(&JsValue::NULL, "", Some(&url))
            } else {
                h.push_state_with_url(&JsValue::NULL, "", Some(&url))
            };
        }
        w.scroll_to_with_x_and_y(0.0, 0.0);
    }
    signal.set(route);
}

/// Follows the browser's back and forward buttons.
pub fn listen(signal: RwSignal<AppRoute>) {
    let _ = window_event_listener(leptos::ev::popstate, move |_| signal.set(AppRoute::current()));
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let id = Uuid::from_u128(7);
        for r in [
            AppRoute::Households,
            AppRoute::Login,
            AppRoute::Outbox,
            AppRoute::SignOut,
            AppRoute::Lock,
            AppRoute::Household(id),
            AppRoute::Visit(id),
            AppRoute::Admin,
            AppRoute::AdminOrg,
            AppRoute::AdminVisits,
            AppRoute::AdminSheet,
            AppRoute::AdminProblems,
            AppRoute::AdminAccounts,
            AppRoute::AdminHouseholds,
            AppRoute::AdminImport,
            AppRoute::AdminActivities,
            AppRoute::AdminCatalogue,
            AppRoute::AdminGaps,
            AppRoute::AdminNeeds,
            AppRoute::Activities,
            AppRoute::Activity(id),
        ] {
            assert_eq!(AppRoute::parse(&r.href()), r);
        }
        assert_eq!(AppRoute::parse("/visit/not-a-uuid"), AppRoute::NotFound);
        assert_eq!(AppRoute::parse("/nope"), AppRoute::NotFound);
        assert_eq!(AppRoute::parse("/outbox/"), AppRoute::Outbox);
        assert_eq!(AppRoute::parse("/enroll/abc_DEF-123"), AppRoute::Enroll);
        // The server and the service worker send these paths the account bundle's page.
        for path in ["/login", "/enroll/abc"] {
            assert_eq!(AppRoute::parse(path).bundle(), Bundle::Account, "{path}");
        }
        for path in ["/", "/signout", "/lock"] {
            assert_eq!(AppRoute::parse(path).bundle(), Bundle::Phone, "{path}");
        }
    }
}
