//! Downloads of the household ledger (`POST /api/exports?dataset=ledger`):
//! each household's current policy states (政策台账), living conditions
//! (家庭情况: housing, water, illness, income, road, heating, contact,
//! livelihood, needs) and matchups (产业对接) under the caller's unit. XLSX has
//! the three sheets; a CSV file (UTF-8 with BOM) holds one of them (the
//! 政策台账 unless another is asked for); JSON lines one [`LedgerLine`] per row
//! of the first two.
//! Rows are read a page at a time, so memory stays flat for a county's millions.
//! Every text cell goes through [`safe_cell`].

use std::io::{Seek, SeekFrom};

use axum::body::{Body, Bytes};
use daohu_domain::{safe_cell, Catalogue, ExportFormat, LedgerField, LedgerValue, PolicyStatus};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;

use super::{csv_line, excel_date, excel_datetime, header, text_line, xlsx_error, Sheet, SheetCursor, SHEET_ROWS};
use crate::db::{parse_ts, Pool};
use crate::store::ledger::{rows_page, LedgerRow};
use crate::tree::Subtree;
use crate::AppError;

/// Rows read at a time.
const PAGE: u32 = 2_000;

/// Columns of the 政策台账 sheet and of the CSV.
pub const POLICY_COLUMNS: [&str; 10] =
    ["户主", "门牌", "网格", "村", "政策", "情况", "开始办理", "是否超期", "最后更新（北京时间）", "更新人"];
const POLICY_WIDTHS: [f64; 10] = [10.0, 20.0, 12.0, 12.0, 18.0, 12.0, 12.0, 9.0, 18.0, 10.0];
/// Columns of the 家庭情况 sheet.
pub const LIVING_COLUMNS: [&str; 8] = ["户主", "门牌", "网格", "村", "项目", "情况", "最后更新（北京时间）", "更新人"];
const LIVING_WIDTHS: [f64; 8] = [10.0, 20.0, 12.0, 12.0, 10.0, 12.0, 18.0, 10.0];
/// Columns of the 产业对接 sheet: every matchup, the latest of a need last.
pub const MATCHUP_COLUMNS: [&str; 12] =
    ["户主", "门牌", "网格", "村", "需求", "帮扶资源", "联系方式", "对接日期", "结果", "说明", "记录人", "记录时间（北京时间）"];
const MATCHUP_WIDTHS: [f64; 12] = [10.0, 20.0, 12.0, 12.0, 8.0, 22.0, 18.0, 12.0, 10.0, 30.0, 10.0, 18.0];

/// One row of a ledger download, as its JSON line.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerLine {
    pub household_id: String,
    pub head_name: String,
    pub address: String,
    pub grid_name: String,
    pub village_name: String,
    /// `policy:<key>`, or a profile field's word (`housing`, `income`, …: `LedgerField::word`).
    pub field: String,
    /// The policy's or the item's name.
    pub item: String,
    /// The state or condition's word, and its Chinese label.
    pub value: String,
    pub label: String,
    pub applying_since: Option<chrono::NaiveDate>,
    pub overdue: bool,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub updated_by: String,
}

impl LedgerLine {
    fn of(r: LedgerRow, catalogue: &Catalogue, today: chrono::NaiveDate) -> Result<Option<LedgerLine>, AppError> {
        let Some(field) = LedgerField::parse(&r.field) else { return Ok(None) };
        let since = r.applying_since.as_deref().map(crate::visit_log::parse_date).transpose()?;
        let Some(value) = LedgerValue::parse(&field, &r.state, since) else { return Ok(None) };
        let overdue = match (&field, &value) {
            (LedgerField::Policy(key), LedgerValue::Policy(status)) => {
                catalogue.policy(key).is_some_and(|p| PolicyStatus::overdue(status, p, today))
            }
            _ => false,
        };
        // The state alone: the application's first day has a column of its own.
        let shown = match &value {
            LedgerValue::Policy(status) => LedgerValue::Policy(PolicyStatus { applying_since: None, ..status.clone() }),
            other => other.clone(),
        };
        let (item, label) = daohu_domain::ledger::describe(&field, &shown, catalogue, true);
        Ok(Some(LedgerLine {
            household_id: r.household_id,
            head_name: r.head_name,
            address: r.address,
            grid_name: r.grid_name,
            village_name: r.village_name,
            field: r.field,
            item,
            value: r.state,
            label,
            applying_since: since,
            overdue,
            updated_at: parse_ts(&r.effective_at)?,
            updated_by: r.by_name,
        }))
    }

