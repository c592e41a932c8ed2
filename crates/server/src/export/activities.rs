//! Downloads of volunteer activities (`POST /api/exports?dataset=activities`):
//! XLSX with the sheets 活动, 打卡, 工时 and 队伍工时; CSV (UTF-8 with BOM), one
//! file a sheet; JSON lines, one [`ActivityDetail`] per activity.
//!
//! Activities are read a page at a time (newest first, keyset by date, start time and
//! id) with their check-ins, households and photos, so memory stays flat however many
//! there are; the hours are tallied as pages pass and written last. Every text cell
//! goes through [`safe_cell`], so nothing a volunteer typed is evaluated as a formula.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};

use axum::body::{Body, Bytes};
use chrono::NaiveTime;
use daohu_domain::activity::{hours_one_decimal, HoursTally};
use daohu_domain::{safe_cell, ActivityDetail, CheckIn, ExportFormat, GeoPoint, HoursRow};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use crate::db::Pool;
use uuid::Uuid;

use crate::activity_log::{self, ActivityQuery, Cursor, PAGE};
use super::{csv_line, excel_date, excel_datetime, header, local_minutes, text_line, xlsx_error, Sheet, SheetCursor, SHEET_ROWS};
use crate::AppError;

/// Columns of the 活动 sheet and of the CSV.
pub const ACTIVITY_COLUMNS: [&str; 13] = [
    "日期", "开始", "结束", "类型", "地点", "队伍", "记录人", "参加人数", "服务人数", "服务户", "说明", "照片数", "单位",
];
const ACTIVITY_WIDTHS: [f64; 13] = [12.0, 8.0, 11.0, 14.0, 20.0, 18.0, 10.0, 9.0, 9.0, 30.0, 40.0, 7.0, 12.0];

/// Columns of the 打卡 sheet: which activity, who, check in or out, when (China time), where.
pub const CHECK_IN_COLUMNS: [&str; 7] = ["活动日期", "活动类型", "活动地点", "志愿者", "打卡", "时间（北京时间）", "位置"];
const CHECK_IN_WIDTHS: [f64; 7] = [12.0, 14.0, 20.0, 10.0, 7.0, 17.0, 34.0];

/// Columns of the 工时 sheet (hours with one decimal).
pub const HOURS_COLUMNS: [&str; 5] = ["志愿者", "月份", "小时", "活动数", "未签退"];
/// Columns of the 队伍工时 sheet.
pub const TEAM_HOURS_COLUMNS: [&str; 5] = ["队伍", "月份", "小时", "活动数", "未签退"];
const HOURS_WIDTHS: [f64; 5] = [18.0, 9.0, 8.0, 8.0, 8.0];

/// One activity of a download, its check-ins, and where its page ended.
type Row = (ActivityDetail, Vec<CheckIn>, Cursor);

/// The page of activities after `after`, each with everything a download writes.
async fn load_page(pool: &Pool, query: &ActivityQuery, after: Option<&Cursor>) -> Result<Vec<Row>, AppError> {
    let mut conn = pool.acquire().await?;
    let page = query.page(&mut conn, after, PAGE).await?;
    let cursors: Vec<Cursor> = page.iter().map(|l| l.cursor.clone()).collect();
    let details = activity_log::details(&mut conn, page).await?;
    Ok(details.into_iter().zip(cursors).map(|((d, c), cursor)| (d, c, cursor)).collect())
}

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// The end time, marked when it is on the next day.
fn end_cell(d: &ActivityDetail) -> String {
    let a = &d.activity;
    if a.end <= a.start {
        format!("次日 {}", hm(a.end))
    } else {
        hm(a.end)
    }
}

/// The households served: head's name and doorplate, joined by 、.
fn households_cell(d: &ActivityDetail) -> String {
    d.households.iter().map(|h| format!("{} {}", h.head_name, h.address)).collect::<Vec<_>>().join("、")
}

/// Where a check-in was: latitude, longitude and the phone's accuracy.
pub fn location_cell(l: Option<GeoPoint>) -> String {
    match l {
        Some(p) => format!("{:.5}, {:.5}（误差 {:.0} 米）", p.lat, p.lon, p.accuracy_m),
        None => String::new(),
    }
}

