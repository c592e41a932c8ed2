//! 产业对接 (issue 17): the households of an area with needs, unmatched first,
//! and the coordinators' matchups of a need with a help resource of the
//! county's catalogue. A matchup reaches the member's phone with the roster.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use daohu_domain::livelihood::unmatched;
use daohu_domain::{ApiError, ItemList, MatchupRecord, Need, NeedHousehold, NeedsReport, NewMatchup, Picks};
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::{self, parse_uuid};
use crate::routes::catalogue::of_county;
use crate::scope::{self, Subtree};
use crate::{audit, store, ApiJson, ApiQuery, AppError, AppState};

/// Households the needs list shows by default, and at most.
const DEFAULT_NEED_HOUSEHOLDS: u32 = 200;
const MAX_NEED_HOUSEHOLDS: u32 = 1_000;

/// `/needs`, `/matchups`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(needs_get)).routes(routes!(matchup_post))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NeedsQuery {
    /// A unit under the caller's (default: the caller's own).
    pub unit_id: Option<Uuid>,
    /// Households listed, at most 1,000 (default 200).
    pub limit: Option<u32>,
}

/// The needs of an area (coordinators): every household whose needs are
/// recorded, those with a need still unmatched first, each with what it lives
/// from and its matchups; and per need, the households where it is unmatched.
#[utoipa::path(
    get, path = "/needs", tag = "reports",
    security(("bearer" = [])),
    params(NeedsQuery),
    responses(
        (status = 200, description = "The households and the counts", body = NeedsReport),
        (status = 400, description = "A bad limit", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn needs_get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<NeedsQuery>,
) -> Result<Json<NeedsReport>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let limit = query.limit.unwrap_or(DEFAULT_NEED_HOUSEHOLDS);
    if limit == 0 || limit > MAX_NEED_HOUSEHOLDS {
        return Err(AppError::bad_request(format!("每页 1 到 {MAX_NEED_HOUSEHOLDS} 户")));
    }
    let mut conn = state.pool.acquire().await?;
    let area = match query.unit_id {
        Some(id) => Subtree { path: scope::unit(&mut conn, &subtree, id).await?.path },
        None => subtree,
    };
    Ok(Json(report(&mut conn, &user, &area, limit as usize).await?))
}

/// Per need in `Need::ALL` order, the households under `area` with it
/// unmatched now, and of those the ones whose needs were recorded in the
/// period `from`..=`to` (China's days).
pub async fn unmatched_counts(conn: &mut db::Conn, area: &Subtree, from: NaiveDate, to: NaiveDate) -> Result<(Vec<u32>, Vec<u32>), AppError> {
    let rows = store::matchups::unmatched_counts(conn, area, &from.to_string(), &to.to_string()).await?;
    let now: Vec<(String, i64)> = rows.iter().map(|(need, n, _)| (need.clone(), *n)).collect();
    let recorded: Vec<(String, i64)> = rows.into_iter().map(|(need, _, n)| (need, n)).collect();
    Ok((per_need(&now), per_need(&recorded)))
}

/// Counts by need word, in `Need::ALL` order.
fn per_need(counted: &[(String, i64)]) -> Vec<u32> {
    let of = |n: Need| counted.iter().find(|(w, _)| w == n.as_str()).map_or(0, |(_, c)| u32::try_from(*c).unwrap_or(u32::MAX));
    Need::ALL.into_iter().map(of).collect()
}

/// The needs report of `area` (also the meeting sheet's list).
pub async fn report(conn: &mut db::Conn, user: &AuthUser, area: &Subtree, limit: usize) -> Result<NeedsReport, AppError> {
    let catalogue = of_county(conn, user).await?;
    let rows = store::matchups::needs_in(conn, area).await?;
    let mut made: HashMap<Uuid, Vec<MatchupRecord>> = HashMap::new();
    for record in store::matchups::of_needs_in(conn, area).await? {
        made.entry(record.household_id).or_default().push(record);
    }
    let mut households = Vec::with_capacity(rows.len());
    for r in rows {
        let household_id = parse_uuid(&r.household_id)?;
        let bad = || AppError::internal(format!("bad stored needs {:?}", r.needs));
        let needs = Picks::parse(&r.needs).and_then(|p| p.needs()).ok_or_else(bad)?;
        let livelihood = r.livelihood.as_deref().and_then(Picks::parse).unwrap_or_default();
        let matchups = made.remove(&household_id).unwrap_or_default();
        let matchups: Vec<_> = matchups.into_iter().map(|m| m.matchup).collect();
        households.push(NeedHousehold {
            household_id,
            grid_id: parse_uuid(&r.grid_id)?,
            head_name: r.head_name,
            address: r.address,
            grid_name: r.grid_name,
            village_name: r.village_name,
            livelihood: livelihood.label(true, |k| catalogue.item(ItemList::Livelihood, k).map(|i| i.name_zh.clone())),
            unmatched: unmatched(&needs, &matchups),
            needs,
            matchups,
        });
    }
    Ok(NeedsReport::of(households, limit))
}

/// Records a matchup (coordinators, for a household under their unit): a need
/// answered with an active help resource of the county's catalogue. Sent again
/// with the same id, it is the same matchup (200).
#[utoipa::path(
    post, path = "/matchups", tag = "households",
    security(("bearer" = [])),
    request_body = NewMatchup,
    responses(
        (status = 201, description = "Stored", body = MatchupRecord),
        (status = 200, description = "Stored before (the same id)", body = MatchupRecord),
        (status = 400, description = "Not a help resource, an unknown or retired one, a bad id or a note too long", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "No such household under the caller's unit", body = ApiError),
    )
)]
pub async fn matchup_post(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(m): ApiJson<NewMatchup>,
) -> Result<(StatusCode, Json<MatchupRecord>), AppError> {
    scope::coordinator(&user)?;
    m.check().map_err(|e| AppError::bad_request(e.message(true)))?;
    let (_writer, mut tx) = state.write_tx().await?;
    if !scope::reaches(&mut tx, &user, m.household_id).await? {
        return Err(AppError::not_found());
    }
    let catalogue = of_county(&mut tx, &user).await?;
    // Another township's own resource is unknown here.
    let catalogue = crate::routes::ledger::household_catalogue(&mut tx, &catalogue, m.household_id).await?;
    let resource = catalogue.item(m.list, &m.resource).ok_or_else(|| {
        AppError::bad_request(daohu_domain::LedgerError::UnknownItem(m.list, m.resource.clone()).message(true))
    })?;
    if !resource.active {
        return Err(AppError::bad_request(daohu_domain::LedgerError::RetiredItem(m.list, m.resource.clone()).message(true)));
    }
    let stored = store::matchups::insert(&mut tx, &m, &resource.name_zh, &resource.contact, user.id, db::now()).await?;
    let record = store::matchups::of_households(&mut tx, &[m.household_id.to_string()])
        .await?
        .into_iter()
        .find(|r| r.id == m.id)
        // The id is another household's matchup: refused, nothing stored.
        .ok_or_else(|| AppError::conflict("id_taken", "这个对接记录的编号已被另一户使用"))?;
    if stored {
        audit::record(
            &mut tx,
            Some(user.id),
            "matchup_made",
            json!({ "matchup_id": m.id, "household_id": m.household_id, "need": m.need, "list": m.list,
                    "resource": m.resource, "outcome": m.outcome }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok((if stored { StatusCode::CREATED } else { StatusCode::OK }, Json(record)))
}