    fn is_policy(&self) -> bool {
        self.field.starts_with("policy:")
    }
}

/// The household, the item and its state: the first cells of a policy's and a
/// profile fact's record, defused.
fn first_cells(l: &LedgerLine) -> Vec<String> {
    let text = [&l.head_name, &l.address, &l.grid_name, &l.village_name, &l.item];
    let mut cells: Vec<String> = text.iter().map(|t| safe_cell(t).into_owned()).collect();
    cells.push(l.label.clone());
    cells
}

/// One CSV record of a policy row, every text cell defused.
pub fn csv_record(l: &LedgerLine) -> Vec<String> {
    let mut cells = first_cells(l);
    cells.extend([
        l.applying_since.map(|d| d.to_string()).unwrap_or_default(),
        if l.overdue { "是".into() } else { String::new() },
        super::local_minutes(l.updated_at),
        safe_cell(&l.updated_by).into_owned(),
    ]);
    cells
}

/// One CSV record of a profile fact (家庭情况), every text cell defused.
pub fn living_record(l: &LedgerLine) -> Vec<String> {
    let mut cells = first_cells(l);
    cells.extend([super::local_minutes(l.updated_at), safe_cell(&l.updated_by).into_owned()]);
    cells
}

/// One CSV record of a matchup (产业对接), every text cell defused.
fn matchup_record(p: crate::store::matchups::PlacedMatchup) -> Result<Vec<String>, AppError> {
    let place = [p.head_name.clone(), p.address.clone(), p.grid_name.clone(), p.village_name.clone()];
    let m = p.record()?;
    let x = &m.matchup;
    let mut cells: Vec<String> = place.iter().map(|c| safe_cell(c).into_owned()).collect();
    cells.extend([
        x.need.label(true).to_string(),
        safe_cell(&x.resource_name).into_owned(),
        safe_cell(&x.contact).into_owned(),
        x.on.to_string(),
        x.outcome.label(true).to_string(),
        safe_cell(&x.note).into_owned(),
        safe_cell(&m.made_by_name).into_owned(),
        super::local_minutes(m.made_at),
    ]);
    Ok(cells)
}

/// The 产业对接 sheet as a CSV file: an area's matchups are few (one a need
/// answered), read at once.
async fn matchups_csv(pool: &Pool, area: &Subtree) -> Result<Body, AppError> {
    let matchups = crate::store::matchups::in_area(&mut *pool.acquire().await?, area).await?;
    let mut buf = "\u{feff}".as_bytes().to_vec();
    csv_line(&mut buf, MATCHUP_COLUMNS)?;
    for p in matchups {
        csv_line(&mut buf, matchup_record(p)?)?;
    }
    Ok(Body::from(buf))
}

/// What a download reads: the rows under `area`, named from `catalogue`.
#[derive(Clone)]
pub struct LedgerQuery {
    pub area: Subtree,
    pub catalogue: Catalogue,
    pub today: chrono::NaiveDate,
}

