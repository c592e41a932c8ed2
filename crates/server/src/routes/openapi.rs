//! The OpenAPI 3 document of the API. Its paths come from the routes as they are
//! registered (each module's `router()` registers handlers through utoipa-axum's
//! `routes!`, which reads their `#[utoipa::path]`), so a route cannot be missing
//! from it; this module adds the title, shared schemas, tags and the bearer scheme.

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

/// What the document says besides its paths.
#[derive(OpenApi)]
#[openapi(
    info(title = "Daohu API", description = "到户: sign-in, rosters and visit upload for five to-the-household visits; the organisation, accounts and household rosters for coordinators. Anything outside the caller's scope answers 404; inside it but not allowed for the role, 403."),
    components(schemas(
        daohu_domain::ApiError,
        daohu_domain::ReceiptStatus,
        daohu_domain::Role,
        daohu_domain::UnitKind,
        daohu_domain::ImportAction,
        daohu_domain::ExportFormat,
        daohu_domain::SectionKind,
        daohu_domain::SectionState,
        daohu_domain::SpecialGroup,
        daohu_domain::CheckKind,
        daohu_domain::HoursSource,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "auth", description = "Sign-in and sessions"),
        (name = "roster", description = "Households and their visits"),
        (name = "sync", description = "Uploading visits from the phone's outbox"),
        (name = "org", description = "The organisation tree (coordinators)"),
        (name = "accounts", description = "Accounts, member-household links and QR enrolment (coordinators)"),
        (name = "households", description = "Households and roster import (coordinators)"),
        (name = "audit", description = "The audit log (county coordinators)"),
        (name = "problems", description = "Problems raised at the door: escalation, answers and their trail"),
        (name = "activities", description = "Volunteer activities, check-ins, photos, teams and hours"),
        (name = "reports", description = "Visit log, dashboard, meeting sheet and exports (coordinators)"),
        (name = "catalogue", description = "The county's policy catalogue for the household ledger, versioned"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the paths refer to.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `/openapi.json`. The document it serves is handed to it by the app as an
/// extension, made from the registered routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_get))
}

/// The document served: [`ApiDoc`] with the paths of `api` (the routes under
/// `/api`) and of `top` (routes outside it).
pub fn document(api: utoipa::openapi::OpenApi, top: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi().nest("/api", api);
    doc.merge(top);
    doc
}

/// The OpenAPI document.
#[utoipa::path(
    get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json"))
)]
pub async fn openapi_get(Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>) -> Json<utoipa::openapi::OpenApi> {
    Json(doc.as_ref().clone())
}
