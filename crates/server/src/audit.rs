//! The append-only audit log: writes (each in the transaction of the change), reads
//! of personal data and denied requests, chained by hash so an edit made around
//! the triggers shows, and [`verify`] (`daohu-server audit verify`) to check it.
//!
//! The chain: every row stores `prev_hash` (the `row_hash` of the row before it)
//! and `row_hash` = sha256 of the JSON array `[prev_hash, at, actor, action, detail]`
//! (see [`row_hash`]). The newest hash is kept in the one-row `audit_chain_head`,
//! which each insert locks first (on PostgreSQL `SELECT … FOR UPDATE`, held to the
//! end of the inserting transaction, so instances sharing the database append one
//! at a time; SQLite has one writer anyway). Rows written before migration 0009
//! are not back-filled (SQLite has no sha256 in SQL): the chain starts after them,
//! at `audit_chain_head.since_id`, and [`verify`] counts them as unchained.
//!
//! What counts as a read: see the `read_*` actions written by the handlers of the
//! visit log, a visit, the household lists and histories, the roster, problems and
//! photos (one small row per request: ids, the scope, how many rows; never names,
//! phone numbers, notes or search text). Denials (403, and 404 after the caller
//! signed in) are written by [`record_denials`].

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use axum::extract::{MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};
use sqlx::Connection;
use uuid::Uuid;

use crate::db::{self, ts, Conn, Dialect, Pool};
use crate::store;
use crate::{AppError, AppState};

/// `prev_hash` of the first chained row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of one row: sha256 (hex) of `[prev_hash, at, actor, action, detail]` as
/// JSON, which separates the fields unambiguously whatever they hold.
pub fn row_hash(prev: &str, at: &str, actor: Option<&str>, action: &str, detail: &str) -> String {
    let canonical = json!([prev, at, actor, action, detail]).to_string();
    // Hashed here rather than by auth's helper: auth notes callers in this module.
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(canonical.as_bytes()))
}

