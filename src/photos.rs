//! Activity photos on the phone: shrunk to a JPEG whose long side is at most
//! 1280 px, kept in IndexedDB (local storage holds only text and about 5 MB),
//! hashed with SHA-256 so the server can check every byte it receives.
//!
//! Only the activities bundle uses this module, so the visit app carries none of it.
//! Each account's photos are in a database of its own (`storage::photo_db`).

use js_sys::{Promise, Reflect, Uint8Array};
use uuid::Uuid;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, IdbDatabase, IdbTransactionMode};

const DB_VERSION: u32 = 1;
const STORE: &str = "photos";
/// JPEG quality of shrunk photos: small on a rural line, still clear on a screen.
const JPEG_QUALITY: f64 = 0.8;

/// Why a photo could not be kept or read.
#[derive(Clone, Debug, PartialEq)]
pub enum PhotoError {
    /// No room on the phone for this photo.
    Full,
    /// The browser does not let this app keep photos (private mode, settings).
    Unavailable,
    /// The file is not a picture the browser can open.
    NotAnImage,
    /// The photo is no longer on the phone.
    Missing,
}

impl PhotoError {
    /// Plain words, Chinese first.
    pub fn message(&self, zh: bool) -> &'static str {
        match (self, zh) {
            (PhotoError::Full, true) => "手机存储空间不够，这张照片没有保存。已经保存的记录和照片不受影响。请先上传或清理手机空间。",
            (PhotoError::Full, false) => "Not enough room on the phone: this photo was not kept. Records and photos saved before are untouched. Upload or free some space first.",
            (PhotoError::Unavailable, true) => "浏览器不允许保存照片（可能是无痕模式）。",
            (PhotoError::Unavailable, false) => "This browser does not allow keeping photos (private mode?).",
            (PhotoError::NotAnImage, true) => "这个文件打不开，请选一张照片。",
            (PhotoError::NotAnImage, false) => "This file cannot be opened; choose a photo.",
            (PhotoError::Missing, true) => "照片已不在手机上。",
            (PhotoError::Missing, false) => "The photo is no longer on the phone.",
        }
    }
}

/// Reads a DOMException's name into a [`PhotoError`].
fn js_error(e: &JsValue) -> PhotoError {
    let name = Reflect::get(e, &"name".into()).ok().and_then(|n| n.as_string()).unwrap_or_default();
    // A full disk shows as a quota error, or (Chromium writing the blob file)
    // as a DataError / UnknownError "IOError".
    if matches!(name.as_str(), "QuotaExceededError" | "DataError" | "UnknownError") {
        PhotoError::Full
    } else {
        PhotoError::Unavailable
    }
}

/// Waits for one of an IndexedDB object's events: `ok` resolves with the
/// object's `result`, the others reject with its `error`.
async fn wait(target: &JsValue, ok: &str, fail: &[&str]) -> Result<JsValue, PhotoError> {
    let target = target.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let t = target.clone();
        let on_ok = Closure::once_into_js(move || {
            let result = Reflect::get(&t, &"result".into()).unwrap_or(JsValue::UNDEFINED);
            let _ = resolve.call1(&JsValue::NULL, &result);
        });
        let t = target.clone();
        let on_fail = Closure::<dyn FnMut()>::new(move || {
            let error = Reflect::get(&t, &"error".into()).unwrap_or(JsValue::NULL);
            let _ = reject.call1(&JsValue::NULL, &error);
        })
        .into_js_value();
        let _ = Reflect::set(&target, &format!("on{ok}").into(), &on_ok);
        for f in fail {
            let _ = Reflect::set(&target, &format!("on{f}").into(), &on_fail);
        }
    });
    JsFuture::from(promise).await.map_err(|e| js_error(&e))
}

