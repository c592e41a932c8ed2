//! The messages of the upload protocol and the retry schedule.
//!
//! The phone sends a [`SyncBatch`]; the server answers one [`Receipt`] per record.
//! A record leaves the phone's outbox only once its receipt is stored there.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::visit::Visit;

/// Most records in one upload request; the phone splits a longer outbox.
pub const MAX_BATCH: usize = 50;

/// One upload from one phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncBatch {
    /// The phone's own id, so the server knows when each device last synced.
    pub device_id: Uuid,
    pub visits: Vec<Visit>,
}

named_enum! {
    /// What the server did with one record.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum ReceiptStatus {
        /// Stored now.
        Stored = "stored",
        /// The same id with the same content was stored before; nothing changed.
        Duplicate = "duplicate",
        /// The same id with other content was stored before; the stored one is kept.
        Conflict = "conflict",
        /// Not valid, or not the sender's to record; stored nowhere.
        Rejected = "rejected",
    }
}

/// The server's answer for one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub id: Uuid,
    pub status: ReceiptStatus,
    /// Why, in plain words, for conflicts and rejections.
    pub reason: Option<String>,
    /// When the server first stored the record (for stored, duplicate and conflict).
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::datetime_opt"))]
    pub received_at: Option<DateTime<Utc>>,
}

/// Why a record was not stored although its id was new to the phone: the server
/// already holds other content under that id, and keeps it.
pub const CONFLICT_REASON: &str = "服务器上已有同一编号的不同记录，已保留服务器上的版本";

impl Receipt {
    /// Whether the phone may drop the record from its outbox.
    pub fn acknowledges(&self) -> bool {
        matches!(self.status, ReceiptStatus::Stored | ReceiptStatus::Duplicate)
    }

    /// Stored now, for the first time.
    pub fn stored(id: Uuid, at: DateTime<Utc>) -> Receipt {
        Receipt { id, status: ReceiptStatus::Stored, reason: None, received_at: Some(at) }
    }

    /// Refused, stored nowhere, for the reason given in plain words.
    pub fn rejected(id: Uuid, reason: impl Into<String>) -> Receipt {
        Receipt { id, status: ReceiptStatus::Rejected, reason: Some(reason.into()), received_at: None }
    }

    /// The answer for a record whose id the server already holds, first received
    /// at `received_at`: the same content is a retry (a duplicate, which the phone
    /// may drop); other content is a conflict, and the server keeps its copy.
    pub fn already_held(id: Uuid, same_content: bool, received_at: DateTime<Utc>) -> Receipt {
        if same_content {
            Receipt { id, status: ReceiptStatus::Duplicate, reason: None, received_at: Some(received_at) }
        } else {
            Receipt { id, status: ReceiptStatus::Conflict, reason: Some(CONFLICT_REASON.into()), received_at: Some(received_at) }
        }
    }
}

/// How many receipts of a batch have each status (for logs and the audit trail).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiptCounts {
    pub stored: usize,
    pub duplicate: usize,
    pub conflict: usize,
    pub rejected: usize,
}

impl ReceiptCounts {
    pub fn of(receipts: &[Receipt]) -> ReceiptCounts {
        let mut counts = ReceiptCounts::default();
        for r in receipts {
            *match r.status {
                ReceiptStatus::Stored => &mut counts.stored,
                ReceiptStatus::Duplicate => &mut counts.duplicate,
                ReceiptStatus::Conflict => &mut counts.conflict,
                ReceiptStatus::Rejected => &mut counts.rejected,
            } += 1;
        }
        counts
    }
}

/// The server's answer to a batch: a receipt for every record sent, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    pub receipts: Vec<Receipt>,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub server_time: DateTime<Utc>,
}

/// Every error the API answers, as JSON: a stable code and a message in plain Chinese.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub error: String,
    pub message: String,
}

impl ApiError {
    /// Plain English for a refusal the server answered with `status` (its
    /// `message` is Chinese): by code where the code says more, otherwise by status.
    pub fn english(&self, status: u16) -> &'static str {
        match self.error.as_str() {
            "bad_credentials" => "Wrong phone number or password.",
            "too_many_attempts" => "Too many wrong attempts. Wait a few minutes, then try again.",
            "weak_password" => "This password is too easy to guess. Choose a longer one that is not your phone number.",
            "phone_unavailable" => "This phone number already has an account.",
            "bad_code" => "This QR code was used already or has expired. Ask your coordinator for a new one.",
            "photo_quota" => "Today's photo upload limit is reached. The photos stay on the phone and upload tomorrow.",
            _ => match status {
                401 => "Your sign-in has expired. Please sign in again.",
                403 => "This account may not do that.",
                404 => "Not found, or not in your area.",
                409 => "This was changed meanwhile. Reload and try again.",
                413 => "This is too large to send.",
                429 => "Too many requests. Wait a while, then try again.",
                _ => "The server could not accept this. Check what was entered.",
            },
        }
    }
}

/// The format tag of a phone's last-resort export file.
pub const OUTBOX_EXPORT_FORMAT: &str = "daohu-outbox/1";

/// A last-resort export: every record the phone holds that the server has not
/// acknowledged, as a file the member can share. A coordinator uploads it and
/// the server stores each record exactly once, as if the phone had synced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutboxExport {
    /// Always [`OUTBOX_EXPORT_FORMAT`].
    pub format: String,
    pub device_id: Uuid,
    pub member_id: Uuid,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub exported_at: DateTime<Utc>,
    pub visits: Vec<Visit>,
}

