//! The one place the app touches the phone's local storage.
//!
//! Keys carry a version (`daohu:v1:…`) and every visit has a key of its own, so
//! a save costs the same with 10 or 10,000 records and a failed write can only
//! affect the one record being written. Errors are typed and never panic.
//!
//! Each account's records live under a key space of their own,
//! `daohu:v1:a:<account id>:…` ([`use_account`]): a second account signing in on
//! a shared phone reads none of the first's households, visits, drafts or
//! outbox, and every record uploads only under the account that made it. The
//! session, the phone's id and the language are the phone's, outside them.
//!
//! With a PIN set (the app lock, see `unlock`), an account's values are sealed
//! at rest; while it is unlocked they are read from and written through
//! [`vault`], and only the few values in [`CLEAR`] stay readable (none says
//! anything about a family). The session then lives sealed in the account's
//! space, and the phone's session key only names the account to unlock.

use std::cell::RefCell;

use daohu_domain::{LocalVisit, MigrationError, RosterResponse, Session};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

use crate::{json, vault};

const PREFIX: &str = "daohu:v1:";
/// Where accounts' key spaces start.
const ACCOUNTS: &str = "daohu:v1:a:";
// An account's keys, after its prefix.
const VISIT: &str = "visit:";
const EVENT: &str = "event:";
const ACTIVITY: &str = "activity:";
const CHECKIN: &str = "checkin:";
const ACTIVITY_ROSTER: &str = "activity-roster";
const GEO: &str = "geo-allowed";
const ROSTER: &str = "roster";
const OUTBOX: &str = "outbox";
/// Who the account is (name and phone), for the other accounts' screens.
const WHO: &str = "who";
/// The IndexedDB database of the account's photos (see [`photo_db`]).
const PHOTO_DB: &str = "photo-db";
/// The lock record (`daohu_domain::lock::PhoneLock`).
const LOCK: &str = "lock";
/// Whether a coordinator requires a PIN on this account's phones (as last heard).
const PIN_REQUIRED: &str = "pin-required";
/// The data key, raw, while no PIN is set, and its copy wrapped by the account's
/// phone key: ready for a PIN to be set offline.
const DATA_KEY: &str = "dk";
const KEY_WRAP: &str = "key-wrap";
/// How many records waited to upload when the account signed out (its own
/// records may be sealed, so other accounts' screens cannot count them).
const WAITING: &str = "waiting";
/// The sealed copy of the account's session.
const SESSION: &str = "session";
/// An account's values that stay readable with a PIN set.
const CLEAR: [&str; 7] = [LOCK, WHO, PHOTO_DB, PIN_REQUIRED, DATA_KEY, KEY_WRAP, WAITING];
// The phone's own keys.
const KEY_SESSION: &str = "daohu:v1:session";
const KEY_DEVICE: &str = "daohu:v1:device";
const KEY_LANG: &str = "daohu:v1:lang";

thread_local! {
    /// The key prefix of the account whose records are read and written now.
    static ACCOUNT: RefCell<String> = RefCell::new(format!("{ACCOUNTS}-:"));
}

/// The current account's key for `what`.
fn key(what: &str) -> String {
    ACCOUNT.with(|a| format!("{}{what}", a.borrow()))
}

/// Makes `member` the account whose records every function here reads and
/// writes (none: a key space no one writes to). Records kept before accounts
/// were kept apart (`daohu:v1:visit:…` and the like) become this account's: on
/// a phone of that time they were the signed-in account's. Each is written
/// under its new key before the old one is removed, so an interrupted move
/// loses nothing and finishes next time.
pub fn use_account(member: Option<Uuid>) {
    let prefix = match member {
        Some(id) => format!("{ACCOUNTS}{id}:"),
        None => format!("{ACCOUNTS}-:"),
    };
    ACCOUNT.with(|a| *a.borrow_mut() = prefix.clone());
    if member.is_none() {
        return;
    }
    let Ok(storage) = store() else { return };
    let legacy: Vec<String> = keys_with(PREFIX)
        .unwrap_or_default()
        .into_iter()
        .filter(|k| !k.starts_with(ACCOUNTS) && ![KEY_SESSION, KEY_DEVICE, KEY_LANG].contains(&k.as_str()))
        .collect();
    if legacy.is_empty() {
        return;
    }
    // The photos of that time are in the one database every account then shared.
    if raw_get(&key(PHOTO_DB)).ok().flatten().is_none() {
        let _ = storage.set_item(&key(PHOTO_DB), "\"daohu\"");
    }
    for old in legacy {
        let Ok(Some(value)) = raw_get(&old) else { continue };
        let new = format!("{prefix}{}", &old[PREFIX.len()..]);
        if storage.set_item(&new, &value).is_ok() {
            let _ = storage.remove_item(&old);
        }
    }
}

