//! Visits as the phones upload them, the phones' last syncs, and the counts of the
//! visit log (the log's own query is built in `crate::visit_log`).

use chrono::{DateTime, NaiveDate, Utc};
use daohu_domain::Visit;
use uuid::Uuid;

use crate::auth::{parse_role, parse_unit_kind, AuthUser, ACCOUNT_UNIT_COLUMNS};
use crate::db::{parse_uuid, ts, Conn};
use crate::tree::Subtree;
use crate::visit_log::LogQuery;
use crate::AppError;

/// Notes that a phone synced at `at` for `member`.
pub async fn device_synced(
    conn: &mut Conn,
    device: Uuid,
    member: Uuid,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO devices (device_id, member_id, last_sync_at) VALUES ($1, $2, $3)
         ON CONFLICT (device_id) DO UPDATE
         SET member_id = excluded.member_id, last_sync_at = excluded.last_sync_at",
    )
    .bind(device.to_string())
    .bind(member.to_string())
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// An account attached inside the subtree as the [`AuthUser`] its own uploads run
/// as, without a session (404 outside it or unknown).
pub async fn account_as_user(
    conn: &mut Conn,
    subtree: &Subtree,
    id: Uuid,
) -> Result<AuthUser, AppError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        name: String,
        phone: String,
        role: String,
        unit_id: String,
        unit_kind: String,
        unit_path: String,
        village: String,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT m.id, m.name, m.phone, m.role, {ACCOUNT_UNIT_COLUMNS}
         FROM members m
         JOIN units u ON u.id = m.unit_id
         LEFT JOIN units pu ON pu.id = u.parent_id
         WHERE m.id = $1 AND u.path >= $2 AND u.path < $3"
    ))
    .bind(id.to_string())
    .bind(subtree.lo())
    .bind(subtree.hi())
    .fetch_optional(&mut *conn)
    .await?;
    let row = row.ok_or_else(AppError::not_found)?;
    Ok(AuthUser {
        id: parse_uuid(&row.id)?,
        name: row.name,
        phone: row.phone,
        role: parse_role(&row.role)?,
        unit_id: parse_uuid(&row.unit_id)?,
        unit_kind: parse_unit_kind(&row.unit_kind)?,
        unit_path: row.unit_path,
        village: row.village,
        token_hash: String::new(),
        // Not a session: never fresh enough for the phone key.
        signed_in_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
    })
}

/// Stores a visit (its JSON `body` and the body's `hash`) unless its id is taken;
/// `true` when it was stored now.
pub async fn insert(
    conn: &mut Conn,
    visit: &Visit,
    device_id: Uuid,
    hash: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let stored = sqlx::query(
        "INSERT INTO visits (id, household_id, member_id, device_id, visited_on, recorded_at,
                             received_at, content_hash, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(visit.id.to_string())
    .bind(visit.household_id.to_string())
    .bind(visit.member_id.to_string())
    .bind(device_id.to_string())
    .bind(visit.visited_on.to_string())
    .bind(ts(visit.recorded_at))
    .bind(ts(now))
    .bind(hash)
    .bind(body)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(stored == 1)
}

/// Copies a just-stored visit's services out for counting (migration 0018):
/// its day and grid path come from its row, set when it was stored.
pub async fn insert_services(conn: &mut Conn, visit: &Visit) -> Result<(), AppError> {
    for service in visit.services_given() {
        sqlx::query(
            "INSERT INTO visit_services (visit_id, kind, note, household_id, visited_on, unit_path)
             SELECT id, $2, $3, household_id, visited_on, unit_path FROM visits WHERE id = $1
             ON CONFLICT DO NOTHING",
        )
        .bind(visit.id.to_string())
        .bind(&service.kind)
        .bind(&service.note)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// [`service_counts`]' text for a past period, from the rows (`$1`/`$2`: the
/// first and last day; `$3`/`$4`: the subtree).
pub const SERVICE_COUNTS: &str = "SELECT kind, COUNT(*), COUNT(DISTINCT household_id) FROM visit_services
     WHERE visited_on >= $1 AND visited_on <= $2 AND unit_path >= $3 AND unit_path < $4
     GROUP BY kind ORDER BY 2 DESC, kind";

/// The same from the tallies (migration 0021; `$1`: the unit, `$2`/`$3`: the
/// days), right whenever no service of the unit is dated after the period.
pub const SERVICE_TALLIES: &str = "SELECT kind, CAST(SUM(services) AS BIGINT), CAST(SUM(households) AS BIGINT) FROM service_days
     WHERE unit_id = $1 AND day >= $2 AND day <= $3
     GROUP BY kind HAVING SUM(services) > 0 ORDER BY 2 DESC, kind";

/// Whether a service of the unit is dated after `$2`.
pub const SERVICE_AFTER: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM service_days WHERE unit_id = $1 AND day > $2
     GROUP BY day, kind HAVING SUM(services) > 0 LIMIT 1) AS later";

/// Services given in an area from `from` to `to` (days, inclusive), per kind:
/// `(kind, services, households)`, most given first. From the daily tallies
/// unless a service of the area is dated after the period (households are
/// counted by the day of their latest service), else from the rows.
pub async fn service_counts(
    conn: &mut Conn,
    area: &Subtree,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64, i64)>, AppError> {
    let unit = area.unit_id().to_string();
    let later: i64 = sqlx::query_scalar(SERVICE_AFTER).bind(&unit).bind(to.to_string()).fetch_one(&mut *conn).await?;
    if later == 0 {
        return Ok(sqlx::query_as(SERVICE_TALLIES)
            .bind(unit)
            .bind(from.to_string())
            .bind(to.to_string())
            .fetch_all(conn)
            .await?);
    }
    Ok(sqlx::query_as(SERVICE_COUNTS)
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(area.lo())
    .bind(area.hi())
    .fetch_all(conn)
    .await?)
}

/// The household a stored visit is of, if the visit is stored.
pub async fn household_of(conn: &mut Conn, visit: Uuid) -> Result<Option<Uuid>, AppError> {
    let id: Option<String> = sqlx::query_scalar("SELECT household_id FROM visits WHERE id = $1")
        .bind(visit.to_string())
        .fetch_optional(conn)
        .await?;
    id.as_deref().map(crate::db::parse_uuid).transpose()
}

/// How many visits match the log query, at most `cap` + 1 unless exact, and
/// whether the count is exact ([`LogQuery::count`]).
pub async fn log_count(conn: &mut Conn, query: &LogQuery, cap: u64) -> Result<(u64, bool), AppError> {
    let (sql, arguments, exact) = query.count(cap);
    let total: i64 = sqlx::query_scalar_with(&sql, arguments).fetch_one(conn).await?;
    Ok((u64::try_from(total).unwrap_or(0), exact))
}
