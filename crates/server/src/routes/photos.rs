//! Photos of activities, uploaded apart from the record and resumably: the phone asks
//! how much the server holds (`GET /api/photos/{id}`), sends the rest in chunks
//! (`PUT /api/photos/{id}?offset=N`), and the server checks the whole against the
//! SHA-256 the activity named. Coordinators (and the recorder) read complete photos.
//!
//! A photo exists once an activity naming it is stored; only its recorder uploads it.
//! Chunks wait in `photo_chunks` and are joined into `photos.data` when the last
//! byte is in and the digest matches; a mismatch throws every byte away (422
//! `photo_corrupt`) and the phone starts again from 0, and so do bytes that are not
//! a JPEG of sensible size (422 `photo_not_jpeg`).
//!
//! Each account may send [`crate::Settings::photo_quota_bytes`] of chunks a day (429
//! `photo_quota` past it), and an upload left unfinished for [`STALE_UPLOAD_DAYS`]
//! loses its chunks (swept whenever an upload starts).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::{ApiError, PhotoStatus};
use serde::Deserialize;
use serde_json::json;
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::{sha256_hex, AuthUser};
use crate::db::{self, parse_uuid};
use crate::error::body_error;
use crate::scope::Subtree;
use crate::store::{self, photos::PhotoRow};
use crate::{audit, ApiQuery, AppError, AppState};

/// Largest chunk one `PUT` takes (1 MiB); the phone sends 256 KiB.
pub const MAX_CHUNK: usize = 1024 * 1024;

/// Largest width or height of a photo, in pixels (the phone scales its photos far below).
pub const MAX_PHOTO_SIDE: u16 = 8000;

/// Days an unfinished upload keeps its chunks without a new one.
pub const STALE_UPLOAD_DAYS: i64 = 7;

/// The width and height of a baseline or progressive JPEG, from its frame header;
/// `None` for bytes that are not a JPEG (no `FF D8 FF`, or no frame before the scan).
pub fn jpeg_size(data: &[u8]) -> Option<(u16, u16)> {
    if !data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return None;
    }
    let mut i = 2;
    loop {
        if *data.get(i)? != 0xFF {
            return None;
        }
        // a marker may be preceded by fill bytes (FF)
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let marker = *data.get(i)?;
        i += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue,
            // the end, or a scan before any frame header
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*data.get(i)?, *data.get(i + 1)?]));
        if len < 2 {
            return None;
        }
        // SOF0–SOF15 but DHT (C4), JPG (C8) and DAC (CC): precision, height, width
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let height = u16::from_be_bytes([*data.get(i + 3)?, *data.get(i + 4)?]);
            let width = u16::from_be_bytes([*data.get(i + 5)?, *data.get(i + 6)?]);
            return Some((width, height));
        }
        i += len;
    }
}

/// Why these bytes are not a photo the server keeps, in plain words; `None` if they are.
fn photo_problem(data: &[u8]) -> Option<String> {
    match jpeg_size(data) {
        None => Some("上传的内容不是 JPEG 照片".into()),
        Some((w, h)) if w == 0 || h == 0 || w > MAX_PHOTO_SIDE || h > MAX_PHOTO_SIDE => Some(format!(
            "照片尺寸不对（{w}×{h} 像素，每边最多 {MAX_PHOTO_SIDE}）"
        )),
        Some(_) => None,
    }
}

/// Throws away the chunks of unfinished uploads that took none for
/// [`STALE_UPLOAD_DAYS`], and the quota days before yesterday; answers how many
/// uploads went back to 0.
pub async fn sweep_stale_uploads(conn: &mut Conn, now: chrono::DateTime<chrono::Utc>) -> Result<u64, AppError> {
    let first_day = (now - chrono::Duration::days(1)).format("%Y-%m-%d").to_string();
    store::photos::sweep_stale(conn, now - chrono::Duration::days(STALE_UPLOAD_DAYS), &first_day).await
}

/// `/photos/{id}`, `/photos/{id}/content`.
pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, method) = routes!(photos_status, photos_put);
    OpenApiRouter::new()
        .routes((schemas, paths, method.layer(DefaultBodyLimit::max(MAX_CHUNK))))
        .routes(routes!(photos_content))
}

impl PhotoRow {
    fn status(&self) -> Result<PhotoStatus, AppError> {
        Ok(PhotoStatus {
            id: parse_uuid(&self.id)?,
            received: self.received.max(0) as u64,
            bytes: self.bytes.max(0) as u64,
            complete: self.complete,
        })
    }
}

