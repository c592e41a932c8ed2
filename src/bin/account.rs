//! Daohu's account bundle entry point (`/login`, `/enroll`, `/signout`): only mounts it.

fn main() {
    daohu::mount_account();
}
