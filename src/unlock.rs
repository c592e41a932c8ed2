//! The app lock's flows (issue 19): unlocking an account's sealed records with
//! its PIN or, just after a password sign-in, with the phone key the server
//! hands out then; setting, changing and removing the PIN; locking again when
//! the phone is left idle.
//!
//! The data key is made once per account and phone. It is wrapped twice: by a
//! key derived from the PIN (PBKDF2, `daohu_domain::lock::PIN_ROUNDS`) and by
//! the account's phone key from the server. A forgotten PIN therefore loses
//! nothing: signing in again online unwraps the second copy, and the member
//! sets a new PIN. Before a PIN is set the data key waits unwrapped beside the
//! records (they are readable then anyway), so a PIN can be set offline.

use std::cell::RefCell;
use daohu_domain::lock::{hex, unhex, PhoneLock, PhoneLockPolicy, IDLE_DEFAULT_MINUTES, PIN_ROUNDS};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use crate::api::SignedIn;
use crate::vault::{self, bytes, obj, op, random, strings, to_vec};
use crate::storage;

const GCM: &str = "AES-GCM";

thread_local! {
    /// The phone key, while this page has one (just after a password sign-in). Never stored.
    static PHONE_KEY: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The records were opened with the phone key (a password sign-in), not the PIN.
    static BY_PHONE_KEY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// When the unlocked app was last touched (Unix milliseconds).
    static LAST_TOUCH: RefCell<f64> = const { RefCell::new(0.0) };
}

/// What a page must do before it shows the account's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Nothing locked (or nobody signed in): go on.
    Open,
    /// The account has a PIN: ask it.
    Unlock,
    /// A coordinator requires a PIN and none is set: set one first.
    SetPin,
}

/// Why a PIN did not open the records, or could not be set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LockError {
    /// Wrong; with the milliseconds to wait before the next try (0: none).
    Wrong(f64),
    /// Too many wrong PINs: wait this many milliseconds.
    Wait(f64),
    /// Setting a first PIN needs the phone key: sign in with the password, online.
    NeedsSignIn,
    /// The browser could not do it (storage or Web Crypto refused).
    Failed,
}

impl LockError {
    /// Plain words, Chinese first.
    pub fn message(self, zh: bool) -> String {
        let secs = |ms: f64| (ms / 1000.0).ceil() as u64;
        match (self, zh) {
            (LockError::Wrong(w), true) if w > 0.0 => format!("PIN 不对。请等 {} 秒再试。", secs(w)),
            (LockError::Wrong(w), false) if w > 0.0 => format!("Wrong PIN. Wait {} seconds before trying again.", secs(w)),
            (LockError::Wrong(_), true) => "PIN 不对，请再试一次。".into(),
            (LockError::Wrong(_), false) => "Wrong PIN; please try again.".into(),
            (LockError::Wait(w), true) => format!("错的次数太多，请等 {} 秒再试。", secs(w)),
            (LockError::Wait(w), false) => format!("Too many wrong PINs. Wait {} seconds.", secs(w)),
            (LockError::NeedsSignIn, true) => "设置 PIN 前要联网，用密码重新登录一次（这样忘了 PIN 也能找回记录）。".into(),
            (LockError::NeedsSignIn, false) => "Before setting a PIN, sign in again with your password while online (so a forgotten PIN loses nothing).".into(),
            (LockError::Failed, true) => "手机没能完成这一步，记录没有变。请再试一次。".into(),
            (LockError::Failed, false) => "The phone could not do this; nothing was changed. Please try again.".into(),
        }
    }
}

/// What the page must do for the account signed in on this phone.
pub fn gate() -> Gate {
    let Some(id) = storage::session_account() else { return Gate::Open };
    if storage::account() != Some(id) {
        storage::use_account(Some(id));
    }
    if vault::is_open() {
        Gate::Open
    } else if storage::load_lock().is_some() {
        Gate::Unlock
    } else if must_set_pin() {
        Gate::SetPin
    } else {
        Gate::Open
    }
}

