//! The household ledger (issue 17): changes uploaded from a phone's outbox or
//! made by a coordinator, one receipt each as for visits; a household's ledger
//! with its history; and the 应享未享 report by area.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Json;
use daohu_domain::{
    ApiError, Catalogue, GapHousehold, HouseholdLedger, LedgerBatch, PolicyGapCount, PolicyGaps, PolicyState,
    PolicyStatus, ReceiptCounts, SyncResponse,
};
use daohu_domain::ledger::MAX_LEDGER_BATCH;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::auth::{sha256_hex, AuthUser};
use crate::db::{self, Conn};
use crate::receipts::{self, Records};
use crate::routes::catalogue::of_county;
use crate::scope::OUT_OF_SCOPE_REASON;
use crate::scope::{self, Subtree};
use crate::{audit, store, ApiJson, ApiQuery, AppError, AppState};

/// Reason given for a change naming a visit of another household.
pub const VISIT_ELSEWHERE_REASON: &str = "记录里的走访不是这一户的";

/// Most households one page of the 应享未享 list holds.
pub const MAX_GAP_HOUSEHOLDS: u32 = 1_000;
/// Households the list holds unless asked for fewer or more.
pub const DEFAULT_GAP_HOUSEHOLDS: u32 = 200;

/// `/sync/ledger`, `/households/{id}/ledger`, `/ledger/gaps`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sync_ledger_upload))
        .routes(routes!(household_ledger_get))
        .routes(routes!(ledger_gaps_get))
}

/// Stores a batch of ledger changes in one transaction, a receipt for each in
/// order: each household must be in the caller's reach, each value must fit its
/// field and the county's catalogue now (no retired or unknown policy), and a
/// change sent again answers `duplicate`. A stored change becomes its field's
/// current value unless a later one (by device time, never after it reached the
/// server) is already there; every change stays in the history. Coordinators'
/// corrections go through here too, and are audited change by change.
#[utoipa::path(
    post, path = "/sync/ledger", tag = "sync",
    security(("bearer" = [])),
    request_body = LedgerBatch,
    responses(
        (status = 200, description = "One receipt per change, in order", body = SyncResponse),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "The caller's role keeps no ledger", body = ApiError),
        (status = 413, description = "More changes than MAX_LEDGER_BATCH, or body too large", body = ApiError),
        (status = 503, description = "Not stored; retry later", body = ApiError),
    )
)]
pub async fn sync_ledger_upload(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(batch): ApiJson<LedgerBatch>,
) -> Result<Json<SyncResponse>, AppError> {
    if !user.role.records_visits() && !user.role.is_coordinator() {
        return Err(AppError::forbidden("你的角色不能修改户的台账"));
    }
    if batch.changes.len() > MAX_LEDGER_BATCH {
        return Err(AppError::too_large(format!("一次最多上传 {MAX_LEDGER_BATCH} 条台账变化")));
    }
    let (_writer, mut tx) = state.write_tx().await?;
    let catalogue = of_county(&mut tx, &user).await?;
    let now = db::now();
    let mut receipts = Vec::with_capacity(batch.changes.len());
    let mut stored = Vec::new();
    for change in batch.changes {
        let hash = sha256_hex(serde_json::to_string(&change)?.as_bytes());
        let refuse = |reason: String| (change.id, hash.clone(), reason);
        let refusal = if !scope::reaches(&mut tx, &user, change.household_id).await? {
            Some(refuse(OUT_OF_SCOPE_REASON.to_string()))
        } else if let Err(e) = change.clone().received(now).check(&household_catalogue(&mut tx, &catalogue, change.household_id).await?) {
            Some(refuse(e.message(true)))
        } else if let Some(visit) = change.visit_id {
            let of = store::visits::household_of(&mut tx, visit).await?;
            of.filter(|h| *h != change.household_id).map(|_| refuse(VISIT_ELSEWHERE_REASON.to_string()))
        } else {
            None
        };
        if let Some((id, hash, reason)) = refusal {
            receipts.push(receipts::refuse(&mut tx, Records::LedgerChanges, id, &hash, &reason).await?);
            continue;
        }
        let change = change.received(now);
        let inserted = store::ledger::insert(&mut tx, &change, user.id, batch.device_id, &hash).await?;
        if inserted {
            store::ledger::make_current(&mut tx, &change).await?;
            stored.push(json!({ "id": change.id, "household_id": change.household_id, "field": change.field.word() }));
        }
        receipts.push(receipts::decided(&mut tx, Records::LedgerChanges, change.id, &hash, inserted, now).await?);
    }
    let counts = ReceiptCounts::of(&receipts);
    let mut detail = json!({
        "device_id": batch.device_id,
        "stored": counts.stored,
        "duplicate": counts.duplicate,
        "conflict": counts.conflict,
        "rejected": counts.rejected,
    });
    if user.role.is_coordinator() {
        // A coordinator's correction names what it changed.
        detail["changes"] = json!(stored);
    }
    audit::record(&mut tx, Some(user.id), "sync_ledger", detail).await?;
    tx.commit().await.map_err(|e| AppError::unavailable("commit", e))?;
    Ok(Json(SyncResponse { receipts, server_time: now }))
}