/// When the stored session (which every tab shares) is no longer this tab's
/// account (another tab signed in as someone else, or signed out), reloads the
/// page to start again as that, and says so.
pub fn reload_if_account_changed() -> bool {
    if load_session().map(|s| s.member.id) == account() {
        return false;
    }
    if let Some(w) = web_sys::window() {
        let _ = w.location().reload();
    }
    true
}

/// The account whose records are read and written now, if any.
pub fn account() -> Option<Uuid> {
    ACCOUNT.with(|a| Uuid::parse_str(a.borrow()[ACCOUNTS.len()..].trim_end_matches(':')).ok())
}

/// Why a read or write of local storage failed.
#[derive(Clone, Debug, PartialEq)]
pub enum StorageError {
    /// The phone has no room left for this origin.
    Full,
    /// Local storage is switched off or not there (private mode, settings).
    Unavailable,
    /// Stored data could not be read.
    Corrupt(String),
    /// Written by a newer version of the app.
    TooNew,
}

impl StorageError {
    /// Plain words for the member, Chinese first.
    pub fn message(&self, zh: bool) -> String {
        match (self, zh) {
            (StorageError::Full, true) => "手机存储空间已满，这次没有保存。已经保存的记录不受影响。请先上传或清理手机空间后再试。".into(),
            (StorageError::Full, false) => "The phone's storage is full, so this was not saved. Records saved before are untouched. Upload or free some space, then try again.".into(),
            (StorageError::Unavailable, true) => "浏览器不允许保存数据（可能是无痕模式），这次没有保存。".into(),
            (StorageError::Unavailable, false) => "This browser does not allow saving (private mode?), so this was not saved.".into(),
            (StorageError::Corrupt(_), true) | (StorageError::TooNew, true) => "有一条保存的数据读不出来，已原样保留。".into(),
            (StorageError::Corrupt(_), false) | (StorageError::TooNew, false) => "A stored record could not be read; it was kept as it is.".into(),
        }
    }
}

/// Why the browser refused a write: no room, or no storage at all.
fn write_error(error: wasm_bindgen::JsValue) -> StorageError {
    let name = js_sys::Reflect::get(&error, &"name".into()).ok().and_then(|n| n.as_string());
    match name.as_deref() {
        Some("QuotaExceededError") | Some("NS_ERROR_DOM_QUOTA_REACHED") => StorageError::Full,
        _ => StorageError::Unavailable,
    }
}

/// The origin's local storage, or why there is none (private mode, settings).
fn store() -> Result<web_sys::Storage, StorageError> {
    match web_sys::window().map(|w| w.local_storage()) {
        Some(Ok(Some(storage))) => Ok(storage),
        _ => Err(StorageError::Unavailable),
    }
}

fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, StorageError> {
    match raw_get(key)? {
        None => Ok(None),
        Some(text) => json::from_str(&text).map(Some).map_err(StorageError::Corrupt),
    }
}

fn set<T: Serialize>(key: &str, value: &T) -> Result<(), StorageError> {
    set_text(key, json::to_string(value).map_err(StorageError::Corrupt)?)
}

/// Writes JSON text as it is (sealed when the key is).
fn set_text(key: &str, text: String) -> Result<(), StorageError> {
    if sealed_here(key) {
        vault::write(key.to_string(), text);
        return Ok(());
    }
    store()?.set_item(key, &text).map_err(write_error)
}

/// Whether `key` is one of the unlocked account's sealed values (read and
/// written through the vault).
fn sealed_here(key: &str) -> bool {
    vault::is_open() && is_sealable(key)
}

