//! Daohu volunteer-activities entry point: mounts the activities bundle,
//! served under `/activities`. Built by `scripts/build-app.sh`.

fn main() {
    daohu::mount_activities();
}
