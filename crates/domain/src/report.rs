//! What coordinators read: the visit log and its filters, the dashboard's
//! figures, the weekly meeting sheet, and the rule that keeps exported cells
//! from being evaluated as formulas.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::groups::SpecialGroup;
use crate::org::UnitKind;
use crate::problem::{ProblemCategory, ProblemOutcome, Urgency};
use crate::visit::{SectionKind, SectionState, Visit};

/// Hours between the phone's clock and the server's beyond which a visit is
/// flagged: the phone's date may be wrong.
pub const CLOCK_SKEW_FLAG_HOURS: i64 = 24;

/// Filters of the visit log; the same filters choose what a download holds.
/// Sent as query parameters; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct VisitFilter {
    /// A unit in the caller's part of the tree (county, township, village or grid).
    pub unit_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    /// One household's whole history.
    pub household_id: Option<Uuid>,
    /// First visit date included.
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::date_opt"))]
    pub from: Option<NaiveDate>,
    /// Last visit date included.
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::date_opt"))]
    pub to: Option<NaiveDate>,
    /// With `state`: visits whose section `section` has that state.
    pub section: Option<SectionKind>,
    pub state: Option<SectionState>,
    pub group: Option<SpecialGroup>,
    /// Free text: head of household, doorplate, member, summary or notes.
    pub q: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl VisitFilter {
    /// The query string for this filter (without `?`), for links and downloads.
    pub fn to_query(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut push = |k: &str, v: String| parts.push(format!("{k}={}", encode(&v)));
        if let Some(v) = self.unit_id {
            push("unit_id", v.to_string());
        }
        if let Some(v) = self.member_id {
            push("member_id", v.to_string());
        }
        if let Some(v) = self.household_id {
            push("household_id", v.to_string());
        }
        if let Some(v) = self.from {
            push("from", v.to_string());
        }
        if let Some(v) = self.to {
            push("to", v.to_string());
        }
        if let Some(v) = self.section {
            push("section", json_word(&v));
        }
        if let Some(v) = self.state {
            push("state", json_word(&v));
        }
        if let Some(v) = self.group {
            push("group", json_word(&v));
        }
        if let Some(v) = self.q.as_ref().filter(|q| !q.trim().is_empty()) {
            push("q", v.trim().to_string());
        }
        if let Some(v) = self.limit {
            push("limit", v.to_string());
        }
        if let Some(v) = self.offset {
            push("offset", v.to_string());
        }
        parts.join("&")
    }
}

/// The snake_case word serde gives a unit enum variant.
fn json_word<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default().trim_matches('"').to_string()
}

/// Percent-encodes a query value (UTF-8), keeping unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One visit as the log lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitLogRow {
    pub id: Uuid,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub visited_on: NaiveDate,
    /// The phone's clock at save.
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub recorded_at: DateTime<Utc>,
    /// The server's clock at first store.
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub received_at: DateTime<Utc>,
    /// Phone and server clocks differ by more than [`CLOCK_SKEW_FLAG_HOURS`].
    pub clock_flag: bool,
    pub household_id: Uuid,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
    pub member_id: Uuid,
    pub member_name: String,
    pub sections: Vec<(SectionKind, Option<SectionState>)>,
    pub problem_count: u32,
    pub escalated_count: u32,
    pub summary: String,
    /// What was ticked and noted in each section (downloads carry it).
    #[serde(default)]
    pub details: Vec<SectionDetail>,
    /// The services given (downloads carry them; none from older visits but their ticks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<crate::kinds::ServiceGiven>,
}

/// The items a member ticked in one section and the notes they wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SectionDetail {
    pub kind: SectionKind,
    /// Keys of the ticked checklist items, as stored.
    pub checked: Vec<String>,
    pub notes: String,
}

/// Most matches the server counts for a filtered log page before it stops and
/// answers "more than" (a unit and dates alone are always counted in full).
pub const LOG_COUNT_CAP: u64 = 10_000;

/// A page of the visit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitLogPage {
    pub rows: Vec<VisitLogRow>,
    /// All rows the filter matches; with `total_capped`, the count where counting stopped.
    pub total: u64,
    /// More than `total` rows match (counting stopped there; the pages go on).
    #[serde(default)]
    pub total_capped: bool,
}

