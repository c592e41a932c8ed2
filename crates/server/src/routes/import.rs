//! Importing a village's household roster (联户花名册) from CSV or Excel.
//!
//! The coordinator first asks for a preview (what each row would do and why a row
//! is refused), then commits the same file with the preview's digest. A commit
//! applies every row it can in one transaction; refused rows are skipped. Rows are
//! matched to stored households by (village, doorplate), so importing the same file
//! twice changes nothing the second time.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use calamine::{Cell, Data, DataRef, Reader, Sheets};
use daohu_domain::{
    ApiError, ImportAction, ImportPreview, ImportRowResult, RosterColumns, RosterRow, SpecialGroup,
    UnitKind,
};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::body_error;
use crate::scope::{self, UnitRow};
use crate::store;
use crate::{audit, ApiQuery, AppError, AppState};

/// Largest roster file taken (20 MiB); larger ones answer 413.
pub const IMPORT_BODY_LIMIT: usize = 20 * 1024 * 1024;
/// Most data rows one file may hold.
pub const MAX_ROWS: usize = 50_000;
/// The content type of an `.xlsx` file.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// `/roster/import`, with its own body limit.
pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, method) = routes!(roster_import);
    OpenApiRouter::new().routes((schemas, paths, method.layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT))))
}

/// Query of an import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The village the roster belongs to (in the caller's subtree).
    pub village_id: String,
    /// `preview` (nothing is written) or `commit`.
    pub mode: String,
    /// For `commit`: the digest the preview answered.
    pub digest: Option<String>,
}

fn bad_roster(message: impl Into<String>) -> AppError {
    AppError::client(StatusCode::BAD_REQUEST, "bad_roster", message)
}

/// How the body is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Workbook,
}

/// Decides the format from the content type, and from the first bytes where
/// browsers label files loosely (Windows calls a CSV `application/vnd.ms-excel`).
fn format_of(headers: &HeaderMap, body: &[u8]) -> Result<Format, AppError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let looks_like_workbook = body.starts_with(b"PK\x03\x04")
        || body.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    match content_type.as_str() {
        XLSX => Ok(Format::Workbook),
        "text/csv"
        | "text/plain"
        | "application/csv"
        | "text/comma-separated-values"
        | "application/vnd.ms-excel"
        | "application/octet-stream" => Ok(if looks_like_workbook {
            Format::Workbook
        } else {
            Format::Csv
        }),
        _ => Err(AppError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "请上传 Excel（.xlsx）或 CSV 文件",
        )),
    }
}

/// A sheet: (row number as the spreadsheet shows it, cells).
type Table = Vec<(u32, Vec<String>)>;

/// Text of a CSV file: UTF-8 (with or without BOM), else GB18030 (what Excel in
/// China saves as "CSV"), which also covers GBK.
fn decode_text(bytes: &[u8]) -> Result<String, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(text.to_string());
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err("读不懂这个文件的文字编码：请另存为 Excel（.xlsx）或 UTF-8 编码的 CSV".into());
    }
    Ok(text.into_owned())
}

fn read_csv(bytes: &[u8]) -> Result<Table, String> {
    let text = decode_text(bytes)?;
    let first_line = text.lines().next().unwrap_or("");
    // Excel's "Unicode text" is tab separated; everything else here uses commas.
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut table = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let record = record.map_err(|_| format!("CSV 文件第 {row} 行读不了"))?;
        table.push((row, record.iter().map(str::to_string).collect()));
        if table.len() > MAX_ROWS + 1 {
            break;
        }
    }
    Ok(table)
}

/// A cell as text; whole numbers without ".0" (phones and counts are often numbers in Excel).
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

/// Cells past this column (IV, the last of an .xls sheet) are ignored: a roster's
/// columns are the first few, and a far cell must not widen every row.
const MAX_COLUMNS: u32 = 256;

