//! grantd's HTTP adapter: actix-web routes, strict form and Basic-header parsing, the one
//! mapping of domain errors to RFC 6749 §5.2 / RFC 6750 responses (`errors`), and the
//! server's lifecycle (`server`). It holds no business rule: every decision is the
//! domain's, reached in one `web::block` hop per request (diesel and bcrypt block).

mod admin;
mod authorize;
mod basic_auth;
mod body;
mod client_credentials;
mod client_endpoint;
mod errors;
mod form;
mod health;
mod introspect;
mod jwks;
mod metadata;
mod oidc;
mod ops;
mod registration;
mod resource;
mod revoke;
mod routes;
mod server;
mod source_address;
mod token;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{guard, web, HttpResponse, Resource};
use grantd_domain::admin::Administration;
use grantd_domain::dynamic_registration::RegistrationEndpoint;
use grantd_domain::{KeyRing, ServerMetadata, UseCases};

pub use admin::openapi::document_json as admin_openapi_json;
pub use authorize::{AuthorizePages, SessionKey};
pub use basic_auth::{parse as parse_authorization_header, AuthorizationHeader, BasicCredentials};
pub use errors::OAuthError;
pub use form::{Form, FormError};
pub use health::Draining;
pub use ops::{BlockingWork, Busy, Operations, PoolGauge, REQUEST_ID_HEADER};
pub use server::{build_admin_server, build_server, build_servers, run, Listeners, ServerOptions};
pub use source_address::{AddressRange, ProxyHeader, TrustedProxies};

use routes::{Endpoint, ROUTES};

/// What every handler shares.
#[derive(Clone)]
pub struct HttpState {
    /// The domain's use cases, one per endpoint (cloned into each blocking hop).
    pub use_cases: Arc<UseCases>,
    /// Whether the database answers (for `/readyz`). Blocking: called off the workers.
    pub readiness: Arc<dyn Fn() -> bool + Send + Sync>,
    pub max_body_bytes: usize,
    /// The RFC 8414 document, built once at start-up from the configuration
    /// (`scopes_supported` is the scope registry).
    pub metadata: Arc<ServerMetadata>,
    /// The login and consent pages' session settings.
    pub authorize: Arc<AuthorizePages>,
    /// Metrics, the bound on blocking work, the header limit and the draining flag.
    pub ops: Arc<Operations>,
    /// Whose forwarding header names a request's source address (none by default: the
    /// source is the TCP peer).
    pub trusted_proxies: TrustedProxies,
    /// The signing keys (JWKS, JWTs); `None` without `keys.encryption_key`.
    pub keys: Option<KeyRing>,
    /// Dynamic client registration (RFC 7591, RFC 7592); `None` unless
    /// `registration.enabled` (its routes then answer 404).
    pub registration: Option<RegistrationEndpoint>,
    /// The admin API's use cases, served only on the admin listener.
    pub admin: Option<Arc<Administration>>,
}

/// Mounts every entry of the route table; public so that tests can mount the app
/// in-process too.
pub fn routes(cfg: &mut web::ServiceConfig) {
    mount_surface(cfg, Surface::Everything);
}

/// Which of the route table's entries one listener serves: all of them, or with
/// `server.metrics_bind` set, all but `/metrics` on the main listener and `/metrics` alone
/// on the metrics listener. Anything else is the JSON 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    Everything,
    WithoutMetrics,
    MetricsOnly,
    /// The admin listener (`server.admin_bind`): `/admin/…` alone.
    AdminOnly,
}

pub(crate) fn mount_surface(cfg: &mut web::ServiceConfig, surface: Surface) {
    if surface == Surface::AdminOnly {
        admin::mount(cfg);
        cfg.default_service(web::to(not_found));
        return;
    }
    for (path, endpoint) in ROUTES {
        let metrics = endpoint == Endpoint::Metrics;
        let served = match surface {
            Surface::Everything => true,
            Surface::WithoutMetrics => !metrics,
            Surface::MetricsOnly => metrics,
            Surface::AdminOnly => false,
        };
        if served {
            cfg.service(mount(path, endpoint));
        }
    }
    cfg.default_service(web::to(not_found));
}

/// The handlers of one route. The OAuth endpoints answer a wrong method with a JSON 405
/// and `Allow`; the others match their method only (anything else is a 404).
fn mount(path: &str, endpoint: Endpoint) -> Resource {
    let only = |allow: &'static str| web::to(move || async move { method_not_allowed(allow) });
    let r = web::resource(path);
    match endpoint {
        Endpoint::Authorize => r
            .route(web::get().to(authorize::authorize_get))
            .route(web::post().to(authorize::authorize_post))
            .default_service(only("GET, POST")),
        Endpoint::Logout => r
            .route(web::get().to(authorize::rp_logout))
            .route(web::post().to(authorize::logout))
            .default_service(only("GET, POST")),
        Endpoint::Account => r
            .route(web::get().to(authorize::account_get))
            .route(web::post().to(authorize::account_post))
            .default_service(only("GET, POST")),
        Endpoint::Stylesheet => r.guard(guard::Get()).to(authorize::stylesheet),
        Endpoint::DemoCallback => r.guard(guard::Get()).to(authorize::demo_callback),
        Endpoint::Token => r
            .route(web::post().to(token::token))
            .default_service(only("POST")),
        Endpoint::Revoke => r
            .route(web::post().to(revoke::revoke))
            .default_service(only("POST")),
        Endpoint::Introspect => r
            .route(web::post().to(introspect::introspect))
            .default_service(only("POST")),
        Endpoint::Register => r
            .route(web::post().to(registration::register))
            .default_service(web::to(|state| registration::other_method(state, "POST"))),
        Endpoint::ClientConfiguration => r
            .route(web::get().to(registration::read))
            .route(web::put().to(registration::update))
            .route(web::delete().to(registration::delete))
            .default_service(web::to(|state| {
                registration::other_method(state, "GET, PUT, DELETE")
            })),
        Endpoint::Metadata => r.guard(guard::Get()).to(metadata::metadata),
        Endpoint::Jwks => r.guard(guard::Get()).to(jwks::jwks),
        Endpoint::OpenIdConfiguration => r
            .guard(guard::Get())
            .to(oidc::discovery::openid_configuration),
        Endpoint::Userinfo => r
            .route(web::get().to(oidc::userinfo::userinfo))
            .route(web::post().to(oidc::userinfo::userinfo))
            .default_service(only("GET, POST")),
        Endpoint::Me => r
            .route(web::get().to(resource::me))
            .default_service(only("GET")),
        Endpoint::Healthz => r.guard(guard::Get()).to(health::healthz),
        Endpoint::Readyz => r.guard(guard::Get()).to(health::readyz),
        Endpoint::Metrics => r.guard(guard::Get()).to(ops::scrape),
    }
}

pub(crate) fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut response = OAuthError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        format!("this endpoint accepts {allow} only"),
    )
    .into_response();
    response.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    response
}

pub(crate) async fn not_found() -> HttpResponse {
    OAuthError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint").into_response()
}