/// Whether `key` is a value of the current account that a PIN seals.
fn is_sealable(key: &str) -> bool {
    ACCOUNT.with(|a| key.strip_prefix(a.borrow().as_str()).is_some_and(|rest| !CLEAR.contains(&rest)))
}

fn raw_get(key: &str) -> Result<Option<String>, StorageError> {
    if sealed_here(key) {
        return Ok(vault::read(key));
    }
    store()?.get_item(key).map_err(|_| StorageError::Unavailable)
}

fn remove(key: &str) {
    let _ = remove_key(key);
}

fn remove_key(key: &str) -> Result<(), StorageError> {
    vault::forget(key);
    store()?.remove_item(key).map_err(|_| StorageError::Unavailable)
}

/// Every key that starts with `prefix` (with the unlocked account's values
/// whose sealed text is still on its way to storage).
fn keys_with(prefix: &str) -> Result<Vec<String>, StorageError> {
    let storage = store()?;
    let n = storage.length().map_err(|_| StorageError::Unavailable)?;
    let mut keys: Vec<String> = (0..n).filter_map(|i| storage.key(i).ok().flatten()).filter(|k| k.starts_with(prefix)).collect();
    for k in vault::unstored_with(prefix) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    Ok(keys)
}

/// Waits until every sealed write so far is stored (at once without a PIN);
/// a screen awaits this before it says "saved".
pub async fn flushed() -> Result<(), StorageError> {
    vault::flushed().await.map_err(|why| match why.as_str() {
        "QuotaExceededError" | "NS_ERROR_DOM_QUOTA_REACHED" => StorageError::Full,
        _ => StorageError::Unavailable,
    })
}

fn visit_key(id: Uuid) -> String {
    key(&format!("{VISIT}{id}"))
}

/// Saves one visit. Returns only after the browser has taken the write.
pub fn save_visit(v: &LocalVisit) -> Result<(), StorageError> {
    set(&visit_key(v.visit.id), v)
}

/// Removes a visit (only drafts are ever discarded).
pub fn delete_visit(id: Uuid) -> Result<(), StorageError> {
    remove_key(&visit_key(id))
}

/// What loading the stored visits found.
#[derive(Default)]
pub struct LoadedVisits {
    pub visits: Vec<LocalVisit>,
    /// Records that could not be read; left in place untouched.
    pub unreadable: usize,
}

/// Reads every stored visit, migrating older shapes and writing them back.
/// The keys themselves are the index, so no record can be orphaned by a
/// write interrupted between a record and an index.
pub fn load_visits() -> Result<LoadedVisits, StorageError> {
    let keys = keys_with(&key(VISIT))?;
    let mut out = LoadedVisits::default();
    for key in keys {
        let Some(text) = raw_get(&key)? else { continue };
        match LocalVisit::from_stored(&text) {
            // Another account's visit (kept from before accounts were kept apart):
            // it goes to that account's records, to upload when it signs in.
            // (Not while sealed: the text here is read, and the other account's space is not this vault's.)
            Ok((v, _)) if account().is_some_and(|me| me != v.visit.member_id) && !vault::is_open() => {
                let theirs = format!("{ACCOUNTS}{}:{VISIT}{}", v.visit.member_id, v.visit.id);
                if store()?.set_item(&theirs, &text).is_ok() {
                    remove(&key);
                }
            }
            Ok((v, migrated)) => {
                if migrated {
                    // If the write-back fails the old shape stays and migrates again next time.
                    let _ = save_visit(&v);
                }
                out.visits.push(v);
            }
            Err(MigrationError::TooNew(_)) | Err(MigrationError::Unreadable(_)) => out.unreadable += 1,
        }
    }
    daohu_domain::order::sort_by(&mut out.visits, |a, b| a.visit.recorded_at > b.visit.recorded_at);
    Ok(out)
}

/// Reads one stored visit.
pub fn load_visit(id: Uuid) -> Result<Option<LocalVisit>, StorageError> {
    match raw_get(&visit_key(id))? {
        None => Ok(None),
        Some(text) => match LocalVisit::from_stored(&text) {
            Ok((v, _)) => Ok(Some(v)),
            Err(MigrationError::TooNew(_)) => Err(StorageError::TooNew),
            Err(MigrationError::Unreadable(e)) => Err(StorageError::Corrupt(e)),
        },
    }
}

