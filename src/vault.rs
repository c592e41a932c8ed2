//! Sealed records on the phone (the app lock, issue 19): Web Crypto's AES-GCM
//! around each stored value, and the unlocked account's values kept readable
//! in memory.
//!
//! Web Crypto answers only asynchronously while the app reads storage
//! synchronously everywhere, so unlocking decrypts every value of the account
//! once into memory, reads come from there, and each write is sealed and
//! stored a moment later ([`flushed`] waits for that before a screen says
//! "saved"). The data key in use is not extractable; nothing sealed can be
//! read without the PIN or a password sign-in (see `unlock`). Each value is
//! bound to its storage key (AES-GCM's additional data), so a sealed record
//! cannot be moved under another key.
//!
//! The Web Crypto calls go through one generic caller ([`op`]) rather than
//! web-sys' typed bindings: one import instead of one a method, bytes on the phone.

use std::cell::RefCell;

use daohu_domain::lock::{pack, unpack, SEALED_MARK};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

const GCM: &str = "AES-GCM";
const IV_BYTES: usize = 12;

/// The unlocked account: its data key and its values, readable, sorted by name
/// (a sorted list rather than a map: the same lookups, fewer bytes of wasm).
struct Open {
    key: JsValue,
    plain: Vec<(String, String)>,
}

impl Open {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.plain.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }

    /// Sets a value; the one it replaces.
    fn put(&mut self, name: String, text: String) -> Option<String> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.plain[i].1, text)),
            Err(i) => {
                self.plain.insert(i, (name, text));
                None
            }
        }
    }

    fn take(&mut self, name: &str) -> Option<String> {
        self.find(name).ok().map(|i| self.plain.remove(i).1)
    }
}

thread_local! {
    static OPEN: RefCell<Option<Open>> = const { RefCell::new(None) };
    /// Writes sealed and not yet stored, and what waits for them all ([`flushed`]).
    static PENDING: RefCell<(usize, Vec<js_sys::Function>)> = const { RefCell::new((0, Vec::new())) };
    /// New names whose first value is not stored yet (storage does not list them).
    static UNSTORED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// The browser's reason (a DOMException name) a write since the last [`flushed`] failed.
    static FAILED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Calls `crypto.subtle.<name>(...args)` and waits for its answer.
pub async fn op(name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    JsFuture::from(op_promise(name, args)).await
}

/// A plain JavaScript object of these fields (Web Crypto's algorithm parameters).
pub fn obj(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

/// A JavaScript array of strings (key usages).
pub fn strings(list: &[&str]) -> JsValue {
    list.iter().map(|s| JsValue::from_str(s)).collect::<Array>().into()
}

pub fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// The bytes of an ArrayBuffer answer.
pub fn to_vec(buffer: &JsValue) -> Vec<u8> {
    Uint8Array::new(buffer).to_vec()
}

/// `n` bytes from the browser's cryptographic random source.
pub fn random(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = c.get_random_values_with_u8_array(&mut out);
    }
    out
}

/// The AES-GCM parameters for one message.
fn gcm(iv: &[u8], bound_to: &str) -> JsValue {
    obj(&[("name", GCM.into()), ("iv", bytes(iv)), ("additionalData", bytes(bound_to.as_bytes()))])
}

/// Seals `text` under `key`, bound to the storage key `name`.
pub async fn seal(key: &JsValue, name: &str, text: &str) -> Result<String, JsValue> {
    let all = seal_bytes(key, name, text.as_bytes()).await?;
    Ok(format!("{SEALED_MARK}{}", pack(&all)))
}

/// Seals bytes (a photo, or a value's text) under `key`, bound to `name`: IV then ciphertext.
pub async fn seal_bytes(key: &JsValue, name: &str, plain: &[u8]) -> Result<Vec<u8>, JsValue> {
    let iv = random(IV_BYTES);
    let sealed = op("encrypt", &[gcm(&iv, name), key.clone(), bytes(plain)]).await?;
    Ok([iv, to_vec(&sealed)].concat())
}

/// [`seal_bytes`]'s bytes back; `None` on the wrong key or name.
pub async fn unseal_bytes(key: &JsValue, name: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    op_promise_decrypt(key, name, sealed).map(JsFuture::from)?.await.ok().map(|p| to_vec(&p))
}

/// Starts decrypting [`seal_bytes`]'s bytes; `None` if they are too short to be any.
fn op_promise_decrypt(key: &JsValue, name: &str, sealed: &[u8]) -> Option<Promise> {
    (sealed.len() > IV_BYTES)
        .then(|| op_promise("decrypt", &[gcm(&sealed[..IV_BYTES], name), key.clone(), bytes(&sealed[IV_BYTES..])]))
}

/// Whether a stored value is sealed.
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED_MARK)
}

/// Reads a sealed value back; `None` if it is not one, or not this key's.
pub async fn unseal(key: &JsValue, name: &str, value: &str) -> Option<String> {
    let plain = unseal_bytes(key, name, &unpack(value.strip_prefix(SEALED_MARK)?)?).await?;
    String::from_utf8(plain).ok()
}

/// Opens the vault with the data key and the account's values, read.
pub fn open(key: JsValue, mut plain: Vec<(String, String)>) {
    daohu_domain::order::sort_by(&mut plain, |a, b| a.0 < b.0);
    OPEN.with(|o| *o.borrow_mut() = Some(Open { key, plain }));
}

pub fn is_open() -> bool {
    OPEN.with(|o| o.borrow().is_some())
}

/// The data key in use, while open.
pub fn key() -> Option<JsValue> {
    OPEN.with(|o| o.borrow().as_ref().map(|v| v.key.clone()))
}

