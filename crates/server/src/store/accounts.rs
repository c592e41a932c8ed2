//! Accounts (members): the coordinators' list, new accounts and their changes,
//! enrolment codes, and the member ↔ household links.

use chrono::{DateTime, Utc};
use daohu_domain::{Account, Role, UnitKind};
use uuid::Uuid;

use super::{parse_role, parse_unit_kind};
use crate::db::{parse_uuid, ts, Conn, Flag};
use crate::tree::Subtree;
use super::households::household_in_subtree;
use crate::AppError;

/// An account as stored, with its unit.
#[derive(Clone, Debug)]
pub struct AccountRow {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub unit_id: Uuid,
    pub unit_kind: UnitKind,
    pub unit_path: String,
    pub disabled: bool,
}

/// An account attached inside the subtree; 404 when unknown or outside.
pub async fn account(conn: &mut Conn, subtree: &Subtree, id: Uuid) -> Result<AccountRow, AppError> {
    let row: Option<(String, String, String, String, String, String, Flag)> = sqlx::query_as(
        "SELECT m.id, m.name, m.role, u.id, u.kind, u.path, m.disabled
         FROM members m JOIN units u ON u.id = m.unit_id
         WHERE m.id = $1 AND u.path >= $2 AND u.path < $3",
    )
    .bind(id.to_string())
    .bind(subtree.lo())
    .bind(subtree.hi())
    .fetch_optional(conn)
    .await?;
    let (id, name, role, unit_id, unit_kind, unit_path, disabled) =
        row.ok_or_else(AppError::not_found)?;
    Ok(AccountRow {
        id: parse_uuid(&id)?,
        name,
        role: parse_role(&role)?,
        unit_id: parse_uuid(&unit_id)?,
        unit_kind: parse_unit_kind(&unit_kind)?,
        unit_path,
        disabled: disabled.into(),
    })
}

#[derive(sqlx::FromRow)]
struct AccountDbRow {
    id: String,
    name: String,
    phone: String,
    role: String,
    unit_id: String,
    unit_name: String,
    #[sqlx(try_from = "crate::db::Flag")]
    disabled: bool,
    households: i64,
}

/// Accounts attached inside the subtree with one of `roles`, other than `except`
/// (or just `only`), each with its count of linked households inside the subtree;
/// in unit order, then creation order.
pub async fn list(
    conn: &mut Conn,
    subtree: &Subtree,
    roles: &[Role],
    except: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<Account>, AppError> {
    let d = super::dialect_of(conn);
    let only_clause = if only.is_some() { "AND m.id = $7" } else { "" };
    let sql = format!(
        "SELECT m.id, m.name, m.phone, m.role, m.unit_id, u.name AS unit_name, m.disabled,
                (SELECT COUNT(*) FROM member_households mh JOIN households h ON h.id = mh.household_id
                 WHERE mh.member_id = m.id AND {}) AS households
         FROM members m JOIN units u ON u.id = m.unit_id
         WHERE u.path >= $3 AND u.path < $4 AND m.role IN (SELECT value FROM {}) AND m.id <> $6 {only_clause}
         ORDER BY u.rowid, m.rowid",
        household_in_subtree(1),
        d.json_texts(5),
    );
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let mut query = sqlx::query_as::<_, AccountDbRow>(&sql)
        .bind(subtree.lo())
        .bind(subtree.hi())
        .bind(subtree.lo())
        .bind(subtree.hi())
        .bind(serde_json::Value::from(roles).to_string())
        .bind(except.to_string());
    if let Some(id) = only {
        query = query.bind(id.to_string());
    }
    let rows = query.fetch_all(conn).await?;
    rows.into_iter()
        .map(|r| {
            Ok(Account {
                id: parse_uuid(&r.id)?,
                name: r.name,
                phone: r.phone,
                role: parse_role(&r.role)?,
                unit_id: parse_uuid(&r.unit_id)?,
                unit_name: r.unit_name,
                disabled: r.disabled,
                households: u32::try_from(r.households).unwrap_or(u32::MAX),
            })
        })
        .collect()
}

/// The role and unit path of the account holding this phone, if any (the role as
/// stored: the caller reads it only when it matters).
pub async fn phone_holder(conn: &mut Conn, phone: &str) -> Result<Option<(String, String)>, AppError> {
    Ok(sqlx::query_as(
        "SELECT m.role, u.path FROM members m JOIN units u ON u.id = m.unit_id WHERE m.phone = $1",
    )
    .bind(phone)
    .fetch_optional(conn)
    .await?)
}

/// Whether any account exists (a fresh server has none).
pub async fn any<'c>(db: impl sqlx::any::AnyExecutor<'c>) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM members").fetch_one(db).await?;
    Ok(n > 0)
}

/// The id of the account with this (normalised) phone.
pub async fn id_by_phone(conn: &mut Conn, phone: &str) -> Result<Option<String>, AppError> {
    Ok(sqlx::query_scalar("SELECT id FROM members WHERE phone = $1")
        .bind(phone)
        .fetch_optional(conn)
        .await?)
}

