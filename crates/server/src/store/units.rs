//! Units (the organisation tree, stored as paths), their counts for the tree view,
//! volunteer teams and their members.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use daohu_domain::{Team, TeamMember, UnitKind};
use uuid::Uuid;

use super::{id_list, parse_unit_kind};
use crate::db::{parse_uuid, ts, Conn};
use crate::tree::Subtree;
use crate::AppError;

/// A unit as stored.
#[derive(Clone, Debug)]
pub struct UnitRow {
    pub id: Uuid,
    pub kind: UnitKind,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub path: String,
}

#[derive(sqlx::FromRow)]
struct RawUnit {
    id: String,
    kind: String,
    name: String,
    parent_id: Option<String>,
    path: String,
}

impl RawUnit {
    fn into_row(self) -> Result<UnitRow, AppError> {
        Ok(UnitRow {
            id: parse_uuid(&self.id)?,
            kind: parse_unit_kind(&self.kind)?,
            name: self.name,
            parent_id: self.parent_id.as_deref().map(parse_uuid).transpose()?,
            path: self.path,
        })
    }
}

/// A unit inside the subtree; 404 when unknown or outside.
pub async fn unit(conn: &mut Conn, subtree: &Subtree, id: Uuid) -> Result<UnitRow, AppError> {
    let row: Option<RawUnit> = sqlx::query_as(
        "SELECT id, kind, name, parent_id, path FROM units WHERE id = $1 AND path >= $2 AND path < $3",
    )
    .bind(id.to_string())
    .bind(subtree.lo())
    .bind(subtree.hi())
    .fetch_optional(conn)
    .await?;
    row.ok_or_else(AppError::not_found)?.into_row()
}

/// Every unit inside the subtree, in creation order.
pub async fn units(conn: &mut Conn, subtree: &Subtree) -> Result<Vec<UnitRow>, AppError> {
    let rows: Vec<RawUnit> = sqlx::query_as(
        "SELECT id, kind, name, parent_id, path FROM units WHERE path >= $1 AND path < $2 ORDER BY rowid",
    )
    .bind(subtree.lo())
    .bind(subtree.hi())
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(RawUnit::into_row).collect()
}

/// The accounts attached to each unit of the subtree that has any: (unit id, count).
pub async fn account_counts(conn: &mut Conn, subtree: &Subtree) -> Result<Vec<(String, i64)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT m.unit_id, COUNT(*) FROM members m JOIN units u ON u.id = m.unit_id
         WHERE u.path >= $1 AND u.path < $2 GROUP BY m.unit_id",
    )
    .bind(subtree.lo())
    .bind(subtree.hi())
    .fetch_all(conn)
    .await?)
}

/// Whether the parent already has a unit of this name.
pub async fn name_taken(conn: &mut Conn, parent: Uuid, name: &str) -> Result<bool, AppError> {
    let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM units WHERE parent_id = $1 AND name = $2")
        .bind(parent.to_string())
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(taken.is_some())
}