/// A coordinator requires a PIN here and none is set yet.
pub fn must_set_pin() -> bool {
    storage::pin_required() && storage::load_lock().is_none()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The key a PIN gives (non-extractable; it only wraps and unwraps the data key).
async fn pin_key(pin: &str, salt: &[u8], rounds: u32) -> Result<JsValue, JsValue> {
    let base = op("importKey", &["raw".into(), bytes(pin.as_bytes()), "PBKDF2".into(), false.into(), strings(&["deriveKey"])]).await?;
    let params = obj(&[("name", "PBKDF2".into()), ("salt", bytes(salt)), ("iterations", rounds.into()), ("hash", "SHA-256".into())]);
    op("deriveKey", &[params, base, aes(), false.into(), strings(&["wrapKey", "unwrapKey"])]).await
}

fn aes() -> JsValue {
    obj(&[("name", GCM.into()), ("length", 256.into())])
}

/// A raw AES key from hex: the phone key (wraps) or the data key (seals).
async fn import(raw_hex: &str, data: bool, extractable: bool) -> Result<JsValue, JsValue> {
    let raw = unhex(raw_hex).ok_or(JsValue::NULL)?;
    let usages = if data { ["encrypt", "decrypt"] } else { ["wrapKey", "unwrapKey"] };
    op("importKey", &["raw".into(), bytes(&raw), GCM.into(), extractable.into(), strings(&usages)]).await
}

/// The data key wrapped by `by`: IV and wrapped bytes, hex.
async fn wrap(data_key: &JsValue, by: &JsValue) -> Result<String, JsValue> {
    let iv = random(12);
    let wrapped = op("wrapKey", &["raw".into(), data_key.clone(), by.clone(), obj(&[("name", GCM.into()), ("iv", bytes(&iv))])]).await?;
    Ok(hex(&[iv, to_vec(&wrapped)].concat()))
}

/// The data key back from [`wrap`]'s text; fails on the wrong key.
async fn unwrap(wrapped_hex: &str, by: &JsValue, extractable: bool) -> Result<JsValue, JsValue> {
    let all = unhex(wrapped_hex).filter(|a| a.len() > 12).ok_or(JsValue::NULL)?;
    let params = obj(&[("name", GCM.into()), ("iv", bytes(&all[..12]))]);
    op(
        "unwrapKey",
        &["raw".into(), bytes(&all[12..]), by.clone(), params, GCM.into(), extractable.into(), strings(&["encrypt", "decrypt"])],
    )
    .await
}

/// Reads every value of the account with the data key and opens the vault;
/// values still readable (stored before the PIN, or while locked) are sealed now.
async fn open_with(data_key: JsValue) {
    let entries = storage::sealable_entries();
    let (sealed, readable): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(_, v)| vault::is_sealed(v));
    let read = vault::unseal_all(&data_key, &sealed).await;
    // A sealed value that does not read back stays as it is in storage, untouched.
    let plain: Vec<(String, String)> = sealed.into_iter().zip(read).filter_map(|((k, _), v)| v.map(|v| (k, v))).collect();
    vault::open(data_key, plain);
    for (k, v) in readable {
        vault::write(k, v);
    }
    // A session kept readable by a password sign-in is sealed by the PIN
    // (in `set_pin`: until then it is what asks the server for the phone key).
    if !opened_by_phone_key() {
        seal_session();
    }
    touched();
}

/// Opens the account's records with its PIN. Wrong PINs are counted in the
/// lock record (a reload does not start the count again).
pub async fn with_pin(pin: &str) -> Result<(), LockError> {
    let mut lock = storage::load_lock().ok_or(LockError::Failed)?;
    let data_key = key_from_pin(&mut lock, pin, false).await?;
    lock.right_pin();
    storage::save_lock(&lock).map_err(|_| LockError::Failed)?;
    open_with(data_key).await;
    Ok(())
}

/// The data key the PIN unwraps: refused while the lock record says to wait;
/// a wrong PIN is counted in the record (stored, so a reload keeps the count).
async fn key_from_pin(lock: &mut PhoneLock, pin: &str, extractable: bool) -> Result<JsValue, LockError> {
    let wait = lock.wait_ms(now_ms());
    if wait > 0.0 {
        return Err(LockError::Wait(wait));
    }
    let salt = unhex(&lock.salt).ok_or(LockError::Failed)?;
    let key = pin_key(pin, &salt, lock.rounds).await.map_err(|_| LockError::Failed)?;
    unwrap(&lock.by_pin, &key, extractable).await.map_err(|_| {
        lock.wrong_pin(now_ms());
        let _ = storage::save_lock(lock);
        LockError::Wrong(lock.wait_ms(now_ms()))
    })
}

