//! Download links: the visit log, or with `dataset=activities` volunteer
//! activities, as XLSX, CSV or JSON lines (written by [`crate::export`]).
//!
//! A coordinator asks for a link (`POST /api/exports`), which holds a random
//! one-time token; the browser then downloads `GET /api/exports/<token>` with its own
//! download manager, so the session token never goes into a URL. Only the sha256
//! of the token is stored, with the creator, the format and the filter, so any
//! server instance on the same database can serve the link. The download re-checks
//! that the creator is still an enabled coordinator and applies their current scope.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use chrono::{Duration, NaiveDate};
use daohu_domain::{
    ActivityFilter, ApiError, ExportFormat, ExportLink, SectionKind, SectionState, SpecialGroup, VisitFilter,
};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::{self, parse_role, sha256_hex, AuthUser};
use crate::db;
use crate::routes::dashboard::today;
use crate::scope::{self, Subtree};
use crate::activity_log::ActivityQuery;
use crate::visit_log::LogQuery;
use crate::export::{self, activities as activity_export, ledger as ledger_export, visits, Sheet};
use crate::{audit, store, ApiQuery, AppError, AppState};

/// How long a download link works.
pub const LINK_MINUTES: i64 = 10;

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
    /// The household ledger now: policy states and living conditions (filter: unit_id).
    Ledger,
}

impl Dataset {
    /// The word it is stored and audited as.
    pub fn word(self) -> &'static str {
        match self {
            Dataset::Visits => "visits",
            Dataset::Activities => "activities",
            Dataset::Ledger => "ledger",
        }
    }
}

/// Whether a download of `dataset` has this sheet.
fn has_sheet(dataset: Dataset, sheet: Sheet) -> bool {
    match sheet {
        Sheet::Visits | Sheet::Services | Sheet::Problems | Sheet::Trail => dataset == Dataset::Visits,
        Sheet::CheckIns | Sheet::Hours | Sheet::TeamHours => dataset == Dataset::Activities,
        Sheet::Policies | Sheet::Living | Sheet::Matchups => dataset == Dataset::Ledger,
    }
}