async fn page(pool: &Pool, q: &LedgerQuery, after: Option<&(String, String)>) -> Result<(Vec<LedgerLine>, Option<(String, String)>), AppError> {
    let mut conn = pool.acquire().await?;
    let rows = rows_page(&mut conn, &q.area, after, PAGE).await?;
    let next = (rows.len() == PAGE as usize).then(|| rows.last().map(|r| (r.household_id.clone(), r.field.clone()))).flatten();
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(l) = LedgerLine::of(r, &q.catalogue, q.today)? {
            lines.push(l);
        }
    }
    Ok((lines, next))
}

/// The CSV of one sheet (policy rows, unless `sheet` says the profile's or
/// the matchups') or JSON lines (every row), streamed page by page.
pub async fn text_body(pool: Pool, query: LedgerQuery, format: ExportFormat, sheet: Option<Sheet>) -> Result<Body, AppError> {
    let csv = format == ExportFormat::Csv;
    if csv && sheet == Some(Sheet::Matchups) {
        return matchups_csv(&pool, &query.area).await;
    }
    // Which rows a CSV holds: the policies' or the profile's.
    let living = sheet == Some(Sheet::Living);
    let mut head = Vec::new();
    if csv {
        head.extend_from_slice("\u{feff}".as_bytes());
        csv_line(&mut head, if living { &LIVING_COLUMNS[..] } else { &POLICY_COLUMNS[..] })?;
    }
    // (after, head, done)
    let state = (pool, query, None::<(String, String)>, Some(head), false);
    Ok(Body::from_stream(futures_util::StreamExt::fuse(futures_util::stream::unfold(
        state,
        move |(pool, query, after, head, done)| async move {
            if done {
                return None;
            }
            let mut buf = head.unwrap_or_default();
            let chunk = match page(&pool, &query, after.as_ref()).await {
                Ok((lines, next)) => {
                    let mut result = Ok(());
                    for l in lines.iter().filter(|l| !csv || l.is_policy() != living) {
                        result = text_line(&mut buf, format, l, if living { living_record } else { csv_record });
                        if result.is_err() {
                            break;
                        }
                    }
                    match result {
                        Ok(()) => Ok((Bytes::from(buf), next)),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match chunk {
                Ok((bytes, next)) => {
                    let done = next.is_none();
                    Some((Ok::<Bytes, std::io::Error>(bytes), (pool, query, next, None, done)))
                }
                Err(e) => {
                    tracing::error!(error = %e, "ledger download stopped");
                    Some((Err(std::io::Error::other("ledger download failed")), (pool, query, None, None, true)))
                }
            }
        },
    ))))
}

/// Writes the workbook on a blocking thread, reading pages as it goes, into an
/// unnamed temporary file; answers the file, rewound, and its length.
pub async fn xlsx_file(pool: Pool, query: LedgerQuery) -> Result<(std::fs::File, u64), AppError> {
    let handle = tokio::runtime::Handle::current();
    // An area's matchups are few (one a need answered): read at once.
    let matchups = crate::store::matchups::in_area(&mut *pool.acquire().await?, &query.area).await?;
    let mut file = tokio::task::spawn_blocking(move || {
        let next = |after: Option<(String, String)>| handle.block_on(page(&pool, &query, after.as_ref()));
        write_xlsx(next, matchups, SHEET_ROWS)
    })
    .await
    .map_err(AppError::internal)??;
    let length = file.seek(SeekFrom::End(0)).map_err(AppError::internal)?;
    file.seek(SeekFrom::Start(0)).map_err(AppError::internal)?;
    Ok((file, length))
}

fn write_xlsx(
    mut next: impl FnMut(Option<(String, String)>) -> Result<(Vec<LedgerLine>, Option<(String, String)>), AppError>,
    matchups: Vec<crate::store::matchups::PlacedMatchup>,
    sheet_rows: u32,
) -> Result<std::fs::File, AppError> {
    let mut workbook = Workbook::new();
    for (name, columns, widths) in [
        ("政策台账", &POLICY_COLUMNS[..], &POLICY_WIDTHS[..]),
        ("家庭情况", &LIVING_COLUMNS[..], &LIVING_WIDTHS[..]),
        ("产业对接", &MATCHUP_COLUMNS[..], &MATCHUP_WIDTHS[..]),
    ] {
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(xlsx_error)?;
        sheet.set_name(name).map_err(xlsx_error)?;
        header(sheet, columns, widths).map_err(xlsx_error)?;
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let text = super::text_cell;
    let place = |sheet: &mut Worksheet, r: u32, l: &LedgerLine| -> Result<(), XlsxError> {
        text(sheet, r, 0, &l.head_name)?;
        text(sheet, r, 1, &l.address)?;
        text(sheet, r, 2, &l.grid_name)?;
        text(sheet, r, 3, &l.village_name)
    };
    let write_policy = |sheet: &mut Worksheet, r: u32, l: &LedgerLine| -> Result<(), XlsxError> {
        place(sheet, r, l)?;
        text(sheet, r, 4, &l.item)?;
        text(sheet, r, 5, &l.label)?;
        if let Some(d) = l.applying_since {
            sheet.write_number_with_format(r, 6, excel_date(d), &date)?;
        }
        text(sheet, r, 7, if l.overdue { "是" } else { "" })?;
        sheet.write_number_with_format(r, 8, excel_datetime(l.updated_at), &datetime)?;
        text(sheet, r, 9, &l.updated_by)
    };
    let write_living = |sheet: &mut Worksheet, r: u32, l: &LedgerLine| -> Result<(), XlsxError> {
        place(sheet, r, l)?;
        text(sheet, r, 4, &l.item)?;
        text(sheet, r, 5, &l.label)?;
        sheet.write_number_with_format(r, 6, excel_datetime(l.updated_at), &datetime)?;
        text(sheet, r, 7, &l.updated_by)
    };
    let mut policies = SheetCursor::new(0, sheet_rows);
    let mut living = SheetCursor::new(1, sheet_rows);
    let mut after = None;
    loop {
        let (lines, more) = next(after)?;
        for l in lines {
            if l.is_policy() {
                policies.push(&mut workbook, l, write_policy).map_err(xlsx_error)?;
            } else {
                living.push(&mut workbook, l, write_living).map_err(xlsx_error)?;
            }
        }
        match more {
            Some(key) => after = Some(key),
            None => break,
        }
    }
    policies.finish(&mut workbook, write_policy).map_err(xlsx_error)?;
    living.finish(&mut workbook, write_living).map_err(xlsx_error)?;
    let write_matchup = |sheet: &mut Worksheet, r: u32, (place, m): &(Vec<String>, daohu_domain::MatchupRecord)| -> Result<(), XlsxError> {
        for (c, cell) in place.iter().enumerate() {
            text(sheet, r, c as u16, cell)?;
        }
        let x = &m.matchup;
        text(sheet, r, 4, x.need.label(true))?;
        text(sheet, r, 5, &x.resource_name)?;
        text(sheet, r, 6, &x.contact)?;
        sheet.write_number_with_format(r, 7, excel_date(x.on), &date)?;
        text(sheet, r, 8, x.outcome.label(true))?;
        text(sheet, r, 9, &x.note)?;
        text(sheet, r, 10, &m.made_by_name)?;
        sheet.write_number_with_format(r, 11, excel_datetime(m.made_at), &datetime)?;
        Ok(())
    };
    let mut made = SheetCursor::new(2, sheet_rows);
    for p in matchups {
        let place = vec![p.head_name.clone(), p.address.clone(), p.grid_name.clone(), p.village_name.clone()];
        made.push(&mut workbook, (place, p.record()?), write_matchup).map_err(xlsx_error)?;
    }
    made.finish(&mut workbook, write_matchup).map_err(xlsx_error)?;
    let mut file = tempfile::tempfile().map_err(AppError::internal)?;
    workbook.save_to_writer(&mut file).map_err(xlsx_error)?;
    Ok(file)
}
