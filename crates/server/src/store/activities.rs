//! Volunteer activities: the kinds on offer and the teams an account records for
//! (the activities themselves are read and stored by `crate::activity_log`).

use std::collections::HashMap;

use daohu_domain::{ActivityKind, Team, TeamMember};
use uuid::Uuid;

use crate::activity_log::id_list;
use crate::db::{parse_uuid, Conn};
use crate::AppError;

/// The kinds, all of them or only those offered (active), in list order.
pub async fn kinds(conn: &mut Conn, only_active: bool) -> Result<Vec<ActivityKind>, AppError> {
    let rows: Vec<(String, String, String, crate::db::Flag)> = sqlx::query_as(&format!(
        "SELECT code, label_zh, label_en, active FROM activity_kinds {} ORDER BY sort_order, code",
        if only_active { "WHERE active = 1" } else { "" }
    ))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(code, label_zh, label_en, active)| ActivityKind { code, label_zh, label_en, active: active.into() })
        .collect())
}

/// Whether a kind with this code exists (retired ones too).
pub async fn kind_exists(conn: &mut Conn, code: &str) -> Result<bool, AppError> {
    let taken: Option<i64> = sqlx::query_scalar("SELECT 1 FROM activity_kinds WHERE code = $1")
        .bind(code)
        .fetch_optional(conn)
        .await?;
    Ok(taken.is_some())
}

/// Adds an active kind at the end of the list.
pub async fn add_kind(conn: &mut Conn, kind: &ActivityKind) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO activity_kinds (code, label_zh, label_en, active, sort_order)
         VALUES ($1, $2, $3, 1, (SELECT COALESCE(MAX(sort_order), 0) + 10 FROM activity_kinds))",
    )
    .bind(&kind.code)
    .bind(&kind.label_zh)
    .bind(&kind.label_en)
    .execute(conn)
    .await?;
    Ok(())
}

/// The teams an account is on, with their members, ordered by unit and name (as
/// `routes::teams::teams_where` orders every team list).
pub async fn teams_of_member(conn: &mut Conn, member: Uuid) -> Result<Vec<Team>, AppError> {
    let d = crate::store::dialect_of(conn);
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT t.id, t.name, t.unit_id, tu.name FROM teams t JOIN units tu ON tu.id = t.unit_id
         WHERE t.id IN (SELECT team_id FROM team_members WHERE member_id = $1) ORDER BY tu.rowid, t.name",
    )
    .bind(member.to_string())
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
    let members: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "SELECT tm.team_id, m.id, m.name FROM team_members tm JOIN members m ON m.id = tm.member_id
         WHERE tm.team_id IN (SELECT value FROM {}) ORDER BY m.rowid",
        d.json_texts(1)
    ))
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