/// One CSV record of an activity, every text cell defused.
pub fn csv_record(d: &ActivityDetail) -> Vec<String> {
    let s = &d.summary;
    vec![
        s.date.to_string(),
        hm(s.start),
        end_cell(d),
        safe_cell(&s.kind_label).into_owned(),
        safe_cell(&s.place).into_owned(),
        safe_cell(s.team_name.as_deref().unwrap_or_default()).into_owned(),
        safe_cell(&s.recorder_name).into_owned(),
        s.attendance.to_string(),
        s.served.to_string(),
        safe_cell(&households_cell(d)).into_owned(),
        safe_cell(&d.activity.description).into_owned(),
        s.photos.to_string(),
        safe_cell(&s.unit_name).into_owned(),
    ]
}

/// The cells of a check-in after its activity's date and before its time, as
/// typed (each writer defuses them): the activity's kind and place, who, in or out.
fn check_texts<'a>(kind_label: &'a str, place: &'a str, volunteer: &'a str, check: &CheckIn) -> [&'a str; 4] {
    [kind_label, place, volunteer, check.kind.label_zh()]
}

/// One CSV record of the 工时 or 队伍工时 sheet.
fn hours_record(row: &HoursRow) -> Vec<String> {
    vec![
        safe_cell(&row.name).into_owned(),
        row.month.clone(),
        format!("{:.1}", hours_one_decimal(row.minutes)),
        row.activities.to_string(),
        row.missing_check_outs.to_string(),
    ]
}

// ---------------------------------------------------------------------------
// CSV and JSON lines

struct ActivityText {
    pool: Pool,
    query: ActivityQuery,
    format: ExportFormat,
    /// A CSV of another sheet than 活动: its lines instead.
    sheet: Option<Sheet>,
    after: Option<Cursor>,
    /// The BOM and header row, sent with the first chunk.
    head: Option<Vec<u8>>,
    done: bool,
    /// The hours of the activities read so far (the hours sheets, written at the end).
    tally: HoursTally,
}

impl ActivityText {
    fn encode(&mut self, buf: &mut Vec<u8>, page: &[Row]) -> Result<(), AppError> {
        for (d, check_ins, _) in page {
            match self.sheet {
                Some(Sheet::CheckIns) => {
                    for (check, view) in check_ins.iter().zip(&d.check_ins) {
                        let mut cells = vec![d.summary.date.to_string()];
                        let texts = check_texts(&d.summary.kind_label, &d.summary.place, &view.volunteer_name, check);
                        cells.extend(texts.iter().map(|t| safe_cell(t).into_owned()));
                        cells.push(local_minutes(check.at));
                        cells.push(location_cell(check.location));
                        csv_line(buf, cells)?;
                    }
                }
                Some(Sheet::Hours | Sheet::TeamHours) => self.tally.add(&d.activity, check_ins),
                _ => text_line(buf, self.format, d, csv_record)?,
            }
        }
        Ok(())
    }

    /// The hours sheet's rows, once every activity is read.
    async fn hours(&mut self, buf: &mut Vec<u8>) -> Result<(), AppError> {
        let teams = match self.sheet {
            Some(Sheet::Hours) => false,
            Some(Sheet::TeamHours) => true,
            _ => return Ok(()),
        };
        let tally = std::mem::replace(&mut self.tally, HoursTally::new());
        let mut conn = self.pool.acquire().await?;
        let names = activity_log::names_of(&mut conn, &tally.ids()).await?;
        let report = tally.report(|id| names.get(&id).cloned().unwrap_or_default());
        let rows = if teams { &report.teams } else { &report.volunteers };
        rows.iter().try_for_each(|row| csv_line(buf, hours_record(row)))
    }