/// Saves a problem change made on the phone (one key each, like visits).
pub fn save_event(e: &daohu_domain::LocalEvent) -> Result<(), StorageError> {
    set(&key(&format!("{EVENT}{}", e.event.id)), e)
}

/// Every problem change kept on the phone; unreadable ones are left in place.
pub fn load_events() -> Result<Vec<daohu_domain::LocalEvent>, StorageError> {
    let keys = keys_with(&key(EVENT))?;
    Ok(keys.iter().filter_map(|k| get::<daohu_domain::LocalEvent>(k).ok().flatten()).collect())
}

/// Kinds of the volunteer-activity records (activities with their photos, check-ins).
pub const ACTIVITY_RECORDS: &[&str] = &[ACTIVITY, CHECKIN];
/// Kinds of every record that uploads (visits, problem changes, activities, check-ins).
pub const ALL_RECORDS: &[&str] = &[VISIT, EVENT, ACTIVITY, CHECKIN];
/// Kinds of the records that upload from the visit app (visits, problem changes).
pub const VISIT_RECORDS: &[&str] = &[VISIT, EVENT];

/// How many of the current account's records of these kinds wait to upload,
/// read from the raw text so a bundle can count records whose types it does
/// not carry. Every stored envelope ends with its `sync` (and an activity's
/// `photo_states`): serde writes fields in order, so a `"pending"` after the
/// last `"sync":` is a waiting record or photo; text typed by people sits
/// before it, escaped.
pub fn count_waiting_raw(kinds: &[&str]) -> usize {
    kinds.iter().map(|kind| count_waiting_under(&key(kind))).sum()
}

fn count_waiting_under(prefix: &str) -> usize {
    keys_with(prefix)
        .unwrap_or_default()
        .iter()
        .filter(|k| {
            raw_get(k).ok().flatten().is_some_and(|text| {
                text.rsplit_once("\"sync\":").is_some_and(|(_, tail)| tail.contains("\"pending\""))
            })
        })
        .count()
}

/// Another account on this phone whose records wait to upload: they upload
/// when it signs in here again, or go to a coordinator in the export file.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingElsewhere {
    pub account: Uuid,
    /// Name and phone number as the account last signed in here.
    pub who: String,
    pub waiting: usize,
}

/// The other accounts on this phone with records waiting to upload.
pub fn waiting_elsewhere() -> Vec<WaitingElsewhere> {
    let mine = account();
    let mut accounts: Vec<Uuid> = keys_with(ACCOUNTS)
        .unwrap_or_default()
        .iter()
        .filter_map(|k| k[ACCOUNTS.len()..].split_once(':').and_then(|(id, _)| Uuid::parse_str(id).ok()))
        .filter(|id| Some(*id) != mine)
        .collect();
    daohu_domain::order::sort_by(&mut accounts, |a, b| a < b);
    accounts.dedup();
    accounts
        .into_iter()
        .filter_map(|account| {
            let prefix = format!("{ACCOUNTS}{account}:");
            let counted: usize = ALL_RECORDS.iter().map(|kind| count_waiting_under(&format!("{prefix}{kind}"))).sum();
            // A locked account's records are sealed: its count as it signed out.
            let waiting = counted.max(get::<usize>(&format!("{prefix}{WAITING}")).ok().flatten().unwrap_or(0));
            let who = get::<String>(&format!("{prefix}{WHO}")).ok().flatten().unwrap_or_default();
            (waiting > 0).then_some(WaitingElsewhere { account, who, waiting })
        })
        .collect()
}

/// Another account's visits on this phone that have not uploaded (waiting, or
/// refused and needing a person), for the export file a coordinator imports.
pub fn unsent_visits_of(account: Uuid) -> Vec<daohu_domain::Visit> {
    keys_with(&format!("{ACCOUNTS}{account}:{VISIT}"))
        .unwrap_or_default()
        .iter()
        .filter_map(|k| raw_get(k).ok().flatten())
        .filter_map(|text| LocalVisit::from_stored(&text).ok().map(|(v, _)| v))
        .filter(|v| v.sync.unsent())
        .map(|v| v.visit)
        .collect()
}

