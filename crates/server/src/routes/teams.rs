//! Volunteer teams (志愿服务队): coordinators list the teams of their subtree and
//! make new ones on a village or township of it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::activity::is_label;
use daohu_domain::{ApiError, NewTeam, Team, UnitKind};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db;
use crate::scope::{self, Subtree};
use crate::store;
use crate::{audit, ApiJson, ApiQuery, AppError, AppState};

/// `/teams`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(teams_list, teams_create))
}

/// Query of the team list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TeamsQuery {
    /// Only teams on this unit of the subtree or below it.
    pub unit_id: Option<Uuid>,
}

/// The teams of the caller's subtree (or of one unit of it), with their members.
#[utoipa::path(
    get, path = "/teams", tag = "activities",
    security(("bearer" = [])),
    params(TeamsQuery),
    responses(
        (status = 200, description = "The teams", body = Vec<Team>),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn teams_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<TeamsQuery>,
) -> Result<Json<Vec<Team>>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let mut tx = state.pool.begin().await?;
    let under = match query.unit_id {
        Some(id) => Subtree { path: scope::unit(&mut tx, &subtree, id).await?.path },
        None => subtree,
    };
    let teams = store::units::teams_under(&mut tx, &under).await?;
    tx.commit().await?;
    Ok(Json(teams))
}

/// Makes a team on a village or township of the caller's subtree. Its members must be
/// accounts of the subtree whose role records activities (members, grid leaders,
/// volunteers); the name, 1 to 50 characters, must be new on that unit.
#[utoipa::path(
    post, path = "/teams", tag = "activities",
    security(("bearer" = [])),
    request_body = NewTeam,
    responses(
        (status = 201, description = "The new team", body = Team),
        (status = 400, description = "Bad name, the unit is not a village or township, or a member's role does not record activities", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "The unit or a member is not in the caller's subtree", body = ApiError),
        (status = 409, description = "The unit already has a team of that name (`team_exists`)", body = ApiError),
    )
)]
pub async fn teams_create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(new): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<Team>), AppError> {
    let subtree = scope::coordinator(&user)?;
    if !is_label(&new.name) {
        return Err(AppError::bad_request("队伍名称要 1 到 50 个字"));
    }
    if new.member_ids.len() > daohu_domain::activity::MAX_LISTED {
        return Err(AppError::bad_request("队伍的人太多了"));
    }
    let name = new.name.trim().to_string();
    let (_writer, mut tx) = state.write_tx().await?;
    let unit = scope::unit(&mut tx, &subtree, new.unit_id).await?;
    if !matches!(unit.kind, UnitKind::Village | UnitKind::Township) {
        return Err(AppError::bad_request("队伍要建在一个村或一个乡镇"));
    }
    let mut member_ids = new.member_ids.clone();
    member_ids.sort();
    member_ids.dedup();
    for id in &member_ids {
        let account = scope::account(&mut tx, &subtree, *id).await?;
        if !account.role.records_activities() {
            return Err(AppError::bad_request("只有党员、网格长和志愿者可以加入队伍"));
        }
    }
    if store::units::team_name_taken(&mut tx, unit.id, &name).await? {
        return Err(AppError::conflict("team_exists", "这个单位已经有同名的队伍"));
    }
    let id = Uuid::now_v7();
    store::units::insert_team(&mut tx, id, unit.id, &name, db::now(), &member_ids).await?;
    audit::record(
        &mut tx,
        Some(user.id),
        "team_created",
        json!({ "team_id": id, "unit_id": unit.id, "members": member_ids.len() }),
    )
    .await?;
    let mut teams = store::units::team(&mut tx, id).await?;
    tx.commit().await?;
    let team = teams.pop().ok_or_else(|| AppError::internal("team not read back"))?;
    Ok((StatusCode::CREATED, Json(team)))
}
