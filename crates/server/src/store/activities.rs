//! Volunteer activities: the kinds on offer and the teams an account records for
//! (the activities themselves are read and stored by `crate::activity_log`).


use daohu_domain::ActivityKind;

use crate::db::Conn;
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

