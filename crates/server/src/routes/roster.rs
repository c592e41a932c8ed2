//! The caller's households with their visit history.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::{ApiError, RosterHousehold, RosterResponse, VisitSummary};
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::{audit, db, problems, scope, store, AppError, AppState};
use serde_json::json;

/// `/roster`, `/households/{id}/visits`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(roster_get))
        .routes(routes!(household_visits_list))
}

/// The households the caller looks after, each with its last visit, history (newest first)
/// and the problems of the household the caller raised or was given (newest first, with
/// their trails):
/// a member's linked households, a grid leader's whole grid; empty for volunteers and
/// coordinators (their views are `/api/households` and `/api/org`).
#[utoipa::path(
    get, path = "/roster", tag = "roster",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's roster", body = RosterResponse),
        (status = 401, description = "No valid session", body = ApiError),
    )
)]
pub async fn roster_get(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<RosterResponse>, AppError> {
    // One read transaction, so households and history come from the same moment.
    let mut tx = state.pool.begin().await?;
    let households = scope::roster_households(&mut tx, &user).await?;
    let mut by_household: HashMap<Uuid, Vec<VisitSummary>> = HashMap::new();
    // Problems of these households the caller raised or was given, with their trails,
    // so the phone shows every answer offline.
    let mut problems_by_household = HashMap::new();
    let mut ledger_by_household: HashMap<Uuid, Vec<daohu_domain::LedgerNow>> = HashMap::new();
    let mut catalogue = None;
    let mut matchups_by_household: HashMap<Uuid, Vec<daohu_domain::Matchup>> = HashMap::new();
    if !households.is_empty() {
        let ids: Vec<String> = households.iter().map(|h| h.id.to_string()).collect();
        for (household, now) in store::ledger::now_of(&mut tx, &ids).await? {
            ledger_by_household.entry(household).or_default().push(now);
        }
        for record in store::matchups::of_households(&mut tx, &ids).await? {
            matchups_by_household.entry(record.household_id).or_default().push(record.matchup);
        }
        catalogue = store::catalogue::get(&mut tx, crate::routes::catalogue::county_of(&user)?, None)
            .await?
            .map(|c| c.seen_from(&user.unit_path));
        for (household, summary) in scope::history(&mut tx, &user, None).await? {
            by_household.entry(household).or_default().push(summary);
        }
        problems_by_household = problems::raised_or_assigned(&mut tx, &user, db::now()).await?;
    }
    tx.commit().await?;
    // An empty roster (volunteers, coordinators) shows nobody: not worth a write.
    if !households.is_empty() {
        let detail = json!({ "households": households.len() });
        audit::record_alone(&state, user.id, "read_roster", detail).await?;
    }
    let households = households
        .into_iter()
        .map(|household| {
            let history = by_household.remove(&household.id).unwrap_or_default();
            let last_visit_on = history.iter().map(|v| v.visited_on).max();
            let problems = problems_by_household
                .remove(&household.id)
                .unwrap_or_default();
            let mut ledger = ledger_by_household.remove(&household.id).unwrap_or_default();
            ledger.sort_by(|a, b| a.field.cmp(&b.field));
            let (later, ledger): (Vec<_>, Vec<_>) = ledger.into_iter().partition(|n| n.field.in_later());
            let (ledger, facts) = ledger.into_iter().partition(|n| n.field.in_first_version());
            let matchups = daohu_domain::livelihood::latest(&matchups_by_household.remove(&household.id).unwrap_or_default());
            RosterHousehold {
                household,
                last_visit_on,
                history,
                problems,
                ledger,
                facts,
                later,
                matchups,
            }
        })
        .collect();
    Ok(Json(RosterResponse {
        households,
        catalogue,
        server_time: db::now(),
    }))
}

/// Visits of one household the caller reaches (member: linked; grid leader: the
/// grid; coordinator: the subtree), newest first.
/// 404 alike for a household that does not exist and one out of reach.
#[utoipa::path(
    get, path = "/households/{id}/visits", tag = "roster",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Household id")),
    responses(
        (status = 200, description = "The household's visits", body = Vec<VisitSummary>),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 404, description = "No such household in the caller's reach", body = ApiError),
    )
)]
pub async fn household_visits_list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<VisitSummary>>, AppError> {
    // A malformed id is just another household that is not there.
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let mut tx = state.pool.begin().await?;
    if !scope::reaches(&mut tx, &user, id).await? {
        return Err(AppError::not_found());
    }
    let visits = scope::history(&mut tx, &user, Some(id)).await?;
    tx.commit().await?;
    let detail = json!({ "household_id": id, "rows": visits.len() });
    audit::record_alone(&state, user.id, "read_household_visits", detail).await?;
    Ok(Json(
        visits.into_iter().map(|(_, summary)| summary).collect(),
    ))
}