impl VisitLogPage {
    /// Whether rows follow this page, which started at `offset` and asked for `limit`.
    pub fn has_more(&self, offset: u64, limit: u64) -> bool {
        offset + limit < self.total || (self.total_capped && self.rows.len() as u64 >= limit)
    }
}

/// One visit in full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitDetail {
    pub row: VisitLogRow,
    pub visit: Visit,
    /// The items its sections ticked, as the county's catalogue names them
    /// now (retired ones too), in each checklist's order.
    #[serde(default)]
    pub items: Vec<crate::kinds::Item>,
}

/// Coverage of one unit: households visited at least once in the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CoverageRow {
    pub unit_id: Uuid,
    pub name: String,
    pub kind: UnitKind,
    pub households: u32,
    pub visited: u32,
    /// The 回访 verdicts given in the period on problems under this unit.
    #[serde(default)]
    pub satisfaction: crate::escalation::SatisfactionCount,
}

/// Visits in one week (Monday first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekCount {
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub week_start: NaiveDate,
    pub visits: u32,
}

/// A special-group household not visited within its interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OverdueHousehold {
    pub household_id: Uuid,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub special_groups: Vec<SpecialGroup>,
    #[cfg_attr(target_family = "wasm", serde(default, deserialize_with = "crate::stamp::date_opt"))]
    pub last_visit_on: Option<NaiveDate>,
}

/// A member (or grid leader) with no visit in the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdleMember {
    pub member_id: Uuid,
    pub name: String,
    pub unit_name: String,
}

/// A phone that has not synced for a while and may still hold records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaleDevice {
    pub device_id: Uuid,
    pub member_name: String,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub last_sync_at: DateTime<Utc>,
}

/// The dashboard for a unit and a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dashboard {
    pub unit_id: Uuid,
    pub unit_name: String,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub from: NaiveDate,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub to: NaiveDate,
    pub households: u32,
    pub visited: u32,
    pub visits: u32,
    /// One row per unit directly below the chosen one (or per grid), for the bar chart and table.
    pub coverage: Vec<CoverageRow>,
    pub weekly: Vec<WeekCount>,
    /// Households overdue for a visit on `to` (special groups after 14 days, the
    /// others after 30, or never visited): special groups first, then never
    /// visited, then the oldest visit; at most 200.
    pub overdue: Vec<OverdueHousehold>,
    pub idle_members: Vec<IdleMember>,
    /// The phones that synced longest ago, at most 200.
    pub stale_devices: Vec<StaleDevice>,
    /// Every phone not synced for 7+ days (`stale_devices` lists the oldest).
    #[serde(default)]
    pub stale_device_count: u32,
    /// Open and overdue problems per level (village, township, county) under the unit, now.
    #[serde(default)]
    pub problems: Vec<crate::escalation::LevelCount>,
    /// The household ledger under the unit, now.
    #[serde(default)]
    pub ledger: LedgerPanel,
    /// The 回访 verdicts given in the period on problems under the unit.
    #[serde(default)]
    pub satisfaction: crate::escalation::SatisfactionCount,
    /// The services given in the period under the unit, per kind, most given first.
    #[serde(default)]
    pub services: Vec<crate::kinds::ServiceCount>,
    /// Households under the unit with each need unmatched now (产业对接), one
    /// count a need in `Need::ALL` order.
    #[serde(default)]
    pub unmatched_needs: Vec<u32>,
    /// Of those, per need, the households whose needs were recorded in the period.
    #[serde(default)]
    pub unmatched_needs_in_period: Vec<u32>,
}

/// The dashboard's ledger panel: households whose housing or water is not
/// safe, by condition (as last recorded), and the 应享未享 lines across every policy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LedgerPanel {
    /// Households per unsafe housing condition (`needs_repair`, `dangerous`), none left out.
    pub housing: Vec<(String, u32)>,
    /// Households per unsafe water condition (`unsafe`, `seasonal_shortage`), none left out.
    pub water: Vec<(String, u32)>,
    /// Household-policy pairs entitled and not receiving (not applying).
    pub entitled_not_receiving: u32,
    /// Applications in progress, and of those past their policy's limit.
    pub applying: u32,
    pub overdue: u32,
    /// Of the housing and water counts above, those recorded in the
    /// dashboard's period (the value set then and still current), by the same
    /// words; a word with none is left out.
    #[serde(default)]
    pub housing_in_period: Vec<(String, u32)>,
    #[serde(default)]
    pub water_in_period: Vec<(String, u32)>,
    /// Of the 应享未享 pairs, those recorded in the period.
    #[serde(default)]
    pub entitled_in_period: u32,
    /// Of the applications in progress, those started in the period.
    #[serde(default)]
    pub applying_in_period: u32,
}