/// The caller's own photo (of an activity they recorded); 403 for roles that do not
/// record activities, 404 for anything else.
async fn own_photo(conn: &mut Conn, user: &AuthUser, id: &str, for_update: bool) -> Result<(Uuid, PhotoRow), AppError> {
    if !user.role.records_activities() {
        return Err(AppError::forbidden("你的角色不上传活动照片"));
    }
    let id = Uuid::parse_str(id).map_err(|_| AppError::not_found())?;
    let row = store::photos::photo(conn, id, for_update).await?.ok_or_else(AppError::not_found)?;
    if row.recorder_id != user.id.to_string() {
        return Err(AppError::not_found());
    }
    Ok((id, row))
}

/// How much of one of the caller's photos the server holds: the next chunk starts at
/// `received`; `complete` once every byte is in and matched the record's SHA-256.
#[utoipa::path(
    get, path = "/photos/{id}", tag = "activities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Photo id, as named in the activity's `photos`")),
    responses(
        (status = 200, description = "Where the upload stands", body = PhotoStatus),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "The caller's role does not record activities", body = ApiError),
        (status = 404, description = "No stored activity of the caller names this photo", body = ApiError),
    )
)]
pub async fn photos_status(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<PhotoStatus>, AppError> {
    let mut conn = state.pool.acquire().await?;
    let (_, row) = own_photo(&mut conn, &user, &id, false).await?;
    Ok(Json(row.status()?))
}

/// Query of a chunk.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChunkQuery {
    /// Where the chunk starts: must be the `received` the server holds.
    pub offset: u64,
}

/// Whether a chunk's content type is one the upload takes (none, octet-stream or JPEG).
fn chunk_type_ok(headers: &HeaderMap) -> bool {
    match headers.get(CONTENT_TYPE) {
        None => true,
        Some(v) => {
            let ct = v.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            ct == "application/octet-stream" || ct == "image/jpeg"
        }
    }
}

