//! Online backup of the database while the server runs.
//!
//! [`backup_to`] runs SQLite's `VACUUM INTO` on one read connection of the pool.
//! In WAL mode that reads one snapshot (the last committed state when it starts)
//! while uploads go on committing beside it, and writes a compact, self-contained
//! database file: every batch is either wholly in the copy or not at all.
//! The copy is written under a temporary name, synced to disk, then renamed, so a
//! file at `path` is always a complete backup.
//!
//! From the command line: `daohu-server backup --data-dir DIR --out FILE`
//! (see [`run_cli`]). Restore: stop the server, replace `daohu.sqlite3` in the data
//! folder by the backup file, delete `daohu.sqlite3-wal` and `daohu.sqlite3-shm`
//! if present, start the server.

use std::path::{Path, PathBuf};

use sqlx::any::AnyPoolOptions;

use crate::db::{Dialect, Pool};

use crate::config::{BackupArgs, Config};

pub use crate::db::DB_FILE;

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Never overwrite: an older backup at the same name stays as it is.
    #[error("{0} already exists")]
    Exists(PathBuf),
    /// SQLite takes the target name as text.
    #[error("{0} is not a UTF-8 path")]
    NotUtf8(PathBuf),
    /// PostgreSQL is backed up with its own tools (`pg_dump`), not by this command.
    #[error("backup copies a SQLite database; back PostgreSQL up with pg_dump")]
    NotSqlite,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
}

/// What a backup file holds, checked by opening it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSummary {
    /// `PRAGMA integrity_check`: `"ok"` for a sound file.
    pub integrity: String,
    pub visits: i64,
    pub bytes: u64,
}

/// Writes a consistent copy of the database behind `pool` to `path` (which must not
/// exist yet), while other connections keep writing.
pub async fn backup_to(pool: &Pool, path: &Path) -> Result<(), BackupError> {
    if crate::store::dialect_of_pool(pool) != Dialect::Sqlite {
        return Err(BackupError::NotSqlite);
    }
    if path.exists() {
        return Err(BackupError::Exists(path.to_path_buf()));
    }
    let name = path
        .file_name()
        .ok_or_else(|| BackupError::NotUtf8(path.to_path_buf()))?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let partial = dir.join(format!(".{name}.partial-{}", std::process::id()));
    let partial_text = partial
        .to_str()
        .ok_or_else(|| BackupError::NotUtf8(partial.clone()))?
        .to_string();
    // A leftover of a backup that was killed half way.
    let _ = std::fs::remove_file(&partial);

    let mut conn = pool.acquire().await?;
    if let Err(err) = crate::store::upkeep::vacuum_into(&mut conn, &partial_text).await {
        let _ = std::fs::remove_file(&partial);
        return Err(err.into());
    }
    drop(conn);

    let finish = || -> std::io::Result<()> {
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, path)?;
        // the rename itself must survive a power cut too
        std::fs::File::open(&dir)?.sync_all()
    };
    finish().inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    Ok(())
}

/// Opens a backup file read-only and checks it: integrity and how many visits it holds.
pub async fn check_backup(path: &Path) -> Result<BackupSummary, BackupError> {
    let pool = open_one(&format!("sqlite://{}?mode=ro", path.display())).await?;
    let (integrity, visits) = crate::store::upkeep::check_file(&pool).await?;
    pool.close().await;
    Ok(BackupSummary {
        integrity,
        visits,
        bytes: std::fs::metadata(path)?.len(),
    })
}

/// `daohu-server backup`: backs up the database the server would open (the
/// subcommand's own `--data-dir` / `--database-url` first, then the server's flags
/// and environment), checks the copy and says what it holds.
///
/// The live database is opened without running migrations or seeding, so a
/// backup never changes it; a missing database file is an error, not a new file.
pub async fn run_cli(config: &Config, args: &BackupArgs) -> Result<String, BackupError> {
    // mode=rw: a missing file is an error, never a new empty database.
    let file = |p: PathBuf| format!("sqlite://{}?mode=rw", p.display());
    let url = match (&args.database_url, &args.data_dir, &config.database_url) {
        (Some(url), _, _) => url.clone(),
        (None, Some(dir), _) => file(dir.join(DB_FILE)),
        (None, None, Some(url)) => url.clone(),
        (None, None, None) => file(config.data_dir.join(DB_FILE)),
    };
    if Dialect::of_url(&url)? != Dialect::Sqlite {
        return Err(BackupError::NotSqlite);
    }
    let pool = open_one(&url).await?;
    let result = backup_to(&pool, &args.out).await;
    pool.close().await;
    result?;
    let summary = check_backup(&args.out).await?;
    Ok(format!(
        "backup written: {} ({} bytes, {} visits, integrity {})",
        args.out.display(),
        summary.bytes,
        summary.visits,
        summary.integrity
    ))
}

/// One connection to the SQLite file at `url`, without migrations.
async fn open_one(url: &str) -> Result<Pool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    AnyPoolOptions::new()
        .max_connections(1)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(conn, "PRAGMA busy_timeout = 5000").await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}
