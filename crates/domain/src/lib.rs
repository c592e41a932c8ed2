//! Daohu domain crate: the product's logic as plain types.
//!
//! Households and their special groups, the five to-the-household sections of a
//! visit, problems raised at the door, the sync messages that travel between the
//! phone and the server, and the local-storage envelope with its migrations.
//! No web-sys, no signals, no database: it builds for `wasm32-unknown-unknown`
//! (the app) and natively (the server), so the wire format cannot drift.
//!
//! Run its tests with `cargo test -p daohu-domain`.

#[macro_use]
mod names;

pub mod activity;
pub mod auth;
pub mod escalation;
pub mod groups;
pub mod household;
pub mod household_list;
pub mod json;
pub mod kinds;
pub mod ledger;
pub mod livelihood;
pub mod order;
pub mod profile;
pub mod local;
pub mod lock;
pub mod org;
pub mod problem;
pub mod report;
pub mod roster;
pub mod stamp;
pub mod sync;
mod tagged;
pub mod visit;

pub use activity::{
    Activity, ActivityBatch, ActivityDetail, ActivityError, ActivityFilter, ActivityKind, ActivityRoster, ActivitySummary,
    CheckIn, CheckInBatch, CheckInView, CheckKind, GeoPoint, HoursReport, HoursRow, HoursSource, LocalActivity,
    LocalCheckIn, NewActivityKind, NewTeam, PhotoRef, PhotoState, PhotoStatus, ServedHousehold, Team, TeamMember,
};
pub use auth::{ChangePasswordRequest, LoginRequest, MemberProfile, Role, Session};
pub use escalation::{
    EventKind, Level, LevelCount, LocalEvent, Misfit, ProblemEvent, ProblemEventBatch, ProblemHousehold, ProblemState, ProblemStatus,
    ProblemView, Satisfaction, SatisfactionCount, TrailEntry,
};
pub use household_list::HouseholdRow;
pub use kinds::{Item, ItemList, Local, ServiceCount, ServiceGiven};
pub use livelihood::{MatchOutcome, Matchup, MatchupRecord, Need, NeedHousehold, NeedsReport, NewMatchup, Picks};
pub use ledger::{
    Catalogue, CatalogueChange, CatalogueEdit, GapHousehold, HouseholdLedger, LedgerBatch, LedgerChange, LedgerEntry, LedgerNow,
    LedgerError, LedgerField, LedgerValue, NewLedgerChange, Policy, PolicyGapCount, PolicyGaps, PolicyState, PolicyStatus,
    VisitLedgerChange,
};
pub use groups::Intervals;
pub use household::{Household, RosterHousehold, RosterResponse, SpecialGroup, VisitSummary};
pub use local::{photos_room, room_is_short, visits_room, LocalVisit, MigrationError, SyncState, LOCAL_SCHEMA_VERSION};
pub use org::{
    Account, AccountUpdate, AdminHousehold, AuditEntry, Enrollment, EnrollRequest, HouseholdMove, LinkedMember,
    MemberLinks, NewAccount, NewUnit, OrgTree, OrgUnit, UnitKind,
};
pub use problem::{ProblemCategory, ProblemEntry, ProblemOutcome, Urgency};
pub use report::{
    LOG_COUNT_CAP,
    safe_cell, CoverageRow, Dashboard, ExportFormat, LedgerPanel, SheetGap, SheetNeed, ExportLink, GridSheet, IdleMember, MeetingSheet,
    OverdueHousehold, SectionDetail, SheetProblem, SheetVisit, StaleDevice, VisitDetail, VisitFilter, VisitLogPage,
    VisitLogRow, WeekCount,
};
pub use roster::{ImportAction, ImportPreview, ImportRowResult, RosterColumns, RosterRow};
pub use sync::{
    backoff_ms, ApiError, OutboxExport, Receipt, ReceiptCounts, ReceiptStatus, SyncBatch, SyncResponse,
    CONFLICT_REASON, MAX_BATCH, OUTBOX_EXPORT_FORMAT, REQUEST_TIMEOUT_MS,
};
pub use visit::{SectionEntry, SectionKind, SectionState, ValidationError, Visit};

/// Makes a UUID v7 from a Unix time in milliseconds and ten random bytes.
///
/// The caller supplies time and randomness so this stays pure: the phone takes
/// them from `Date.now()` and `crypto.getRandomValues`, tests from constants.
pub fn uuid_v7(unix_millis: u64, random: [u8; 10]) -> uuid::Uuid {
    uuid::Builder::from_unix_timestamp_millis(unix_millis, &random).into_uuid()
}

/// Whether a UUID is a version 7 id, as every record made on a phone must be.
pub fn is_v7(id: &uuid::Uuid) -> bool {
    id.get_version_num() == 7
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v7_is_v7_and_time_ordered() {
        let a = uuid_v7(1_700_000_000_000, [1; 10]);
        let b = uuid_v7(1_700_000_000_001, [0; 10]);
        assert!(is_v7(&a) && is_v7(&b));
        assert!(a < b, "later ids sort after earlier ones");
        assert!(!is_v7(&uuid::Uuid::nil()));
    }
}