/// Appends a chunk (at most 1 MiB) of one of the caller's photos at `offset`, which
/// must equal what the server holds (409 `offset_mismatch` otherwise: ask
/// `GET /api/photos/{id}` and resume from its `received`). When the last byte is in,
/// the whole is checked against the activity's SHA-256: a match completes the photo;
/// a mismatch discards every byte (422 `photo_corrupt`, start again at 0). A chunk
/// on a complete photo changes nothing and answers its status.
#[utoipa::path(
    put, path = "/photos/{id}", tag = "activities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Photo id"), ChunkQuery),
    request_body(description = "The chunk's bytes", content((Vec<u8> = "application/octet-stream"))),
    responses(
        (status = 200, description = "Where the upload stands after the chunk", body = PhotoStatus),
        (status = 400, description = "No offset", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "The caller's role does not record activities", body = ApiError),
        (status = 404, description = "No stored activity of the caller names this photo", body = ApiError),
        (status = 409, description = "offset is not what the server holds (`offset_mismatch`)", body = ApiError),
        (status = 413, description = "Chunk larger than 1 MiB", body = ApiError),
        (status = 415, description = "Not application/octet-stream", body = ApiError),
        (status = 422, description = "Past the photo's size (`past_end`), or the bytes do not match its SHA-256 (`photo_corrupt`) or are no JPEG of at most 8,000 px a side (`photo_not_jpeg`): reset to 0", body = ApiError),
        (status = 429, description = "The account's photo bytes for today are used up (`photo_quota`)", body = ApiError),
        (status = 503, description = "Not stored; retry later", body = ApiError),
    )
)]
pub async fn photos_put(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<ChunkQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PhotoStatus>, AppError> {
    {
        // Who and what first: a photo that is not the caller's is 404 whatever the body.
        let mut conn = state.pool.acquire().await?;
        own_photo(&mut conn, &user, &id, false).await?;
    }
    if !chunk_type_ok(&headers) {
        return Err(AppError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "照片内容要用 application/octet-stream 上传",
        ));
    }
    let chunk = body.map_err(body_error)?;

    let (_writer, mut tx) = state.write_tx().await?;
    let (photo, row) = own_photo(&mut tx, &user, &id, true).await?;
    if row.complete {
        return Ok(Json(row.status()?));
    }
    let received = row.received.max(0) as u64;
    if query.offset != received {
        return Err(AppError::conflict(
            "offset_mismatch",
            format!("服务器上已有 {received} 字节，请从那里接着上传"),
        ));
    }
    let end = received + chunk.len() as u64;
    if end > row.bytes.max(0) as u64 {
        return Err(AppError::client(
            StatusCode::UNPROCESSABLE_ENTITY,
            "past_end",
            "上传的内容比照片大",
        ));
    }
    if chunk.is_empty() {
        return Ok(Json(row.status()?));
    }
    let now = db::now();
    if received == 0 && sweep_stale_uploads(&mut tx, now).await? > 0 {
        tracing::info!("unfinished photo uploads older than {STALE_UPLOAD_DAYS} days swept");
    }
    // The daily quota counts every chunk taken, so retried or abandoned uploads count too.
    let day = now.format("%Y-%m-%d").to_string();
    let used = store::photos::bytes_on(&mut tx, user.id, &day).await?;
    let quota = state.settings.photo_quota_bytes;
    if used.unwrap_or(0).max(0) as u64 + chunk.len() as u64 > quota {
        return Err(AppError::client(
            StatusCode::TOO_MANY_REQUESTS,
            "photo_quota",
            format!("今天上传的照片已到上限（{} MB），请明天再传", quota / (1024 * 1024)),
        ));
    }
    store::photos::add_bytes(&mut tx, user.id, &day, chunk.len() as i64).await?;
    store::photos::add_chunk(&mut tx, photo, received as i64, chunk.as_ref(), end as i64, now).await?;
    if end < row.bytes as u64 {
        tx.commit().await.map_err(|e| AppError::unavailable("commit", e))?;
        return Ok(Json(PhotoStatus { id: photo, received: end, bytes: row.bytes as u64, complete: false }));
    }

    // The last byte is in: the whole must match the record's digest.
    let data = store::photos::take_chunks(&mut tx, photo).await?;
    let matches = data.len() as u64 == row.bytes as u64 && sha256_hex(&data) == row.sha256;
    let detail = json!({ "photo_id": photo, "activity_id": row.activity_id, "bytes": row.bytes });
    // Corrupt bytes, or intact bytes that are no JPEG to show: every byte goes.
    let refusal = if !matches {
        Some(("photo_corrupt", "照片传输出错，请重新上传".to_string()))
    } else {
        photo_problem(&data).map(|reason| ("photo_not_jpeg", reason))
    };
    if let Some((code, message)) = refusal {
        store::photos::reset(&mut tx, photo).await?;
        audit::record(&mut tx, Some(user.id), code, detail).await?;
        tx.commit().await.map_err(|e| AppError::unavailable("commit", e))?;
        tracing::warn!(member = %user.id, photo = %photo, code, "photo refused; reset");
        return Err(AppError::client(StatusCode::UNPROCESSABLE_ENTITY, code, message));
    }
    store::photos::complete(&mut tx, photo, &data, db::now()).await?;
    audit::record(&mut tx, Some(user.id), "photo_uploaded", detail).await?;
    tx.commit().await.map_err(|e| AppError::unavailable("commit", e))?;
    Ok(Json(PhotoStatus { id: photo, received: end, bytes: row.bytes as u64, complete: true }))
}

/// A complete photo's JPEG, for its recorder or a coordinator whose subtree holds the
/// activity; 404 for anyone else and while the upload is not complete.
#[utoipa::path(
    get, path = "/photos/{id}/content", tag = "activities",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Photo id")),
    responses(
        (status = 200, description = "The JPEG", content_type = "image/jpeg"),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 404, description = "Unknown, not complete, or not the caller's to see", body = ApiError),
    )
)]
pub async fn photos_content(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let mut conn = state.pool.acquire().await?;
    let row = store::photos::photo(&mut conn, id, false).await?.ok_or_else(AppError::not_found)?;
    let own = row.recorder_id == user.id.to_string();
    let in_subtree =
        user.role.is_coordinator() && Subtree { path: user.unit_path.clone() }.contains(&row.unit_path);
    if !row.complete || !(own || in_subtree) {
        return Err(AppError::not_found());
    }
    let data = store::photos::content(&mut conn, id).await?;
    let data = data.ok_or_else(AppError::not_found)?;
    drop(conn);
    audit::record_alone(&state, user.id, "read_photo", json!({ "photo_id": id })).await?;
    let mut response = data.into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}