/// Links an account to households (which it is not yet linked to).
pub async fn link(conn: &mut Conn, account: Uuid, households: &[Uuid]) -> Result<(), AppError> {
    for household in households {
        sqlx::query("INSERT INTO member_households (member_id, household_id) VALUES ($1, $2)")
            .bind(account.to_string())
            .bind(household.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A new account as stored.
pub struct NewMember<'a> {
    pub id: Uuid,
    pub phone: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub unit_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub must_change_password: bool,
}

/// Stores a new account.
pub async fn insert(conn: &mut Conn, new: &NewMember<'_>) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO members (id, phone, name, password_hash, role, unit_id, created_at, must_change_password)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.id.to_string())
    .bind(new.phone)
    .bind(new.name)
    .bind(new.password_hash)
    .bind(new.role.as_str())
    .bind(new.unit_id.to_string())
    .bind(ts(new.created_at))
    .bind(i64::from(new.must_change_password))
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives the account another role.
pub async fn set_role(conn: &mut Conn, id: Uuid, role: Role) -> Result<(), AppError> {
    sqlx::query("UPDATE members SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Attaches the account to another unit.
pub async fn set_unit(conn: &mut Conn, id: Uuid, unit: Uuid) -> Result<(), AppError> {
    sqlx::query("UPDATE members SET unit_id = $1 WHERE id = $2")
        .bind(unit.to_string())
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Disables or enables the account.
pub async fn set_disabled(conn: &mut Conn, id: Uuid, disabled: bool) -> Result<(), AppError> {
    sqlx::query("UPDATE members SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Drops the account's enrolment codes not yet used.
pub async fn drop_unused_codes(conn: &mut Conn, id: Uuid) -> Result<(), AppError> {
    sqlx::query("DELETE FROM enrollment_codes WHERE member_id = $1 AND used_at IS NULL")
        .bind(id.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores an enrolment code (its hash) for the account, made by `created_by`.
pub async fn insert_enroll_code(
    conn: &mut Conn,
    code_hash: &str,
    member: Uuid,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO enrollment_codes (code_hash, member_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code_hash)
    .bind(member.to_string())
    .bind(created_by.to_string())
    .bind(ts(created_at))
    .bind(ts(expires_at))
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the account's links to households outside `area`; answers the households
/// whose links ended, in id order.
pub async fn end_links_outside(conn: &mut Conn, account: Uuid, area: &Subtree) -> Result<Vec<String>, AppError> {
    let d = super::dialect_of(conn);
    let ended: Vec<String> = sqlx::query_scalar(
        "SELECT mh.household_id FROM member_households mh
         JOIN households h ON h.id = mh.household_id JOIN units g ON g.id = h.grid_id
         WHERE mh.member_id = $1 AND NOT (g.path >= $2 AND g.path < $3)
         ORDER BY mh.household_id",
    )
    .bind(account.to_string())
    .bind(area.lo())
    .bind(area.hi())
    .fetch_all(&mut *conn)
    .await?;
    if !ended.is_empty() {
        let sql = format!(
            "DELETE FROM member_households
             WHERE member_id = $1 AND household_id IN (SELECT value FROM {})",
            d.json_texts(2)
        );
        sqlx::query(&sql)
            .bind(account.to_string())
            .bind(serde_json::to_string(&ended)?)
            .execute(&mut *conn)
            .await?;
    }
    Ok(ended)
}

/// The households inside the subtree the account is linked to.
pub async fn links_in(conn: &mut Conn, account: Uuid, subtree: &Subtree) -> Result<Vec<String>, AppError> {
    let sql = format!(
        "SELECT mh.household_id FROM member_households mh JOIN households h ON h.id = mh.household_id
         WHERE mh.member_id = $1 AND {}",
        household_in_subtree(2)
    );
    Ok(sqlx::query_scalar(&sql)
        .bind(account.to_string())
        .bind(subtree.lo())
        .bind(subtree.hi())
        .fetch_all(conn)
        .await?)
}

/// Replaces the account's links inside the subtree with links to `households`
/// (ids, each once); links outside the subtree stay.
pub async fn relink_in(
    conn: &mut Conn,
    account: Uuid,
    subtree: &Subtree,
    households: &[String],
) -> Result<(), AppError> {
    let d = super::dialect_of(conn);
    let sql = format!(
        "DELETE FROM member_households WHERE member_id = $1 AND household_id IN
            (SELECT h.id FROM households h WHERE {})",
        household_in_subtree(2)
    );
    sqlx::query(&sql)
        .bind(account.to_string())
        .bind(subtree.lo())
        .bind(subtree.hi())
        .execute(&mut *conn)
        .await?;
    let sql = format!(
        "INSERT INTO member_households (member_id, household_id)
         SELECT $1, value FROM {}",
        d.json_texts(2)
    );
    sqlx::query(&sql)
        .bind(account.to_string())
        .bind(serde_json::to_string(households)?)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