impl LedgerPanel {
    /// How many households with this housing (or, with `water`, water)
    /// condition had it recorded in the period.
    pub fn in_period(&self, water: bool, word: &str) -> u32 {
        let list = if water { &self.water_in_period } else { &self.housing_in_period };
        list.iter().find(|(w, _)| w == word).map_or(0, |(_, n)| *n)
    }
}

/// One problem raised on the weekly meeting sheet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetProblem {
    pub head_name: String,
    pub category: ProblemCategory,
    pub urgency: Urgency,
    pub description: String,
    pub outcome: ProblemOutcome,
}

/// One visit on the weekly meeting sheet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetVisit {
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub visited_on: NaiveDate,
    pub head_name: String,
    pub address: String,
    pub member_name: String,
}

/// One grid's page of the weekly meeting sheet (民情碰头会).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GridSheet {
    pub grid_name: String,
    pub village_name: String,
    pub households: u32,
    pub visits: Vec<SheetVisit>,
    pub problems: Vec<SheetProblem>,
    /// Households due for a visit by the week's last day or overdue (the meeting
    /// plans who goes where): special groups first, then never visited, then the
    /// oldest visit.
    #[serde(default)]
    pub due: Vec<OverdueHousehold>,
    /// The ledger's lines for the meeting: policies newly recorded as 应享未享
    /// this week, and applications past their policy's limit by the week's end.
    #[serde(default)]
    pub ledger: Vec<SheetGap>,
    /// Households whose needs are not yet matched (产业对接), and which.
    #[serde(default)]
    pub needs: Vec<SheetNeed>,
}

/// One household with needs still unmatched, on the weekly meeting sheet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetNeed {
    pub head_name: String,
    pub address: String,
    pub livelihood: String,
    pub unmatched: Vec<crate::livelihood::Need>,
}

/// One household's policy on the weekly meeting sheet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SheetGap {
    pub head_name: String,
    pub address: String,
    pub policy_zh: String,
    pub policy_en: String,
    pub state: crate::ledger::PolicyState,
    #[serde(default)]
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date_opt"))]
    pub applying_since: Option<NaiveDate>,
    pub overdue: bool,
}

/// The weekly meeting sheet: one page per grid for the week starting `week_start`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingSheet {
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::date"))]
    pub week_start: NaiveDate,
    pub grids: Vec<GridSheet>,
}

/// A short-lived link that downloads an export with the browser's own
/// download manager (which shows progress), without putting the session token in a URL.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportLink {
    pub url: String,
    #[cfg_attr(target_family = "wasm", serde(deserialize_with = "crate::stamp::datetime"))]
    pub expires_at: DateTime<Utc>,
}

named_enum! {
    /// Formats a download can have.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), serde(rename_all = "snake_case"))]
    pub enum ExportFormat {
        Xlsx = "xlsx",
        Csv = "csv",
        Jsonl = "jsonl",
    }
}

/// Whether a spreadsheet would read this text as a formula (or a DDE command):
/// it starts with `=`, `+`, `-`, `@`, a tab or a carriage return, or the
/// full-width `＝`, `＋`, `－`, `＠`, also after any run of leading blanks and
/// invisible characters (space, NBSP, the ideographic space U+3000, line feeds,
/// zero-width spaces and joiners, the BOM), which some spreadsheets skip before
/// they look for a formula.
pub fn looks_like_formula(s: &str) -> bool {
    let mut rest = s.chars().skip_while(|&c| is_blank_or_invisible(c) && !matches!(c, '\t' | '\r'));
    matches!(
        rest.next(),
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠')
    )
}

/// Characters a reader may drop or not see before a cell's first visible one.
fn is_blank_or_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' | '\u{180E}'
        )
}