/// Just after a password sign-in (the session is readable until a PIN seals
/// it again) on a phone whose records are locked: takes the phone key, which
/// the server hands out only then, and opens the records with it. The member
/// then sets a PIN again (perhaps the same): that is how a forgotten one is
/// replaced. False when offline, or the sign-in is not new.
pub async fn with_phone_key() -> bool {
    if !storage::session_in_clear() {
        return false;
    }
    let (Some(session), Some(lock)) = (storage::load_session(), storage::load_lock()) else { return false };
    let Some(phone_key) = refresh_policy(&SignedIn::new(&session)).await.and_then(|(_, key)| key) else { return false };
    let Ok(by) = import(&phone_key, false, false).await else { return false };
    match unwrap(&lock.by_server, &by, false).await {
        Ok(data_key) => {
            BY_PHONE_KEY.with(|b| b.set(true));
            open_with(data_key).await;
            true
        }
        Err(_) => false,
    }
}

/// Whether the records were opened by a password sign-in (the old PIN is then not asked).
pub fn opened_by_phone_key() -> bool {
    BY_PHONE_KEY.with(|b| b.get())
}

/// Asks the server whether a PIN is required here and notes it; a session
/// minutes old also gets the phone key, kept for this page (and, with no PIN
/// set, used to ready the data key so one can be set offline later).
pub async fn refresh_policy(api: &SignedIn) -> Option<(bool, Option<String>)> {
    let policy = api.get::<PhoneLockPolicy>("/api/me/phone-lock").await.ok()?;
    storage::set_pin_required(policy.pin_required);
    if let Some(key) = &policy.key {
        PHONE_KEY.with(|k| *k.borrow_mut() = Some(key.clone()));
        if storage::load_lock().is_none() {
            let _ = spare_key(key).await;
        }
    }
    Some((policy.pin_required, policy.key))
}

/// Makes the data key and its copy wrapped by the phone key, unless kept already.
async fn spare_key(phone_key: &str) -> Result<(String, String), JsValue> {
    if let Some(kept) = storage::spare_key() {
        return Ok(kept);
    }
    let data_key = op("generateKey", &[aes(), true.into(), strings(&["encrypt", "decrypt"])]).await?;
    let raw = hex(&to_vec(&op("exportKey", &["raw".into(), data_key.clone()]).await?));
    let wrapped = wrap(&data_key, &import(phone_key, false, false).await?).await?;
    // Two callers may have been making one at once (the page's policy request
    // and a PIN being set): one data key per account and phone, and none kept
    // in the clear once a PIN is set.
    if let Some(kept) = storage::spare_key() {
        return Ok(kept);
    }
    if storage::load_lock().is_some() {
        return Err(JsValue::NULL);
    }
    storage::save_spare_key(&raw, &wrapped).map_err(|_| JsValue::NULL)?;
    Ok((raw, wrapped))
}

/// The data key to read sealed photos: the vault's, or (a PIN removed since
/// they were sealed) the one kept beside the records.
pub async fn data_key() -> Option<JsValue> {
    if let Some(key) = vault::key() {
        return Some(key);
    }
    let (raw, _) = storage::spare_key()?;
    import(&raw, true, false).await.ok()
}

fn seal_session() {
    if storage::session_in_clear() {
        if let Some(s) = storage::load_session() {
            let _ = storage::save_session(&s);
        }
    }
}


