//! Command-line flags and environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// How the server is started; every flag can also come from the environment.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "daohu-server",
    version,
    about = "Daohu (到户) server: API and web app"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "DAOHU_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Folder for the SQLite database (`daohu.sqlite3`), created if missing.
    #[arg(long, env = "DAOHU_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// A `sqlite:` URL that overrides the database file in `--data-dir`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Folder of the built web app (Trunk's `dist`).
    #[arg(long, env = "DAOHU_DIST", default_value = "./dist")]
    pub dist: PathBuf,

    /// Do not add the demo village and accounts to an empty database.
    #[arg(long, env = "DAOHU_NO_SEED")]
    pub no_seed: bool,

    /// Absolute lifetime of a session, in hours (members stay signed in offline for weeks).
    #[arg(long, env = "DAOHU_SESSION_HOURS", default_value_t = 720)]
    pub session_hours: u32,

    /// A session unused for this many days ends.
    #[arg(long, env = "DAOHU_SESSION_IDLE_DAYS", default_value_t = 14)]
    pub session_idle_days: u32,

    /// The address people reach the app at; QR enrolment codes point there
    /// (`<public-url>/enroll/<code>`).
    #[arg(
        long,
        env = "DAOHU_PUBLIC_URL",
        default_value = "http://localhost:8080"
    )]
    pub public_url: String,

    /// Megabytes (MiB) of photos one account may upload a day.
    #[arg(long, env = "DAOHU_PHOTO_QUOTA_MB", default_value_t = 200)]
    pub photo_quota_mb: u32,

    /// Seconds a client has to send a request's headers (and an idle connection stays open).
    #[arg(long, env = "DAOHU_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,

    /// Longest wait, in seconds, for the next piece of a request body (a whole body
    /// gets ten times this).
    #[arg(long, env = "DAOHU_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,

    /// Connections served at once; more wait in the operating system's queue.
    #[arg(long, env = "DAOHU_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Write logs as JSON lines instead of text.
    #[arg(long, env = "DAOHU_LOG_JSON")]
    pub log_json: bool,

    /// Something to do instead of serving (`backup`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Config {
    /// Absolute session lifetime.
    pub fn session_lifetime(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.session_hours))
    }

    /// Longest a session may go unused.
    pub fn session_idle(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.session_idle_days))
    }
}

/// What the binary can do instead of serving.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum Command {
    /// Write a consistent copy of the database to a new file while the server keeps
    /// running (SQLite `VACUUM INTO`), then check the copy. Restore: stop the
    /// server, replace `daohu.sqlite3` by the copy, delete `daohu.sqlite3-wal` and
    /// `daohu.sqlite3-shm`, start the server.
    Backup(BackupArgs),
}

/// Flags of `daohu-server backup`.
#[derive(Clone, Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write; must not exist yet.
    #[arg(long)]
    pub out: PathBuf,

    /// Folder of the database to back up (default: the server's `--data-dir`).
    #[arg(long = "data-dir")]
    pub data_dir: Option<PathBuf>,

    /// A `sqlite:` URL of the database to back up (default: the server's `--database-url`).
    #[arg(long = "database-url")]
    pub database_url: Option<String>,
}
