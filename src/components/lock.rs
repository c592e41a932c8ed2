//! The lock screen: the PIN asked before an account's sealed records are
//! shown, with the way out for a forgotten PIN (signing in again online; the
//! records stay on the phone).
//!
//! Plain DOM rather than a Leptos view: every bundle carries it, and a view
//! of its own (or a root that switches between it and the app) cost each
//! about 5 KB brotli. The app is mounted only once the records are open.

use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{Document, HtmlInputElement};

use crate::routes::AppRoute;
use crate::{storage, unlock};

/// The screen's HTML in the phone's language (nothing in it comes from a record).
fn html(zh: bool) -> String {
    let t = |z: &'static str, e: &'static str| if zh { z } else { e };
    format!(
        r#"<main id="lock" class="page lock"><h1>{}</h1><p class="hint" id="lock-who"></p>
<form id="lock-form"><label for="pin">{}</label>
<input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="6" autofocus>
<p class="error" role="alert" data-testid="pin-error" id="pin-error" hidden></p>
<button type="submit" class="primary" data-testid="unlock">{}</button></form>
<details><summary>{}</summary><p>{}</p><a class="button" href="/login" data-testid="forgot-pin">{}</a></details></main>"#,
        t("请输入手机 PIN", "Enter your phone PIN"),
        t("PIN（4 到 6 位数字）", "PIN (4 to 6 digits)"),
        t("打开", "Unlock"),
        t("忘记 PIN 了？", "Forgot the PIN?"),
        t(
            "联网后用手机号和密码重新登录，然后设一个新的 PIN。没上传的记录都还在这部手机上，不会丢。",
            "Sign in again with your phone number and password while online, then set a new PIN. Records not yet uploaded stay on this phone; nothing is lost.",
        ),
        t("用密码重新登录", "Sign in with the password"),
    )
}

/// Shows the lock screen; once the PIN opens the records, removes it and
/// calls `mount` (which mounts the page's app). Just after a password sign-in
/// the phone key opens them instead, and the member sets a PIN again on `/lock`.
pub fn ask_pin(mount: fn()) {
    // The phone key is the visit app's to use (it sets the new PIN): the other
    // bundles send a sign-in just made there.
    if storage::session_in_clear() && crate::routes::in_other_bundle(AppRoute::Lock) {
        return crate::routes::load_page(AppRoute::Lock);
    }
    wasm_bindgen_futures::spawn_local(async move {
        if !crate::routes::in_other_bundle(AppRoute::Lock) && unlock::with_phone_key().await {
            crate::routes::replace_address(AppRoute::Lock);
            mount();
        } else {
            show(mount);
        }
    });
}

fn show(mount: fn()) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    let zh = storage::load_lang().as_deref() != Some("en");
    let Some(body) = doc.body() else { return };
    let _ = body.insert_adjacent_html("beforeend", &html(zh));
    if let Some(who) = doc.get_element_by_id("lock-who") {
        who.set_text_content(storage::load_who().as_deref());
    }
    let Some(form) = doc.get_element_by_id("lock-form") else { return };
    let busy = std::rc::Rc::new(std::cell::Cell::new(false));
    let submit = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
        ev.prevent_default();
        if busy.replace(true) {
            return;
        }
        let busy = busy.clone();
        let doc = doc.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let input = doc.get_element_by_id("pin").and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
            let typed = input.as_ref().map(|i| i.value()).unwrap_or_default();
            match unlock::with_pin(&typed).await {
                Ok(()) => {
                    if let Some(lock) = doc.get_element_by_id("lock") {
                        lock.remove();
                    }
                    mount();
                    unlock::watch_idle();
                }
                Err(e) => {
                    say(&doc, &e.message(zh));
                    if let Some(i) = input {
                        i.set_value("");
                        let _ = i.focus();
                    }
                }
            }
            busy.set(false);
        });
    });
    let _ = form.add_event_listener_with_callback("submit", submit.as_ref().unchecked_ref());
    submit.forget();
}

fn say(doc: &Document, text: &str) {
    if let Some(p) = doc.get_element_by_id("pin-error") {
        p.set_text_content(Some(text));
        let _ = p.remove_attribute("hidden");
    }
}
