//! The admin API, served on its own listener (`server.admin_bind`) and nowhere else:
//! JSON resources under `/admin/…` for clients, users, grants, consents, signing keys and
//! prune, and the OpenAPI 3.1 document generated from these handlers
//! (`GET /admin/openapi.json`). Invariants:
//! - every route but the document needs an admin client's `client_credentials` access
//!   token with `grantd:admin` (`grantd_domain::admin::authenticate`, in the request's one
//!   blocking hop, `hop.rs`);
//! - every act is a use case of `grantd_domain::admin` (or `accounts`, `user_profile`,
//!   `KeyRing`), the CLI's own: this module parses JSON and words errors, nothing more;
//! - every error is RFC 9457 `application/problem+json` (`problem.rs`), a validation
//!   problem names its field;
//! - every write leaves one audit line (`audit.rs`: actor, action, target id, outcome),
//!   never a secret.

mod audit;
mod clients;
mod grants;
mod hop;
mod keys;
pub(crate) mod openapi;
mod problem;
mod prune;
mod users;

use actix_web::{web, HttpResponse};

use problem::Problem;

/// Mounts `/admin/…` (only on the admin listener). The JSON, query and path extractors
/// answer a bad request with a problem document, not actix's text.
pub(crate) fn mount(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|e, _| Problem::malformed(format!("the JSON body is not valid: {e}")).into());
    let query = web::QueryConfig::default()
        .error_handler(|e, _| Problem::malformed(format!("the query is not valid: {e}")).into());
    cfg.service(
        web::scope("/admin")
            .app_data(json)
            .app_data(query)
            .route("/openapi.json", web::get().to(openapi::document))
            .service(
                web::resource("/clients")
                    .route(web::get().to(clients::list))
                    .route(web::post().to(clients::create)),
            )
            .service(
                web::resource("/clients/{client_id}")
                    .route(web::get().to(clients::show))
                    .route(web::put().to(clients::replace))
                    .route(web::delete().to(clients::delete)),
            )
            .route(
                "/clients/{client_id}/rotate-secret",
                web::post().to(clients::rotate_secret),
            )
            .service(
                web::resource("/clients/{client_id}/grants")
                    .route(web::get().to(grants::of_client))
                    .route(web::delete().to(grants::revoke_of_client)),
            )
            .route("/users", web::post().to(users::create))
            .service(
                web::resource("/users/{username}")
                    .route(web::get().to(users::show))
                    .route(web::patch().to(users::update))
                    .route(web::delete().to(users::delete)),
            )
            .route("/users/{username}/password", web::put().to(users::set_password))
            .route("/users/{username}/disable", web::post().to(users::disable))
            .route("/users/{username}/enable", web::post().to(users::enable))
            .service(
                web::resource("/users/{username}/grants")
                    .route(web::get().to(grants::of_user))
                    .route(web::delete().to(grants::revoke_of_user)),
            )
            .service(
                web::resource("/users/{username}/consents")
                    .route(web::get().to(grants::consents))
                    .route(web::delete().to(grants::revoke_consents)),
            )
            .route("/grants/{grant_id}", web::delete().to(grants::revoke))
            .service(
                web::resource("/keys")
                    .route(web::get().to(keys::list))
                    .route(web::post().to(keys::rotate)),
            )
            .route("/keys/{kid}/retire", web::post().to(keys::retire))
            .route("/prune", web::post().to(prune::prune))
            // REGISTRATION TOKENS (RFC 7591 initial access tokens) mount here:
            // `POST /admin/registration-tokens`, a handler in `registration_tokens.rs`
            // that calls the registration use case through `hop::write` (action
            // "registration_token.create") and lists it in `openapi.rs`.
            .default_service(web::to(no_route)),
    );
}

async fn no_route() -> HttpResponse {
    actix_web::ResponseError::error_response(&Problem::not_found(
        "no such admin resource or method",
    ))
}