/// Query of a new export: the format, the dataset and its filter (without paging).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `xlsx`, `csv` or `jsonl`.
    pub format: ExportFormat,
    /// `visits` (the default), `activities` or `ledger`.
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
    /// CSV only: which sheet of the workbook the file holds (visits: `visits`,
    /// `services`, `problems`, `trail`; activities: `check_ins`, `hours`,
    /// `team_hours`; ledger: `policies`, `living`, `matchups`); the first by
    /// default.
    pub sheet: Option<Sheet>,
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

    /// The ledger's filter: a unit only (400 with any other filter).
    fn ledger_filter(&self) -> Result<LedgerFilter, AppError> {
        let other = self.member_id.is_some()
            || self.household_id.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || self.section.is_some()
            || self.state.is_some()
            || self.group.is_some()
            || self.team_id.is_some()
            || self.kind.is_some()
            || self.q.as_deref().is_some_and(|q| !q.trim().is_empty());
        if other {
            return Err(AppError::bad_request("下载台账时只能按单位筛选"));
        }
        Ok(LedgerFilter { unit_id: self.unit_id })
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
    if let Some(sheet) = query.sheet {
        if query.format != ExportFormat::Csv {
            return Err(AppError::bad_request("只有 CSV 按表分文件下载（sheet 只用于 format=csv）"));
        }
        if !has_sheet(dataset, sheet) {
            return Err(AppError::bad_request("这种下载没有这张表"));
        }
    }
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
        Dataset::Ledger => {
            let filter = query.ledger_filter()?;
            (serde_json::to_string(&filter)?, serde_json::to_value(&filter)?)
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
        Dataset::Ledger => {
            query.ledger_filter()?.area(&mut tx, &subtree).await?;
        }
    }
    // Links long dead are of no use to anyone.
    store::exports::drop_expired(&mut tx, now - Duration::days(1)).await?;
    let token_hash = sha256_hex(&token);
    store::exports::insert(
        &mut tx,
        &store::exports::NewLink {
            token_hash: &token_hash,
            created_by: user.id,
            format: format_word(query.format),
            filter: &filter_json,
            created_at: now,
            expires_at,
            dataset: dataset.word(),
            sheet: query.sheet.map(Sheet::word),
        },
    )
    .await?;
    let mut detail = json!({ "format": format_word(query.format), "filter": audited });
    if dataset != Dataset::Visits {
        detail["dataset"] = json!(dataset.word());
    }
    if let Some(sheet) = query.sheet {
        detail["sheet"] = json!(sheet.word());
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
    /// A CSV file's sheet (none: the first).
    sheet: Option<Sheet>,
}

/// The rows of a download.
enum Rows {
    /// With the county's catalogue, which names the services' kinds.
    Visits(LogQuery, daohu_domain::Catalogue),
    Activities(ActivityQuery),
    Ledger(ledger_export::LedgerQuery),
}

/// A ledger download's filter: the unit (default: the creator's own).
#[derive(Debug, serde::Serialize, Deserialize)]
struct LedgerFilter {
    unit_id: Option<Uuid>,
}

impl LedgerFilter {
    /// The area it covers inside `subtree` (404 outside).
    async fn area(&self, conn: &mut crate::db::Conn, subtree: &Subtree) -> Result<Subtree, AppError> {
        match self.unit_id {
            Some(id) => Ok(Subtree { path: scope::unit(conn, subtree, id).await?.path }),
            None => Ok(subtree.clone()),
        }
    }
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
    let link = store::exports::take(&mut tx, &sha256_hex(token.to_ascii_lowercase()), now).await?;
    let Some(store::exports::TakenLink { created_by, format, filter, dataset, sheet }) = link else {
        return Err(AppError::not_found());
    };
    let checked = async {
        let creator = store::exports::creator(&mut tx, &created_by).await?;
        let (role, path, disabled) = creator.ok_or_else(AppError::not_found)?;
        if disabled || !parse_role(&role)?.is_coordinator() {
            return Err(AppError::not_found());
        }
        let format = parse_format(&format)?;
        let subtree = Subtree { path };
        // The creator's scope today, not the day the link was made.
        let county = Uuid::parse_str(crate::tree::county_of_path(&subtree.path)).map_err(AppError::internal)?;
        let catalogue = store::catalogue::get(&mut tx, county, None)
            .await?
            .unwrap_or_else(crate::routes::catalogue::empty);
        let (what, detail) = if dataset == Dataset::Ledger.word() {
            let filter: LedgerFilter = serde_json::from_str(&filter)?;
            let area = filter.area(&mut tx, &subtree).await?;
            (
                Rows::Ledger(ledger_export::LedgerQuery { area, catalogue, today: today() }),
                json!({ "format": format_word(format), "dataset": dataset, "filter": serde_json::to_value(&filter)? }),
            )
        } else if dataset == Dataset::Activities.word() {
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
                Rows::Visits(query, catalogue),
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
        let sheet = sheet.map(|w| Sheet::parse(&w).ok_or_else(|| AppError::internal(format!("stored sheet {w}")))).transpose()?;
        Ok(Download { format, what, sheet })
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
    let (stem, stem_zh) = match (download.sheet.and_then(Sheet::stems), &download.what) {
        (Some(stems), _) => stems,
        (None, Rows::Visits(..)) => ("visits", "走访记录"),
        (None, Rows::Activities(_)) => ("activities", "志愿活动"),
        (None, Rows::Ledger(_)) => ("ledger", "政策台账"),
    };
    let sheet = download.sheet;
    let (body, length) = match (download.format, download.what) {
        (ExportFormat::Xlsx, Rows::Activities(query)) => {
            let (file, length) = activity_export::xlsx_file(state.pool.clone(), query).await?;
            let file = tokio::fs::File::from_std(file);
            (
                Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                    file, export::CHUNK_BYTES,
                )),
                Some(length),
            )
        }
        (format, Rows::Activities(query)) => (activity_export::text_body(state.pool.clone(), query, format, sheet)?, None),
        (ExportFormat::Xlsx, Rows::Ledger(query)) => {
            let (file, length) = ledger_export::xlsx_file(state.pool.clone(), query).await?;
            let file = tokio::fs::File::from_std(file);
            (
                Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                    file, export::CHUNK_BYTES,
                )),
                Some(length),
            )
        }
        (format, Rows::Ledger(query)) => (ledger_export::text_body(state.pool.clone(), query, format, sheet).await?, None),
        (ExportFormat::Xlsx, Rows::Visits(query, catalogue)) => {
            let (file, length) = visits::xlsx_file(state.pool.clone(), query, export::SHEET_ROWS, catalogue).await?;
            let file = tokio::fs::File::from_std(file);
            (
                Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                    file, export::CHUNK_BYTES,
                )),
                Some(length),
            )
        }
        (format, Rows::Visits(query, catalogue)) => (visits::text_stream(state.pool.clone(), query, format, catalogue, sheet)?, None),
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

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_are_percent_encoded() {
        assert_eq!(
            super::percent_encode("走访记录-2026-11-24.xlsx"),
            "%E8%B5%B0%E8%AE%BF%E8%AE%B0%E5%BD%95-2026-11-24.xlsx"
        );
    }
}