/// Stores a new unit under `parent` (its id and path), or a county (`None`).
pub async fn insert(
    conn: &mut Conn,
    id: Uuid,
    kind: UnitKind,
    name: &str,
    parent: Option<(Uuid, &str)>,
    created_at: DateTime<Utc>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO units (id, kind, name, parent_id, path, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(kind.as_str())
    .bind(name)
    .bind(parent.map(|(p, _)| p.to_string()))
    .bind(crate::tree::unit_path(parent.map(|(_, path)| path), id))
    .bind(ts(created_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Every county: (id, name), by name.
pub async fn counties(conn: &mut Conn) -> Result<Vec<(String, String)>, AppError> {
    Ok(sqlx::query_as("SELECT id, name FROM units WHERE kind = 'county' ORDER BY name")
        .fetch_all(conn)
        .await?)
}

/// The grids of a village: (id, name).
pub async fn village_grids(conn: &mut Conn, village: Uuid) -> Result<Vec<(String, String)>, AppError> {
    Ok(sqlx::query_as("SELECT id, name FROM units WHERE parent_id = $1 AND kind = 'grid'")
        .bind(village.to_string())
        .fetch_all(conn)
        .await?)
}

/// Teams on a unit of the subtree, with their members, ordered by unit and name.
pub async fn teams_under(conn: &mut Conn, subtree: &Subtree) -> Result<Vec<Team>, AppError> {
    teams_matching(conn, "tu.path >= $1 AND tu.path < $2", &[subtree.lo().to_string(), subtree.hi()]).await
}

/// One team with its members (none when unknown).
pub async fn team(conn: &mut Conn, id: Uuid) -> Result<Vec<Team>, AppError> {
    teams_matching(conn, "t.id = $1", &[id.to_string()]).await
}

/// The teams an account belongs to, with their members, ordered by unit and name.
pub async fn teams_of_member(conn: &mut Conn, member: Uuid) -> Result<Vec<Team>, AppError> {
    teams_matching(
        conn,
        "t.id IN (SELECT team_id FROM team_members WHERE member_id = $1)",
        &[member.to_string()],
    )
    .await
}

/// Teams matching a condition whose parameters are `$1, $2, …` bound to `values`.
async fn teams_matching(conn: &mut Conn, condition: &str, values: &[String]) -> Result<Vec<Team>, AppError> {
    let d = super::dialect_of(conn);
    let sql = format!(
        "SELECT t.id, t.name, t.unit_id, tu.name FROM teams t JOIN units tu ON tu.id = t.unit_id
         WHERE {condition} ORDER BY tu.rowid, t.name"
    );
    let mut query = sqlx::query_as::<_, (String, String, String, String)>(&sql);
    for v in values {
        query = query.bind(v);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let mut teams = rows
        .into_iter()
        .map(|(id, name, unit_id, unit_name)| {
            Ok(Team { id: parse_uuid(&id)?, name, unit_id: parse_uuid(&unit_id)?, unit_name, members: Vec::new() })
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    if teams.is_empty() {
        return Ok(teams);
    }
    let sql = format!(
        "SELECT tm.team_id, m.id, m.name FROM team_members tm JOIN members m ON m.id = tm.member_id
         WHERE tm.team_id IN (SELECT value FROM {}) ORDER BY m.rowid",
        d.json_texts(1)
    );
    let members: Vec<(String, String, String)> = sqlx::query_as(&sql)
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

/// Whether the unit already has a team of this name.
pub async fn team_name_taken(conn: &mut Conn, unit: Uuid, name: &str) -> Result<bool, AppError> {
    let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM teams WHERE unit_id = $1 AND name = $2")
        .bind(unit.to_string())
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(taken.is_some())
}

/// Stores a new team on a unit, with its members.
pub async fn insert_team(
    conn: &mut Conn,
    id: Uuid,
    unit: Uuid,
    name: &str,
    created_at: DateTime<Utc>,
    members: &[Uuid],
) -> Result<(), AppError> {
    sqlx::query("INSERT INTO teams (id, unit_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(id.to_string())
        .bind(unit.to_string())
        .bind(name)
        .bind(ts(created_at))
        .execute(&mut *conn)
        .await?;
    for member in members {
        sqlx::query("INSERT INTO team_members (team_id, member_id) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(member.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// How a write holds its county: see [`lock_county`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountyHold {
    /// Storing visits: any number at once.
    Shared,
    /// Moving households between grids or importing a roster: alone.
    Alone,
}

/// On PostgreSQL, holds the county that `unit_path` lies in (its row) until the
/// transaction ends; nothing on SQLite, whose write transaction already holds the
/// one write lock. Uploads append to the county's tallies without waiting on
/// each other (migration 0011) and share the county (`FOR KEY SHARE`, which
/// rows referencing the county take anyway). A household move or roster import
/// rewrites households many visits and tallies depend on, in an order of its
/// own: it waits for the county's uploads in flight and holds new ones back
/// (`FOR UPDATE`), so it never deadlocks with them.
pub async fn lock_county(conn: &mut Conn, unit_path: &str, hold: CountyHold) -> Result<(), AppError> {
    if super::dialect_of(conn) != crate::db::Dialect::Postgres {
        return Ok(());
    }
    let county = crate::tree::county_of_path(unit_path);
    let sql = match hold {
        CountyHold::Shared => "SELECT id FROM units WHERE id = $1 FOR KEY SHARE",
        CountyHold::Alone => "SELECT id FROM units WHERE id = $1 FOR UPDATE",
    };
    sqlx::query(sql).bind(county).fetch_optional(conn).await?;
    Ok(())
}