    /// The next chunk: one page of activities, the end, or an error.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        let mut buf = self.head.take().unwrap_or_default();
        let failed = match load_page(&self.pool, &self.query, self.after.as_ref()).await {
            Ok(page) => {
                if page.len() < PAGE as usize {
                    self.done = true;
                }
                self.after = page.last().map(|(_, _, c)| c.clone());
                let mut written = self.encode(&mut buf, &page);
                if written.is_ok() && self.done {
                    written = self.hours(&mut buf).await;
                }
                match written {
                    Ok(()) => return (!buf.is_empty()).then(|| Ok(Bytes::from(buf))),
                    Err(err) => err,
                }
            }
            Err(err) => err,
        };
        tracing::error!(error = %failed, "activity export failed while streaming");
        self.done = true;
        // An error ends the body abruptly, so the download shows as failed, not complete.
        Some(Err(std::io::Error::other("export failed")))
    }
}

/// A CSV or JSON-lines body that streams activities a page at a time.
/// `sheet` (CSV only): the lines of the 打卡, 工时 or 队伍工时 sheet instead
/// of the activities' (the hours' at the end, once every activity is read).
pub fn text_body(pool: Pool, query: ActivityQuery, format: ExportFormat, sheet: Option<Sheet>) -> Result<Body, AppError> {
    let mut head = Vec::new();
    if format == ExportFormat::Csv {
        head.extend_from_slice("\u{feff}".as_bytes());
        match sheet {
            Some(Sheet::CheckIns) => csv_line(&mut head, CHECK_IN_COLUMNS)?,
            Some(Sheet::Hours) => csv_line(&mut head, HOURS_COLUMNS)?,
            Some(Sheet::TeamHours) => csv_line(&mut head, TEAM_HOURS_COLUMNS)?,
            _ => csv_line(&mut head, ACTIVITY_COLUMNS)?,
        }
    }
    let text = ActivityText { pool, query, format, sheet, after: None, head: Some(head), done: false, tally: HoursTally::new() };
    // Fused: the compression layer may poll once more after the end.
    Ok(Body::from_stream(futures_util::StreamExt::fuse(futures_util::stream::unfold(
        text,
        |mut text| async move { text.next_chunk().await.map(|chunk| (chunk, text)) },
    ))))
}

// ---------------------------------------------------------------------------
// XLSX

/// Writes the workbook on a blocking thread, reading pages as it goes, into an
/// unnamed temporary file; answers the file, rewound, and its length.
pub async fn xlsx_file(pool: Pool, query: ActivityQuery) -> Result<(std::fs::File, u64), AppError> {
    let handle = tokio::runtime::Handle::current();
    let mut file = tokio::task::spawn_blocking(move || {
        let next = |after: Option<Cursor>| handle.block_on(load_page(&pool, &query, after.as_ref()));
        let names = |ids: Vec<Uuid>| {
            handle.block_on(async {
                let mut conn = pool.acquire().await?;
                activity_log::names_of(&mut conn, &ids).await
            })
        };
        write_xlsx(next, names, SHEET_ROWS)
    })
    .await
    .map_err(AppError::internal)??;
    let length = file.seek(SeekFrom::End(0)).map_err(AppError::internal)?;
    file.seek(SeekFrom::Start(0)).map_err(AppError::internal)?;
    Ok((file, length))
}

/// A check-in row with what it needs of its activity.
struct CheckLine {
    date: chrono::NaiveDate,
    kind_label: String,
    place: String,
    volunteer: String,
    check: CheckIn,
}