/// Appends one entry, chained to the one before it. `detail` must never hold a
/// password, a token, a full phone number, a name or search text.
///
/// Runs in a transaction of its own on `conn`, or a savepoint of the caller's, so
/// the entry commits (or rolls back) with the change it records.
pub async fn record(
    conn: &mut Conn,
    actor: Option<Uuid>,
    action: &str,
    detail: Value,
) -> Result<(), AppError> {
    let mut tx = conn.begin().await?;
    // Lock the head first, so appends from every instance queue one at a time.
    let prev = store::audit::lock_head(&mut tx).await?;
    let at = ts(db::now());
    let actor = actor.map(|id| id.to_string());
    let detail = detail.to_string();
    let hash = row_hash(&prev, &at, actor.as_deref(), action, &detail);
    store::audit::append(
        &mut tx,
        store::audit::NewEntry {
            at: &at,
            actor: actor.as_deref(),
            action,
            detail: &detail,
            prev_hash: &prev,
            row_hash: &hash,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Appends one entry in a write transaction of its own: for reads and denials,
/// which change nothing else. On SQLite it queues behind this process's uploads
/// (one writer); on PostgreSQL only the chain head is locked.
///
/// Call it after the read's own connection is back in the pool (holding one while
/// waiting for another can starve the pool), and before answering: a read that
/// cannot be recorded is not answered.
pub async fn record_alone(state: &AppState, actor: Uuid, action: &str, detail: Value) -> Result<(), AppError> {
    match state.store.dialect() {
        Dialect::Sqlite => {
            let (_writer, mut tx) = state.write_tx().await?;
            record(&mut tx, Some(actor), action, detail).await?;
            tx.commit().await?;
        }
        Dialect::Postgres => {
            let mut conn = state.pool.acquire().await?;
            record(&mut conn, Some(actor), action, detail).await?;
        }
    }
    Ok(())
}

/// Who made a request and which route it matched, noted by the [`crate::AuthUser`]
/// extractor for [`record_denials`].
#[derive(Clone, Debug, Default)]
pub struct CallerSlot(Arc<OnceLock<(Uuid, String)>>);

impl CallerSlot {
    /// Notes the signed-in caller of the request `parts` belong to.
    pub fn note(parts: &Parts, member: Uuid) {
        if let Some(slot) = parts.extensions.get::<CallerSlot>() {
            let route = parts
                .extensions
                .get::<MatchedPath>()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let _ = slot.0.set((member, route));
        }
    }
}

/// Records every 403, and every 404 of a signed-in caller (a record out of scope
/// answers 404 like a missing one), with the account, the method, the route's
/// template and the ids in the path (random UUIDs; never the query, which may
/// hold search text). Requests without a session are not attributed to anyone
/// and not recorded here (failed sign-ins are, by the sign-in itself).
pub async fn record_denials(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let slot = CallerSlot::default();
    request.extensions_mut().insert(slot.clone());
    let method = request.method().clone();
    let ids: Vec<Uuid> = request
        .uri()
        .path()
        .split('/')
        .filter_map(|segment| Uuid::parse_str(segment).ok())
        .take(4)
        .collect();
    let response = next.run(request).await;
    let status = response.status();
    if status != StatusCode::FORBIDDEN && status != StatusCode::NOT_FOUND {
        return response;
    }
    if let Some((actor, route)) = slot.0.get() {
        let detail = json!({
            "status": status.as_u16(),
            "method": method.as_str(),
            "route": route,
            "ids": ids,
        });
        // The request is refused either way; a failed entry is logged, not answered.
        if let Err(err) = record_alone(&state, *actor, "denied", detail).await {
            tracing::error!(error = %err, "denial not recorded in the audit log");
        }
    }
    response
}

/// The first row where the chain does not hold, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub id: i64,
    pub reason: String,
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Rows checked along the chain.
    pub chained: u64,
    /// Rows from before the chain began (migration 0009), not checkable.
    pub unchained: u64,
    /// The newest row's hash: written down elsewhere, it pins the log as it is now.
    pub head_hash: String,
    /// `None` when the whole chain holds.
    pub broken: Option<Broken>,
}

/// Rows read per query while walking the chain.
const VERIFY_PAGE: i64 = 1_000;

/// Walks the audit log in id order from one snapshot, recomputes every hash and
/// finds the first row that was changed, removed, inserted or moved, and rows
/// missing at the end (the chain head names a later row than the last one).
pub async fn verify(pool: &Pool) -> Result<Verified, AppError> {
    let mut tx = match store::dialect_of_pool(pool) {
        Dialect::Sqlite => pool.begin().await?,
        Dialect::Postgres => pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ").await?,
    };
    let (since_id, head_hash, head_id) = store::audit::head(&mut tx).await?;
    let mut found = Verified { chained: 0, unchained: 0, head_hash: head_hash.clone(), broken: None };
    let mut expected = GENESIS.to_string();
    // Before the chain began, the head named the last row before it.
    let mut last = since_id;
    let mut after = 0i64;
    'walk: loop {
        let rows = store::audit::chain_page(&mut tx, after, VERIFY_PAGE).await?;
        let Some(end) = rows.last() else { break };
        after = end.id;
        for row in rows {
            if row.id <= since_id {
                found.unchained += 1;
                continue;
            }
            let hash = row_hash(
                row.prev_hash.as_deref().unwrap_or(""),
                &row.at,
                row.actor_member_id.as_deref(),
                &row.action,
                &row.detail,
            );
            let reason = if row.row_hash.as_deref() != Some(hash.as_str()) {
                Some("its contents do not match its hash: the row was changed".to_string())
            } else if row.prev_hash.as_deref() != Some(expected.as_str()) {
                Some("it does not follow the row before it: a row was removed, inserted or moved".to_string())
            } else {
                None
            };
            if let Some(reason) = reason {
                found.broken = Some(Broken { id: row.id, reason });
                break 'walk;
            }
            expected = hash;
            last = row.id;
            found.chained += 1;
        }
    }
    if found.broken.is_none() && (expected != head_hash || last != head_id) {
        found.broken = Some(Broken {
            id: head_id,
            reason: format!("rows are missing at the end: the newest is {last}, the chain head names {head_id}"),
        });
    }
    tx.commit().await?;
    Ok(found)
}

/// `daohu-server audit verify`: prints what [`verify`] found; fails (exit code 1)
/// on a broken chain, 2 when the database cannot be read.
pub async fn run_cli(config: &crate::Config) -> ExitCode {
    let url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            let file = config.data_dir.join(crate::db::DB_FILE);
            if !file.exists() {
                eprintln!("audit verify failed: no database at {}", file.display());
                return ExitCode::from(2);
            }
            db::file_url(&file)
        }
    };
    let found = match db::connect(&url).await {
        Ok(pool) => verify(&pool).await,
        Err(err) => Err(AppError::from(err)),
    };
    match found {
        Ok(Verified { chained, unchained, head_hash, broken: None }) => {
            println!("audit log intact: {chained} chained rows, {unchained} from before the chain; head {head_hash}");
            ExitCode::SUCCESS
        }
        Ok(Verified { broken: Some(Broken { id, reason }), chained, .. }) => {
            eprintln!("audit log BROKEN at row {id}: {reason} ({chained} rows before it hold)");
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("audit verify failed: {err}");
            ExitCode::from(2)
        }
    }
}