async fn open() -> Result<IdbDatabase, PhotoError> {
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()).ok_or(PhotoError::Unavailable)?;
    let request = factory.open_with_u32(&crate::storage::photo_db(), DB_VERSION).map_err(|e| js_error(&e))?;
    let req = request.clone();
    let upgrade = Closure::once_into_js(move || {
        if let Ok(db) = req.result().and_then(|r| r.dyn_into::<IdbDatabase>().map_err(JsValue::from)) {
            if !db.object_store_names().contains(STORE) {
                let _ = db.create_object_store(STORE);
            }
        }
    });
    request.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
    wait(&request, "success", &["error", "blocked"]).await?.dyn_into().map_err(|_| PhotoError::Unavailable)
}

/// The name a sealed photo is bound to (AES-GCM's additional data).
fn sealed_name(id: Uuid) -> String {
    format!("photo:{id}")
}

/// Keeps a photo; returns only once the browser has written it for good.
/// With a PIN set, the photo is kept sealed (its bytes, encrypted).
pub async fn put(id: Uuid, blob: &Blob) -> Result<(), PhotoError> {
    let value: JsValue = match crate::vault::key() {
        Some(key) => {
            let plain = bytes(blob).await?.to_vec();
            Uint8Array::from(crate::vault::seal_bytes(&key, &sealed_name(id), &plain).await.map_err(|_| PhotoError::Unavailable)?.as_slice()).into()
        }
        None => blob.clone().into(),
    };
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(|e| js_error(&e))?;
    let store = tx.object_store(STORE).map_err(|e| js_error(&e))?;
    store.put_with_key(&value, &id.to_string().into()).map_err(|e| js_error(&e))?;
    let done = wait(&tx, "complete", &["error", "abort"]).await.map(|_| ());
    db.close();
    done
}

/// A kept photo, if it is still there.
pub async fn get(id: Uuid) -> Result<Option<Blob>, PhotoError> {
    let db = open().await?;
    let tx = db.transaction_with_str(STORE).map_err(|e| js_error(&e))?;
    let store = tx.object_store(STORE).map_err(|e| js_error(&e))?;
    let req = store.get(&id.to_string().into()).map_err(|e| js_error(&e))?;
    let value = wait(&req, "success", &["error"]).await?;
    db.close();
    if value.is_instance_of::<Blob>() {
        return Ok(value.dyn_into::<Blob>().ok());
    }
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    // Sealed: read with the data key (the vault's, or the one kept after a PIN was removed).
    let key = crate::unlock::data_key().await.ok_or(PhotoError::Missing)?;
    let plain = crate::vault::unseal_bytes(&key, &sealed_name(id), &Uint8Array::new(&value).to_vec()).await.ok_or(PhotoError::Missing)?;
    let parts = js_sys::Array::of1(&Uint8Array::from(plain.as_slice()));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("image/jpeg");
    Ok(Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok())
}

/// Seals the photos kept before a PIN was set (run as the activities open, unlocked).
pub async fn seal_kept() {
    if !crate::vault::is_open() {
        return;
    }
    let Ok(db) = open().await else { return };
    let keys = db
        .transaction_with_str(STORE)
        .and_then(|tx| tx.object_store(STORE))
        .and_then(|store| store.get_all_keys());
    db.close();
    let Ok(request) = keys else { return };
    let Ok(keys) = wait(&request, "success", &["error"]).await else { return };
    for key in js_sys::Array::from(&keys).iter() {
        let Some(id) = key.as_string().and_then(|k| Uuid::parse_str(&k).ok()) else { continue };
        let Ok(db) = open().await else { return };
        let raw = db.transaction_with_str(STORE).and_then(|tx| tx.object_store(STORE)).and_then(|s| s.get(&key));
        let value = match raw {
            Ok(req) => wait(&req, "success", &["error"]).await.ok(),
            Err(_) => None,
        };
        db.close();
        if let Some(blob) = value.and_then(|v| v.dyn_into::<Blob>().ok()) {
            let _ = put(id, &blob).await;
        }
    }
}

