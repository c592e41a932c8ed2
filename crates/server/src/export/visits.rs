//! The visit log as a download: XLSX (four sheets: visits, problems with
//! where they stand, the problems' trail, and the services given), CSV (one
//! file a sheet; the visits' with their services in one cell) and JSON
//! lines. CSV and JSON lines stream rows as the database yields them; XLSX
//! is written by rust_xlsxwriter in constant-memory mode to a temporary file
//! on a blocking thread, then streamed.

use std::collections::{HashMap, HashSet};
use std::io::{Seek, SeekFrom};

use axum::body::{Body, Bytes};
use chrono::NaiveDate;
use daohu_domain::{safe_cell, Catalogue, ExportFormat, ProblemEntry, ProblemStatus, SectionKind, SectionState, VisitLogRow};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{csv_line, excel_date, excel_datetime, header, local_minutes, text_line, xlsx_error, Sheet, SheetCursor, CHUNK_BYTES};
use crate::db::{self, Pool};
use crate::problems::{self, ExportEvent, ExportProblem};
use crate::visit_log::LogQuery;
use crate::{store, AppError};

/// Most visits whose problems the XLSX writer looks up at once.
const LOOKUP_BATCH: usize = 256;

/// Columns of the visit sheet and of the CSV: the visit, then each section's
/// ticked items (by name) and notes, in the order of the five sections.
pub const VISIT_COLUMNS: [&str; 29] = [
    "走访日期",
    "户主",
    "门牌号",
    "网格",
    "村",
    "联户党员",
    "党员联系到户",
    "民情走访到户",
    "政策落实到户",
    "产业对接到户",
    "精准服务到户",
    "问题数",
    "上报数",
    "小结",
    // Downloads say their zone: times are China Standard Time (UTC+8), whatever the browser's.
    "手机记录时间（北京时间）",
    "服务器收到时间（北京时间）",
    "时间存疑",
    "走访编号",
    "党员联系到户·已办事项",
    "党员联系到户·备注",
    "民情走访到户·已办事项",
    "民情走访到户·备注",
    "政策落实到户·已办事项",
    "政策落实到户·备注",
    "产业对接到户·已办事项",
    "产业对接到户·备注",
    "精准服务到户·已办事项",
    "精准服务到户·备注",
    "提供的服务",
];
/// The first of the sections' item and note columns.
const DETAIL_COLUMN: u16 = 18;
const VISIT_WIDTHS: [f64; 29] = [
    12.0, 10.0, 22.0, 12.0, 10.0, 10.0, 12.0, 12.0, 12.0, 12.0, 12.0, 7.0, 7.0, 40.0, 17.0, 17.0,
    9.0, 38.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 30.0, 40.0,
];
/// The column of the services given, in the visit sheet and the CSV.
const SERVICES_COLUMN: u16 = 28;

/// Columns of the problem sheet (the last four: where it stands at the download).
pub const PROBLEM_COLUMNS: [&str; 15] = [
    "走访日期",
    "户主",
    "门牌号",
    "网格",
    "联户党员",
    "类别",
    "紧急程度",
    "问题",
    "处理",
    "怎么解决的",
    "问题编号",
    "当前层级",
    "状态",
    "答复",
    "是否超期",
];
const PROBLEM_WIDTHS: [f64; 15] = [
    12.0, 10.0, 22.0, 12.0, 10.0, 10.0, 9.0, 40.0, 10.0, 30.0, 38.0, 9.0, 9.0, 30.0, 9.0,
];

/// Columns of the trail sheet (办理经过): every event of the exported problems, in
/// merge order; 不合当时状态 = 是 for a flagged event (kept, but it did not fit).
pub const TRAIL_COLUMNS: [&str; 6] = ["问题编号", "时间（北京时间）", "办理人", "动作", "内容", "不合当时状态"];
const TRAIL_WIDTHS: [f64; 6] = [38.0, 17.0, 10.0, 10.0, 40.0, 12.0];

