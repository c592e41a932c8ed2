//! A link to another screen of the app.

use leptos::prelude::*;

use crate::ctx::use_ctx;
use crate::routes::{go_with, in_other_bundle, AppRoute};

/// A link to a screen: a real `<a href>` (so it works with the keyboard and
/// screen readers, and opens in a new tab), handled in the page on a plain click.
#[component]
pub fn Link(to: AppRoute, #[prop(optional, into)] class: String, children: Children) -> impl IntoView {
    let ctx = use_ctx();
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let other_bundle = in_other_bundle(to);
        if other_bundle || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() || ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        go_with(ctx.route, to, false);
    };
    view! { <a href=to.href() class=class on:click=on_click>{children()}</a> }
}
