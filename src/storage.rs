//! The one place the app touches the phone's local storage.
//!
//! Keys carry a version (`daohu:v1:…`) and every visit has a key of its own, so
//! a save costs the same with 10 or 10,000 records and a failed write can only
//! affect the one record being written. Errors are typed and never panic.

use daohu_domain::{LocalVisit, MigrationError, RosterResponse, Session};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use uuid::Uuid;

use crate::json;

const PREFIX: &str = "daohu:v1:";
const VISIT_PREFIX: &str = "daohu:v1:visit:";
const EVENT_PREFIX: &str = "daohu:v1:event:";
const ACTIVITY_PREFIX: &str = "daohu:v1:activity:";
const CHECKIN_PREFIX: &str = "daohu:v1:checkin:";
const KEY_ACTIVITY_ROSTER: &str = "daohu:v1:activity-roster";
const KEY_GEO: &str = "daohu:v1:geo-allowed";
const KEY_SESSION: &str = "daohu:v1:session";
const KEY_ROSTER: &str = "daohu:v1:roster";
const KEY_DEVICE: &str = "daohu:v1:device";
const KEY_OUTBOX: &str = "daohu:v1:outbox";
const KEY_LANG: &str = "daohu:v1:lang";

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
    let text = json::to_string(value).map_err(StorageError::Corrupt)?;
    store()?.set_item(key, &text).map_err(write_error)
}

fn raw_get(key: &str) -> Result<Option<String>, StorageError> {
    store()?.get_item(key).map_err(|_| StorageError::Unavailable)
}

fn remove(key: &str) {
    if let Ok(storage) = store() {
        let _ = storage.remove_item(key);
    }
}

/// Every key that starts with `prefix`.
fn keys_with(prefix: &str) -> Result<Vec<String>, StorageError> {
    let storage = store()?;
    let n = storage.length().map_err(|_| StorageError::Unavailable)?;
    Ok((0..n).filter_map(|i| storage.key(i).ok().flatten()).filter(|k| k.starts_with(prefix)).collect())
}

fn visit_key(id: Uuid) -> String {
    format!("{VISIT_PREFIX}{id}")
}

/// Saves one visit. Returns only after the browser has taken the write.
pub fn save_visit(v: &LocalVisit) -> Result<(), StorageError> {
    set(&visit_key(v.visit.id), v)
}

