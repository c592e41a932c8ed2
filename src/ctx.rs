//! The app's shared state: one `Copy` context of signals, provided at the root.

use daohu_domain::{LocalVisit, RosterResponse, Session};
use leptos::prelude::*;
use uuid::Uuid;

use crate::storage::{self, OutboxMeta, StorageError};
use crate::time;

/// Interface language. Chinese first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// Everything screens share. Cheap to copy into closures.
#[derive(Clone, Copy)]
pub struct AppCtx {
    pub lang: RwSignal<Lang>,
    /// The screen shown; see [`crate::routes`].
    pub route: RwSignal<crate::routes::AppRoute>,
    pub session: RwSignal<Option<Session>>,
    /// The server said the session is over; the member must sign in again.
    pub signed_out: RwSignal<bool>,
    pub roster: RwSignal<Option<RosterResponse>>,
    /// Every visit on this phone: drafts, waiting, uploaded.
    pub visits: RwSignal<Vec<LocalVisit>>,
    /// Problem changes made on this phone (e.g. "family told"), with their upload state.
    pub events: RwSignal<Vec<daohu_domain::LocalEvent>>,
    pub outbox: RwSignal<OutboxMeta>,
    /// Waiting records this bundle does not load as types (counted from their text):
    /// activities in the visit app; everything in the activities bundle.
    pub other_waiting: RwSignal<usize>,
    /// Key prefixes of those records.
    pub other_prefixes: &'static [&'static str],
    pub uploading: RwSignal<bool>,
    pub online: RwSignal<bool>,
    /// A new version of the app is installed and waits for a reload.
    pub update_ready: RwSignal<bool>,
    /// Share of the browser's storage quota in use, in percent, when known.
    pub storage_pct: RwSignal<Option<u32>>,
    /// Records in storage this version cannot read (kept untouched).
    pub unreadable: RwSignal<usize>,
    /// How many upload failures in a row; drives the backoff.
    pub retry_attempt: RwSignal<u32>,
    pub retry_timer: StoredValue<Option<TimeoutHandle>>,
    pub device_id: Uuid,
}

impl AppCtx {
    /// Builds the context from what the phone has stored and provides it.
    pub fn provide() -> AppCtx {
        open_account();
        let ctx = Self::provide_base(storage::load_roster());
        ctx.reload_visits();
        // Activity records change only in the activities bundle: counted now and on
        // another tab's storage event (see `sync::start`), not on every save here.
        ctx.recount_other();
        provide_context(ctx);
        ctx
    }

