//! The admin API, served on its own listener (`server.admin_bind`) and nowhere else:
//! JSON resources under `/admin/…` for clients, users, grants, consents, signing keys,
//! registration's initial access tokens and prune, and the OpenAPI 3.1 document generated from these handlers
//! (`GET /admin/openapi.json`). Invariants:
//! - every route but the document needs an admin client's `client_credentials` access
//!   token with `grantd:admin` (`grantd_domain::admin::authenticate`, in the request's one
//!   blocking hop, `hop.rs`);
//! - every act is a use case of `grantd_domain::admin` (or `accounts`, `user_profile`,
//!   `KeyRing`, `InitialAccessTokens`), the CLI's own: this module parses JSON and words errors, nothing more;
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
mod registration_tokens;
mod users;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse, Resource};

use problem::Problem;

/// Mounts `/admin/…` (only on the admin listener). Bodies and queries are read as bytes
/// and parsed after authentication (`hop`); a wrong method is a 405 problem, an unknown
/// path a 404 problem.
pub(crate) fn mount(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .app_data(web::PayloadConfig::new(64 * 1024))
            .service(resource("/openapi.json", "GET").route(web::get().to(openapi::document)))
            .service(
                resource("/clients", "GET, POST")
                    .route(web::get().to(clients::list))
                    .route(web::post().to(clients::create)),
            )
            .service(
                resource("/clients/{client_id}", "GET, PUT, DELETE")
                    .route(web::get().to(clients::show))
                    .route(web::put().to(clients::replace))
                    .route(web::delete().to(clients::delete)),
            )
            .service(
                resource("/clients/{client_id}/rotate-secret", "POST")
                    .route(web::post().to(clients::rotate_secret)),
            )
            .service(
                resource("/clients/{client_id}/grants", "GET, DELETE")
                    .route(web::get().to(grants::of_client))
                    .route(web::delete().to(grants::revoke_of_client)),
            )
            .service(resource("/users", "POST").route(web::post().to(users::create)))
            .service(
                resource("/users/{username}", "GET, PATCH, DELETE")
                    .route(web::get().to(users::show))
                    .route(web::patch().to(users::update))
                    .route(web::delete().to(users::delete)),
            )
            .service(
                resource("/users/{username}/password", "PUT")
                    .route(web::put().to(users::set_password)),
            )
            .service(
                resource("/users/{username}/disable", "POST").route(web::post().to(users::disable)),
            )
            .service(
                resource("/users/{username}/enable", "POST").route(web::post().to(users::enable)),
            )
            .service(
                resource("/users/{username}/grants", "GET, DELETE")
                    .route(web::get().to(grants::of_user))
                    .route(web::delete().to(grants::revoke_of_user)),
            )
            .service(
                resource("/users/{username}/consents", "GET, DELETE")
                    .route(web::get().to(grants::consents))
                    .route(web::delete().to(grants::revoke_consents)),
            )
            .service(
                resource("/grants/{grant_id}", "DELETE").route(web::delete().to(grants::revoke)),
            )
            .service(
                resource("/keys", "GET, POST")
                    .route(web::get().to(keys::list))
                    .route(web::post().to(keys::rotate)),
            )
            .service(resource("/keys/{kid}/retire", "POST").route(web::post().to(keys::retire)))
            .service(resource("/prune", "POST").route(web::post().to(prune::prune)))
            .service(
                resource("/registration-tokens", "GET, POST")
                    .route(web::get().to(registration_tokens::list))
                    .route(web::post().to(registration_tokens::create)),
            )
            .service(
                resource("/registration-tokens/{token_id}", "DELETE")
                    .route(web::delete().to(registration_tokens::revoke)),
            )
            .default_service(web::to(no_route)),
    );
}

/// A resource whose other methods get a 405 problem with `Allow` (RFC 9110 §15.5.6).
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut response = actix_web::ResponseError::error_response(&Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("this resource accepts {allow}"),
        ));
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(allow));
        response
    }))
}

async fn no_route() -> HttpResponse {
    actix_web::ResponseError::error_response(&Problem::not_found(
        "no such admin resource or method",
    ))
}
