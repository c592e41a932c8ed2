//! HTTP routes, one module per resource. Each exports `router()`; paths under
//! `/api` are relative to it (the app nests them).

pub mod auth;
pub mod health;
pub mod openapi;
pub mod roster;
pub mod sync;