fn read_workbook(bytes: Bytes) -> Result<Table, String> {
    const UNREADABLE: &str = "读不了这个 Excel 文件：请确认是 .xlsx（或 .xls）格式，没有加密";
    const NO_SHEET: &str = "Excel 文件里没有工作表";
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|_| UNREADABLE.to_string())?;
    // .xlsx and .xlsb are read cell by cell, so a sheet claiming (or reaching) a
    // million rows costs only the rows kept; calamine's whole-sheet range would
    // allocate every cell between the first and the farthest one.
    match &mut book {
        Sheets::Xlsx(xlsx) => {
            let name = xlsx.sheet_names().first().cloned().ok_or(NO_SHEET)?;
            let mut reader = match xlsx.worksheet_cells_reader(&name) {
                Ok(reader) => reader,
                // a chart sheet first: nothing to read, as calamine's range gives
                Err(calamine::XlsxError::NotAWorksheet(_)) => return Ok(Vec::new()),
                Err(_) => return Err(UNREADABLE.into()),
            };
            return stream_table(|| reader.next_cell().map_err(|_| UNREADABLE.to_string()));
        }
        Sheets::Xlsb(xlsb) => {
            let name = xlsb.sheet_names().first().cloned().ok_or(NO_SHEET)?;
            let mut reader = xlsb
                .worksheet_cells_reader(&name)
                .map_err(|_| UNREADABLE.to_string())?;
            return stream_table(|| reader.next_cell().map_err(|_| UNREADABLE.to_string()));
        }
        // .xls is bounded by its format (65,536 rows × 256 columns); calamine caps
        // .ods row repeats itself.
        Sheets::Xls(_) | Sheets::Ods(_) => {}
    }
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| NO_SHEET.to_string())?
        .map_err(|_| UNREADABLE.to_string())?;
    let first_row = range.start().map(|(row, _)| row).unwrap_or(0);
    Ok(range
        .rows()
        .enumerate()
        .take(MAX_ROWS + 2)
        .map(|(i, cells)| {
            let row = first_row
                .saturating_add(u32::try_from(i).unwrap_or(u32::MAX))
                .saturating_add(1);
            (row, cells.iter().map(cell_text).collect())
        })
        .collect())
}

/// The first `MAX_ROWS + 2` rows of a sheet from its cells in file order: the
/// same table calamine's range gave (rows from the first non-empty cell's row,
/// columns from the leftmost non-empty cell's), without empty padding at the
/// ends of rows, and reading stops once a cell lies past the cap.
fn stream_table<'a>(
    mut next: impl FnMut() -> Result<Option<Cell<DataRef<'a>>>, String>,
) -> Result<Table, String> {
    let span = u32::try_from(MAX_ROWS + 2).unwrap_or(u32::MAX);
    let mut rows: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    while let Some(cell) = next()? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (row, col) = cell.get_position();
        if let Some(&first) = rows.keys().next() {
            // Spreadsheets write rows in order: a cell past the cap ends the sheet.
            if row >= first.saturating_add(span) {
                break;
            }
        }
        if col >= MAX_COLUMNS {
            continue;
        }
        rows.entry(row)
            .or_default()
            .push((col, cell_text(&Data::from(cell.get_value().clone()))));
        // A cell above the first one (out of order) moves the window up.
        while let (Some(&lo), Some(&hi)) = (rows.keys().next(), rows.keys().next_back()) {
            if hi < lo.saturating_add(span) {
                break;
            }
            rows.pop_last();
        }
    }
    let Some(first_col) = rows.values().flatten().map(|(col, _)| *col).min() else {
        return Ok(Vec::new());
    };
    let (Some(&first), Some(&last)) = (rows.keys().next(), rows.keys().next_back()) else {
        return Ok(Vec::new());
    };
    Ok((first..=last)
        .map(|row| {
            let mut cells = Vec::new();
            for (col, text) in rows.remove(&row).unwrap_or_default() {
                let at = (col - first_col) as usize;
                if cells.len() <= at {
                    cells.resize(at + 1, String::new());
                }
                cells[at] = text;
            }
            (row.saturating_add(1), cells)
        })
        .collect())
}

/// Reads the file into rows, off the async threads; a file that cannot be read is a 400.
async fn read_table(format: Format, body: Bytes) -> Result<Table, AppError> {
    tokio::task::spawn_blocking(move || match format {
        Format::Csv => read_csv(&body),
        Format::Workbook => read_workbook(body),
    })
    .await
    // A reader that panics was handed a broken file.
    .map_err(|_| bad_roster("读不了这个文件"))?
    .map_err(bad_roster)
}

/// A household of the village as stored.
struct Existing {
    id: Uuid,
    grid_id: Uuid,
    head_name: String,
    people: u16,
    phone: Option<String>,
    special_groups: Vec<SpecialGroup>,
}

/// What a commit writes.
enum Op {
    Add {
        grid_id: Uuid,
        row: RosterRow,
    },
    Change {
        id: Uuid,
        grid_id: Uuid,
        head_name: String,
        people: u16,
        phone: Option<String>,
        special_groups: Vec<SpecialGroup>,
    },
}

