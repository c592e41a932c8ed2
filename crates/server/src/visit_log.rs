//! The visit log coordinators read and download: stored visits read back as
//! [`VisitLogRow`]s, in the time zone the readers live in. The filter's SQL is
//! [`crate::store::visit_log`]'s.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use daohu_domain::report::CLOCK_SKEW_FLAG_HOURS;
use daohu_domain::{ProblemEntry, SectionDetail, SectionKind, SectionState, VisitLogRow};
use serde::Deserialize;

use crate::db::{parse_ts, parse_uuid};
use crate::AppError;

pub use crate::store::visit_log::{
    one, LogQuery, RawLogRow, DEFAULT_LIMIT, MAX_LIMIT, MAX_Q_CHARS, VISITS_IN_PERIOD, WINDOWLESS_MATCHES,
};

/// Spreadsheets show times in China Standard Time (UTC+8, no daylight saving),
/// the time the people reading them live in.
pub fn report_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The start of a China day (UTC+8) as the server's stored time text, for
/// comparing with times kept in UTC.
pub fn day_start(d: NaiveDate) -> String {
    crate::db::ts(
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(report_offset()).single())
            .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc)),
    )
}

#[derive(Deserialize)]
struct BodySection {
    kind: SectionKind,
    state: Option<SectionState>,
    #[serde(default)]
    checked: Vec<String>,
    #[serde(default)]
    notes: String,
}

/// The parts of a stored visit the log shows (other fields are skipped unread).
#[derive(Deserialize)]
struct BodyParts {
    sections: Vec<BodySection>,
    problems: Vec<ProblemEntry>,
    summary: String,
    #[serde(default)]
    services: Vec<daohu_domain::ServiceGiven>,
}

impl BodyParts {
    /// As [`daohu_domain::Visit::services_given`].
    fn services_given(&self) -> Vec<daohu_domain::ServiceGiven> {
        let ticks = self.sections.iter().filter(|s| s.kind == SectionKind::PreciseService);
        daohu_domain::kinds::with_ticks(&self.services, ticks.flat_map(|s| &s.checked))
    }
}

/// Reads a stored date back.
pub fn parse_date(s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| AppError::internal(format!("bad stored date {s:?}: {e}")))
}

/// Whether the phone's and the server's clocks differ by more than [`CLOCK_SKEW_FLAG_HOURS`].
pub fn clock_flag(recorded_at: DateTime<Utc>, received_at: DateTime<Utc>) -> bool {
    (received_at - recorded_at).num_seconds().abs() > CLOCK_SKEW_FLAG_HOURS * 3600
}

impl RawLogRow {
    /// The row as the log shows it, with the visit's problems.
    pub fn into_row(self) -> Result<(VisitLogRow, Vec<ProblemEntry>), AppError> {
        let body: BodyParts = serde_json::from_str(&self.body)?;
        let recorded_at = parse_ts(&self.recorded_at)?;
        let received_at = parse_ts(&self.received_at)?;
        let escalated = body
            .problems
            .iter()
            .filter(|p| p.outcome == daohu_domain::ProblemOutcome::Escalate)
            .count();
        let services = body.services_given();
        let row = VisitLogRow {
            services,
            id: parse_uuid(&self.id)?,
            visited_on: parse_date(&self.visited_on)?,
            recorded_at,
            received_at,
            clock_flag: clock_flag(recorded_at, received_at),
            household_id: parse_uuid(&self.household_id)?,
            head_name: self.head_name,
            address: self.address,
            grid_name: self.grid_name,
            village_name: self.village_name,
            member_id: parse_uuid(&self.member_id)?,
            member_name: self.member_name,
            sections: body.sections.iter().map(|s| (s.kind, s.state)).collect(),
            problem_count: u32::try_from(body.problems.len()).unwrap_or(u32::MAX),
            escalated_count: u32::try_from(escalated).unwrap_or(u32::MAX),
            summary: body.summary,
            details: body
                .sections
                .into_iter()
                .map(|s| SectionDetail { kind: s.kind, checked: s.checked, notes: s.notes })
                .collect(),
        };
        Ok((row, body.problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_flag_beyond_a_day() {
        let t = DateTime::from_timestamp(1_773_000_000, 0).unwrap();
        assert!(!clock_flag(t, t + chrono::Duration::hours(24)));
        assert!(clock_flag(
            t,
            t + chrono::Duration::hours(24) + chrono::Duration::seconds(1)
        ));
        assert!(clock_flag(t + chrono::Duration::hours(25), t));
    }
}
