//! HTTP routes, one module per resource. Each exports `router()`; paths under
//! `/api` are relative to it (the app nests them).

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod exports;
pub mod health;
pub mod households;
pub mod import;
pub mod meeting;
pub mod openapi;
pub mod org;
pub mod photos;
pub mod problems;
pub mod roster;
pub mod sync;
pub mod teams;
pub mod visits;