struct Plan {
    preview: ImportPreview,
    ops: Vec<Op>,
}

fn groups_label(groups: &[SpecialGroup]) -> String {
    if groups.is_empty() {
        "无".into()
    } else {
        groups
            .iter()
            .map(|g| g.label_zh())
            .collect::<Vec<_>>()
            .join("、")
    }
}

/// The village's grids (name → id) and households (doorplate → household).
async fn village_state(
    conn: &mut Conn,
    village: &UnitRow,
) -> Result<(HashMap<String, Uuid>, HashMap<String, Existing>), AppError> {
    let grids = store::units::village_grids(&mut *conn, village.id).await?;
    let grids = grids
        .into_iter()
        .map(|(id, name)| Ok((name, crate::db::parse_uuid(&id)?)))
        .collect::<Result<HashMap<_, _>, AppError>>()?;
    let rows = store::households::of_village(conn, village.id).await?;
    let mut households = HashMap::with_capacity(rows.len());
    for store::households::VillageHousehold { id, grid_id, address, head_name, people, phone, special_groups: groups } in rows {
        let mut special_groups: Vec<SpecialGroup> = serde_json::from_str(&groups)?;
        special_groups.sort();
        households
            .entry(address.trim().to_string())
            .or_insert(Existing {
                id: crate::db::parse_uuid(&id)?,
                grid_id: crate::db::parse_uuid(&grid_id)?,
                head_name,
                people: u16::try_from(people).unwrap_or(u16::MAX),
                phone,
                special_groups,
            });
    }
    Ok((grids, households))
}

/// Decides every row: add, change (with what changes), unchanged or refuse (with why).
fn plan(
    table: &Table,
    grids: &HashMap<String, Uuid>,
    existing: &HashMap<String, Existing>,
    digest: String,
) -> Result<Plan, AppError> {
    let mut rows = table.iter();
    let (_, header) = rows.next().ok_or_else(|| bad_roster("文件是空的"))?;
    let cols = RosterColumns::from_headers(header).map_err(bad_roster)?;
    let grid_names: HashMap<Uuid, &str> = grids.iter().map(|(n, id)| (*id, n.as_str())).collect();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut results = Vec::new();
    let mut ops = Vec::new();
    for (number, cells) in rows {
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if results.len() >= MAX_ROWS {
            return Err(bad_roster(format!("一次最多导入 {MAX_ROWS} 行")));
        }
        let cell = |i: usize| {
            cells
                .get(i)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let (grid, head_name, address) =
            (cell(cols.grid), cell(cols.head_name), cell(cols.address));
        let mut problems = Vec::new();
        let parsed = RosterRow::parse(&cols, cells);
        if let Err(p) = &parsed {
            problems.extend(p.iter().cloned());
        }
        let grid_id = grids.get(&grid).copied();
        if !grid.is_empty() && grid_id.is_none() {
            problems.push(format!("网格“{grid}”不在本村"));
        }
        if !address.is_empty() {
            if let Some(first) = seen.get(&address) {
                problems.push(format!("门牌号与第 {first} 行重复"));
            } else {
                seen.insert(address.clone(), *number);
            }
        }
        let mut result = ImportRowResult {
            row: *number,
            action: ImportAction::Refuse,
            notes: Vec::new(),
            grid,
            head_name,
            address,
        };
        match (parsed, grid_id) {
            (Ok(row), Some(grid_id)) if problems.is_empty() => match existing.get(&row.address) {
                None => {
                    result.action = ImportAction::Add;
                    ops.push(Op::Add { grid_id, row });
                }
                Some(old) => {
                    let mut notes = Vec::new();
                    if old.grid_id != grid_id {
                        let from = grid_names.get(&old.grid_id).copied().unwrap_or("?");
                        notes.push(format!("网格：{from} → {}", row.grid));
                    }
                    if old.head_name != row.head_name {
                        notes.push(format!("户主：{} → {}", old.head_name, row.head_name));
                    }
                    // Columns the file does not have leave the stored value alone.
                    let people = if cols.people.is_some() {
                        row.people
                    } else {
                        old.people
                    };
                    if people != old.people {
                        notes.push(format!("人口：{} → {}", old.people, people));
                    }
                    let phone = if cols.phone.is_some() {
                        row.phone.clone()
                    } else {
                        old.phone.clone()
                    };
                    if phone != old.phone {
                        let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "无".into());
                        notes.push(format!("电话：{} → {}", show(&old.phone), show(&phone)));
                    }
                    let special_groups = if cols.special_groups.is_some() {
                        row.special_groups.clone()
                    } else {
                        old.special_groups.clone()
                    };
                    if special_groups != old.special_groups {
                        notes.push(format!(
                            "特殊群体：{} → {}",
                            groups_label(&old.special_groups),
                            groups_label(&special_groups)
                        ));
                    }
                    if notes.is_empty() {
                        result.action = ImportAction::Unchanged;
                    } else {
                        result.action = ImportAction::Change;
                        result.notes = notes;
                        ops.push(Op::Change {
                            id: old.id,
                            grid_id,
                            head_name: row.head_name,
                            people,
                            phone,
                            special_groups,
                        });
                    }
                }
            },
            _ => result.notes = problems,
        }
        results.push(result);
    }
    let count = |a: ImportAction| {
        u32::try_from(results.iter().filter(|r| r.action == a).count()).unwrap_or(u32::MAX)
    };
    Ok(Plan {
        preview: ImportPreview {
            digest,
            added: count(ImportAction::Add),
            changed: count(ImportAction::Change),
            unchanged: count(ImportAction::Unchanged),
            refused: count(ImportAction::Refuse),
            rows: results,
            committed: false,
        },
        ops,
    })
}