/// Sets the PIN (`current`: the PIN it replaces, unless this page holds the
/// phone key or no PIN is set) and seals every value of the account.
pub async fn set_pin(pin: &str, current: Option<&str>) -> Result<(), LockError> {
    let phone_key = PHONE_KEY.with(|k| k.borrow().clone());
    let old = storage::load_lock();
    // The data key, extractable just long enough to wrap it under the new PIN.
    let (data_key, by_server) = match (&old, &phone_key) {
        (Some(l), Some(pk)) if opened_by_phone_key() => {
            let by = import(pk, false, false).await.map_err(|_| LockError::Failed)?;
            (unwrap(&l.by_server, &by, true).await.map_err(|_| LockError::Failed)?, l.by_server.clone())
        }
        (Some(l), _) => (key_from_pin(&mut l.clone(), current.unwrap_or_default(), true).await?, l.by_server.clone()),
        (None, _) => {
            let (raw, wrapped) = match (storage::spare_key(), &phone_key) {
                (Some(kept), _) => kept,
                (None, Some(pk)) => spare_key(pk).await.map_err(|_| LockError::Failed)?,
                // The page's own request for the phone key may still be on its
                // way (the page has just opened): wait for it here rather than
                // send the member to sign in again.
                (None, None) => {
                    let session = storage::load_session().ok_or(LockError::NeedsSignIn)?;
                    let fetched = refresh_policy(&SignedIn::new(&session)).await.and_then(|(_, key)| key);
                    spare_key(&fetched.ok_or(LockError::NeedsSignIn)?).await.map_err(|_| LockError::Failed)?
                }
            };
            (import(&raw, true, true).await.map_err(|_| LockError::Failed)?, wrapped)
        }
    };
    // Wrapped again under the phone key the page holds: after a server restore
    // lost the key the phone had, this is what makes a forgotten PIN recoverable again.
    let by_server = match &phone_key {
        Some(pk) => wrap(&data_key, &import(pk, false, false).await.map_err(|_| LockError::Failed)?).await.map_err(|_| LockError::Failed)?,
        None => by_server,
    };
    let salt = random(16);
    let key = pin_key(pin, &salt, PIN_ROUNDS).await.map_err(|_| LockError::Failed)?;
    let by_pin = wrap(&data_key, &key).await.map_err(|_| LockError::Failed)?;
    let lock = PhoneLock {
        salt: hex(&salt),
        rounds: PIN_ROUNDS,
        by_pin: by_pin.clone(),
        by_server,
        wrong: 0,
        wait_until_ms: 0.0,
        idle_minutes: old.as_ref().map(|l| l.idle_minutes).unwrap_or(IDLE_DEFAULT_MINUTES),
    };
    storage::save_lock(&lock).map_err(|_| LockError::Failed)?;
    if !vault::is_open() {
        // The copy in use is not extractable.
        let in_use = unwrap(&by_pin, &key, false).await.map_err(|_| LockError::Failed)?;
        open_with(in_use).await;
    }
    seal_session();
    storage::drop_spare_key();
    storage::flushed().await.map_err(|_| LockError::Failed)
}

/// Removes the PIN (not when a coordinator requires one): every value is
/// stored readable again, and the data key waits unwrapped beside them.
pub async fn remove_pin(current: &str) -> Result<(), LockError> {
    if storage::pin_required() {
        return Err(LockError::Failed);
    }
    let mut lock = storage::load_lock().ok_or(LockError::Failed)?;
    let data_key = key_from_pin(&mut lock, current, true).await?;
    let raw = op("exportKey", &["raw".into(), data_key]).await.map_err(|_| LockError::Failed)?;
    storage::flushed().await.map_err(|_| LockError::Failed)?;
    let session = storage::load_session();
    let entries = vault::entries();
    vault::close();
    storage::store_in_clear(&entries).map_err(|_| LockError::Failed)?;
    storage::save_spare_key(&hex(&to_vec(&raw)), &lock.by_server).map_err(|_| LockError::Failed)?;
    if let Some(s) = session {
        storage::save_session(&s).map_err(|_| LockError::Failed)?;
    }
    storage::remove_lock();
    Ok(())
}

/// Sets the minutes without a touch before the app locks.
pub fn set_idle_minutes(minutes: u32) -> Result<(), LockError> {
    let mut lock = storage::load_lock().ok_or(LockError::Failed)?;
    lock.idle_minutes = minutes;
    storage::save_lock(&lock).map_err(|_| LockError::Failed)
}

fn touched() {
    LAST_TOUCH.with(|t| *t.borrow_mut() = now_ms());
}

/// Locks the unlocked app when it is left untouched for the lock record's
/// minutes (checked every 15 s, and as the page comes back into view): every
/// write is stored first, then the page reloads to its lock screen.
pub fn watch_idle() {
    let Some(window) = web_sys::window() else { return };
    if !vault::is_open() {
        return;
    }
    touched();
    let touch = Closure::<dyn FnMut()>::new(touched).into_js_value();
    for event in ["pointerdown", "keydown", "input"] {
        let _ = window.add_event_listener_with_callback(event, touch.unchecked_ref());
    }
    let check = Closure::<dyn FnMut()>::new(|| {
        let idle = storage::load_lock().is_some_and(|l| l.idle_over(LAST_TOUCH.with(|t| *t.borrow()), now_ms()));
        if idle && vault::is_open() {
            wasm_bindgen_futures::spawn_local(async {
                let _ = storage::flushed().await;
                vault::close();
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            });
        }
    })
    .into_js_value();
    let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(check.unchecked_ref(), 15_000);
    if let Some(doc) = window.document() {
        let _ = doc.add_event_listener_with_callback("visibilitychange", check.unchecked_ref());
    }
}
