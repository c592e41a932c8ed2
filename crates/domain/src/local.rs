//! How a visit is kept on the phone: an envelope with a schema version, the
//! visit, and where it stands in the upload. Older stored shapes migrate here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sync::{Receipt, ReceiptStatus};
use crate::visit::Visit;

/// The version of the stored envelope this build writes.
pub const LOCAL_SCHEMA_VERSION: u32 = 1;

/// Where a stored visit stands. Read by hand ([`crate::tagged`]), like
/// [`crate::EventKind`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncState {
    /// Still being filled in; not uploaded.
    Draft,
    /// Saved, waiting in the outbox.
    Pending,
    /// The server's receipt says it is stored.
    Stored { received_at: Option<DateTime<Utc>> },
    /// The server holds other content under this id; needs a person to look.
    Conflict { reason: String },
    /// The server refused it; needs a person to look.
    Rejected { reason: String },
}

impl<'de> Deserialize<'de> for SyncState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const VARIANTS: &[&str] = &["draft", "pending", "stored", "conflict", "rejected"];
        let mut t = crate::tagged::Tagged::read(d, "state")?;
        Ok(match t.tag.as_str() {
            "draft" => SyncState::Draft,
            "pending" => SyncState::Pending,
            "stored" => {
                let received_at = t.optional("received_at")?.map(|text| crate::stamp::parse_datetime(&text));
                SyncState::Stored { received_at: received_at.transpose().map_err(serde::de::Error::custom)? }
            }
            "conflict" => SyncState::Conflict { reason: t.string("reason")? },
            "rejected" => SyncState::Rejected { reason: t.string("reason")? },
            other => return Err(serde::de::Error::unknown_variant(other, VARIANTS)),
        })
    }
}

impl SyncState {
    /// Where a record stands once the server's receipt for it is in.
    pub fn from_receipt(receipt: &Receipt) -> SyncState {
        let reason = || receipt.reason.clone().unwrap_or_default();
        match receipt.status {
            ReceiptStatus::Stored | ReceiptStatus::Duplicate => {
                SyncState::Stored { received_at: receipt.received_at }
            }
            ReceiptStatus::Conflict => SyncState::Conflict { reason: reason() },
            ReceiptStatus::Rejected => SyncState::Rejected { reason: reason() },
        }
    }

    /// Whether the record waits to be uploaded.
    pub fn in_outbox(&self) -> bool {
        matches!(self, SyncState::Pending)
    }
    /// Whether the member must look at the record.
    pub fn needs_attention(&self) -> bool {
        matches!(self, SyncState::Conflict { .. } | SyncState::Rejected { .. })
    }
    /// Whether the server does not hold the record as it is: waiting, or needing
    /// a person. The outbox lists these, the export file carries them, and
    /// removing an account's data waits for them.
    pub fn unsent(&self) -> bool {
        self.in_outbox() || self.needs_attention()
    }
}

/// A visit as stored on the phone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalVisit {
    pub schema: u32,
    pub visit: Visit,
    pub sync: SyncState,
    /// The step of the visit screen the member was on, so a draft reopens there.
    #[serde(default)]
    pub step: u8,
}

/// Why stored data could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum MigrationError {
    /// Not JSON, or not any shape this app ever wrote.
    Unreadable(String),
    /// Written by a newer version of the app; left untouched.
    TooNew(u32),
}

impl LocalVisit {
    pub fn draft(visit: Visit) -> LocalVisit {
        LocalVisit { schema: LOCAL_SCHEMA_VERSION, visit, sync: SyncState::Draft, step: 0 }
    }

    /// Applies the server's receipt; returns whether anything changed.
    /// A receipt for another record, or for a record not waiting, changes nothing.
    pub fn apply_receipt(&mut self, receipt: &Receipt) -> bool {
        if receipt.id != self.visit.id || !self.sync.in_outbox() {
            return false;
        }
        self.sync = SyncState::from_receipt(receipt);
        true
    }

    /// Whether `stored` (the copy in storage, written by another tab or by the
    /// outbox) holds an edit this copy lacks: the visit itself, the step a draft
    /// is on, or a draft saved. The outbox moving a saved record along (waiting,
    /// stored, refused) is not an edit: nobody changed what was recorded.
    pub fn edited_apart_from(&self, stored: &LocalVisit) -> bool {
        self.visit != stored.visit
            || self.step != stored.step
            || (self.sync == SyncState::Draft) != (stored.sync == SyncState::Draft)
    }

