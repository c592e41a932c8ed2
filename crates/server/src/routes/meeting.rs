//! The weekly meeting sheet (民情碰头会): one page per grid with the week's visits and problems.

use std::collections::HashMap;

use axum::extract::State;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use daohu_domain::{
    ApiError, GridSheet, MeetingSheet, OverdueHousehold, PolicyState, PolicyStatus, ProblemCategory, ProblemOutcome,
    SheetGap, SheetNeed, SheetProblem, SheetVisit, Urgency,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::routes::dashboard::{chosen_unit, monday_of, today};
use crate::scope::{self, Subtree};
use crate::store;
use crate::visit_log::parse_date;
use crate::{ApiQuery, AppError, AppState};

/// `/meeting-sheet`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(meeting_sheet_get))
}

/// Query of the meeting sheet.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MeetingQuery {
    /// A unit of the caller's subtree; default the caller's own unit.
    pub unit_id: Option<Uuid>,
    /// A Monday; default the Monday of the current week.
    pub week_start: Option<NaiveDate>,
}

fn stored<T>(value: Option<T>, what: &str, raw: &str) -> Result<T, AppError> {
    value.ok_or_else(|| AppError::internal(format!("unknown stored {what} {raw:?}")))
}

/// The week starting `week_start` (a Monday) for every grid under the unit, ordered
/// by village name then grid name: the grid's household count, the week's visits
/// (by date) and the problems raised in them.
#[utoipa::path(
    get, path = "/meeting-sheet", tag = "reports",
    security(("bearer" = [])),
    params(MeetingQuery),
    responses(
        (status = 200, description = "The meeting sheet", body = MeetingSheet),
        (status = 400, description = "week_start is not a Monday", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn meeting_sheet_get(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<MeetingQuery>,
) -> Result<Json<MeetingSheet>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let week_start = query.week_start.unwrap_or_else(|| monday_of(today()));
    if week_start.weekday() != Weekday::Mon {
        return Err(AppError::bad_request("week_start 必须是星期一"));
    }
    let week_end = week_start + Duration::days(6);
    let mut tx = state.pool.begin().await?;
    let unit = chosen_unit(&mut tx, &subtree, &user, query.unit_id).await?;
    let under = Subtree { path: unit.path };
    let grids = store::meetings::grids(&mut tx, &under).await?;
    let visits = store::meetings::visits(&mut tx, &under, week_start, week_end).await?;
    let problems = store::meetings::problems(&mut tx, &under, week_start, week_end).await?;
    // Due by the week's last day: the meeting sends someone to each.
    let catalogue = crate::routes::catalogue::of_county(&mut tx, &user).await?;
    let due = store::meetings::due(&mut tx, &under, &catalogue.intervals, week_end).await?;
    // The week in the server's clock: China's days (UTC+8) as UTC times.
    let bound = crate::visit_log::day_start;
    let ledger_rows =
        store::ledger::sheet_rows(&mut tx, &under, &bound(week_start), &bound(week_end + Duration::days(1))).await?;
    let needs = crate::routes::matchups::report(&mut tx, &user, &under, usize::MAX).await?;
    tx.commit().await?;
    let mut needs_by_grid: HashMap<String, Vec<SheetNeed>> = HashMap::new();
    for h in needs.households.into_iter().filter(|h| !h.unmatched.is_empty()) {
        needs_by_grid.entry(h.grid_id.to_string()).or_default().push(SheetNeed {
            head_name: h.head_name,
            address: h.address,
            livelihood: h.livelihood,
            unmatched: h.unmatched,
        });
    }

    let mut ledger_by_grid: HashMap<String, Vec<SheetGap>> = HashMap::new();
    for (grid, head_name, address, field, state, since) in ledger_rows {
        let key = field.strip_prefix("policy:").unwrap_or(&field);
        let (Some(policy), Some(state)) = (catalogue.policy(key), PolicyState::parse(&state)) else { continue };
        let applying_since = since.as_deref().map(parse_date).transpose()?;
        let status = PolicyStatus { state, applying_since };
        let overdue = status.overdue(policy, week_end);
        // Running applications only once past their limit; 应享未享 as recorded this week.
        if state == PolicyState::Applying && !overdue {
            continue;
        }
        ledger_by_grid.entry(grid).or_default().push(SheetGap {
            head_name,
            address,
            policy_zh: policy.name_zh.clone(),
            policy_en: policy.name_en.clone(),
            state,
            applying_since,
            overdue,
        });
    }

    let mut due_by_grid: HashMap<String, Vec<OverdueHousehold>> = HashMap::new();
    for (grid, household) in due {
        due_by_grid.entry(grid).or_default().push(household);
    }

    let mut visits_by_grid: HashMap<String, Vec<SheetVisit>> = HashMap::new();
    for (grid, day, head_name, address, member_name) in visits {
        visits_by_grid.entry(grid).or_default().push(SheetVisit {
            visited_on: parse_date(&day)?,
            head_name,
            address,
            member_name,
        });
    }
    let mut problems_by_grid: HashMap<String, Vec<SheetProblem>> = HashMap::new();
    for (grid, head_name, category, urgency, description, outcome) in problems {
        problems_by_grid.entry(grid).or_default().push(SheetProblem {
            head_name,
            category: stored(ProblemCategory::parse(&category), "category", &category)?,
            urgency: stored(Urgency::parse(&urgency), "urgency", &urgency)?,
            description,
            outcome: stored(ProblemOutcome::parse(&outcome), "outcome", &outcome)?,
        });
    }
    let grids = grids
        .into_iter()
        .map(|(id, grid_name, village_name, households)| GridSheet {
            visits: visits_by_grid.remove(&id).unwrap_or_default(),
            problems: problems_by_grid.remove(&id).unwrap_or_default(),
            due: due_by_grid.remove(&id).unwrap_or_default(),
            ledger: ledger_by_grid.remove(&id).unwrap_or_default(),
            needs: needs_by_grid.remove(&id).unwrap_or_default(),
            grid_name,
            village_name,
            households: u32::try_from(households).unwrap_or(u32::MAX),
        })
        .collect();
    Ok(Json(MeetingSheet { week_start, grids }))
}
