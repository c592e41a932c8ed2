//! The app's screens, as one enum: every link is made from it.

use uuid::Uuid;

/// A screen of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppRoute {
    /// The member's linked households (home).
    Households,
    Login,
    Household(Uuid),
    Visit(Uuid),
    Outbox,
}

impl AppRoute {
    /// The path of this screen; must match the `path!`s in `App`.
    pub fn href(self) -> String {
        match self {
            AppRoute::Households => "/".into(),
            AppRoute::Login => "/login".into(),
            AppRoute::Household(id) => format!("/household/{id}"),
            AppRoute::Visit(id) => format!("/visit/{id}"),
            AppRoute::Outbox => "/outbox".into(),
        }
    }
}
