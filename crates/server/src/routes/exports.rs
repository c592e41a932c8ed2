//! Downloads of the visit log: XLSX (three sheets: visits, problems with where they
//! stand, and the problems' trail), CSV and JSON lines; and, with `dataset=activities`,
//! of volunteer activities (see [`crate::activity_export`]).
//!
//! A coordinator asks for a link (`POST /api/exports`), which holds a random
//! one-time token; the browser then downloads `GET /api/exports/<token>` with its own
//! download manager, so the session token never goes into a URL. Only the sha256
//! of the token is stored, with the creator, the format and the filter, so any
//! server instance on the same database can serve the link. The download re-checks
//! that the creator is still an enabled coordinator and applies their current scope.
//!
//! CSV and JSON lines stream rows as the database yields them; XLSX is written by
//! rust_xlsxwriter in constant-memory mode to a temporary file on a blocking
//! thread, then streamed. Text cells of spreadsheets go through
//! [`daohu_domain::safe_cell`], so nothing a member typed is evaluated as a formula.

use std::collections::{HashMap, HashSet};
use std::io::{Seek, SeekFrom};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use daohu_domain::{
    safe_cell, ActivityFilter, ApiError, ExportFormat, ExportLink, ProblemEntry, ProblemStatus, SectionKind,
    SectionState, SpecialGroup, VisitFilter, VisitLogRow,
};
use futures_util::TryStreamExt;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Deserialize;
use serde_json::json;
use crate::db::Pool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::auth::{self, parse_role, sha256_hex, AuthUser};
use crate::db::{self, ts};
use crate::problems::{self, ExportEvent, ExportProblem};
use crate::routes::dashboard::today;
use crate::scope::{self, Subtree};
use crate::activity_log::ActivityQuery;
use crate::visit_log::{report_offset, LogQuery, RawLogRow};
use crate::{activity_export, audit, ApiQuery, AppError, AppState};

/// How long a download link works.
pub const LINK_MINUTES: i64 = 10;
/// Rows of a worksheet, the header included (Excel's and WPS's limit).
pub const SHEET_ROWS: u32 = 1_048_576;
/// Bytes gathered before a chunk of a streamed download is sent.
pub(crate) const CHUNK_BYTES: usize = 64 * 1024;
/// Most visits whose problems the XLSX writer looks up at once.
const LOOKUP_BATCH: usize = 256;
/// The note written as the last row of a sheet that could not hold every row.
pub const TRUNCATED_NOTE: &str = "（行数超过表格上限，后面的记录未导出；请缩小筛选范围分批导出）";

/// Columns of the visit sheet and of the CSV.
pub const VISIT_COLUMNS: [&str; 18] = [
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
    "手机记录时间",
    "服务器收到时间",
    "时间存疑",
    "走访编号",
];
const VISIT_WIDTHS: [f64; 18] = [
    12.0, 10.0, 22.0, 12.0, 10.0, 10.0, 12.0, 12.0, 12.0, 12.0, 12.0, 7.0, 7.0, 40.0, 17.0, 17.0,
    9.0, 38.0,
];

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
pub const TRAIL_COLUMNS: [&str; 6] = ["问题编号", "时间", "办理人", "动作", "内容", "不合当时状态"];
const TRAIL_WIDTHS: [f64; 6] = [38.0, 17.0, 10.0, 10.0, 40.0, 12.0];

/// `/exports`, `/exports/{token}`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_create))
        .routes(routes!(export_download))
}

/// What a download holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    /// The visit log (filters: unit_id, member_id, household_id, from, to, section,
    /// state, group, q).
    #[default]
    Visits,
    /// Volunteer activities with their check-ins and hours (filters: unit_id,
    /// team_id, kind, from, to).
    Activities,
}

impl Dataset {
    /// The word it is stored and audited as.
    pub fn word(self) -> &'static str {
        match self {
            Dataset::Visits => "visits",
            Dataset::Activities => "activities",
        }
    }
}