/// Writes the four sheets: `next` gives the page after a cursor, `names` names the
/// volunteers and teams of the hours; `sheet_rows` is a sheet's row limit.
fn write_xlsx(
    mut next: impl FnMut(Option<Cursor>) -> Result<Vec<Row>, AppError>,
    names: impl FnOnce(Vec<Uuid>) -> Result<HashMap<Uuid, String>, AppError>,
    sheet_rows: u32,
) -> Result<std::fs::File, AppError> {
    let mut workbook = Workbook::new();
    for (name, columns, widths) in [
        ("活动", &ACTIVITY_COLUMNS[..], &ACTIVITY_WIDTHS[..]),
        ("打卡", &CHECK_IN_COLUMNS[..], &CHECK_IN_WIDTHS[..]),
        ("工时", &HOURS_COLUMNS[..], &HOURS_WIDTHS[..]),
        ("队伍工时", &TEAM_HOURS_COLUMNS[..], &HOURS_WIDTHS[..]),
    ] {
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
        sheet.set_name(name).map_err(xlsx_error)?;
        header(sheet, columns, widths).map_err(xlsx_error)?;
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let tenths = Format::new().set_num_format("0.0");
    let text = super::text_cell;
    let write_activity = |sheet: &mut Worksheet, r: u32, d: &ActivityDetail| -> Result<(), XlsxError> {
        let s = &d.summary;
        sheet.write_number_with_format(r, 0, excel_date(s.date), &date)?;
        text(sheet, r, 1, &hm(s.start))?;
        text(sheet, r, 2, &end_cell(d))?;
        text(sheet, r, 3, &s.kind_label)?;
        text(sheet, r, 4, &s.place)?;
        text(sheet, r, 5, s.team_name.as_deref().unwrap_or_default())?;
        text(sheet, r, 6, &s.recorder_name)?;
        sheet.write_number(r, 7, s.attendance)?;
        sheet.write_number(r, 8, s.served)?;
        text(sheet, r, 9, &households_cell(d))?;
        text(sheet, r, 10, &d.activity.description)?;
        sheet.write_number(r, 11, s.photos)?;
        text(sheet, r, 12, &s.unit_name)?;
        Ok(())
    };
    let write_check = |sheet: &mut Worksheet, r: u32, c: &CheckLine| -> Result<(), XlsxError> {
        sheet.write_number_with_format(r, 0, excel_date(c.date), &date)?;
        for (i, cell) in check_texts(&c.kind_label, &c.place, &c.volunteer, &c.check).into_iter().enumerate() {
            text(sheet, r, 1 + i as u16, cell)?;
        }
        sheet.write_number_with_format(r, 5, excel_datetime(c.check.at), &datetime)?;
        text(sheet, r, 6, &location_cell(c.check.location))?;
        Ok(())
    };
    let mut activities = SheetCursor::new(0, sheet_rows);
    let mut checks = SheetCursor::new(1, sheet_rows);
    let mut tally = HoursTally::new();
    let mut after: Option<Cursor> = None;
    loop {
        let page = next(after.take())?;
        let full = page.len() >= PAGE as usize;
        for (detail, check_ins, cursor) in page {
            tally.add(&detail.activity, &check_ins);
            for (check, view) in check_ins.into_iter().zip(&detail.check_ins) {
                let line = CheckLine {
                    date: detail.summary.date,
                    kind_label: detail.summary.kind_label.clone(),
                    place: detail.summary.place.clone(),
                    volunteer: view.volunteer_name.clone(),
                    check,
                };
                checks.push(&mut workbook, line, write_check).map_err(xlsx_error)?;
            }
            activities.push(&mut workbook, detail, write_activity).map_err(xlsx_error)?;
            after = Some(cursor);
        }
        if !full {
            break;
        }
    }
    activities.finish(&mut workbook, write_activity).map_err(xlsx_error)?;
    checks.finish(&mut workbook, write_check).map_err(xlsx_error)?;
    if activities.truncated || checks.truncated {
        tracing::warn!("activity xlsx export truncated at the sheet row limit");
    }
    let names = names(tally.ids())?;
    let report = tally.report(|id| names.get(&id).cloned().unwrap_or_default());
    let write_hours = |sheet: &mut Worksheet, rows: &[HoursRow]| -> Result<(), XlsxError> {
        for (i, row) in rows.iter().take(sheet_rows as usize - 1).enumerate() {
            let r = i as u32 + 1;
            text(sheet, r, 0, &row.name)?;
            text(sheet, r, 1, &row.month)?;
            sheet.write_number_with_format(r, 2, hours_one_decimal(row.minutes), &tenths)?;
            sheet.write_number(r, 3, row.activities)?;
            sheet.write_number(r, 4, row.missing_check_outs)?;
        }
        Ok(())
    };
    write_hours(workbook.worksheet_from_index(2).map_err(xlsx_error)?, &report.volunteers).map_err(xlsx_error)?;
    write_hours(workbook.worksheet_from_index(3).map_err(xlsx_error)?, &report.teams).map_err(xlsx_error)?;
    let mut file = tempfile::tempfile().map_err(AppError::internal)?;
    workbook.save_to_writer(&mut file).map_err(xlsx_error)?;
    Ok(file)
}