/// Notes who the current account is (name and phone), for other accounts'
/// screens on this phone.
pub fn save_who(who: &str) {
    let _ = set(&key(WHO), &who.to_string());
}

/// Who the current account is (name and phone), as noted by [`save_who`].
pub fn load_who() -> Option<String> {
    get(&key(WHO)).ok().flatten()
}

/// Removes every record of the current account from this phone (local storage
/// and its photos' database); the phone's own keys stay.
pub fn remove_account_data() -> Result<(), StorageError> {
    let storage = store()?;
    let photos = photo_db();
    let prefix = ACCOUNT.with(|a| a.borrow().clone());
    for k in keys_with(&prefix)? {
        vault::forget(&k);
        storage.remove_item(&k).map_err(|_| StorageError::Unavailable)?;
    }
    vault::close();
    if let Some(idb) = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()) {
        let _ = idb.delete_database(&photos);
    }
    Ok(())
}

/// The IndexedDB database that holds the current account's photos: its own,
/// or the shared one of phones from before accounts were kept apart.
pub fn photo_db() -> String {
    get::<String>(&key(PHOTO_DB))
        .ok()
        .flatten()
        .unwrap_or_else(|| ACCOUNT.with(|a| format!("daohu-{}", a.borrow()[ACCOUNTS.len()..].trim_end_matches(':'))))
}

/// Saves one activity (its photos live in IndexedDB, see `photos`).
pub fn save_activity(a: &daohu_domain::LocalActivity) -> Result<(), StorageError> {
    set(&key(&format!("{ACTIVITY}{}", a.activity.id)), a)
}

pub fn delete_activity(id: Uuid) -> Result<(), StorageError> {
    remove_key(&key(&format!("{ACTIVITY}{id}")))
}

/// Reads one stored activity.
pub fn load_activity(id: Uuid) -> Result<Option<daohu_domain::LocalActivity>, StorageError> {
    get(&key(&format!("{ACTIVITY}{id}")))
}

/// Every activity kept on the phone, newest first, and how many could not be read.
pub fn load_activities() -> Result<(Vec<daohu_domain::LocalActivity>, usize), StorageError> {
    let mut out = Vec::new();
    let mut unreadable = 0;
    for key in keys_with(&key(ACTIVITY))? {
        match get::<daohu_domain::LocalActivity>(&key) {
            Ok(Some(a)) if a.schema <= daohu_domain::LOCAL_SCHEMA_VERSION => out.push(a),
            Ok(None) => {}
            _ => unreadable += 1,
        }
    }
    let when = |a: &daohu_domain::LocalActivity| (a.activity.date, a.activity.start, a.activity.recorded_at);
    daohu_domain::order::sort_by(&mut out, |a, b| when(a) > when(b));
    Ok((out, unreadable))
}

pub fn save_check_in(c: &daohu_domain::LocalCheckIn) -> Result<(), StorageError> {
    set(&key(&format!("{CHECKIN}{}", c.check_in.id)), c)
}

pub fn load_check_ins() -> Result<Vec<daohu_domain::LocalCheckIn>, StorageError> {
    let mut out: Vec<daohu_domain::LocalCheckIn> =
        keys_with(&key(CHECKIN))?.iter().filter_map(|k| get(k).ok().flatten()).collect();
    daohu_domain::order::sort_by(&mut out, |a, b| a.check_in.at < b.check_in.at);
    Ok(out)
}

pub fn load_activity_roster() -> Option<daohu_domain::ActivityRoster> {
    get(&key(ACTIVITY_ROSTER)).ok().flatten()
}

pub fn save_activity_roster(r: &daohu_domain::ActivityRoster) -> Result<(), StorageError> {
    set(&key(ACTIVITY_ROSTER), r)
}

/// Whether the volunteer lets check-ins record the phone's location.
pub fn geo_allowed() -> bool {
    get::<bool>(&key(GEO)).ok().flatten().unwrap_or(false)
}