/// Removes a visit (only drafts are ever discarded).
pub fn delete_visit(id: Uuid) -> Result<(), StorageError> {
    store()?.remove_item(&visit_key(id)).map_err(|_| StorageError::Unavailable)
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
    let keys = keys_with(VISIT_PREFIX)?;
    let mut out = LoadedVisits::default();
    for key in keys {
        let Some(text) = raw_get(&key)? else { continue };
        match LocalVisit::from_stored(&text) {
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
    out.visits.sort_unstable_by_key(|v| std::cmp::Reverse(v.visit.recorded_at));
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
    set(&format!("{EVENT_PREFIX}{}", e.event.id), e)
}

/// Every problem change kept on the phone; unreadable ones are left in place.
pub fn load_events() -> Result<Vec<daohu_domain::LocalEvent>, StorageError> {
    let keys = keys_with(EVENT_PREFIX)?;
    Ok(keys.iter().filter_map(|k| get::<daohu_domain::LocalEvent>(k).ok().flatten()).collect())
}

/// Key prefixes of the volunteer-activity records (activities with their photos, check-ins).
pub const ACTIVITY_RECORDS: &[&str] = &[ACTIVITY_PREFIX, CHECKIN_PREFIX];
/// Key prefixes of every record that uploads (visits, problem changes, activities, check-ins).
pub const ALL_RECORDS: &[&str] = &[VISIT_PREFIX, EVENT_PREFIX, ACTIVITY_PREFIX, CHECKIN_PREFIX];

/// How many records under these key prefixes wait to upload, read from the raw
/// text so a bundle can count records whose types it does not carry. Every
/// stored envelope ends with its `sync` (and an activity's `photo_states`):
/// serde writes fields in order, so a `"pending"` after the last `"sync":` is a
/// waiting record or photo; text typed by people sits before it, escaped.
pub fn count_waiting_raw(prefixes: &[&str]) -> usize {
    let mut n = 0;
    for prefix in prefixes {
        for key in keys_with(prefix).unwrap_or_default() {
            if let Ok(Some(text)) = raw_get(&key) {
                if text.rsplit_once("\"sync\":").is_some_and(|(_, tail)| tail.contains("\"pending\"")) {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Saves one activity (its photos live in IndexedDB, see `photos`).
pub fn save_activity(a: &daohu_domain::LocalActivity) -> Result<(), StorageError> {
    set(&format!("{ACTIVITY_PREFIX}{}", a.activity.id), a)
}

pub fn delete_activity(id: Uuid) -> Result<(), StorageError> {
    store()?.remove_item(&format!("{ACTIVITY_PREFIX}{id}")).map_err(|_| StorageError::Unavailable)
}

/// Reads one stored activity.
pub fn load_activity(id: Uuid) -> Result<Option<daohu_domain::LocalActivity>, StorageError> {
    get(&format!("{ACTIVITY_PREFIX}{id}"))
}

/// Every activity kept on the phone, newest first, and how many could not be read.
pub fn load_activities() -> Result<(Vec<daohu_domain::LocalActivity>, usize), StorageError> {
    let mut out = Vec::new();
    let mut unreadable = 0;
    for key in keys_with(ACTIVITY_PREFIX)? {
        match get::<daohu_domain::LocalActivity>(&key) {
            Ok(Some(a)) if a.schema <= daohu_domain::LOCAL_SCHEMA_VERSION => out.push(a),
            Ok(None) => {}
            _ => unreadable += 1,
        }
    }
    out.sort_unstable_by_key(|a| std::cmp::Reverse((a.activity.date, a.activity.start, a.activity.recorded_at)));
    Ok((out, unreadable))
}

pub fn save_check_in(c: &daohu_domain::LocalCheckIn) -> Result<(), StorageError> {
    set(&format!("{CHECKIN_PREFIX}{}", c.check_in.id), c)
}

pub fn load_check_ins() -> Result<Vec<daohu_domain::LocalCheckIn>, StorageError> {
    let mut out: Vec<daohu_domain::LocalCheckIn> =
        keys_with(CHECKIN_PREFIX)?.iter().filter_map(|k| get(k).ok().flatten()).collect();
    out.sort_unstable_by_key(|c| c.check_in.at);
    Ok(out)
}

pub fn load_activity_roster() -> Option<daohu_domain::ActivityRoster> {
    get(KEY_ACTIVITY_ROSTER).ok().flatten()
}

pub fn save_activity_roster(r: &daohu_domain::ActivityRoster) -> Result<(), StorageError> {
    set(KEY_ACTIVITY_ROSTER, r)
}

/// Whether the volunteer lets check-ins record the phone's location.
pub fn geo_allowed() -> bool {
    get::<bool>(KEY_GEO).ok().flatten().unwrap_or(false)
}

pub fn set_geo_allowed(on: bool) -> Result<(), StorageError> {
    set(KEY_GEO, &on)
}

pub fn load_session() -> Option<Session> {
    get(KEY_SESSION).ok().flatten()
}

pub fn save_session(s: &Session) -> Result<(), StorageError> {
    set(KEY_SESSION, s)
}

/// Forgets the token but nothing recorded.
pub fn clear_session() {
    remove(KEY_SESSION);
}

pub fn load_roster() -> Option<RosterResponse> {
    get(KEY_ROSTER).ok().flatten()
}

pub fn save_roster(r: &RosterResponse) -> Result<(), StorageError> {
    set(KEY_ROSTER, r)
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
    get(KEY_OUTBOX).ok().flatten().unwrap_or_default()
}

pub fn save_outbox_meta(m: &OutboxMeta) -> Result<(), StorageError> {
    set(KEY_OUTBOX, m)
}

pub fn load_lang() -> Option<String> {
    get(KEY_LANG).ok().flatten()
}

pub fn save_lang(lang: &str) -> Result<(), StorageError> {
    set(KEY_LANG, &lang.to_string())
}

/// Whether a `storage` event from another tab concerns this app's data.
pub fn is_our_key(key: &str) -> bool {
    key.starts_with(PREFIX)
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
