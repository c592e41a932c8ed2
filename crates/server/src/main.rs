//! `daohu-server`: serves Daohu's API and built web app from one process.
//!
//! Run `daohu-server --help` for the flags; for a local try:
//! `cargo run -p daohu-server -- --dist ./dist` then open <http://127.0.0.1:8080>
//! and sign in as 13800000001 / daohu123 with `--demo` (which fills an empty
//! database with a fictional county); without it the server starts empty and
//! `daohu-server admin create` makes the first county administrator.

use std::process::ExitCode;

use clap::Parser;
use daohu_server::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    daohu_server::init_tracing(config.log_json);
    if let Some(daohu_server::config::Command::Backup(args)) = &config.command {
        return match daohu_server::backup::run_cli(&config, args).await {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("backup failed: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(daohu_server::config::Command::Precompress) = &config.command {
        return match daohu_server::precompress::precompress_dir(&config.dist) {
            Ok(summary) => {
                println!("{}: {summary}", config.dist.display());
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("precompress {}: {err}", config.dist.display());
                ExitCode::FAILURE
            }
        };
    }
    if let Some(daohu_server::config::Command::Admin(command)) = &config.command {
        return match daohu_server::admin::run_cli(&config, command).await {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("admin: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(daohu_server::config::Command::Audit(daohu_server::config::AuditCommand::Verify)) = &config.command {
        return daohu_server::audit::run_cli(&config).await;
    }
    match daohu_server::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "server stopped");
            ExitCode::FAILURE
        }
    }
}
