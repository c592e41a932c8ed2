//! Downloads: the spreadsheet and CSV engine shared by every dataset (cells,
//! dates as spreadsheet serials in China time, sheets that stop at the row
//! limit with a note), and the datasets themselves: [`visits`] (the visit log,
//! its problems and their trail), [`activities`] (volunteer activities,
//! check-ins and hours) and [`ledger`] (each household's policy states and
//! living conditions now). The handlers that make and serve download links are
//! in `routes::exports`.
//!
//! Text cells go through [`daohu_domain::safe_cell`], so nothing a member typed
//! is evaluated as a formula, in XLSX and in CSV alike.

pub mod activities;
pub mod ledger;
pub mod visits;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::visit_log::report_offset;
use crate::AppError;

/// Rows of a worksheet, the header included (Excel's and WPS's limit).
pub const SHEET_ROWS: u32 = 1_048_576;
/// Bytes gathered before a chunk of a streamed download is sent.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;
/// The note written as the last row of a sheet that could not hold every row.
pub const TRUNCATED_NOTE: &str = "（行数超过表格上限，后面的记录未导出；请缩小筛选范围分批导出）";

/// A time as spreadsheets show it: `yyyy-mm-dd hh:mm`, China Standard Time.
pub(crate) fn local_minutes(t: DateTime<Utc>) -> String {
    t.with_timezone(&report_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Appends one record of a text download to `buf`: its CSV line (cells from
/// `cells`) or its JSON line.
pub(crate) fn text_line<T: serde::Serialize>(
    buf: &mut Vec<u8>,
    format: daohu_domain::ExportFormat,
    record: &T,
    cells: impl FnOnce(&T) -> Vec<String>,
) -> Result<(), AppError> {
    if format == daohu_domain::ExportFormat::Csv {
        csv_line(buf, cells(record))
    } else {
        serde_json::to_writer(&mut *buf, record)?;
        buf.push(b'\n');
        Ok(())
    }
}

/// Appends one CSV record (UTF-8, CRLF, quoted when needed) to `buf`.
pub(crate) fn csv_line<I, T>(buf: &mut Vec<u8>, cells: I) -> Result<(), AppError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(4096)
        .from_writer(buf);
    writer.write_record(cells).map_err(AppError::internal)?;
    writer.flush().map_err(AppError::internal)?;
    Ok(())
}

pub(crate) fn xlsx_error(err: XlsxError) -> AppError {
    AppError::internal(format!("xlsx: {err}"))
}

/// Days since 1899-12-30: how spreadsheets store dates.
pub(crate) fn excel_date(d: NaiveDate) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(1899, 12, 30).expect("valid date");
    (d - epoch).num_days() as f64
}

/// A time as a spreadsheet date-time in China Standard Time, to the minute.
pub(crate) fn excel_datetime(t: DateTime<Utc>) -> f64 {
    let local = t.with_timezone(&report_offset()).naive_local();
    let minutes = f64::from(local.time().num_seconds_from_midnight() / 60);
    excel_date(local.date()) + minutes / 1440.0
}

/// Where the next row of a sheet goes, holding back the last row that fits until
/// it is known whether more follow (then it becomes the truncation note).
pub(crate) struct SheetCursor<T> {
    sheet: usize,
    next: u32,
    last: u32,
    held: Option<T>,
    pub truncated: bool,
}

impl<T> SheetCursor<T> {
    pub fn new(sheet: usize, sheet_rows: u32) -> Self {
        SheetCursor {
            sheet,
            next: 1,
            last: sheet_rows - 1,
            held: None,
            truncated: false,
        }
    }

    /// Adds a row; `write` puts one on the sheet at a row index.
    pub fn push(
        &mut self,
        workbook: &mut Workbook,
        item: T,
        write: impl Fn(&mut Worksheet, u32, &T) -> Result<(), XlsxError>,
    ) -> Result<(), XlsxError> {
        if self.truncated {
            return Ok(());
        }
        let sheet = workbook.worksheet_from_index(self.sheet)?;
        if self.next < self.last {
            write(sheet, self.next, &item)?;
            self.next += 1;
        } else if self.held.is_none() {
            self.held = Some(item);
        } else {
            // More rows than the sheet holds: the last row says so.
            self.held = None;
            self.truncated = true;
            sheet.write_string(self.last, 0, TRUNCATED_NOTE)?;
        }
        Ok(())
    }

    pub fn finish(
        &mut self,
        workbook: &mut Workbook,
        write: impl Fn(&mut Worksheet, u32, &T) -> Result<(), XlsxError>,
    ) -> Result<(), XlsxError> {
        if let Some(item) = self.held.take() {
            write(workbook.worksheet_from_index(self.sheet)?, self.last, &item)?;
        }
        Ok(())
    }
}

/// A text cell, formula-safe ([`daohu_domain::safe_cell`]); an empty one is left blank.
pub(crate) fn text_cell(sheet: &mut Worksheet, r: u32, c: u16, s: &str) -> Result<(), XlsxError> {
    if !s.is_empty() {
        sheet.write_string(r, c, daohu_domain::safe_cell(s))?;
    }
    Ok(())
}

pub(crate) fn header(sheet: &mut Worksheet, columns: &[&str], widths: &[f64]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (i, (name, width)) in columns.iter().zip(widths).enumerate() {
        let col = i as u16;
        sheet.set_column_width(col, *width)?;
        sheet.write_string_with_format(0, col, *name, &bold)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// One sheet of a workbook as a CSV file of its own (a CSV file holds one table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sheet {
    /// Visits: 走访记录, a row per visit (the default).
    Visits,
    /// Visits: 服务, a row per service given.
    Services,
    /// Visits: 问题, a row per problem a visit listed, with where it stands.
    Problems,
    /// Visits: 办理经过, every event of those problems.
    Trail,
    /// Activities: 打卡, a row per check-in or check-out.
    CheckIns,
    /// Activities: 工时, hours per volunteer and month.
    Hours,
    /// Activities: 队伍工时, hours per team and month.
    TeamHours,
    /// Ledger: 政策台账, a row per household and policy (the default).
    Policies,
    /// Ledger: 家庭情况, a row per household and fact of its profile.
    Living,
    /// Ledger: 产业对接, a row per matchup.
    Matchups,
}

impl Sheet {
    pub const ALL: [Sheet; 10] = [
        Sheet::Visits,
        Sheet::Services,
        Sheet::Problems,
        Sheet::Trail,
        Sheet::CheckIns,
        Sheet::Hours,
        Sheet::TeamHours,
        Sheet::Policies,
        Sheet::Living,
        Sheet::Matchups,
    ];

    /// The word it is stored as.
    pub fn word(self) -> &'static str {
        match self {
            Sheet::Visits => "visits",
            Sheet::Services => "services",
            Sheet::Problems => "problems",
            Sheet::Trail => "trail",
            Sheet::CheckIns => "check_ins",
            Sheet::Hours => "hours",
            Sheet::TeamHours => "team_hours",
            Sheet::Policies => "policies",
            Sheet::Living => "living",
            Sheet::Matchups => "matchups",
        }
    }

    pub fn parse(word: &str) -> Option<Sheet> {
        Sheet::ALL.into_iter().find(|s| s.word() == word)
    }

    /// The file name's stems (ASCII, Chinese) when not the first sheet.
    pub fn stems(self) -> Option<(&'static str, &'static str)> {
        match self {
            Sheet::Services => Some(("services", "服务记录")),
            Sheet::Problems => Some(("problems", "问题")),
            Sheet::Trail => Some(("trail", "办理经过")),
            Sheet::CheckIns => Some(("check-ins", "打卡")),
            Sheet::Hours => Some(("hours", "工时")),
            Sheet::TeamHours => Some(("team-hours", "队伍工时")),
            Sheet::Living => Some(("living", "家庭情况")),
            Sheet::Matchups => Some(("matchups", "产业对接")),
            Sheet::Visits | Sheet::Policies => None,
        }
    }
}
