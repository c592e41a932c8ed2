//! JSON for the phone: the one place app code reads and writes JSON text
//! (local storage and the API), by serde_json (read through
//! [`daohu_domain::json`], which leaves out reading structs from arrays).
//!
//! Measured and left: the browser's own `JSON.parse`/`JSON.stringify` with
//! serde-wasm-bindgen was 9 KB of brotli smaller, but it crosses into JavaScript
//! for every value, and a start with 5,000 households and 2,000 stored visits took
//! 1.6–2.3 s instead of 0.9–1.0 s at 4× CPU slowdown (docs/performance.md).

use serde::{de::DeserializeOwned, Serialize};

/// Reads JSON text into a value (structs from objects only:
/// [`daohu_domain::json`]); the error says why in English (for logs only).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    daohu_domain::json::from_str(text).map_err(|e| e.to_string())
}

/// Writes a value as JSON text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}
