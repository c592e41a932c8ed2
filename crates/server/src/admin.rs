//! `daohu-server admin …`: county administrators managed from the server's own
//! machine. This is how a real deployment gets its first account (the server starts
//! empty; the demo accounts come only with `--demo`), and how a county whose only
//! administrator is locked out or gone gets back in.

use std::io::{BufRead, IsTerminal};

use daohu_domain::auth::{is_mobile_phone, normalize_phone, password_problem};
use daohu_domain::{Role, UnitKind};
use serde_json::json;
use uuid::Uuid;

use crate::config::AdminCommand;
use crate::db::{self, Pool};
use crate::{audit, auth, store, AppError};

/// Whether the database holds any account at all.
pub async fn any_account(pool: &Pool) -> Result<bool, AppError> {
    store::accounts::any(pool).await
}

/// Runs one `admin` command against the configured database; the line to print.
pub async fn run_cli(config: &crate::Config, command: &AdminCommand) -> Result<String, AppError> {
    let url = crate::database_url(config).map_err(AppError::internal)?;
    let pool = db::connect(&url).await?;
    let done = match command {
        AdminCommand::Create { phone, name, county } => {
            let password = read_password()?;
            create(&pool, phone, name, county.as_deref(), &password).await
        }
        AdminCommand::Disable { phone } => set_disabled(&pool, phone, true).await,
        AdminCommand::Enable { phone } => set_disabled(&pool, phone, false).await,
        AdminCommand::SetPassword { phone } => {
            let password = read_password()?;
            set_password(&pool, phone, &password).await
        }
    };
    pool.close().await;
    done
}

/// A new password: asked twice on a terminal (not echoed), else one line of standard input.
fn read_password() -> Result<String, AppError> {
    let bad = |m: &str| AppError::bad_request(m.to_string());
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("新密码 / new password: ").map_err(AppError::internal)?;
        let again = rpassword::prompt_password("再输一遍 / again: ").map_err(AppError::internal)?;
        if first != again {
            return Err(bad("两次输入的密码不一样 / the two passwords differ"));
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(AppError::internal)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

async fn hash(password: &str, phone: &str) -> Result<String, AppError> {
    if let Some(problem) = password_problem(password, phone) {
        return Err(AppError::bad_request(problem.to_string()));
    }
    let password = password.to_string();
    tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(AppError::internal)?
}

/// Makes a county coordinator, and the county itself on a database that has none.
/// The password is the administrator's own (typed at the server), so it need not be changed.
pub async fn create(
    pool: &Pool,
    phone: &str,
    name: &str,
    county: Option<&str>,
    password: &str,
) -> Result<String, AppError> {
    let phone = normalize_phone(phone);
    let name = name.trim();
    if !is_mobile_phone(&phone) {
        return Err(AppError::bad_request("手机号应为 11 位数字".to_string()));
    }
    if name.is_empty() || name.chars().count() > 50 {
        return Err(AppError::bad_request("请填写姓名（50 字以内）".to_string()));
    }
    let hash = hash(password, &phone).await?;
    let mut tx = store::begin_write(pool).await?;
    if store::accounts::phone_holder(&mut tx, &phone).await?.is_some() {
        return Err(AppError::conflict("conflict", "这个手机号已有账号"));
    }
    let counties = store::units::counties(&mut tx).await?;
    let county_id = match (county.map(str::trim), counties.as_slice()) {
        (Some(wanted), _) if counties.iter().any(|(_, n)| n == wanted) => {
            counties.iter().find(|(_, n)| n == wanted).map(|(id, _)| id.clone()).unwrap_or_default()
        }
        (None, [(id, _)]) => id.clone(),
        (Some(wanted), []) if !wanted.is_empty() && wanted.chars().count() <= 50 => {
            let id = Uuid::now_v7();
            store::units::insert(&mut tx, id, UnitKind::County, wanted, None, db::now()).await?;
            id.to_string()
        }
        (None, []) => {
            return Err(AppError::bad_request(
                "数据库里还没有县，请用 --county 写上县名".to_string(),
            ))
        }
        _ => {
            let names: Vec<&str> = counties.iter().map(|(_, n)| n.as_str()).collect();
            return Err(AppError::bad_request(format!(
                "请用 --county 写明是哪个县：{}",
                names.join("、")
            )));
        }
    };
    let id = Uuid::now_v7();
    let unit_id = db::parse_uuid(&county_id)?;
    store::accounts::insert(
        &mut tx,
        &store::accounts::NewMember {
            id,
            phone: &phone,
            name,
            password_hash: &hash,
            role: Role::CountyCoordinator,
            unit_id,
            created_at: db::now(),
            must_change_password: false,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        None,
        "admin_created",
        json!({ "account_id": id, "unit_id": county_id, "phone": auth::mask_phone(&phone), "via": "command line" }),
    )
    .await?;
    tx.commit().await?;
    Ok(format!("county administrator {} created ({})", auth::mask_phone(&phone), id))
}

/// The account of a phone, or a plain error.
async fn account_of(tx: &mut db::Tx, phone: &str) -> Result<Uuid, AppError> {
    let id = store::accounts::id_by_phone(tx, &normalize_phone(phone))
        .await?
        .ok_or_else(|| AppError::bad_request("没有这个手机号的账号".to_string()))?;
    db::parse_uuid(&id)
}

pub async fn set_disabled(pool: &Pool, phone: &str, disabled: bool) -> Result<String, AppError> {
    let mut tx = store::begin_write(pool).await?;
    let id = account_of(&mut tx, phone).await?;
    store::accounts::set_disabled(&mut tx, id, disabled).await?;
    if disabled {
        store::sessions::end_all(&mut *tx, id).await?;
    }
    let action = if disabled { "account_disabled" } else { "account_enabled" };
    audit::record(&mut tx, None, action, json!({ "account_id": id, "via": "command line" })).await?;
    tx.commit().await?;
    Ok(format!("{} {}", auth::mask_phone(&normalize_phone(phone)), if disabled { "disabled" } else { "enabled" }))
}

/// Sets a new password typed at the server; the account's sessions end.
pub async fn set_password(pool: &Pool, phone: &str, password: &str) -> Result<String, AppError> {
    let hash = hash(password, &normalize_phone(phone)).await?;
    let mut tx = store::begin_write(pool).await?;
    let id = account_of(&mut tx, phone).await?;
    store::sessions::set_password(&mut *tx, id, &hash).await?;
    store::sessions::end_all(&mut *tx, id).await?;
    audit::record(&mut tx, None, "password_set", json!({ "account_id": id, "via": "command line" })).await?;
    tx.commit().await?;
    Ok(format!("new password set for {}", auth::mask_phone(&normalize_phone(phone))))
}
