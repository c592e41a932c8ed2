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

    /// A `sqlite:` or `postgres:` URL that overrides the database file in `--data-dir`.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Folder of the built web app (Trunk's `dist`).
    #[arg(long, env = "DAOHU_DIST", default_value = "./dist")]
    pub dist: PathBuf,

    /// Add the fictional demo county and its accounts (all with the password
    /// `daohu123`) to an empty database. Never on a real deployment: without it the
    /// server starts empty, and `daohu-server admin create` makes the first account.
    #[arg(long, env = "DAOHU_DEMO")]
    pub demo: bool,

    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose
    /// `X-Forwarded-For` is believed, so sign-in limits count the real client's
    /// address. Off by default: the socket's address is used, and the header ignored.
    #[arg(long = "trusted-proxy", env = "DAOHU_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Absolute lifetime of a session, in hours (members stay signed in offline for weeks).
    #[arg(long, env = "DAOHU_SESSION_HOURS", default_value_t = 720)]
    pub session_hours: u32,

    /// A session unused for this many days ends.
    #[arg(long, env = "DAOHU_SESSION_IDLE_DAYS", default_value_t = 14)]
    pub session_idle_days: u32,

    /// Absolute lifetime of a coordinator's session, in hours: coordinators work
    /// online on office computers and see whole villages, so theirs end sooner.
    #[arg(long, env = "DAOHU_COORDINATOR_SESSION_HOURS", default_value_t = 168)]
    pub coordinator_session_hours: u32,

    /// A coordinator's session unused for this many hours ends.
    #[arg(long, env = "DAOHU_COORDINATOR_IDLE_HOURS", default_value_t = 12)]
    pub coordinator_idle_hours: u32,

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

    /// Something to do instead of serving (`backup`, `admin`).
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

    /// A coordinator's session lifetime and idle limit.
    pub fn coordinator_session(&self) -> (chrono::Duration, chrono::Duration) {
        (
            chrono::Duration::hours(i64::from(self.coordinator_session_hours)),
            chrono::Duration::hours(i64::from(self.coordinator_idle_hours)),
        )
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
    /// Write brotli (quality 11) and gzip (-9) copies beside the built app's files in
    /// `--dist`, which the server then sends as they are. The build script runs it;
    /// the server also does it at start when the copies are missing or stale.
    Precompress,
    /// Manage county administrators from the server's own machine: create the first
    /// one on a new database, disable or enable one, or set a new password.
    /// Passwords are asked for on the terminal, or read from standard input.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit log (of the database `--database-url` or `--data-dir` names).
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `daohu-server audit …`.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's hash chain; name the first broken row and exit 1.
    Verify,
}

/// `daohu-server admin …`
#[derive(Clone, Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Make a county administrator (a county coordinator). On an empty database the
    /// county is created too, named by `--county`.
    Create {
        /// The administrator's mobile number (they sign in with it).
        #[arg(long)]
        phone: String,
        /// Their name as the console shows it.
        #[arg(long)]
        name: String,
        /// The county's name; needed when the database has no county yet.
        #[arg(long)]
        county: Option<String>,
    },
    /// Disable an account: its sessions end and it can no longer sign in.
    Disable {
        #[arg(long)]
        phone: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        phone: String,
    },
    /// Set a new password for an account (for a forgotten one); its sessions end.
    SetPassword {
        #[arg(long)]
        phone: String,
    },
}

/// A trusted proxy: an address (`10.0.0.5`) or a range (`10.0.0.0/8`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("not an address or CIDR range: {s}"))
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
