//! Clock, dates and ids from the browser.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// Unix milliseconds from the phone's clock.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn now_utc() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now_ms() as i64).unwrap_or_default()
}

/// Today's date in the phone's own time zone.
pub fn today() -> NaiveDate {
    let d = js_sys::Date::new_0();
    NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
        .unwrap_or_default()
}

/// The time of day now on the phone's clock, to the minute.
pub fn now_local_time() -> chrono::NaiveTime {
    let d = js_sys::Date::new_0();
    chrono::NaiveTime::from_hms_opt(d.get_hours(), d.get_minutes(), 0).unwrap_or_default()
}

/// A local date and time, `YYYY-MM-DD HH:MM`, for the outbox screen.
pub fn format_local(ms: f64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes()
    )
}

/// A new UUID v7, from the clock and the browser's cryptographic random source.
pub fn new_id() -> Uuid {
    let mut bytes = [0u8; 10];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok())
        .unwrap_or(false);
    if !filled {
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    daohu_domain::uuid_v7(now_ms() as u64, bytes)
}

/// "08:30–10:00"
pub fn hhmm(t: chrono::NaiveTime) -> String {
    use chrono::Timelike;
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// "03-09", a date's month and day (what `format("%m-%d")` writes, without
/// chrono's format-string machinery in the wasm).
pub fn month_day(d: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:02}-{:02}", d.month(), d.day())
}

/// Waits `ms` milliseconds on a browser timer.
pub async fn pause_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