/// A value of the open account, if it has one under `name`.
pub fn read(name: &str) -> Option<String> {
    OPEN.with(|o| o.borrow().as_ref().and_then(|v| v.find(name).ok().map(|i| v.plain[i].1.clone())))
}

/// The names starting with `prefix` whose first value is not stored yet.
pub fn unstored_with(prefix: &str) -> Vec<String> {
    UNSTORED.with(|u| u.borrow().iter().filter(|k| k.starts_with(prefix)).cloned().collect())
}

/// Forgets a value (it is removed from storage by the caller).
pub fn forget(name: &str) {
    OPEN.with(|o| {
        if let Some(v) = o.borrow_mut().as_mut() {
            v.take(name);
        }
    });
}

/// Keeps `text` as the value of `name` now and stores it sealed a moment
/// later. A later write or a removal of the same name wins: the sealed text is
/// stored only if the value is still the one sealed. If the browser refuses
/// the write (a full phone), the value before comes back, so what the app
/// shows matches what is stored, and [`flushed`] says why.
pub fn write(name: String, text: String) {
    let Some(key) = key() else { return };
    let before = OPEN.with(|o| o.borrow_mut().as_mut().and_then(|v| v.put(name.clone(), text.clone())));
    if before.is_none() {
        UNSTORED.with(|u| u.borrow_mut().push(name.clone()));
    }
    PENDING.with(|p| p.borrow_mut().0 += 1);
    wasm_bindgen_futures::spawn_local(async move {
        // Typing writes a draft on every change: a value already replaced is not sealed at all.
        let current = || OPEN.with(|o| o.borrow().as_ref().is_some_and(|v| v.find(&name).is_ok_and(|i| v.plain[i].1 == text)));
        let sealed = if current() { seal(&key, &name, &text).await } else { Err(JsValue::NULL) };
        if current() {
            let stored = sealed.and_then(|s| {
                web_sys::window()
                    .and_then(|w| w.local_storage().ok().flatten())
                    .ok_or(JsValue::NULL)?
                    .set_item(&name, &s)
            });
            if let Err(e) = stored {
                let why = Reflect::get(&e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
                FAILED.with(|f| *f.borrow_mut() = Some(why));
                OPEN.with(|o| {
                    if let Some(v) = o.borrow_mut().as_mut() {
                        match before {
                            Some(b) => v.put(name.clone(), b),
                            None => v.take(&name),
                        };
                    }
                });
            }
        }
        UNSTORED.with(|u| u.borrow_mut().retain(|k| *k != name));
        let waiting = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.0 -= 1;
            if p.0 == 0 { std::mem::take(&mut p.1) } else { Vec::new() }
        });
        for resolve in waiting {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
}

/// Waits until every write so far is stored; `Err` with the browser's reason
/// if one was refused since the last call.
pub async fn flushed() -> Result<(), String> {
    if PENDING.with(|p| p.borrow().0) > 0 {
        let done = Promise::new(&mut |resolve, _| PENDING.with(|p| p.borrow_mut().1.push(resolve)));
        let _ = JsFuture::from(done).await;
    }
    match FAILED.with(|f| f.borrow_mut().take()) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// Locks again: the key and the read values leave memory.
pub fn close() {
    OPEN.with(|o| *o.borrow_mut() = None);
}

/// Every value of the open account, read (to write them back unsealed).
pub fn entries() -> Vec<(String, String)> {
    OPEN.with(|o| o.borrow().as_ref().map(|v| v.plain.clone()).unwrap_or_default())
}

/// Starts `op` without waiting (to run many at once with `Promise.all`).
pub fn op_promise(name: &str, args: &[JsValue]) -> Promise {
    let call = || -> Result<Promise, JsValue> {
        let crypto = web_sys::window().ok_or(JsValue::NULL)?.crypto()?;
        let subtle: JsValue = crypto.subtle().into();
        let f: js_sys::Function = Reflect::get(&subtle, &name.into())?.dyn_into()?;
        f.apply(&subtle, &args.iter().collect::<Array>())?.dyn_into()
    };
    call().unwrap_or_else(|e| Promise::reject(&e))
}

/// Reads many sealed values at once (unlocking reads every value of the
/// account; one after another each would wait its turn). `None` for one that
/// does not read back.
pub async fn unseal_all(key: &JsValue, values: &[(String, String)]) -> Vec<Option<String>> {
    // A wrong one settles as `undefined` rather than failing them all.
    let settle = wasm_bindgen::closure::Closure::<dyn FnMut(JsValue)>::new(|_: JsValue| {});
    let promises: Array = values
        .iter()
        .map(|(name, value)| {
            match value.strip_prefix(SEALED_MARK).and_then(unpack).and_then(|all| op_promise_decrypt(key, name, &all)) {
                Some(decrypting) => decrypting.catch(&settle),
                None => Promise::resolve(&JsValue::NULL),
            }
        })
        .collect();
    let done = JsFuture::from(Promise::all(&promises)).await.map(|a| Array::from(&a)).unwrap_or_default();
    drop(settle);
    (0..values.len() as u32)
        .map(|i| {
            let v = done.get(i);
            (!v.is_null() && !v.is_undefined()).then(|| String::from_utf8(to_vec(&v)).ok()).flatten()
        })
        .collect()
}

/// Notes a value another tab stored (already read), without writing it again.
pub fn set_read(name: String, text: String) {
    OPEN.with(|o| {
        if let Some(v) = o.borrow_mut().as_mut() {
            v.put(name, text);
        }
    });
}