    /// Reads a stored record of any version this app ever wrote, migrating it
    /// to the current shape. Returns the record and whether it was migrated
    /// (so the caller writes it back). Running it on its own output changes
    /// nothing, so a migration interrupted half-way is safe to run again.
    pub fn from_stored(text: &str) -> Result<(LocalVisit, bool), MigrationError> {
        // Only the version is read first; the rest is skipped without building a tree
        // (a `serde_json::Value` here would add a second copy of every deserializer to the wasm).
        #[derive(Deserialize)]
        struct Probe {
            schema: Option<u32>,
        }
        let unreadable = |e: serde_json::Error| MigrationError::Unreadable(e.to_string());
        let probe: Probe = crate::json::from_str(text).map_err(unreadable)?;
        match probe.schema {
            // Version 0 (the first field builds) stored the bare saved visit, no envelope.
            None => {
                let visit: Visit = crate::json::from_str(text).map_err(unreadable)?;
                Ok((
                    LocalVisit { schema: LOCAL_SCHEMA_VERSION, visit, sync: SyncState::Pending, step: 0 },
                    true,
                ))
            }
            Some(LOCAL_SCHEMA_VERSION) => {
                crate::json::from_str(text).map(|v| (v, false)).map_err(unreadable)
            }
            Some(newer) => Err(MigrationError::TooNew(newer)),
        }
    }
}

/// What a site may keep in the browser's local storage, in UTF-16 code units of
/// keys and values: Chromium (what members' Android phones run) refuses a write
/// past 5,242,880 whatever the text (measured in headless Chromium 156: ASCII and
/// Chinese alike); Firefox allows the same count.
pub const LOCAL_STORAGE_UNITS: u64 = 5_242_880;

/// A visit's stored size, in code units, until the phone has a few of its own
/// to average: a routine visit with a line of notes is about 1,200.
pub const TYPICAL_VISIT_UNITS: u64 = 1_500;

/// How many more visits this phone can keep, in the member's words ("还能存约 N 条走访记录").
///
/// `used` is every key and value in local storage now (all accounts, the
/// roster), `visit_units` and `visits` those of the visits stored. The average
/// stored visit sets the size once there are at least three; a visit never
/// counts as smaller than a third of the typical one, so a phone holding only
/// empty drafts does not promise too much.
pub fn visits_room(used: u64, visit_units: u64, visits: u64) -> u64 {
    let each = if visits >= 3 { (visit_units / visits).max(TYPICAL_VISIT_UNITS / 3) } else { TYPICAL_VISIT_UNITS };
    LOCAL_STORAGE_UNITS.saturating_sub(used) / each
}

/// A photo as the phone keeps it (shrunk to 1,280 px, JPEG at quality 0.8).
pub const TYPICAL_PHOTO_BYTES: u64 = 250_000;

/// How many more photos fit in what the browser allows this site (`used` and
/// `quota` from `navigator.storage.estimate()`), by the size of the photos
/// waiting on the phone once there are three, else a typical one.
pub fn photos_room(used: u64, quota: u64, photo_bytes: u64, photos: u64) -> u64 {
    let each = if photos >= 3 { (photo_bytes / photos).max(TYPICAL_PHOTO_BYTES / 4) } else { TYPICAL_PHOTO_BYTES };
    quota.saturating_sub(used) / each
}

