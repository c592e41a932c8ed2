//! Daohu (到户) web app entry point: mounts the app. Build with `trunk build --release`;
//! see README for running it behind the server.

fn main() {
    daohu::mount();
}
