//! HTTP routes, one module per resource. Each exports `router()`, an
//! `OpenApiRouter` whose handlers are registered with their OpenAPI paths;
//! paths under `/api` are relative to it (the app nests them).

pub mod accounts;
pub mod activities;
pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod dashboard;
pub mod exports;
pub mod health;
pub mod households;
pub mod import;
pub mod ledger;
pub mod matchups;
pub mod meeting;
pub mod openapi;
pub mod org;
pub mod photos;
pub mod problems;
pub mod roster;
pub mod sync;
pub mod teams;
pub mod visits;

/// Every route under `/api`, with its part of the OpenAPI document.
pub fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(auth::router())
        .merge(roster::router())
        .merge(sync::router())
        .merge(org::router())
        .merge(accounts::router())
        .merge(households::router())
        .merge(import::router())
        .merge(audit::router())
        .merge(visits::router())
        .merge(dashboard::router())
        .merge(meeting::router())
        .merge(exports::router())
        .merge(problems::router())
        .merge(activities::router())
        .merge(photos::router())
        .merge(teams::router())
        .merge(catalogue::router())
        .merge(ledger::router())
        .merge(matchups::router())
        .merge(openapi::router())
}

#[cfg(test)]
mod tests {
    /// Axum's own ways to add a route, each of which would serve a path the
    /// OpenAPI document (and so the access-matrix and fuzz tests, which read it)
    /// never lists.
    const UNDOCUMENTED: [&str; 4] = [".route(", ".route_service(", ".nest_service(", "OpenApiRouter::from("];

    #[test]
    fn every_route_is_registered_with_its_openapi_path() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
        let mut files: Vec<_> = std::fs::read_dir(format!("{dir}/routes"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.push(format!("{dir}/lib.rs").into());
        let mut routers = 0;
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            // Only the code, not this test's own list of what to look for.
            let code = text.split("#[cfg(test)]").next().unwrap();
            for way in UNDOCUMENTED {
                assert!(!code.contains(way), "{} adds a route with {way}, which misses the OpenAPI document", file.display());
            }
            if code.contains("pub fn router() -> OpenApiRouter<AppState>") {
                assert!(code.contains("routes!("), "{} has a router without routes!", file.display());
                routers += 1;
            }
        }
        // Every resource module, so the scan did read them.
        assert_eq!(routers, 21, "routers found");
    }
}
