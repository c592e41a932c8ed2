//! Daohu coordinators' console entry point: mounts the console, a bundle of
//! its own served under `/admin`. Built by `scripts/build-app.sh`.

fn main() {
    daohu::mount_console();
}