    fn provide_base(roster: Option<RosterResponse>) -> AppCtx {
        let lang = match storage::load_lang().as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        };
        let online = web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true);
        AppCtx {
            lang: RwSignal::new(lang),
            route: RwSignal::new(crate::routes::AppRoute::current()),
            session: RwSignal::new(storage::load_session()),
            signed_out: RwSignal::new(false),
            roster: RwSignal::new(roster),
            visits: RwSignal::new(Vec::new()),
            events: RwSignal::new(Vec::new()),
            outbox: RwSignal::new(storage::load_outbox_meta()),
            other_waiting: RwSignal::new(0),
            other_prefixes: storage::ACTIVITY_RECORDS,
            uploading: RwSignal::new(false),
            online: RwSignal::new(online),
            update_ready: RwSignal::new(false),
            unreadable: RwSignal::new(0),
            storage_pct: RwSignal::new(None),
            retry_attempt: RwSignal::new(0),
            retry_timer: StoredValue::new(None),
            device_id: storage::device_id(time::new_id),
        }
    }

    /// The context for the activities bundle: session, language and outbox
    /// state, without loading visits or the household roster (their types
    /// would cost that bundle about a third of its size); waiting visits are
    /// counted from their text.
    pub fn provide_light() -> AppCtx {
        open_account();
        let mut ctx = Self::provide_base(None);
        ctx.other_prefixes = storage::ALL_RECORDS;
        ctx.recount_other();
        provide_context(ctx);
        ctx
    }

    /// Whether the interface is in Chinese. Untracked: the root view re-renders
    /// on a language switch, so texts need no closure of their own (each such
    /// closure costs wasm bytes).
    pub fn zh(self) -> bool {
        self.lang.get_untracked() == Lang::Zh
    }

    /// Names joined into a list as the language writes it: 、 or ", ".
    pub fn join<'a>(self, names: impl IntoIterator<Item = &'a str>) -> String {
        names.into_iter().collect::<Vec<_>>().join(self.tr("、", ", "))
    }

    /// `text` followed by an aside in brackets as the language writes them: （…） or " (…)".
    pub fn aside(self, text: &str, aside: &str) -> String {
        if self.zh() {
            format!("{text}（{aside}）")
        } else {
            format!("{text} ({aside})")
        }
    }

    /// Picks the Chinese or English text for the current language.
    pub fn tr(self, zh: &'static str, en: &'static str) -> &'static str {
        if self.zh() {
            zh
        } else {
            en
        }
    }

    pub fn set_lang(self, lang: Lang) {
        self.lang.set(lang);
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", if lang == Lang::Zh { "zh-CN" } else { "en" });
        }
        let _ = storage::save_lang(if lang == Lang::Zh { "zh" } else { "en" });
    }

    /// Goes to a screen, adding it to the browser's history.
    pub fn go(self, route: crate::routes::AppRoute) {
        crate::routes::go_with(self.route, route, false);
    }

    /// Goes to a screen, replacing the current history entry (for redirects).
    pub fn redirect(self, route: crate::routes::AppRoute) {
        crate::routes::go_with(self.route, route, true);
    }

    /// Rereads every visit from storage (after another tab or the uploader changed them).
    pub fn reload_visits(self) {
        self.events.set(storage::load_events().unwrap_or_default());
        match storage::load_visits() {
            Ok(loaded) => {
                self.visits.set(loaded.visits);
                self.unreadable.set(loaded.unreadable);
            }
            Err(_) => self.visits.set(Vec::new()),
        }
    }

    /// Writes a visit to storage and only then shows it; on failure nothing on screen changes.
    pub fn put_visit(self, v: LocalVisit) -> Result<(), StorageError> {
        storage::save_visit(&v)?;
        self.visits.update(|all| match all.iter_mut().find(|x| x.visit.id == v.visit.id) {
            Some(slot) => *slot = v,
            None => all.insert(0, v),
        });
        Ok(())
    }

    /// Throws a draft away.
    pub fn discard_draft(self, id: Uuid) -> Result<(), StorageError> {
        storage::delete_visit(id)?;
        self.visits.update(|all| all.retain(|x| x.visit.id != id));
        Ok(())
    }

    /// How many records (visits, problem changes, volunteer activities) wait to upload.
    pub fn pending_count(self) -> usize {
        self.visits.with(|all| all.iter().filter(|v| v.sync.in_outbox()).count())
            + self.events.with(|all| all.iter().filter(|e| e.sync.in_outbox()).count())
            + self.other_waiting.get()
    }

    /// Recounts the waiting records of [`AppCtx::other_waiting`].
    pub fn recount_other(self) {
        self.other_waiting.set(storage::count_waiting_raw(self.other_prefixes));
    }

    /// Keeps a problem change made on this phone (`sync::add_event` also queues it for upload).
    pub fn keep_event(self, problem_id: uuid::Uuid, change: daohu_domain::EventKind) -> Result<(), StorageError> {
        let e = daohu_domain::LocalEvent {
            schema: daohu_domain::LOCAL_SCHEMA_VERSION,
            event: daohu_domain::ProblemEvent { id: time::new_id(), problem_id, at: time::now_utc(), change },
            sync: daohu_domain::SyncState::Pending,
        };
        storage::save_event(&e)?;
        self.events.update(|all| all.push(e));
        Ok(())
    }

    /// The API as the signed-in account, if one is signed in.
    pub fn api(self) -> Option<crate::api::SignedIn> {
        self.session.with_untracked(|s| s.as_ref().map(crate::api::SignedIn::new))
    }

    /// Keeps a new session and clears the signed-out mark. Another account than
    /// before reads its own records from now on. The roster is fetched and waiting
    /// records upload when the visit app (or the activities) opens next.
    pub fn keep_session(self, s: Session) -> Result<(), StorageError> {
        storage::save_session(&s)?;
        if storage::account() != Some(s.member.id) {
            storage::use_account(Some(s.member.id));
            self.show_account();
        }
        storage::save_who(&who(&s));
        self.session.set(Some(s));
        self.signed_out.set(false);
        Ok(())
    }

    /// Signs this phone out (the server's session is ended by the caller): the
    /// session is forgotten and nothing of the account is shown any more. With
    /// `remove`, the account's records leave the phone too; without it they stay,
    /// apart, and upload when the account signs in here again.
    pub fn sign_out(self, remove: bool) -> Result<(), StorageError> {
        if remove {
            storage::remove_account_data()?;
        } else {
            storage::save_waiting(self.pending_count());
        }
        storage::clear_session();
        crate::vault::close();
        storage::use_account(None);
        self.session.set(None);
        self.signed_out.set(false);
        self.show_account();
        Ok(())
    }

    /// Shows the current account's records (after the account changed).
    fn show_account(self) {
        self.roster.set(storage::load_roster());
        self.outbox.set(storage::load_outbox_meta());
        self.reload_visits();
        self.recount_other();
    }
}

/// How an account is named to whoever holds the phone: name and phone number.
/// The same in both languages (it is kept on the phone and shown in either).
pub fn who(s: &Session) -> String {
    format!("{} · {}", s.member.name, s.member.phone)
}

/// Opens the stored session's account's records (see `storage::use_account`).
fn open_account() {
    let session = storage::load_session();
    storage::use_account(session.as_ref().map(|s| s.member.id));
    // Phones signed in before accounts were kept apart have not noted who yet.
    if let Some(s) = session {
        storage::save_who(&who(&s));
    }
}

/// The context provided by [`AppCtx::provide`].
pub fn use_ctx() -> AppCtx {
    expect_context::<AppCtx>()
}
