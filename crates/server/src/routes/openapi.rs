//! The OpenAPI 3 document of the API, generated from the handlers and domain types.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::AppState;

/// Every documented path and the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(title = "Daohu API", description = "到户: sign-in, rosters and visit upload for five to-the-household visits; the organisation, accounts and household rosters for coordinators. Anything outside the caller's scope answers 404; inside it but not allowed for the role, 403."),
    paths(
        super::auth::auth_login,
        super::auth::auth_enroll,
        super::auth::auth_password,
        super::auth::auth_logout,
        super::auth::me_get,
        super::roster::roster_get,
        super::roster::household_visits_list,
        super::sync::sync_visits_upload,
        super::sync::sync_outbox_import,
        super::org::org_get,
        super::org::org_unit_create,
        super::accounts::accounts_list,
        super::accounts::account_create,
        super::accounts::account_update,
        super::accounts::account_households_set,
        super::accounts::account_enroll,
        super::households::households_list,
        super::households::household_update,
        super::import::roster_import,
        super::audit::audit_list,
        super::visits::visits_list,
        super::visits::visit_get,
        super::dashboard::dashboard_get,
        super::meeting::meeting_sheet_get,
        super::exports::export_create,
        super::exports::export_download,
        super::problems::problem_events_upload,
        super::problems::problems_list,
        super::problems::problem_get,
        super::activities::activity_roster_get,
        super::activities::activities_upload,
        super::activities::checkins_upload,
        super::activities::activities_list,
        super::activities::activity_get,
        super::activities::hours_get,
        super::activities::kinds_list,
        super::activities::kinds_create,
        super::photos::photos_status,
        super::photos::photos_put,
        super::photos::photos_content,
        super::teams::teams_list,
        super::teams::teams_create,
        super::health::health_check,
        openapi_get,
    ),
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

/// `/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_get))
}

/// The OpenAPI document.
#[utoipa::path(
    get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json"))
)]
pub async fn openapi_get() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