/// Whether the room left calls for uploading soon: fewer than 100 visits, or
/// less than a tenth of local storage.
pub fn room_is_short(used: u64, room: u64) -> bool {
    room < 100 || used * 10 > LOCAL_STORAGE_UNITS * 9
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visit::tests::complete_visit;

    #[test]
    fn unsent_is_waiting_or_needing_a_person() {
        assert!(SyncState::Pending.unsent());
        assert!(SyncState::Rejected { reason: "x".into() }.unsent());
        assert!(SyncState::Conflict { reason: "x".into() }.unsent());
        assert!(!SyncState::Draft.unsent());
        assert!(!SyncState::Stored { received_at: None }.unsent());
    }

    #[test]
    fn an_upload_is_no_edit_but_another_tabs_change_is() {
        let mut shown = LocalVisit::draft(complete_visit());
        shown.sync = SyncState::Pending;
        // The outbox uploaded it: only the sync state moved.
        let mut uploaded = shown.clone();
        uploaded.sync = SyncState::Stored { received_at: None };
        assert!(!shown.edited_apart_from(&uploaded));
        let mut refused = shown.clone();
        refused.sync = SyncState::Rejected { reason: "x".into() };
        assert!(!shown.edited_apart_from(&refused));
        // Another tab wrote a note, or saved the draft this tab shows.
        let mut noted = shown.clone();
        noted.visit.summary.push('！');
        assert!(shown.edited_apart_from(&noted));
        let draft = LocalVisit::draft(complete_visit());
        let mut saved = draft.clone();
        saved.sync = SyncState::Pending;
        assert!(draft.edited_apart_from(&saved));
        let mut moved_on = draft.clone();
        moved_on.step = 3;
        assert!(draft.edited_apart_from(&moved_on));
    }

    #[test]
    fn receipt_moves_pending_to_stored_once() {
        let mut lv = LocalVisit::draft(complete_visit());
        let receipt = Receipt {
            id: lv.visit.id,
            status: ReceiptStatus::Stored,
            reason: None,
            received_at: Some(DateTime::from_timestamp(1_800_000_000, 0).unwrap()),
        };
        assert!(!lv.apply_receipt(&receipt), "drafts are not in the outbox");
        lv.sync = SyncState::Pending;
        assert!(lv.sync.in_outbox());
        assert!(lv.apply_receipt(&receipt));
        assert!(!lv.sync.in_outbox());
        assert!(!lv.apply_receipt(&receipt), "a second receipt changes nothing");
    }

    #[test]
    fn conflict_and_rejection_need_attention() {
        for status in [ReceiptStatus::Conflict, ReceiptStatus::Rejected] {
            let mut lv = LocalVisit::draft(complete_visit());
            lv.sync = SyncState::Pending;
            let r = Receipt { id: lv.visit.id, status, reason: Some("x".into()), received_at: None };
            assert!(lv.apply_receipt(&r));
            assert!(lv.sync.needs_attention());
            assert!(!lv.sync.in_outbox());
        }
    }

    #[test]
    fn receipt_for_other_id_is_ignored() {
        let mut lv = LocalVisit::draft(complete_visit());
        lv.sync = SyncState::Pending;
        let r = Receipt {
            id: uuid::Uuid::from_u128(1),
            status: ReceiptStatus::Stored,
            reason: None,
            received_at: None,
        };
        assert!(!lv.apply_receipt(&r));
        assert!(lv.sync.in_outbox());
    }

    #[test]
    fn version_0_migrates_and_migration_is_idempotent() {
        let v = complete_visit();
        let old = serde_json::to_string(&v).unwrap();
        let (migrated, changed) = LocalVisit::from_stored(&old).unwrap();
        assert!(changed);
        assert_eq!(migrated.visit, v);
        assert_eq!(migrated.sync, SyncState::Pending);
        let text = serde_json::to_string(&migrated).unwrap();
        let (again, changed_again) = LocalVisit::from_stored(&text).unwrap();
        assert!(!changed_again);
        assert_eq!(again, migrated);
    }

    #[test]
    fn newer_or_broken_data_is_an_error_not_a_panic() {
        let mut lv = serde_json::to_value(LocalVisit::draft(complete_visit())).unwrap();
        lv["schema"] = serde_json::Value::from(99);
        assert_eq!(LocalVisit::from_stored(&lv.to_string()), Err(MigrationError::TooNew(99)));
        assert!(matches!(LocalVisit::from_stored("{"), Err(MigrationError::Unreadable(_))));
        assert!(matches!(LocalVisit::from_stored("[1]"), Err(MigrationError::Unreadable(_))));
        assert!(matches!(
            LocalVisit::from_stored(r#"{"schema":"one"}"#),
            Err(MigrationError::Unreadable(_))
        ));
    }

    #[test]
    fn room_counts_visits_by_their_own_size_once_there_are_a_few() {
        // An empty phone: about 3,500 typical visits.
        assert_eq!(visits_room(0, 0, 0), 3_495);
        // A roster of a million units and two visits: still the typical size.
        assert_eq!(visits_room(1_000_000, 4_000, 2), (LOCAL_STORAGE_UNITS - 1_000_000) / TYPICAL_VISIT_UNITS);
        // Ten visits of 3,000 units each: the phone's own size counts.
        assert_eq!(visits_room(100_000, 30_000, 10), (LOCAL_STORAGE_UNITS - 100_000) / 3_000);
        // Tiny drafts do not promise too much.
        assert_eq!(visits_room(0, 300, 3), LOCAL_STORAGE_UNITS / 500);
        // Full, or over (another app's keys, a browser that counts otherwise): none.
        assert_eq!(visits_room(LOCAL_STORAGE_UNITS + 5, 0, 0), 0);
        assert!(room_is_short(LOCAL_STORAGE_UNITS, 0));
        assert!(room_is_short(0, 99));
        assert!(room_is_short(LOCAL_STORAGE_UNITS * 95 / 100, 200));
        assert!(!room_is_short(1_000_000, 2_000));
    }

    #[test]
    fn room_for_photos_is_what_the_quota_leaves_by_their_size() {
        assert_eq!(photos_room(0, 1_000_000_000, 0, 0), 4_000);
        assert_eq!(photos_room(500_000_000, 1_000_000_000, 900_000, 3), 500_000_000 / 300_000);
        assert_eq!(photos_room(0, 1_000_000, 30_000, 3), 1_000_000 / (TYPICAL_PHOTO_BYTES / 4));
        assert_eq!(photos_room(2_000, 1_000, 0, 0), 0);
    }
}