/// Query of a new export: the format, the dataset and its filter (without paging).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `xlsx`, `csv` or `jsonl`.
    pub format: ExportFormat,
    /// `visits` (the default) or `activities`.
    pub dataset: Option<Dataset>,
    pub unit_id: Option<Uuid>,
    pub member_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub section: Option<SectionKind>,
    pub state: Option<SectionState>,
    pub group: Option<SpecialGroup>,
    pub q: Option<String>,
    /// Activities only: one team of the subtree.
    pub team_id: Option<Uuid>,
    /// Activities only: one kind code.
    pub kind: Option<String>,
}

impl ExportQuery {
    /// The activity filter (400 when a visit-only filter is given too).
    fn activity_filter(&self) -> Result<ActivityFilter, AppError> {
        let visit_only = self.member_id.is_some()
            || self.household_id.is_some()
            || self.section.is_some()
            || self.state.is_some()
            || self.group.is_some()
            || self.q.as_deref().is_some_and(|q| !q.trim().is_empty());
        if visit_only {
            return Err(AppError::bad_request(
                "下载志愿活动时只能按单位、队伍、类型和日期筛选",
            ));
        }
        Ok(ActivityFilter {
            unit_id: self.unit_id,
            team_id: self.team_id,
            kind: self.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()).map(str::to_string),
            from: self.from,
            to: self.to,
        })
    }

    fn filter(&self) -> VisitFilter {
        VisitFilter {
            unit_id: self.unit_id,
            member_id: self.member_id,
            household_id: self.household_id,
            from: self.from,
            to: self.to,
            section: self.section,
            state: self.state,
            group: self.group,
            q: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_string),
            limit: None,
            offset: None,
        }
    }
}

/// The word a format is stored and audited as.
pub fn format_word(format: ExportFormat) -> &'static str {
    match format {
        ExportFormat::Xlsx => "xlsx",
        ExportFormat::Csv => "csv",
        ExportFormat::Jsonl => "jsonl",
    }
}

fn parse_format(s: &str) -> Result<ExportFormat, AppError> {
    match s {
        "xlsx" => Ok(ExportFormat::Xlsx),
        "csv" => Ok(ExportFormat::Csv),
        "jsonl" => Ok(ExportFormat::Jsonl),
        other => Err(AppError::internal(format!(
            "unknown stored export format {other:?}"
        ))),
    }
}

/// The filter as the audit log keeps it: ids and choices, never the search text.
pub fn audit_filter(filter: &VisitFilter) -> serde_json::Value {
    let mut value = serde_json::to_value(filter).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
        map.remove("limit");
        map.remove("offset");
        if map.remove("q").is_some() {
            map.insert("text_search".into(), json!(true));
        }
    }
    value
}

