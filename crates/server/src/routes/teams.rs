//! Volunteer teams (志愿服务队): coordinators list the teams of their subtree and
//! make new ones on a village or township of it.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use daohu_domain::activity::is_label;
use daohu_domain::{ApiError, NewTeam, Team, TeamMember, UnitKind};
use serde::Deserialize;
use serde_json::json;
use crate::db::Conn;
use uuid::Uuid;

use crate::activity_log::id_list;
use crate::auth::AuthUser;
use crate::db::{self, parse_uuid, ts};
use crate::scope::{self, Subtree};
use crate::{audit, ApiJson, ApiQuery, AppError, AppState};

/// `/teams`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(teams_list, teams_create))
}

/// Teams matching a condition on `teams t JOIN units tu ON tu.id = t.unit_id` with one
/// bound value, with their members, ordered by unit and name.
pub async fn teams_where(conn: &mut Conn, condition: &str, value: String) -> Result<Vec<Team>, AppError> {
    let rows: Vec<(String, String, String, String)> = crate::db::query_as(&format!(
        "SELECT t.id, t.name, t.unit_id, tu.name FROM teams t JOIN units tu ON tu.id = t.unit_id
         WHERE {condition} ORDER BY tu.rowid, t.name"
    ))
    .bind(value)
    .fetch_all(&mut *conn)
    .await?;
    let mut teams = rows
        .into_iter()
        .map(|(id, name, unit_id, unit_name)| {
            Ok(Team { id: parse_uuid(&id)?, name, unit_id: parse_uuid(&unit_id)?, unit_name, members: Vec::new() })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    if teams.is_empty() {
        return Ok(teams);
    }
    let members: Vec<(String, String, String)> = crate::db::query_as(
        "SELECT tm.team_id, m.id, m.name FROM team_members tm JOIN members m ON m.id = tm.member_id
         WHERE tm.team_id IN (SELECT value FROM json_each(?)) ORDER BY m.rowid",
    )
    .bind(id_list(teams.iter().map(|t| &t.id)))
    .fetch_all(&mut *conn)
    .await?;
    let mut by_team: HashMap<Uuid, Vec<TeamMember>> = HashMap::new();
    for (team, id, name) in members {
        by_team.entry(parse_uuid(&team)?).or_default().push(TeamMember { id: parse_uuid(&id)?, name });
    }
    for team in &mut teams {
        team.members = by_team.remove(&team.id).unwrap_or_default();
    }
    Ok(teams)
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
    let glob = match query.unit_id {
        Some(id) => Subtree { path: scope::unit(&mut tx, &subtree, id).await?.path }.glob(),
        None => subtree.glob(),
    };
    let teams = teams_where(&mut tx, "tu.path GLOB ?", glob).await?;
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
    let taken: Option<i64> = crate::db::query_scalar("SELECT 1 FROM teams WHERE unit_id = ? AND name = ?")
        .bind(unit.id.to_string())
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?;
    if taken.is_some() {
        return Err(AppError::conflict("team_exists", "这个单位已经有同名的队伍"));
    }
    let id = Uuid::now_v7();
    crate::db::query("INSERT INTO teams (id, unit_id, name, created_at) VALUES (?, ?, ?, ?)")
        .bind(id.to_string())
        .bind(unit.id.to_string())
        .bind(&name)
        .bind(ts(db::now()))
        .execute(&mut *tx)
        .await?;
    for member in &member_ids {
        crate::db::query("INSERT INTO team_members (team_id, member_id) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(member.to_string())
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        Some(user.id),
        "team_created",
        json!({ "team_id": id, "unit_id": unit.id, "members": member_ids.len() }),
    )
    .await?;
    let mut teams = teams_where(&mut tx, "t.id = ?", id.to_string()).await?;
    tx.commit().await?;
    let team = teams.pop().ok_or_else(|| AppError::internal("team not read back"))?;
    Ok((StatusCode::CREATED, Json(team)))
}