/// Columns of the services sheet (服务): one row a service given.
pub const SERVICE_COLUMNS: [&str; 9] = ["走访日期", "户主", "门牌号", "网格", "村", "联户党员", "服务类别", "说明", "走访编号"];
const SERVICE_WIDTHS: [f64; 9] = [12.0, 10.0, 22.0, 12.0, 10.0, 10.0, 14.0, 40.0, 38.0];

/// A visit's services in one cell: each kind's name (as the catalogue names
/// it), with its note in brackets, joined with "、".
fn services_cell(row: &VisitLogRow, catalogue: &Catalogue) -> String {
    let one = |s: &daohu_domain::ServiceGiven| match s.note.trim() {
        "" => catalogue.item_name(daohu_domain::ItemList::Service, &s.kind, true),
        note => format!("{}（{note}）", catalogue.item_name(daohu_domain::ItemList::Service, &s.kind, true)),
    };
    row.services.iter().map(one).collect::<Vec<_>>().join("、")
}

/// A visit of the export with its problems, or the failure that ended the reading.
type RowItem = Result<(VisitLogRow, Vec<ProblemEntry>), AppError>;

/// Reads every matching row, newest first, on a connection of its own, in a task
/// that hands rows over as they come (at most `capacity` waiting); stops when
/// the receiver is dropped. A failure arrives as the last item.
fn spawn_reader(pool: Pool, query: LogQuery, capacity: usize) -> mpsc::Receiver<RowItem> {
    let (tx, rx) = mpsc::channel(capacity);
    tokio::spawn(async move {
        if let Err(err) = read_rows(&pool, &query, &tx).await {
            let _ = tx.send(Err(err)).await;
        }
    });
    rx
}

pub use crate::store::exports::CURSOR_ROWS;

async fn read_rows(
    pool: &Pool,
    query: &LogQuery,
    tx: &mpsc::Sender<RowItem>,
) -> Result<(), AppError> {
    // A send fails once the download is abandoned: reading stops.
    store::exports::log_rows(pool, query, |raw| async move { Ok(tx.send(Ok(raw.into_row()?)).await.is_ok()) }).await
}

/// The Chinese label of a section's state, or empty.
fn state_label(row: &VisitLogRow, kind: SectionKind) -> &'static str {
    row.sections
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, s)| *s)
        .map(SectionState::label_zh)
        .unwrap_or("")
}

/// A section's ticked items (by their names in the catalogue, retired ones
/// too) and notes, or two empty texts.
fn detail_cells<'a>(row: &'a VisitLogRow, kind: SectionKind, catalogue: &Catalogue) -> (String, &'a str) {
    row.details
        .iter()
        .find(|d| d.kind == kind)
        .map(|d| (catalogue.ticked_names(kind.list(), &d.checked, true), d.notes.as_str()))
        .unwrap_or_default()
}

/// One CSV record of a service given, as the 服务 sheet has it, every text cell defused.
fn service_record(row: &VisitLogRow, s: &daohu_domain::ServiceGiven, catalogue: &Catalogue) -> Vec<String> {
    let kind = catalogue.item_name(daohu_domain::ItemList::Service, &s.kind, true);
    let text = [&row.head_name, &row.address, &row.grid_name, &row.village_name, &row.member_name, &kind, &s.note];
    let mut cells = vec![row.visited_on.to_string()];
    cells.extend(text.iter().map(|t| safe_cell(t).into_owned()));
    cells.push(row.id.to_string());
    cells
}