/// Makes a one-time link (valid 10 minutes) that downloads the visit log matching the
/// filter, in the caller's subtree, as XLSX, CSV or JSON lines. The ids in the
/// filter are checked now (404 outside the subtree) and again at download.
///
/// With `dataset=activities`: volunteer activities matching unit_id, team_id, kind,
/// from and to. XLSX has the sheets 活动 (one row per activity), 打卡 (every check-in),
/// 工时 (hours per volunteer per month) and 队伍工时 (per team per month); CSV holds
/// the 活动 rows; JSON lines one `ActivityDetail` per activity.
#[utoipa::path(
    post, path = "/exports", tag = "reports",
    security(("bearer" = [])),
    params(ExportQuery),
    responses(
        (status = 201, description = "The download link", body = ExportLink),
        (status = 400, description = "Bad format or filter (a visit filter with dataset=activities, team_id or kind without it)", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id, member_id or household_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn export_create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<(StatusCode, Json<ExportLink>), AppError> {
    let subtree = scope::coordinator(&user)?;
    let dataset = query.dataset.unwrap_or_default();
    let (filter_json, audited) = match dataset {
        Dataset::Visits => {
            if query.team_id.is_some() || query.kind.is_some() {
                return Err(AppError::bad_request("队伍和活动类型只用于下载志愿活动"));
            }
            let filter = query.filter();
            (serde_json::to_string(&filter)?, audit_filter(&filter))
        }
        Dataset::Activities => {
            let filter = query.activity_filter()?;
            let mut audited = serde_json::to_value(&filter)?;
            if let Some(map) = audited.as_object_mut() {
                map.retain(|_, v| !v.is_null());
            }
            (serde_json::to_string(&filter)?, audited)
        }
    };
    let token = auth::new_token();
    let now = db::now();
    let expires_at = now + Duration::minutes(LINK_MINUTES);
    let (_writer, mut tx) = state.write_tx().await?;
    match dataset {
        Dataset::Visits => {
            LogQuery::new(&mut tx, &subtree, &query.filter()).await?;
        }
        Dataset::Activities => {
            ActivityQuery::new(&mut tx, &subtree, &query.activity_filter()?).await?;
        }
    }
    // Links long dead are of no use to anyone.
    crate::db::query("DELETE FROM export_links WHERE expires_at < ?")
        .bind(ts(now - Duration::days(1)))
        .execute(&mut *tx)
        .await?;
    crate::db::query(
        "INSERT INTO export_links (token_hash, created_by, format, filter, created_at, expires_at, dataset)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(sha256_hex(&token))
    .bind(user.id.to_string())
    .bind(format_word(query.format))
    .bind(filter_json)
    .bind(ts(now))
    .bind(ts(expires_at))
    .bind(dataset.word())
    .execute(&mut *tx)
    .await?;
    let mut detail = json!({ "format": format_word(query.format), "filter": audited });
    if dataset != Dataset::Visits {
        detail["dataset"] = json!(dataset.word());
    }
    audit::record(&mut tx, Some(user.id), "export_created", detail).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(ExportLink {
            url: format!("/api/exports/{token}"),
            expires_at,
        }),
    ))
}

/// What a used link stands for.
struct Download {
    format: ExportFormat,
    what: Rows,
}

/// The rows of a download.
enum Rows {
    Visits(LogQuery),
    Activities(ActivityQuery),
}

/// Marks the link used (atomically: a second download finds it used) and checks
/// that its creator may still read what it asks for.
async fn take_link(state: &AppState, token: &str) -> Result<Download, AppError> {
    let well_formed = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !well_formed {
        return Err(AppError::not_found());
    }
    let now = db::now();
    let (_writer, mut tx) = state.write_tx().await?;
    let link: Option<(String, String, String, String)> = crate::db::query_as(
        "UPDATE export_links SET used_at = ?
         WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
         RETURNING created_by, format, filter, dataset",
    )
    .bind(ts(now))
    .bind(sha256_hex(token.to_ascii_lowercase()))
    .bind(ts(now))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((created_by, format, filter, dataset)) = link else {
        return Err(AppError::not_found());
    };
    let checked = async {
        let creator: Option<(String, String, crate::db::Flag)> = crate::db::query_as(
            "SELECT m.role, u.path, m.disabled FROM members m JOIN units u ON u.id = m.unit_id
             WHERE m.id = ?",
        )
        .bind(&created_by)
        .fetch_optional(&mut *tx)
        .await?;
        let (role, path, disabled) = creator.ok_or_else(AppError::not_found)?;
        if bool::from(disabled) || !parse_role(&role)?.is_coordinator() {
            return Err(AppError::not_found());
        }
        let format = parse_format(&format)?;
        let subtree = Subtree { path };
        // The creator's scope today, not the day the link was made.
        let (what, detail) = if dataset == Dataset::Activities.word() {
            let filter: ActivityFilter = serde_json::from_str(&filter)?;
            let query = ActivityQuery::new(&mut tx, &subtree, &filter).await?;
            let mut audited = serde_json::to_value(&filter)?;
            if let Some(map) = audited.as_object_mut() {
                map.retain(|_, v| !v.is_null());
            }
            (
                Rows::Activities(query),
                json!({ "format": format_word(format), "dataset": dataset, "filter": audited }),
            )
        } else {
            let filter: VisitFilter = serde_json::from_str(&filter)?;
            let query = LogQuery::new(&mut tx, &subtree, &filter).await?;
            (
                Rows::Visits(query),
                json!({ "format": format_word(format), "filter": audit_filter(&filter) }),
            )
        };
        audit::record(
            &mut tx,
            Some(crate::db::parse_uuid(&created_by)?),
            "export_downloaded",
            detail,
        )
        .await?;
        Ok(Download { format, what })
    }
    .await;
    // The link is spent either way.
    tx.commit().await?;
    checked
}

/// Downloads an export once. No session needed: the token in the path is the
/// credential. Unknown, used or expired links, and links whose creator was disabled
/// or no longer reaches the filter's unit, answer 404.
#[utoipa::path(
    get, path = "/exports/{token}", tag = "reports",
    params(("token" = String, Path, description = "The one-time token of the link")),
    responses(
        (status = 200, description = "The file (Content-Disposition: attachment)", content(
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (String = "text/csv"),
            (String = "application/x-ndjson"),
        )),
        (status = 404, description = "Unknown, used or expired link", body = ApiError),
    )
)]
pub async fn export_download(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let download = take_link(&state, &token).await?;
    let day = today();
    let (content_type, extension) = match download.format {
        ExportFormat::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Jsonl => ("application/x-ndjson; charset=utf-8", "jsonl"),
    };
    let (stem, stem_zh) = match download.what {
        Rows::Visits(_) => ("visits", "走访记录"),
        Rows::Activities(_) => ("activities", "志愿活动"),
    };
    let (body, length) = match (download.format, download.what) {
        (ExportFormat::Xlsx, Rows::Activities(query)) => {
            let (file, length) = activity_export::xlsx_file(state.pool.clone(), query).await?;
            let file = tokio::fs::File::from_std(file);
            (
                Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                    file, CHUNK_BYTES,
                )),
                Some(length),
            )
        }
        (format, Rows::Activities(query)) => (activity_export::text_body(state.pool.clone(), query, format)?, None),
        (ExportFormat::Xlsx, Rows::Visits(query)) => {
            let (file, length) = xlsx_file(state.pool.clone(), query, SHEET_ROWS).await?;
            let file = tokio::fs::File::from_std(file);
            (
                Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                    file, CHUNK_BYTES,
                )),
                Some(length),
            )
        }
        (format, Rows::Visits(query)) => (text_stream(state.pool.clone(), query, format)?, None),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!(
        "attachment; filename=\"daohu-{stem}-{day}.{extension}\"; filename*=UTF-8''{}",
        percent_encode(&format!("{stem_zh}-{day}.{extension}"))
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(AppError::internal)?,
    );
    if let Some(length) = length {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    Ok(response)
}