/// The catalogue as it applies to a household (its county's entries and its
/// township's and village's own).
pub(crate) async fn household_catalogue(conn: &mut Conn, catalogue: &Catalogue, household: Uuid) -> Result<Catalogue, AppError> {
    let path = store::households::path_of(conn, household).await?.ok_or_else(AppError::not_found)?;
    Ok(catalogue.at(&path))
}

/// Whether the caller may read this household's ledger: in a member's or grid
/// leader's reach, or under a coordinator's unit. 404 otherwise.
async fn readable(conn: &mut Conn, user: &AuthUser, household: Uuid) -> Result<(), AppError> {
    if scope::reaches(conn, user, household).await? {
        Ok(())
    } else {
        Err(AppError::not_found())
    }
}

/// One household's ledger: each field's current value and every change, newest
/// first, with who made it.
#[utoipa::path(
    get, path = "/households/{id}/ledger", tag = "households",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Household id")),
    responses(
        (status = 200, description = "The ledger", body = HouseholdLedger),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 404, description = "No such household in the caller's reach", body = ApiError),
    )
)]
pub async fn household_ledger_get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<HouseholdLedger>, AppError> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let mut conn = state.pool.acquire().await?;
    readable(&mut conn, &user, id).await?;
    let history = store::ledger::history(&mut conn, id).await?;
    Ok(Json(HouseholdLedger::of(id, history)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GapsQuery {
    /// A unit under the caller's (default: the caller's own).
    pub unit_id: Option<Uuid>,
    /// One policy's key (default: every policy).
    pub policy: Option<String>,
    /// Households listed, at most 1,000 (default 200).
    pub limit: Option<u32>,
}

/// The 应享未享 report of an area (coordinators): for each active policy of the
/// county's catalogue, how many households are entitled and not receiving it,
/// how many are applying with a member's help, and how many of those
/// applications are overdue by the policy's own limit; and the households,
/// applications first (oldest first).
#[utoipa::path(
    get, path = "/ledger/gaps", tag = "reports",
    security(("bearer" = [])),
    params(GapsQuery),
    responses(
        (status = 200, description = "Counts per policy and the households", body = PolicyGaps),
        (status = 400, description = "A policy the catalogue does not have, or a bad limit", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn ledger_gaps_get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<GapsQuery>,
) -> Result<Json<PolicyGaps>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let limit = query.limit.unwrap_or(DEFAULT_GAP_HOUSEHOLDS);
    if limit == 0 || limit > MAX_GAP_HOUSEHOLDS {
        return Err(AppError::bad_request(format!("每页 1 到 {MAX_GAP_HOUSEHOLDS} 户")));
    }
    let mut conn = state.pool.acquire().await?;
    let area = match query.unit_id {
        Some(id) => Subtree { path: scope::unit(&mut conn, &subtree, id).await?.path },
        None => subtree,
    };
    // The policies of the area: the county's, and its own units' and those above.
    let catalogue = of_county(&mut conn, &user).await?.seen_from(&area.path);
    if let Some(key) = &query.policy {
        if catalogue.policy(key).is_none() {
            return Err(AppError::bad_request("政策目录里没有这项政策"));
        }
    }
    let day = crate::activity_log::china_today();
    let (entitled, applying) = store::ledger::gap_counts(&mut conn, &area).await?;
    let policies = counts(&catalogue, &entitled, &applying, day);
    let rows = store::ledger::gap_households(&mut conn, &area, query.policy.as_deref(), limit).await?;
    let mut households: Vec<GapHousehold> = rows
        .into_iter()
        .map(|(household_id, head_name, address, grid_name, policy_key, state, applying_since)| {
            let status = PolicyStatus { state, applying_since };
            let overdue = catalogue.policy(&policy_key).is_some_and(|p| status.overdue(p, day));
            GapHousehold { household_id, head_name, address, grid_name, policy_key, state, applying_since, overdue }
        })
        .collect();
    GapHousehold::sort(&mut households);
    Ok(Json(PolicyGaps { policies, households }))
}

/// The dashboard's ledger panel for `area`: households whose housing or water
/// is not safe, by condition, and the 应享未享 and application totals over the
/// county's active policies, as they stand now; of the conditions and 应享未享,
/// also those recorded in the period `from`..=`to` (China's days), and of the
/// applications those started in it.
pub async fn panel(
    conn: &mut Conn,
    user: &AuthUser,
    area: &Subtree,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<daohu_domain::LedgerPanel, AppError> {
    let catalogue = of_county(conn, user).await?;
    let recorded = store::ledger::recorded_counts(conn, area, &from.to_string(), &to.to_string()).await?;
    let in_period = |field: &str| -> Vec<(String, u32)> {
        recorded
            .iter()
            .filter(|(f, _, _)| f == field)
            .map(|(_, state, n)| (state.clone(), u32::try_from(*n).unwrap_or(u32::MAX)))
            .collect()
    };
    // 应享未享 and applications of the active policies only, as the totals count them.
    let active: Vec<String> = catalogue.policies.iter().filter(|p| p.active).map(|p| format!("policy:{}", p.key)).collect();
    let entitled_in_period = active.iter().flat_map(|f| in_period(f)).fold(0u32, |a, (_, n)| a.saturating_add(n));
    let (entitled, applying) = store::ledger::gap_counts(conn, area).await?;
    // Applications started in the period (their day is in the tallies' rows).
    let applying_in_period = applying
        .iter()
        .filter(|(field, since, _)| {
            let since = since.as_deref().and_then(|s| crate::visit_log::parse_date(s).ok());
            active.contains(field) && since.is_some_and(|d| from <= d && d <= to)
        })
        .fold(0u32, |a, (_, _, n)| a.saturating_add(u32::try_from(*n).unwrap_or(u32::MAX)));
    let per_policy = counts(&catalogue, &entitled, &applying, crate::activity_log::china_today());
    let sum = |f: fn(&PolicyGapCount) -> u64| u32::try_from(per_policy.iter().map(f).sum::<u64>()).unwrap_or(u32::MAX);
    let words = |rows: Vec<(String, i64)>| rows.into_iter().map(|(w, n)| (w, u32::try_from(n).unwrap_or(u32::MAX))).collect();
    Ok(daohu_domain::LedgerPanel {
        housing: words(store::ledger::condition_counts(conn, area, "housing", &["needs_repair", "dangerous"]).await?),
        water: words(store::ledger::condition_counts(conn, area, "water", &["unsafe", "seasonal_shortage"]).await?),
        entitled_not_receiving: sum(|p| p.entitled_not_receiving),
        applying: sum(|p| p.applying),
        overdue: sum(|p| p.overdue),
        housing_in_period: in_period("housing"),
        water_in_period: in_period("water"),
        entitled_in_period,
        applying_in_period,
    })
}

/// Each active policy's counts from the stored tallies (keyed `policy:<key>`).
fn counts(
    catalogue: &Catalogue,
    entitled: &[(String, i64)],
    applying: &[(String, Option<String>, i64)],
    day: chrono::NaiveDate,
) -> Vec<PolicyGapCount> {
    let entitled: HashMap<&str, i64> = entitled.iter().map(|(f, n)| (f.as_str(), *n)).collect();
    catalogue
        .policies
        .iter()
        .filter(|p| p.active)
        .map(|p| {
            let field = format!("policy:{}", p.key);
            let (mut running, mut overdue) = (0, 0);
            for (_, since, n) in applying.iter().filter(|(f, _, _)| *f == field) {
                running += n;
                let since = since.as_deref().and_then(|s| crate::visit_log::parse_date(s).ok());
                let status = PolicyStatus { state: PolicyState::Applying, applying_since: since };
                if status.overdue(p, day) {
                    overdue += n;
                }
            }
            PolicyGapCount {
                key: p.key.clone(),
                name_zh: p.name_zh.clone(),
                name_en: p.name_en.clone(),
                entitled_not_receiving: u64::try_from(entitled.get(field.as_str()).copied().unwrap_or(0)).unwrap_or(0),
                applying: u64::try_from(running).unwrap_or(0),
                overdue: u64::try_from(overdue).unwrap_or(0),
            }
        })
        .collect()
}