/// One CSV record of a visit, every text cell defused.
fn csv_record(row: &VisitLogRow, catalogue: &Catalogue) -> Vec<String> {
    let mut cells = vec![
        row.visited_on.to_string(),
        safe_cell(&row.head_name).into_owned(),
        safe_cell(&row.address).into_owned(),
        safe_cell(&row.grid_name).into_owned(),
        safe_cell(&row.village_name).into_owned(),
        safe_cell(&row.member_name).into_owned(),
    ];
    for kind in SectionKind::ALL {
        cells.push(state_label(row, kind).to_string());
    }
    cells.push(row.problem_count.to_string());
    cells.push(row.escalated_count.to_string());
    cells.push(safe_cell(&row.summary).into_owned());
    cells.push(local_minutes(row.recorded_at));
    cells.push(local_minutes(row.received_at));
    cells.push(if row.clock_flag { "是" } else { "" }.to_string());
    cells.push(row.id.to_string());
    for kind in SectionKind::ALL {
        let (items, notes) = detail_cells(row, kind, catalogue);
        cells.push(safe_cell(&items).into_owned());
        cells.push(safe_cell(notes).into_owned());
    }
    cells.push(safe_cell(&services_cell(row, catalogue)).into_owned());
    cells
}

/// One CSV record of the 问题 sheet, every text cell defused.
fn problem_record(line: &ProblemLine) -> Vec<String> {
    let mut cells = vec![line.visited_on.to_string()];
    cells.extend(line.texts().iter().map(|t| safe_cell(t).into_owned()));
    cells
}

/// One CSV record of the 办理经过 sheet, every text cell defused.
fn trail_record(line: &TrailLine) -> Vec<String> {
    let mut cells = vec![line.problem_id.to_string(), local_minutes(line.event.at)];
    cells.extend(line.texts().iter().map(|t| safe_cell(t).into_owned()));
    cells
}

/// What the body of a CSV or JSON-lines download reads from.
struct TextExport {
    rows: mpsc::Receiver<RowItem>,
    format: ExportFormat,
    /// The BOM and header row, sent with the first chunk.
    head: Option<Vec<u8>>,
    done: bool,
    /// Names the services' kinds.
    catalogue: Catalogue,
    /// A CSV of another sheet than the visits': its lines instead.
    sheet: Option<Sheet>,
    /// Where the problems stand, for the 问题 and 办理经过 sheets.
    pool: Pool,
    now: chrono::DateTime<chrono::Utc>,
    /// Problems whose trail is written (a problem listed by two visits: once).
    trailed: HashSet<Uuid>,
}

impl TextExport {
    /// Whether the sheet needs where the visits' problems stand.
    fn reads_problems(&self) -> bool {
        matches!(self.sheet, Some(Sheet::Problems | Sheet::Trail))
    }

    async fn encode(&mut self, buf: &mut Vec<u8>, batch: Vec<(VisitLogRow, Vec<ProblemEntry>)>) -> Result<(), AppError> {
        if self.reads_problems() {
            let wanted = wanted(&batch);
            let details = if wanted.is_empty() { HashMap::new() } else { problems::export_details(&self.pool, &wanted, self.now).await? };
            let (lines, trail) = problem_lines(&batch, &details, &mut self.trailed);
            if self.sheet == Some(Sheet::Problems) {
                lines.iter().try_for_each(|l| csv_line(buf, problem_record(l)))?;
            } else {
                trail.iter().try_for_each(|t| csv_line(buf, trail_record(t)))?;
            }
            return Ok(());
        }
        for (row, _) in &batch {
            if self.sheet == Some(Sheet::Services) {
                for s in &row.services {
                    csv_line(buf, service_record(row, s, &self.catalogue))?;
                }
            } else {
                text_line(buf, self.format, row, |r| csv_record(r, &self.catalogue))?;
            }
        }
        Ok(())
    }

    /// The next visit and, for the problem sheets, those already waiting (up
    /// to [`LOOKUP_BATCH`]: their problems are looked up together); none at
    /// the end.
    async fn next_batch(&mut self) -> Result<Option<Vec<(VisitLogRow, Vec<ProblemEntry>)>>, AppError> {
        let Some(first) = self.rows.recv().await else { return Ok(None) };
        let mut batch = vec![first?];
        while self.reads_problems() && batch.len() < LOOKUP_BATCH {
            match self.rows.try_recv() {
                Ok(item) => batch.push(item?),
                Err(_) => break,
            }
        }
        Ok(Some(batch))
    }