/// RFC 5987 percent-encoding of a file name (UTF-8, attr-chars kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Streaming rows

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

/// Rows a PostgreSQL export cursor hands over per `FETCH` (small enough that the
/// tests' 200-visit exports take several).
pub const CURSOR_ROWS: u32 = 128;

async fn read_rows(
    pool: &Pool,
    query: &LogQuery,
    tx: &mpsc::Sender<RowItem>,
) -> Result<(), AppError> {
    let sql = query.rows_sql(None);
    match db::dialect() {
        // SQLite steps the one statement row by row as the download is written.
        db::Dialect::Sqlite => {
            let mut conn = pool.acquire().await?;
            let mut rows =
                sqlx::query_as_with::<_, RawLogRow, _>(&sql, query.arguments()).fetch(&mut *conn);
            while let Some(raw) = rows.try_next().await? {
                if tx.send(Ok(raw.into_row()?)).await.is_err() {
                    // The download was abandoned: stop reading.
                    break;
                }
            }
            Ok(())
        }
        // PostgreSQL: a server-side cursor in a read-only transaction, fetched
        // CURSOR_ROWS at a time as the download takes them, so neither side holds
        // more than a few hundred rows of a million.
        db::Dialect::Postgres => {
            let mut conn = pool.begin().await?;
            sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *conn).await?;
            sqlx::query_with(&format!("DECLARE daohu_export NO SCROLL CURSOR FOR {sql}"), query.arguments())
                .execute(&mut *conn)
                .await?;
            let fetch = format!("FETCH {CURSOR_ROWS} FROM daohu_export");
            loop {
                let batch: Vec<RawLogRow> = sqlx::query_as(&fetch).fetch_all(&mut *conn).await?;
                let last = batch.len() < CURSOR_ROWS as usize;
                for raw in batch {
                    if tx.send(Ok(raw.into_row()?)).await.is_err() {
                        // The download was abandoned: the rollback closes the cursor.
                        return Ok(());
                    }
                }
                if last {
                    break;
                }
            }
            conn.commit().await?;
            Ok(())
        }
    }
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