/// Forgets a photo (once the server has every byte, or when a draft drops it).
pub async fn delete(id: Uuid) -> Result<(), PhotoError> {
    let db = open().await?;
    let tx = db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(|e| js_error(&e))?;
    let store = tx.object_store(STORE).map_err(|e| js_error(&e))?;
    store.delete(&id.to_string().into()).map_err(|e| js_error(&e))?;
    let done = wait(&tx, "complete", &["error", "abort"]).await.map(|_| ());
    db.close();
    done
}

/// The photo shrunk so its long side is at most [`daohu_domain::activity::PHOTO_LONG_SIDE`], as JPEG.
pub async fn shrink(file: &Blob) -> Result<Blob, PhotoError> {
    let window = web_sys::window().ok_or(PhotoError::Unavailable)?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(window.create_image_bitmap_with_blob(file).map_err(|_| PhotoError::NotAnImage)?)
        .await
        .map_err(|_| PhotoError::NotAnImage)?
        .dyn_into()
        .map_err(|_| PhotoError::NotAnImage)?;
    let (w, h) = (bitmap.width().max(1), bitmap.height().max(1));
    let long = daohu_domain::activity::PHOTO_LONG_SIDE;
    let scale = (long as f64 / w.max(h) as f64).min(1.0);
    let (tw, th) = (((w as f64) * scale).round().max(1.0) as u32, ((h as f64) * scale).round().max(1.0) as u32);
    let doc = window.document().ok_or(PhotoError::Unavailable)?;
    let canvas: web_sys::HtmlCanvasElement =
        doc.create_element("canvas").map_err(|_| PhotoError::Unavailable)?.dyn_into().map_err(|_| PhotoError::Unavailable)?;
    canvas.set_width(tw);
    canvas.set_height(th);
    let ctx: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or(PhotoError::Unavailable)?;
    ctx.draw_image_with_image_bitmap_and_dw_and_dh(&bitmap, 0.0, 0.0, tw as f64, th as f64)
        .map_err(|_| PhotoError::NotAnImage)?;
    bitmap.close();
    let promise = Promise::new(&mut |resolve, _reject| {
        let cb = Closure::once_into_js(move |blob: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &blob);
        });
        let _ = canvas.to_blob_with_type_and_encoder_options(cb.unchecked_ref(), "image/jpeg", &JPEG_QUALITY.into());
    });
    JsFuture::from(promise).await.ok().and_then(|b| b.dyn_into::<Blob>().ok()).ok_or(PhotoError::Full)
}

/// The blob's bytes.
pub async fn bytes(blob: &Blob) -> Result<Uint8Array, PhotoError> {
    let buf = JsFuture::from(blob.array_buffer()).await.map_err(|_| PhotoError::Missing)?;
    Ok(Uint8Array::new(&buf))
}

/// SHA-256 of the blob, lowercase hex (Web Crypto: no hashing code in the wasm).
pub async fn sha256_hex(blob: &Blob) -> Result<String, PhotoError> {
    let subtle = web_sys::window().and_then(|w| w.crypto().ok()).ok_or(PhotoError::Unavailable)?.subtle();
    let data = bytes(blob).await?;
    let digest = subtle.digest_with_str_and_buffer_source(&"SHA-256", &data).map_err(|_| PhotoError::Unavailable)?;
    let out = JsFuture::from(digest).await.map_err(|_| PhotoError::Unavailable)?;
    Ok(daohu_domain::lock::hex(&Uint8Array::new(&out).to_vec()))
}

/// Whether a photo of `bytes` still fits in the browser's quota for this site,
/// with a margin so records never run out of room because of photos.
pub async fn has_room_for(bytes: f64) -> Result<(), PhotoError> {
    match crate::storage::estimate().await {
        Some((used, quota)) if quota > 0.0 && used + bytes * 2.0 + 512.0 * 1024.0 > quota => Err(PhotoError::Full),
        _ => Ok(()),
    }
}

/// An object URL to show a kept photo in an `<img>` (revoke it when done).
pub fn object_url(blob: &Blob) -> Option<String> {
    web_sys::Url::create_object_url_with_blob(blob).ok()
}
