//! Households as coordinators see them: the list of their subtree and moves between grids.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};
use chrono::NaiveDate;
use daohu_domain::{AdminHousehold, ApiError, HouseholdMove, LinkedMember, UnitKind};
use serde::Deserialize;
use serde_json::json;
use crate::db::Conn;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::parse_uuid;
use crate::scope::{self, HouseholdRow, Subtree, HOUSEHOLD_COLUMNS};
use crate::{audit, ApiJson, ApiQuery, AppError, AppState};

/// Most households one list answers.
pub const MAX_LIST: usize = 5_000;

/// `/households`, `/households/{id}` (the history, `/households/{id}/visits`, is in `roster`).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(households_list))
        .routes(routes!(household_update))
}

/// Which households of the subtree to load.
pub enum Filter<'a> {
    /// Under a unit (its GLOB pattern), optionally matching text in head name or address.
    Under { glob: String, q: Option<&'a str> },
    /// Linked to this account.
    LinkedTo(Uuid),
    /// Just this one.
    One(Uuid),
}

#[derive(sqlx::FromRow)]
struct AdminRow {
    #[sqlx(flatten)]
    household: HouseholdRow,
    village_id: String,
    last_visit_on: Option<String>,
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Households of the subtree with their linked members (only those attached inside
/// the subtree: names from elsewhere never leak) and last visit; at most [`MAX_LIST`].
pub async fn load(
    conn: &mut Conn,
    subtree: &Subtree,
    filter: Filter<'_>,
) -> Result<Vec<AdminHousehold>, AppError> {
    let (condition, binds): (&str, Vec<String>) = match &filter {
        Filter::Under { glob, q: None } => ("g.path GLOB ?", vec![glob.clone()]),
        Filter::Under { glob, q: Some(q) } => (
            "g.path GLOB ? AND (h.head_name LIKE ? ESCAPE '\\' OR h.address LIKE ? ESCAPE '\\')",
            vec![glob.clone(), like_pattern(q), like_pattern(q)],
        ),
        Filter::LinkedTo(member) => (
            "h.id IN (SELECT household_id FROM member_households WHERE member_id = ?)",
            vec![member.to_string()],
        ),
        Filter::One(id) => ("h.id = ?", vec![id.to_string()]),
    };
    let sql = format!(
        "SELECT {HOUSEHOLD_COLUMNS}, g.parent_id AS village_id,
                (SELECT MAX(v.visited_on) FROM visits v WHERE v.household_id = h.id) AS last_visit_on
         FROM households h JOIN units g ON g.id = h.grid_id
         WHERE g.path GLOB ? AND {condition}
         ORDER BY g.rowid, h.rowid
         LIMIT {MAX_LIST}"
    );
    let mut query = crate::db::query_as::<AdminRow>(&sql).bind(subtree.glob());
    for b in &binds {
        query = query.bind(b);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.household.id.as_str()).collect();
    let links: Vec<(String, String, String)> = crate::db::query_as(
        "SELECT mh.household_id, m.id, m.name
         FROM member_households mh
         JOIN members m ON m.id = mh.member_id
         JOIN units mu ON mu.id = m.unit_id
         WHERE mu.path GLOB ? AND mh.household_id IN (SELECT value FROM json_each(?))
         ORDER BY m.rowid",
    )
    .bind(subtree.glob())
    .bind(serde_json::to_string(&ids)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut members: HashMap<String, Vec<LinkedMember>> = HashMap::new();
    for (household, id, name) in links {
        members.entry(household).or_default().push(LinkedMember {
            id: parse_uuid(&id)?,
            name,
        });
    }
    rows.into_iter()
        .map(|row| {
            let members = members.remove(&row.household.id).unwrap_or_default();
            let last_visit_on = row
                .last_visit_on
                .as_deref()
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|e| AppError::internal(format!("bad stored date {d:?}: {e}")))
                })
                .transpose()?;
            Ok(AdminHousehold {
                village_id: parse_uuid(&row.village_id)?,
                household: row.household.into_household()?,
                members,
                last_visit_on,
            })
        })
        .collect()
}

/// Query of the household list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HouseholdQuery {
    /// Only households under this unit (which must be in the caller's subtree).
    pub unit_id: Option<String>,
    /// Text to look for in the head's name or the address.
    pub q: Option<String>,
}

/// Households of the caller's subtree (or under one of its units), with linked
/// members and last visit, in grid order; at most 5,000.
#[utoipa::path(
    get, path = "/households", tag = "households",
    security(("bearer" = [])),
    params(HouseholdQuery),
    responses(
        (status = 200, description = "The households", body = Vec<AdminHousehold>),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "unit_id not in the caller's subtree", body = ApiError),
    )
)]
pub async fn households_list(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<HouseholdQuery>,
) -> Result<Json<Vec<AdminHousehold>>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let mut tx = state.pool.begin().await?;
    let glob = match query.unit_id.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => {
            let id = Uuid::parse_str(raw).map_err(|_| AppError::not_found())?;
            let unit = scope::unit(&mut tx, &subtree, id).await?;
            Subtree { path: unit.path }.glob()
        }
        None => subtree.glob(),
    };
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let list = load(&mut tx, &subtree, Filter::Under { glob, q }).await?;
    tx.commit().await?;
    // The search text may hold a name: only that there was one is kept.
    let detail = json!({
        "unit_id": query.unit_id.as_deref().filter(|s| !s.is_empty()),
        "text_search": q.is_some(),
        "rows": list.len(),
    });
    audit::record_alone(&state, user.id, "read_households", detail).await?;
    Ok(Json(list))
}

/// Moves a household to another grid of the caller's subtree; its visits and links stay with it.
#[utoipa::path(
    patch, path = "/households/{id}", tag = "households",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Household id")),
    request_body = HouseholdMove,
    responses(
        (status = 200, description = "Moved", body = AdminHousehold),
        (status = 400, description = "The target is not a grid", body = ApiError),
        (status = 401, description = "No valid session", body = ApiError),
        (status = 403, description = "Not a coordinator", body = ApiError),
        (status = 404, description = "Household or grid not in the caller's subtree", body = ApiError),
    )
)]
pub async fn household_update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<HouseholdMove>,
) -> Result<Json<AdminHousehold>, AppError> {
    let subtree = scope::coordinator(&user)?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::not_found())?;
    let (_writer, mut tx) = state.write_tx().await?;
    scope::household_in(&mut tx, &subtree, id).await?;
    let grid = scope::unit(&mut tx, &subtree, change.grid_id).await?;
    if grid.kind != UnitKind::Grid {
        return Err(AppError::bad_request("农户只能放在网格里"));
    }
    let from: String = crate::db::query_scalar("SELECT grid_id FROM households WHERE id = ?")
        .bind(id.to_string())
        .fetch_one(&mut *tx)
        .await?;
    if from != grid.id.to_string() {
        crate::db::query("UPDATE households SET grid_id = ? WHERE id = ?")
            .bind(grid.id.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            Some(user.id),
            "household_moved",
            json!({ "household_id": id, "from_grid_id": from, "to_grid_id": grid.id }),
        )
        .await?;
    }
    let moved = load(&mut tx, &subtree, Filter::One(id)).await?;
    tx.commit().await?;
    moved
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(AppError::not_found)
}
