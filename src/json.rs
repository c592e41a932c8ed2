//! JSON for the phone: the browser's own `JSON.parse` / `JSON.stringify`, with
//! serde-wasm-bindgen between JavaScript values and Rust types.
//!
//! Why not serde_json: its parser and formatter, instantiated for every stored and
//! wire type, were about a sixth of the phone's wasm. The text is the same JSON
//! either way (objects for structs, `null` for `None`), so stored records and the
//! server need no change.

use daohu_domain::JsonReader;
use serde::{de::DeserializeOwned, Serialize};

/// Reads JSON text into a value; the error says why in English (for logs only).
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_string())?;
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// Writes a value as JSON text, as serde_json would (maps as objects, `None` as `null`).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    let value = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| e.to_string())?;
    js_sys::JSON::stringify(&value)
        .map(String::from)
        .map_err(|_| "not serialisable".to_string())
}

/// The browser's parser as the domain's [`JsonReader`] (stored-visit migration).
pub struct Browser;

impl JsonReader for Browser {
    fn read<T: DeserializeOwned>(text: &str) -> Result<T, String> {
        from_str(text)
    }
}