    /// The next chunk: rows gathered until about [`CHUNK_BYTES`], the end, or an error.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.done {
            return None;
        }
        let mut buf = self
            .head
            .take()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK_BYTES * 2));
        loop {
            let failed = match self.next_batch().await {
                Ok(Some(batch)) => match self.encode(&mut buf, batch).await {
                    Ok(()) if buf.len() >= CHUNK_BYTES => return Some(Ok(Bytes::from(buf))),
                    Ok(()) => continue,
                    Err(err) => err,
                },
                Ok(None) => {
                    self.done = true;
                    return (!buf.is_empty()).then(|| Ok(Bytes::from(buf)));
                }
                Err(err) => err,
            };
            tracing::error!(error = %failed, "export failed while streaming");
            self.done = true;
            // An error ends the body abruptly, so the download shows as failed, not complete.
            return Some(Err(std::io::Error::other("export failed")));
        }
    }
}

/// A CSV or JSON-lines body that streams rows as the database yields them.
/// `sheet` (CSV only): the lines of the 服务, 问题 or 办理经过 sheet instead of
/// the visits'.
pub fn text_stream(pool: Pool, query: LogQuery, format: ExportFormat, catalogue: Catalogue, sheet: Option<Sheet>) -> Result<Body, AppError> {
    let mut head = Vec::new();
    if format == ExportFormat::Csv {
        head.extend_from_slice("\u{feff}".as_bytes());
        match sheet {
            Some(Sheet::Services) => csv_line(&mut head, SERVICE_COLUMNS)?,
            Some(Sheet::Problems) => csv_line(&mut head, PROBLEM_COLUMNS)?,
            Some(Sheet::Trail) => csv_line(&mut head, TRAIL_COLUMNS)?,
            _ => csv_line(&mut head, VISIT_COLUMNS)?,
        }
    }
    let export = TextExport {
        rows: spawn_reader(pool.clone(), query, 256),
        format,
        head: Some(head),
        done: false,
        catalogue,
        sheet,
        pool,
        now: db::now(),
        trailed: HashSet::new(),
    };
    // Fused: the compression layer may poll once more after the end, which a
    // bare `unfold` answers with a panic.
    Ok(Body::from_stream(futures_util::StreamExt::fuse(futures_util::stream::unfold(
        export,
        |mut export| async move { export.next_chunk().await.map(|chunk| (chunk, export)) },
    ))))
}

// ---------------------------------------------------------------------------
// XLSX

/// Writes the workbook on a blocking thread while rows are read, into an unnamed
/// temporary file (gone once closed); answers the file, rewound, and its length.
pub async fn xlsx_file(
    pool: Pool,
    query: LogQuery,
    sheet_rows: u32,
    catalogue: Catalogue,
) -> Result<(std::fs::File, u64), AppError> {
    let rows = spawn_reader(pool.clone(), query, 256);
    // Where each problem stands and its trail, read per visit (with problems) from the
    // writer's blocking thread.
    let handle = tokio::runtime::Handle::current();
    let now = db::now();
    let lookup =
        move |wanted: &[(Uuid, Uuid)]| handle.block_on(problems::export_details(&pool, wanted, now));
    let mut file = tokio::task::spawn_blocking(move || write_xlsx_with(rows, sheet_rows, &catalogue, lookup))
        .await
        .map_err(AppError::internal)??;
    let length = file.seek(SeekFrom::End(0)).map_err(AppError::internal)?;
    file.seek(SeekFrom::Start(0)).map_err(AppError::internal)?;
    Ok((file, length))
}

/// A problem row with what it needs of its visit.
struct ProblemLine {
    visited_on: NaiveDate,
    head_name: String,
    address: String,
    grid_name: String,
    member_name: String,
    problem: ProblemEntry,
    /// Where it stands now and whether it is overdue (none when the problem has no row).
    detail: Option<(ProblemStatus, bool)>,
}

