//! The policy catalogue's versions (table `policy_catalogues`): each county's
//! catalogue as JSON at every version; rows are only added.

use chrono::{DateTime, Utc};
use daohu_domain::ledger::{Catalogue, CatalogueChange};
use uuid::Uuid;

use crate::db::{ts, Conn};
use crate::AppError;

/// The county's catalogue at `version`, or its latest with `None`; `None` when
/// it has none (a county starts with an empty catalogue, version 0).
pub async fn get(conn: &mut Conn, county: Uuid, version: Option<u32>) -> Result<Option<Catalogue>, AppError> {
    let body: Option<String> = match version {
        Some(v) => {
            sqlx::query_scalar("SELECT body FROM policy_catalogues WHERE county_id = $1 AND version = $2")
                .bind(county.to_string())
                .bind(i64::from(v))
                .fetch_optional(conn)
                .await?
        }
        None => {
            sqlx::query_scalar("SELECT body FROM policy_catalogues WHERE county_id = $1 ORDER BY version DESC LIMIT 1")
                .bind(county.to_string())
                .fetch_optional(conn)
                .await?
        }
    };
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}

/// Adds a version. Two edits made at once both ask for the same version: the
/// primary key takes one, and the other is a conflict (`taken_meanwhile`).
pub async fn add(
    conn: &mut Conn,
    county: Uuid,
    catalogue: &Catalogue,
    change: Option<&CatalogueChange>,
    by: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO policy_catalogues (county_id, version, body, change, made_by, made_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(county.to_string())
    .bind(i64::from(catalogue.version))
    .bind(serde_json::to_string(catalogue)?)
    .bind(change.map(serde_json::to_string).transpose()?)
    .bind(by.map(|id| id.to_string()))
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}