/// A time as spreadsheets show it: `yyyy-mm-dd hh:mm`, China Standard Time.
pub(crate) fn local_minutes(t: DateTime<Utc>) -> String {
    t.with_timezone(&report_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// One CSV record of a visit, every text cell defused.
fn csv_record(row: &VisitLogRow) -> Vec<String> {
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
    cells
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

/// What the body of a CSV or JSON-lines download reads from.
struct TextExport {
    rows: mpsc::Receiver<RowItem>,
    format: ExportFormat,
    /// The BOM and header row, sent with the first chunk.
    head: Option<Vec<u8>>,
    done: bool,
}

impl TextExport {
    fn encode(&self, buf: &mut Vec<u8>, row: &VisitLogRow) -> Result<(), AppError> {
        if self.format == ExportFormat::Csv {
            csv_line(buf, csv_record(row))
        } else {
            serde_json::to_writer(&mut *buf, row)?;
            buf.push(b'\n');
            Ok(())
        }
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
            let failed = match self.rows.recv().await {
                Some(Ok((row, _))) => match self.encode(&mut buf, &row) {
                    Ok(()) if buf.len() >= CHUNK_BYTES => return Some(Ok(Bytes::from(buf))),
                    Ok(()) => continue,
                    Err(err) => err,
                },
                Some(Err(err)) => err,
                None => {
                    self.done = true;
                    return (!buf.is_empty()).then(|| Ok(Bytes::from(buf)));
                }
            };
            tracing::error!(error = %failed, "export failed while streaming");
            self.done = true;
            // An error ends the body abruptly, so the download shows as failed, not complete.
            return Some(Err(std::io::Error::other("export failed")));
        }
    }
}

/// A CSV or JSON-lines body that streams rows as the database yields them.
fn text_stream(pool: Pool, query: LogQuery, format: ExportFormat) -> Result<Body, AppError> {
    let mut head = Vec::new();
    if format == ExportFormat::Csv {
        head.extend_from_slice("\u{feff}".as_bytes());
        csv_line(&mut head, VISIT_COLUMNS)?;
    }
    let export = TextExport {
        rows: spawn_reader(pool, query, 256),
        format,
        head: Some(head),
        done: false,
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
) -> Result<(std::fs::File, u64), AppError> {
    let rows = spawn_reader(pool.clone(), query, 256);
    // Where each problem stands and its trail, read per visit (with problems) from the
    // writer's blocking thread.
    let handle = tokio::runtime::Handle::current();
    let now = db::now();
    let lookup =
        move |wanted: &[(Uuid, Uuid)]| handle.block_on(problems::export_details(&pool, wanted, now));
    let mut file = tokio::task::spawn_blocking(move || write_xlsx_with(rows, sheet_rows, lookup))
        .await
        .map_err(AppError::internal)??;
    let length = file.seek(SeekFrom::End(0)).map_err(AppError::internal)?;
    file.seek(SeekFrom::Start(0)).map_err(AppError::internal)?;
    Ok((file, length))
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

/// A row of the trail sheet.
struct TrailLine {
    problem_id: Uuid,
    event: ExportEvent,
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

/// [`write_xlsx_with`] without problem statuses or trails.
#[cfg(test)]
fn write_xlsx(rows: mpsc::Receiver<RowItem>, sheet_rows: u32) -> Result<std::fs::File, AppError> {
    write_xlsx_with(rows, sheet_rows, |_| Ok(HashMap::new()))
}

/// Writes the workbook: sheet 走访记录 (one row per visit), sheet 问题 (one row
/// per problem of those visits, with where it stands from `lookup`) and sheet 办理经过
/// (every event of those problems), each with a bold frozen header; `sheet_rows` is
/// the row limit of a sheet, header included.
fn write_xlsx_with(
    mut rows: mpsc::Receiver<RowItem>,
    sheet_rows: u32,
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
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let text = |sheet: &mut Worksheet, r: u32, c: u16, s: &str| -> Result<(), XlsxError> {
        if !s.is_empty() {
            sheet.write_string(r, c, safe_cell(s))?;
        }
        Ok(())
    };
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
        Ok(())
    };
    let write_problem = |sheet: &mut Worksheet, r: u32, p: &ProblemLine| -> Result<(), XlsxError> {
        sheet.write_number_with_format(r, 0, excel_date(p.visited_on), &date)?;
        text(sheet, r, 1, &p.head_name)?;
        text(sheet, r, 2, &p.address)?;
        text(sheet, r, 3, &p.grid_name)?;
        text(sheet, r, 4, &p.member_name)?;
        text(sheet, r, 5, p.problem.category.label_zh())?;
        text(sheet, r, 6, p.problem.urgency.label_zh())?;
        text(sheet, r, 7, &p.problem.description)?;
        text(sheet, r, 8, p.problem.outcome.label_zh())?;
        text(sheet, r, 9, &p.problem.action)?;
        text(sheet, r, 10, &p.problem.id.to_string())?;
        if let Some((status, overdue)) = &p.detail {
            text(sheet, r, 11, status.level.label_zh())?;
            text(sheet, r, 12, status.state.label_zh())?;
            text(sheet, r, 13, status.answer.as_deref().unwrap_or_default())?;
            if *overdue {
                text(sheet, r, 14, "是")?;
            }
        }
        Ok(())
    };
    let write_trail = |sheet: &mut Worksheet, r: u32, t: &TrailLine| -> Result<(), XlsxError> {
        text(sheet, r, 0, &t.problem_id.to_string())?;
        sheet.write_number_with_format(r, 1, excel_datetime(t.event.at), &datetime)?;
        text(sheet, r, 2, &t.event.actor_name)?;
        text(sheet, r, 3, t.event.action)?;
        text(sheet, r, 4, &t.event.content)?;
        if t.event.flagged {
            text(sheet, r, 5, "是")?;
        }
        Ok(())
    };
    let mut visits = SheetCursor::new(0, sheet_rows);
    let mut problems = SheetCursor::new(1, sheet_rows);
    let mut trail = SheetCursor::new(2, sheet_rows);
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
        // Each problem id with the household of the visit naming it: a problem row of
        // another household is never joined, whatever id a visit's body names.
        let wanted: Vec<(Uuid, Uuid)> = batch
            .iter()
            .flat_map(|(row, entries)| entries.iter().map(|p| (p.id, row.household_id)))
            .collect();
        let details = if wanted.is_empty() {
            HashMap::new()
        } else {
            lookup(&wanted)?
        };
        for (row, entries) in batch.drain(..) {
            for problem in entries {
                let detail = details
                    .get(&problem.id)
                    .filter(|d| d.household_id == row.household_id);
                if let Some(d) = detail {
                    if trailed.insert(problem.id) {
                        for event in &d.events {
                            let line = TrailLine {
                                problem_id: problem.id,
                                event: event.clone(),
                            };
                            trail
                                .push(&mut workbook, line, write_trail)
                                .map_err(xlsx_error)?;
                        }
                    }
                }
                let line = ProblemLine {
                    visited_on: row.visited_on,
                    head_name: row.head_name.clone(),
                    address: row.address.clone(),
                    grid_name: row.grid_name.clone(),
                    member_name: row.member_name.clone(),
                    problem,
                    detail: detail.map(|d| (d.status.clone(), d.overdue)),
                };
                problems
                    .push(&mut workbook, line, write_problem)
                    .map_err(xlsx_error)?;
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
    if visits.truncated || problems.truncated || trail.truncated {
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
    use daohu_domain::{ProblemCategory, ProblemOutcome, Urgency};

    use super::*;

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
        let mut buf = Vec::new();
        csv_line(&mut buf, csv_record(&r)).unwrap();
        let line = String::from_utf8(buf).unwrap();
        assert!(line.ends_with("\r\n"));
        assert!(line.contains(",'@张三,'=1+1,"), "{line}");
        assert!(line.contains("\"第一行\n\"\"引号\"\",逗号\""), "{line}");
        assert_eq!(
            percent_encode("走访记录-2026-11-24.xlsx"),
            "%E8%B5%B0%E8%AE%BF%E8%AE%B0%E5%BD%95-2026-11-24.xlsx"
        );
    }
}