/// A row of the services sheet.
struct ServiceLine {
    visited_on: NaiveDate,
    head_name: String,
    address: String,
    grid_name: String,
    village_name: String,
    member_name: String,
    kind: String,
    note: String,
    visit_id: Uuid,
}

/// A row of the trail sheet.
struct TrailLine {
    problem_id: Uuid,
    event: ExportEvent,
}

impl ProblemLine {
    /// The cells after the date, as typed (each writer defuses them).
    fn texts(&self) -> [String; 14] {
        let p = &self.problem;
        let (level, state, answer, overdue) = match &self.detail {
            Some((status, overdue)) => (
                status.level.label_zh(),
                status.state.label_zh(),
                status.answer.clone().unwrap_or_default(),
                if *overdue { "是" } else { "" },
            ),
            None => ("", "", String::new(), ""),
        };
        [
            self.head_name.clone(),
            self.address.clone(),
            self.grid_name.clone(),
            self.member_name.clone(),
            p.category.label_zh().to_string(),
            p.urgency.label_zh().to_string(),
            p.description.clone(),
            p.outcome.label_zh().to_string(),
            p.action.clone(),
            p.id.to_string(),
            level.to_string(),
            state.to_string(),
            answer,
            overdue.to_string(),
        ]
    }
}

impl TrailLine {
    /// The cells after the problem's id and the time, as typed.
    fn texts(&self) -> [&str; 4] {
        let e = &self.event;
        [&e.actor_name, e.action, &e.content, if e.flagged { "是" } else { "" }]
    }
}

/// The problem rows of a batch of visits and the trail rows of those problems
/// not listed before (`trailed`: a problem listed by two visits has its trail
/// once). A problem is joined to its row in `details` only when that row is of
/// the visit's household, whatever id a visit's body names.
fn problem_lines(
    batch: &[(VisitLogRow, Vec<ProblemEntry>)],
    details: &HashMap<Uuid, ExportProblem>,
    trailed: &mut HashSet<Uuid>,
) -> (Vec<ProblemLine>, Vec<TrailLine>) {
    let (mut lines, mut trail) = (Vec::new(), Vec::new());
    for (row, entries) in batch {
        for problem in entries {
            let detail = details.get(&problem.id).filter(|d| d.household_id == row.household_id);
            if let Some(d) = detail {
                if trailed.insert(problem.id) {
                    trail.extend(d.events.iter().map(|event| TrailLine { problem_id: problem.id, event: event.clone() }));
                }
            }
            lines.push(ProblemLine {
                visited_on: row.visited_on,
                head_name: row.head_name.clone(),
                address: row.address.clone(),
                grid_name: row.grid_name.clone(),
                member_name: row.member_name.clone(),
                problem: problem.clone(),
                detail: detail.map(|d| (d.status.clone(), d.overdue)),
            });
        }
    }
    (lines, trail)
}

/// Each problem id a batch of visits lists, with the household of the visit.
fn wanted(batch: &[(VisitLogRow, Vec<ProblemEntry>)]) -> Vec<(Uuid, Uuid)> {
    batch.iter().flat_map(|(row, entries)| entries.iter().map(|p| (p.id, row.household_id))).collect()
}

/// [`write_xlsx_with`] without problem statuses or trails.
#[cfg(test)]
fn write_xlsx(rows: mpsc::Receiver<RowItem>, sheet_rows: u32) -> Result<std::fs::File, AppError> {
    write_xlsx_with(rows, sheet_rows, &crate::routes::catalogue::empty(), |_| Ok(HashMap::new()))
}