pub fn set_geo_allowed(on: bool) -> Result<(), StorageError> {
    set(&key(GEO), &on)
}

/// The phone's session key when the session is sealed: only whose it is.
#[derive(Serialize, Deserialize)]
struct SealedSession {
    sealed: Uuid,
}

/// The signed-in session: the phone's, or (with a PIN) the unlocked account's.
pub fn load_session() -> Option<Session> {
    let text = raw_get(KEY_SESSION).ok()??;
    if let Ok(s) = json::from_str::<Session>(&text) {
        return Some(s);
    }
    let sealed: SealedSession = json::from_str(&text).ok()?;
    get(&format!("{ACCOUNTS}{}:{SESSION}", sealed.sealed)).ok().flatten()
}

/// The account signed in on this phone, locked or not.
pub fn session_account() -> Option<Uuid> {
    let text = raw_get(KEY_SESSION).ok()??;
    match json::from_str::<Session>(&text) {
        Ok(s) => Some(s.member.id),
        Err(_) => json::from_str::<SealedSession>(&text).ok().map(|s| s.sealed),
    }
}

/// Keeps the session: sealed in the account's space while its records are
/// unlocked under a PIN, otherwise as the phone's own key.
pub fn save_session(s: &Session) -> Result<(), StorageError> {
    if account() == Some(s.member.id) && sealed_here(&key(SESSION)) {
        set(&key(SESSION), s)?;
        return set(KEY_SESSION, &SealedSession { sealed: s.member.id });
    }
    set(KEY_SESSION, s)
}

/// Whether the stored session is the phone's own readable key (a PIN was set
/// since, or it was kept just after a password sign-in).
pub fn session_in_clear() -> bool {
    raw_get(KEY_SESSION).ok().flatten().is_some_and(|t| json::from_str::<Session>(&t).is_ok())
}

/// Forgets the token but nothing recorded.
pub fn clear_session() {
    remove(KEY_SESSION);
    if account().is_some() {
        remove(&key(SESSION));
    }
}

/// The account's lock record, if it has set a PIN.
pub fn load_lock() -> Option<daohu_domain::lock::PhoneLock> {
    get(&key(LOCK)).ok().flatten()
}

pub fn save_lock(lock: &daohu_domain::lock::PhoneLock) -> Result<(), StorageError> {
    set(&key(LOCK), lock)
}

pub fn remove_lock() {
    remove(&key(LOCK));
}

/// Whether a coordinator requires a PIN for this account (as last heard from the server).
pub fn pin_required() -> bool {
    get::<bool>(&key(PIN_REQUIRED)).ok().flatten().unwrap_or(false)
}

pub fn set_pin_required(on: bool) {
    let _ = set(&key(PIN_REQUIRED), &on);
}

/// The data key (raw, hex) and its copy wrapped by the phone key, kept while no PIN is set.
pub fn spare_key() -> Option<(String, String)> {
    Some((get(&key(DATA_KEY)).ok()??, get(&key(KEY_WRAP)).ok()??))
}

pub fn save_spare_key(raw: &str, wrapped: &str) -> Result<(), StorageError> {
    set(&key(KEY_WRAP), &wrapped.to_string())?;
    set(&key(DATA_KEY), &raw.to_string())
}

/// Forgets the raw data key (a PIN now wraps it).
pub fn drop_spare_key() {
    remove(&key(DATA_KEY));
    remove(&key(KEY_WRAP));
}

/// Notes how many records wait to upload (read by other accounts' screens once this one is sealed).
pub fn save_waiting(n: usize) {
    let _ = set(&key(WAITING), &n);
}

/// The current account's values a PIN seals, as stored (sealed or not).
pub fn sealable_entries() -> Vec<(String, String)> {
    let prefix = ACCOUNT.with(|a| a.borrow().clone());
    let Ok(storage) = store() else { return Vec::new() };
    keys_with(&prefix)
        .unwrap_or_default()
        .into_iter()
        .filter(|k| is_sealable(k))
        .filter_map(|k| storage.get_item(&k).ok().flatten().map(|v| (k, v)))
        .collect()
}