/// Base delay of the retry schedule, milliseconds.
pub const BACKOFF_BASE_MS: u64 = 1_000;
/// Longest wait between two tries, milliseconds (5 minutes).
pub const BACKOFF_CAP_MS: u64 = 300_000;
/// The longest one request may take, answer included, milliseconds. On a line
/// that stalls (the signal gone without the phone noticing) the browser leaves
/// a request hanging for minutes, and the uploader with it; after this it is
/// given up as "no network" and tried again. A grid leader's roster (under
/// 300 KB gzip) arrives well within it even at GPRS speed (40 kbit/s: about
/// a minute), and a photo goes in chunks.
pub const REQUEST_TIMEOUT_MS: u64 = 120_000;

/// Full-jitter exponential backoff: a wait drawn uniformly from
/// `[0, min(cap, base * 2^attempt)]`, with `unit` in `[0, 1)` the random draw.
/// Jitter keeps a village's phones from all retrying at the same instant
/// when the signal comes back.
pub fn backoff_ms(attempt: u32, unit: f64) -> u64 {
    let ceiling = BACKOFF_BASE_MS
        .saturating_mul(1u64.checked_shl(attempt.min(32)).unwrap_or(u64::MAX))
        .min(BACKOFF_CAP_MS);
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
    // never 0, so a broken network never turns into a busy loop
    ((ceiling as f64) * unit).max(250.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_in_english_without_chinese() {
        let e = |code: &str| ApiError { error: code.into(), message: "手机号或密码不对".into() };
        assert_eq!(e("bad_credentials").english(401), "Wrong phone number or password.");
        assert_eq!(e("too_many_attempts").english(429), "Too many wrong attempts. Wait a few minutes, then try again.");
        assert_eq!(e("not_found").english(404), "Not found, or not in your area.");
        assert_eq!(e("something_new").english(400), "The server could not accept this. Check what was entered.");
        for code in ["bad_credentials", "too_many_attempts", "weak_password", "phone_unavailable", "bad_code", "photo_quota", "x"] {
            for status in [400, 401, 403, 404, 409, 413, 422, 429] {
                let text = e(code).english(status);
                assert!(text.is_ascii(), "{code} {status}: {text}");
            }
        }
    }

    #[test]
    fn a_held_id_is_a_duplicate_only_with_the_same_content() {
        let id = Uuid::from_u128(7);
        let first = DateTime::parse_from_rfc3339("2026-03-01T08:00:00Z").unwrap().with_timezone(&Utc);
        let retry = Receipt::already_held(id, true, first);
        assert_eq!((retry.status, retry.reason.as_deref(), retry.received_at), (ReceiptStatus::Duplicate, None, Some(first)));
        assert!(retry.acknowledges());
        let other = Receipt::already_held(id, false, first);
        assert_eq!((other.status, other.reason.as_deref()), (ReceiptStatus::Conflict, Some(CONFLICT_REASON)));
        assert_eq!(other.received_at, Some(first), "when the kept copy came");
        assert!(!other.acknowledges(), "the phone keeps a conflicting record");
        let refused = Receipt::rejected(id, "不在你的范围内");
        assert_eq!((refused.status, refused.received_at), (ReceiptStatus::Rejected, None));
        assert!(!refused.acknowledges());
        assert!(Receipt::stored(id, first).acknowledges());
        let counts = ReceiptCounts::of(&[retry, other.clone(), other, refused, Receipt::stored(id, first)]);
        assert_eq!(counts, ReceiptCounts { stored: 1, duplicate: 1, conflict: 2, rejected: 1 });
    }

    #[test]
    fn backoff_grows_then_caps() {
        assert_eq!(backoff_ms(0, 1.0), 1_000);
        assert_eq!(backoff_ms(1, 1.0), 2_000);
        assert_eq!(backoff_ms(5, 1.0), 32_000);
        assert_eq!(backoff_ms(9, 1.0), 300_000);
        assert_eq!(backoff_ms(60, 1.0), 300_000);
        assert_eq!(backoff_ms(u32::MAX, 0.999), 299_700);
    }

    #[test]
    fn backoff_is_jittered_and_never_zero() {
        assert_eq!(backoff_ms(3, 0.5), 4_000);
        assert_eq!(backoff_ms(3, 0.0), 250);
        assert_eq!(backoff_ms(3, f64::NAN), 250);
        assert_eq!(backoff_ms(3, 7.0), 8_000);
    }

    #[test]
    fn only_stored_and_duplicate_acknowledge() {
        let r = |status| Receipt { id: Uuid::nil(), status, reason: None, received_at: None };
        assert!(r(ReceiptStatus::Stored).acknowledges());
        assert!(r(ReceiptStatus::Duplicate).acknowledges());
        assert!(!r(ReceiptStatus::Conflict).acknowledges());
        assert!(!r(ReceiptStatus::Rejected).acknowledges());
    }

    #[test]
    fn batch_refuses_unknown_fields() {
        let ok = r#"{"device_id":"00000000-0000-0000-0000-000000000000","visits":[]}"#;
        assert!(serde_json::from_str::<SyncBatch>(ok).is_ok());
        let bad = r#"{"device_id":"00000000-0000-0000-0000-000000000000","visits":[],"x":1}"#;
        assert!(serde_json::from_str::<SyncBatch>(bad).is_err());
    }
}