/// The text to write into an exported cell so no spreadsheet evaluates it:
/// formula-looking text gets a leading apostrophe, which Excel, WPS and
/// LibreOffice show as text.
pub fn safe_cell(s: &str) -> Cow<'_, str> {
    if looks_like_formula(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ledger_panel_counts_a_condition_recorded_in_the_period_by_its_word() {
        let panel = LedgerPanel {
            housing: vec![("needs_repair".into(), 5), ("dangerous".into(), 2)],
            housing_in_period: vec![("dangerous".into(), 1)],
            water_in_period: vec![("needs_repair".into(), 9)],
            ..LedgerPanel::default()
        };
        assert_eq!(panel.in_period(false, "dangerous"), 1);
        assert_eq!(panel.in_period(false, "needs_repair"), 0, "none recorded in the period");
        assert_eq!(panel.in_period(true, "needs_repair"), 9, "water's list, not housing's");
        // A dashboard from a server before the period counts reads as none.
        let old: LedgerPanel = crate::json::from_str(r#"{"housing":[],"water":[],"entitled_not_receiving":3,"applying":0,"overdue":0}"#).unwrap();
        assert_eq!((old.entitled_in_period, old.in_period(true, "unsafe")), (0, 0));
    }

    fn row() -> VisitLogRow {
        let t = DateTime::<Utc>::from_timestamp(1_773_000_000, 0).unwrap();
        VisitLogRow {
            id: Uuid::nil(),
            visited_on: t.date_naive(),
            recorded_at: t,
            received_at: t,
            clock_flag: false,
            household_id: Uuid::nil(),
            head_name: String::new(),
            address: String::new(),
            grid_name: String::new(),
            village_name: String::new(),
            member_id: Uuid::nil(),
            member_name: String::new(),
            sections: Vec::new(),
            problem_count: 0,
            escalated_count: 0,
            summary: String::new(),
            details: Vec::new(),
            services: Vec::new(),
        }
    }

    #[test]
    fn more_pages_follow_a_capped_total() {
        let page = |rows: usize, total: u64, total_capped: bool| VisitLogPage {
            rows: vec![row(); rows],
            total,
            total_capped,
        };
        assert!(page(50, 120, false).has_more(50, 50));
        assert!(!page(20, 120, false).has_more(100, 50));
        // Past the cap the count says nothing; a full page says more may follow.
        assert!(page(50, 10_000, true).has_more(10_000, 50));
        assert!(!page(7, 10_000, true).has_more(10_050, 50));
        assert!(!page(50, 100, false).has_more(50, 50));
    }

    #[test]
    fn formula_looking_cells_are_defused() {
        for s in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "＝1+1", "＋1", "－1", "＠x", "=HYPERLINK(\"http://x\")"] {
            assert!(looks_like_formula(s), "{s:?}");
            assert_eq!(safe_cell(s), format!("'{s}"));
        }
        for s in ["张三", "1+1", "", "a=b", " 1+1", "\u{3000}张三", "\n", "\u{200B}", "a\n=1"] {
            assert!(!looks_like_formula(s), "{s:?}");
            assert_eq!(safe_cell(s), s);
        }
    }

    #[test]
    fn formulas_behind_blanks_and_invisible_characters_are_defused() {
        for lead in [" ", "  ", "\u{A0}", "\u{3000}", "\u{200B}", "\u{FEFF}", "\u{2060}", "\n", "\r\n", " \u{200B}\u{A0}\n"] {
            for trigger in ["=1+1", "+1", "-1", "@SUM(A1)", "＝1", "\tx"] {
                let s = format!("{lead}{trigger}");
                assert!(looks_like_formula(&s), "{s:?}");
                assert_eq!(safe_cell(&s), format!("'{s}"), "{s:?}");
            }
        }
    }

    #[test]
    fn filter_makes_a_query_string() {
        let f = VisitFilter {
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            section: Some(SectionKind::PolicyDelivered),
            state: Some(SectionState::NextTime),
            group: Some(SpecialGroup::ElderlyAlone),
            q: Some(" 张 三 ".into()),
            ..Default::default()
        };
        assert_eq!(
            f.to_query(),
            "from=2026-11-01&section=policy_delivered&state=next_time&group=elderly_alone&q=%E5%BC%A0%20%E4%B8%89"
        );
        assert_eq!(VisitFilter::default().to_query(), "");
    }
}
