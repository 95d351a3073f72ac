//! `GET /api/v1/openapi.json`: the OpenAPI 3 document of every route.

use axum::routing::get;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::app::AppState;
use crate::auth::Caller;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Twister controller API", description = "Inventory, reservations, users, tokens, stations, projects and runs of a Twister test lab."),
    modifiers(&BearerAuth),
    paths(
        super::health::health,
        super::auth::login, super::auth::logout, super::auth::whoami,
        super::users::list_users, super::users::create_user, super::users::get_user, super::users::update_user,
        super::users::delete_user, super::users::change_password,
        super::tokens::list_tokens, super::tokens::create_token, super::tokens::revoke_token,
        super::resources::get_root, super::resources::get_resource, super::resources::put_resource,
        super::resources::delete_resource, super::resources::post_resource, super::resources::tree,
        super::resources::export, super::resources::import,
        super::reservations::reserve, super::reservations::get_one, super::reservations::wait,
        super::reservations::release, super::reservations::renew, super::reservations::list,
        super::reservations::history,
        super::audit::query,
        super::events::events,
        super::stations::list, super::stations::get_one, super::stations::eps, super::stations::create,
        super::stations::rotate, super::stations::remove, super::stations::file, super::stations::link,
        super::projects::list, super::projects::get_one, super::projects::put, super::projects::remove,
        super::projects::sources, super::projects::source_file,
        super::projects::export_suite, super::projects::import_suite,
        super::projects::export_xml, super::projects::import_xml, super::globals::export_xml, super::globals::import_xml,
        super::runs::start, super::runs::list, super::runs::get_one, super::runs::control, super::runs::logs,
        super::runs::queue, super::runs::dequeue,
        super::globals::list_defaults, super::globals::get_default, super::globals::set_default,
        super::globals::delete_default, super::globals::run_globals, super::globals::run_global,
        super::globals::set_run_global, super::runs::log_line, super::panic_patterns::list_patterns,
        super::panic_patterns::add_pattern, super::panic_patterns::change_pattern,
        super::panic_patterns::delete_pattern,
        super::capture::stations, super::capture::set_filter, super::capture::packets, super::capture::packet,
        super::capture::pcapng, super::capture::live,
        super::reports::list, super::reports::describe, super::reports::data, super::reports::get_config,
        super::reports::put_config, super::reports::import_dbxml, super::reports::save, super::reports::results,
        openapi_json,
        super::mail::get_settings, super::mail::put_settings, super::mail::import_xml, super::mail::test_mail,
        super::mail::failures, super::mail::run_mail,
        super::services::list, super::services::create, super::services::get_one, super::services::replace,
        super::services::remove, super::services::control, super::services::logs, super::services::get_config,
        super::services::put_config, super::services::import_ini,
        super::schedules::list, super::schedules::create, super::schedules::get_one, super::schedules::remove,
        super::schedules::toggle, super::schedules::history, super::schedules::all_history,
        super::webhooks::list, super::webhooks::create, super::webhooks::get_one, super::webhooks::update,
        super::webhooks::remove, super::webhooks::ping, super::webhooks::deliveries,
    ),
    components(schemas(
        super::error::ErrorBody, super::error::ErrorDetail,
        crate::auth::Permission, crate::auth::Role, crate::auth::TokenKind, crate::auth::TokenScope,
        crate::events::Event,
        crate::execution::project::ProjectSettings, crate::execution::project::Suite,
        crate::execution::project::TestCase,
        crate::execution::engine::ItemView,
    )),
    tags(
        (name = "system", description = "Health, metrics and this document"),
        (name = "auth", description = "Login and identity"),
        (name = "users", description = "Users and roles"),
        (name = "tokens", description = "API tokens"),
        (name = "inventory", description = "The resource tree"),
        (name = "reservations", description = "Reservations, queue and history"),
        (name = "audit", description = "Who changed what"),
        (name = "events", description = "Live change stream"),
        (name = "stations", description = "Stations, their EPs and their link"),
        (name = "projects", description = "Projects of suites and tests, and the test sources"),
        (name = "runs", description = "Runs: start, watch, pause, stop, logs"),
        (name = "capture", description = "Packet capture: sniffers, stored packets, pcapng, live stream"),
        (name = "reports", description = "Saved results, built-in and configured reports"),
        (name = "notify", description = "Run mails, webhooks"),
        (name = "services", description = "Supervised lab services"),
        (name = "schedules", description = "Runs started on a cron schedule"),
    )
)]
pub struct ApiDoc;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi_json))
}

/// This document (needs any valid token).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system", security(("bearer" = [])),
    responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi_json(_caller: Caller) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