/// Writes values back as readable text (a PIN removed).
pub fn store_in_clear(entries: &[(String, String)]) -> Result<(), StorageError> {
    let storage = store()?;
    for (k, v) in entries {
        storage.set_item(k, v).map_err(write_error)?;
    }
    Ok(())
}

pub fn load_roster() -> Option<RosterResponse> {
    get(&key(ROSTER)).ok().flatten()
}

/// Keeps the roster as the server sent it: the phone never writes a roster of
/// its own, so it carries no code to turn one back into text.
pub fn save_roster(text: String) -> Result<(), StorageError> {
    set_text(&key(ROSTER), text)
}

/// This phone's id, made once and kept.
pub fn device_id(make: impl FnOnce() -> Uuid) -> Uuid {
    if let Ok(Some(id)) = get::<Uuid>(KEY_DEVICE) {
        return id;
    }
    let id = make();
    let _ = set(KEY_DEVICE, &id);
    id
}

/// What the outbox screen shows about past uploads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OutboxMeta {
    /// Unix milliseconds of the last upload the server answered.
    pub last_success_ms: Option<f64>,
    /// Plain words of the last failure, cleared by a success.
    pub last_error: Option<String>,
}

pub fn load_outbox_meta() -> OutboxMeta {
    get(&key(OUTBOX)).ok().flatten().unwrap_or_default()
}

pub fn save_outbox_meta(m: &OutboxMeta) -> Result<(), StorageError> {
    set(&key(OUTBOX), m)
}

pub fn load_lang() -> Option<String> {
    get(KEY_LANG).ok().flatten()
}

pub fn save_lang(lang: &str) -> Result<(), StorageError> {
    set(KEY_LANG, &lang.to_string())
}

/// Another tab changed a key: with the records unlocked, its new sealed value
/// is read into memory first; then `then` runs (and rereads what it shows).
pub fn follow_other_tab(ev: &web_sys::StorageEvent, then: impl FnOnce() + 'static) {
    let Some(k) = ev.key().filter(|k| vault::is_open() && is_sealable(k)) else { return then() };
    match (ev.new_value(), vault::key()) {
        (Some(v), Some(key)) if vault::is_sealed(&v) => wasm_bindgen_futures::spawn_local(async move {
            if let Some(text) = vault::unseal(&key, &k, &v).await {
                vault::set_read(k, text);
            }
            then();
        }),
        (Some(v), _) => {
            vault::set_read(k, v);
            then();
        }
        (None, _) => {
            vault::forget(&k);
            then();
        }
    }
}

/// Whether a `storage` event from another tab concerns this app's data.
pub fn is_our_key(key: &str) -> bool {
    key.starts_with(PREFIX)
}

/// What local storage holds, in UTF-16 code units (what the browser's limit
/// counts): (everything, this account's visits, how many visits). For
/// `daohu_domain::visits_room`.
pub fn local_usage() -> Option<(u64, u64, u64)> {
    let storage = store().ok()?;
    let visits = key(VISIT);
    let (mut all, mut in_visits, mut count) = (0, 0, 0);
    for i in 0..storage.length().ok()? {
        let Some(k) = storage.key(i).ok().flatten() else { continue };
        let value = storage.get_item(&k).ok().flatten().unwrap_or_default();
        let units = (k.encode_utf16().count() + value.encode_utf16().count()) as u64;
        all += units;
        if k.starts_with(&visits) {
            in_visits += units;
            count += 1;
        }
    }
    Some((all, in_visits, count))
}

/// Bytes used and allowed for this site, where the browser says.
pub async fn estimate() -> Option<(f64, f64)> {
    use js_sys::Reflect;
    use wasm_bindgen::JsCast;
    let nav = web_sys::window()?.navigator();
    let storage = Reflect::get(&nav, &"storage".into()).ok()?;
    let estimate = Reflect::get(&storage, &"estimate".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
    let promise = estimate.call0(&storage).ok()?.dyn_into::<js_sys::Promise>().ok()?;
    let result = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    let used = Reflect::get(&result, &"usage".into()).ok()?.as_f64()?;
    let quota = Reflect::get(&result, &"quota".into()).ok()?.as_f64()?;
    Some((used, quota))
}