/// Writes the plan's adds and changes inside the caller's transaction: the adds
/// in batches of many rows, then the changes one statement each.
async fn apply(conn: &mut Conn, ops: &[Op]) -> Result<(), AppError> {
    let adds: Vec<(Uuid, Uuid, &RosterRow)> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Add { grid_id, row } => Some((Uuid::now_v7(), *grid_id, row)),
            Op::Change { .. } => None,
        })
        .collect();
    store::households::insert_many(&mut *conn, &adds).await?;
    for op in ops {
        if let Op::Change {
            id,
            grid_id,
            head_name,
            people,
            phone,
            special_groups,
        } = op
        {
            store::households::update(&mut *conn, *id, *grid_id, head_name, *people, phone.as_deref(), special_groups)
                .await?;
        }
    }
    Ok(())
}

/// The digest a commit must repeat: sha256 hex of the village id and the file's bytes.
pub fn import_digest(village_id: Uuid, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(village_id.to_string().as_bytes());
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Previews or commits a village's household roster. The body is the file itself:
/// `text/csv` (UTF-8, or GBK/GB18030 as Excel saves it in China) or an `.xlsx`
/// workbook (first sheet). First row = headers (网格, 户主, 门牌号; optional 人口,
/// 联系电话, 特殊群体). Up to 20 MiB.
#[utoipa::path(
    post, path = "/roster/import", tag = "households",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(
        description = "The roster file",
        content(
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    ),
    responses(
        (status = 200, description = "What the import does (preview) or did (commit), row by row", body = ImportPreview),
        (status = 400, description = "Unreadable file or missing columns (`bad_roster`), bad mode, or the unit is not a village", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "Village not in the caller's subtree", body = ApiError),
        (status = 409, description = "Commit without the preview's digest for this file (`stale_preview`)", body = ApiError),
        (status = 413, description = "File larger than 20 MiB", body = ApiError),
        (status = 415, description = "Neither CSV nor Excel", body = ApiError),
    )
)]
pub async fn roster_import(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImportPreview>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let commit = match query.mode.as_str() {
        "preview" => false,
        "commit" => true,
        _ => return Err(AppError::bad_request("mode 应为 preview 或 commit")),
    };
    let village_id = Uuid::parse_str(&query.village_id).map_err(|_| AppError::not_found())?;
    let village = {
        let mut conn = state.pool.acquire().await?;
        scope::unit(&mut conn, &subtree, village_id).await?
    };
    if village.kind != UnitKind::Village {
        return Err(AppError::bad_request("花名册要导入到一个村（社区）"));
    }
    let body = body.map_err(body_error)?;
    if body.is_empty() {
        return Err(bad_roster("文件是空的"));
    }
    let format = format_of(&headers, &body)?;
    let digest = import_digest(village_id, &body);
    if commit && query.digest.as_deref().map(str::trim) != Some(digest.as_str()) {
        return Err(AppError::conflict(
            "stale_preview",
            "文件和预览时不一样了，请重新预览后再导入",
        ));
    }
    let table = read_table(format, body).await?;

    if !commit {
        let mut tx = state.pool.begin().await?;
        let (grids, existing) = village_state(&mut tx, &village).await?;
        tx.commit().await?;
        let plan = plan(&table, &grids, &existing, digest)?;
        return Ok(Json(plan.preview));
    }

    let started = std::time::Instant::now();
    let (_writer, mut tx) = state.write_tx().await?;
    // Decided again under the county's lock (SQLite: the write lock), so what
    // lands matches the database as it is now.
    store::units::lock_county(&mut tx, &village.path, store::units::CountyHold::Alone).await?;
    let (grids, existing) = village_state(&mut tx, &village).await?;
    let Plan { mut preview, ops } = plan(&table, &grids, &existing, digest)?;
    apply(&mut tx, &ops).await?;
    preview.committed = true;
    audit::record(
        &mut tx,
        Some(user.id),
        "roster_import",
        json!({
            "village_id": village.id,
            "format": if format == Format::Csv { "csv" } else { "workbook" },
            "digest": preview.digest,
            "added": preview.added,
            "changed": preview.changed,
            "unchanged": preview.unchanged,
            "refused": preview.refused,
        }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        village = %village.id,
        added = preview.added,
        changed = preview.changed,
        ms = started.elapsed().as_millis() as u64,
        "roster imported"
    );
    Ok(Json(preview))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_or_gbk() {
        assert_eq!(
            decode_text("\u{feff}网格,户主".as_bytes()).unwrap(),
            "网格,户主"
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("网格,户主,门牌号");
        assert_eq!(decode_text(&gbk).unwrap(), "网格,户主,门牌号");
    }

    #[test]
    fn numbers_read_as_people_type_them() {
        assert_eq!(cell_text(&Data::Float(13900000001.0)), "13900000001");
        assert_eq!(cell_text(&Data::Float(3.0)), "3");
        assert_eq!(cell_text(&Data::Float(2.5)), "2.5");
        assert_eq!(cell_text(&Data::Int(4)), "4");
        assert_eq!(cell_text(&Data::Empty), "");
    }

    #[test]
    fn csv_rows_are_numbered_like_the_sheet() {
        let t = read_csv("a,b\n\"x\ny\",2\n3,4\n".as_bytes()).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[1], (2, vec!["x\ny".to_string(), "2".to_string()]));
        assert_eq!(t[2].0, 3);
        let tabs = read_csv("a\tb\n1\t2\n".as_bytes()).unwrap();
        assert_eq!(tabs[1].1, ["1", "2"]);
    }

    #[test]
    fn streamed_cells_give_the_rows_of_calamines_range() {
        // out of order, a gap row, an empty cell and an error cell, starting at C3
        let spots: Vec<((u32, u32), Data)> = vec![
            ((3, 2), Data::String("网格".into())),
            ((3, 4), Data::Float(13900000001.0)),
            ((2, 5), Data::Int(7)),
            ((6, 3), Data::String("x".into())),
            ((4, 2), Data::Empty),
            ((5, 6), Data::Error(calamine::CellErrorType::Div0)),
        ];
        let range = calamine::Range::from_sparse(
            spots
                .iter()
                .filter(|(_, v)| *v != Data::Empty)
                .map(|(pos, v)| Cell::new(*pos, v.clone()))
                .collect(),
        );
        let first_row = range.start().unwrap().0;
        let expected: Table = range
            .rows()
            .enumerate()
            .map(|(i, cells)| {
                let mut cells: Vec<String> = cells.iter().map(cell_text).collect();
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                (first_row + i as u32 + 1, cells)
            })
            .collect();
        let mut stream = spots.into_iter().map(|(pos, v)| {
            let v = match v {
                Data::String(s) => DataRef::String(s),
                Data::Float(f) => DataRef::Float(f),
                Data::Int(n) => DataRef::Int(n),
                Data::Error(e) => DataRef::Error(e),
                _ => DataRef::Empty,
            };
            Cell::new(pos, v)
        });
        let streamed = stream_table(|| Ok(stream.next())).unwrap();
        let trimmed: Table = streamed
            .into_iter()
            .map(|(n, mut cells)| {
                while cells.last().is_some_and(String::is_empty) {
                    cells.pop();
                }
                (n, cells)
            })
            .collect();
        assert_eq!(trimmed, expected);
        assert_eq!(trimmed[0].0, 3);
    }
}