/// Writes the workbook: sheet 走访记录 (one row per visit), sheet 问题 (one row
/// per problem of those visits, with where it stands from `lookup`) and sheet 办理经过
/// (every event of those problems) and sheet 服务 (one row per service given, its
/// kind named by `catalogue`), each with a bold frozen header; `sheet_rows` is
/// the row limit of a sheet, header included.
fn write_xlsx_with(
    mut rows: mpsc::Receiver<RowItem>,
    sheet_rows: u32,
    catalogue: &Catalogue,
    mut lookup: impl FnMut(&[(Uuid, Uuid)]) -> Result<HashMap<Uuid, ExportProblem>, AppError>,
) -> Result<std::fs::File, AppError> {
    let mut workbook = Workbook::new();
    {
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name("走访记录").map_err(xlsx_error)?;
        header(sheet, &VISIT_COLUMNS, &VISIT_WIDTHS).map_err(xlsx_error)?;
    }
    {
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name("问题").map_err(xlsx_error)?;
        header(sheet, &PROBLEM_COLUMNS, &PROBLEM_WIDTHS).map_err(xlsx_error)?;
    }
    {
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name("办理经过").map_err(xlsx_error)?;
        header(sheet, &TRAIL_COLUMNS, &TRAIL_WIDTHS).map_err(xlsx_error)?;
    }
    {
        let sheet = workbook
            .add_worksheet_with_constant_memory()
            .map_err(xlsx_error)?;
        sheet.set_name("服务").map_err(xlsx_error)?;
        header(sheet, &SERVICE_COLUMNS, &SERVICE_WIDTHS).map_err(xlsx_error)?;
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let text = super::text_cell;
    let write_visit = |sheet: &mut Worksheet, r: u32, row: &VisitLogRow| -> Result<(), XlsxError> {
        sheet.write_number_with_format(r, 0, excel_date(row.visited_on), &date)?;
        text(sheet, r, 1, &row.head_name)?;
        text(sheet, r, 2, &row.address)?;
        text(sheet, r, 3, &row.grid_name)?;
        text(sheet, r, 4, &row.village_name)?;
        text(sheet, r, 5, &row.member_name)?;
        for (i, kind) in SectionKind::ALL.into_iter().enumerate() {
            text(sheet, r, 6 + i as u16, state_label(row, kind))?;
        }
        sheet.write_number(r, 11, row.problem_count)?;
        sheet.write_number(r, 12, row.escalated_count)?;
        text(sheet, r, 13, &row.summary)?;
        sheet.write_number_with_format(r, 14, excel_datetime(row.recorded_at), &datetime)?;
        sheet.write_number_with_format(r, 15, excel_datetime(row.received_at), &datetime)?;
        if row.clock_flag {
            text(sheet, r, 16, "是")?;
        }
        text(sheet, r, 17, &row.id.to_string())?;
        for (i, kind) in SectionKind::ALL.into_iter().enumerate() {
            let (items, notes) = detail_cells(row, kind, catalogue);
            text(sheet, r, DETAIL_COLUMN + 2 * i as u16, &items)?;
            text(sheet, r, DETAIL_COLUMN + 2 * i as u16 + 1, notes)?;
        }
        text(sheet, r, SERVICES_COLUMN, &services_cell(row, catalogue))?;
        Ok(())
    };
    let write_service = |sheet: &mut Worksheet, r: u32, s: &ServiceLine| -> Result<(), XlsxError> {
        sheet.write_number_with_format(r, 0, excel_date(s.visited_on), &date)?;
        for (c, cell) in [&s.head_name, &s.address, &s.grid_name, &s.village_name, &s.member_name, &s.kind, &s.note]
            .into_iter()
            .enumerate()
        {
            text(sheet, r, 1 + c as u16, cell)?;
        }
        text(sheet, r, 8, &s.visit_id.to_string())
    };
    let write_problem = |sheet: &mut Worksheet, r: u32, p: &ProblemLine| -> Result<(), XlsxError> {
        sheet.write_number_with_format(r, 0, excel_date(p.visited_on), &date)?;
        for (c, cell) in p.texts().iter().enumerate() {
            text(sheet, r, 1 + c as u16, cell)?;
        }
        Ok(())
    };
    let write_trail = |sheet: &mut Worksheet, r: u32, t: &TrailLine| -> Result<(), XlsxError> {
        text(sheet, r, 0, &t.problem_id.to_string())?;
        sheet.write_number_with_format(r, 1, excel_datetime(t.event.at), &datetime)?;
        for (c, cell) in t.texts().into_iter().enumerate() {
            text(sheet, r, 2 + c as u16, cell)?;
        }
        Ok(())
    };
    let mut visits = SheetCursor::new(0, sheet_rows);
    let mut problems = SheetCursor::new(1, sheet_rows);
    let mut trail = SheetCursor::new(2, sheet_rows);
    let mut services = SheetCursor::new(3, sheet_rows);
    // A problem listed by two visits has its trail listed once.
    let mut trailed: HashSet<Uuid> = HashSet::new();
    // Visits are taken as they come, up to LOOKUP_BATCH at a time, so the problems of
    // many visits are looked up together.
    let mut batch = Vec::with_capacity(LOOKUP_BATCH);
    'read: while let Some(item) = rows.blocking_recv() {
        // A failed read must not pass for a complete file.
        batch.push(item?);
        while batch.len() < LOOKUP_BATCH {
            match rows.try_recv() {
                Ok(item) => batch.push(item?),
                Err(_) => break,
            }
        }
        let wanted = wanted(&batch);
        let details = if wanted.is_empty() { HashMap::new() } else { lookup(&wanted)? };
        let (lines, trail_lines) = problem_lines(&batch, &details, &mut trailed);
        for line in trail_lines {
            trail.push(&mut workbook, line, write_trail).map_err(xlsx_error)?;
        }
        for line in lines {
            problems.push(&mut workbook, line, write_problem).map_err(xlsx_error)?;
        }
        for (row, _) in batch.drain(..) {
            for s in &row.services {
                let line = ServiceLine {
                    visited_on: row.visited_on,
                    head_name: row.head_name.clone(),
                    address: row.address.clone(),
                    grid_name: row.grid_name.clone(),
                    village_name: row.village_name.clone(),
                    member_name: row.member_name.clone(),
                    kind: catalogue.item_name(daohu_domain::ItemList::Service, &s.kind, true),
                    note: s.note.clone(),
                    visit_id: row.id,
                };
                services.push(&mut workbook, line, write_service).map_err(xlsx_error)?;
            }
            visits
                .push(&mut workbook, row, write_visit)
                .map_err(xlsx_error)?;
            if visits.truncated && problems.truncated {
                break 'read;
            }
        }
    }
    // Sheets full: dropping the receiver stops the reader.
    drop(rows);
    visits
        .finish(&mut workbook, write_visit)
        .map_err(xlsx_error)?;
    problems
        .finish(&mut workbook, write_problem)
        .map_err(xlsx_error)?;
    trail
        .finish(&mut workbook, write_trail)
        .map_err(xlsx_error)?;
    services.finish(&mut workbook, write_service).map_err(xlsx_error)?;
    if visits.truncated || problems.truncated || trail.truncated || services.truncated {
        tracing::warn!("xlsx export truncated at the sheet row limit");
    }
    let mut file = tempfile::tempfile().map_err(AppError::internal)?;
    workbook.save_to_writer(&mut file).map_err(xlsx_error)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use calamine::{Data, Reader};
    use chrono::{DateTime, Utc};
    use daohu_domain::{ProblemCategory, ProblemOutcome, Urgency};

    use super::*;
    use crate::export::TRUNCATED_NOTE;

    fn row(i: u32) -> VisitLogRow {
        let t = DateTime::from_timestamp(1_773_000_000, 0).unwrap();
        VisitLogRow {
            id: Uuid::from_u128(u128::from(i)),
            visited_on: NaiveDate::from_ymd_opt(2026, 3, 14).unwrap(),
            recorded_at: t,
            received_at: t,
            clock_flag: false,
            household_id: Uuid::nil(),
            head_name: format!("户主{i}"),
            address: "=1+1".into(),
            grid_name: "第一网格".into(),
            village_name: "青山村".into(),
            member_id: Uuid::nil(),
            member_name: "张党员".into(),
            sections: SectionKind::ALL.iter().map(|k| (*k, Some(SectionState::Done))).collect(),
            problem_count: 1,
            escalated_count: 0,
            summary: String::new(),
            details: Vec::new(),
            services: Vec::new(),
        }
    }

    fn problem(i: u32) -> ProblemEntry {
        ProblemEntry {
            id: Uuid::from_u128(u128::from(i) + 1000),
            category: ProblemCategory::Water,
            urgency: Urgency::Normal,
            description: format!("问题{i}"),
            outcome: ProblemOutcome::Escalate,
            action: String::new(),
        }
    }

    /// The first column of each row of a sheet.
    fn first_column(bytes: &[u8], sheet: &str) -> Vec<String> {
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes.to_vec()))
            .unwrap();
        let range = book.worksheet_range(sheet).unwrap();
        range
            .rows()
            .map(|r| match &r[0] {
                Data::String(s) => s.clone(),
                Data::Float(f) => f.to_string(),
                Data::DateTime(d) => d.as_f64().to_string(),
                other => other.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_sheet_that_cannot_hold_every_row_ends_with_a_note() {
        // 5 rows per sheet: the header and 4 data rows.
        for (count, data_rows, truncated) in [(0, 0, false), (3, 3, false), (4, 4, false), (5, 3, true), (9, 3, true)] {
            let (tx, rx) = mpsc::channel(100);
            for i in 0..count {
                tx.try_send(Ok((row(i), vec![problem(i)]))).unwrap();
            }
            drop(tx);
            let mut file = write_xlsx(rx, 5).unwrap();
            file.seek(SeekFrom::Start(0)).unwrap();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            for sheet in ["走访记录", "问题"] {
                let cells = first_column(&bytes, sheet);
                assert_eq!(cells[0], "走访日期");
                let expected_rows = 1 + data_rows + usize::from(truncated);
                assert_eq!(cells.len(), expected_rows, "{sheet} with {count} rows");
                assert_eq!(cells.last().unwrap() == TRUNCATED_NOTE, truncated, "{sheet} {count}");
            }
        }
    }

    #[test]
    fn dates_are_spreadsheet_serials_in_china_time() {
        assert_eq!(excel_date(NaiveDate::from_ymd_opt(1900, 3, 1).unwrap()), 61.0);
        assert_eq!(excel_date(NaiveDate::from_ymd_opt(2026, 3, 14).unwrap()), 46095.0);
        // 2026-03-13 16:30 UTC is 2026-03-14 00:30 in China.
        let t = DateTime::parse_from_rfc3339("2026-03-13T16:30:59Z").unwrap().with_timezone(&Utc);
        assert_eq!(excel_datetime(t), 46095.0 + 30.0 / 1440.0);
        assert_eq!(local_minutes(t), "2026-03-14 00:30");
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        let mut r = row(1);
        r.summary = "第一行\n\"引号\",逗号".into();
        r.head_name = "@张三".into();
        // A service's note is the family's matter, typed by a member: defused too.
        r.services = vec![daohu_domain::ServiceGiven { kind: "medical".into(), note: "陪同复查".into() }];
        let mut first = r.clone();
        first.services.insert(0, daohu_domain::ServiceGiven { kind: "=cmd".into(), note: String::new() });
        let mut buf = Vec::new();
        csv_line(&mut buf, csv_record(&r, &crate::routes::catalogue::empty())).unwrap();
        csv_line(&mut buf, csv_record(&first, &crate::routes::catalogue::empty())).unwrap();
        let line = String::from_utf8(buf).unwrap();
        assert!(line.contains(",就医服务（陪同复查）\r\n"), "{line}");
        assert!(line.contains(",'=cmd、就医服务（陪同复查）\r\n"), "{line}");
        assert!(line.ends_with("\r\n"));
        assert!(line.contains(",'@张三,'=1+1,"), "{line}");
        assert!(line.contains("\"第一行\n\"\"引号\"\",逗号\""), "{line}");
    }
}
