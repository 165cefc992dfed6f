//! grantd's HTTP adapter: actix-web routes, strict form and Basic-header parsing, and the
//! one mapping of domain errors to RFC 6749 §5.2 / RFC 6750 responses. It holds no business
//! rule: every decision is the domain's, reached in one `web::block` hop per request
//! (diesel and bcrypt block).

mod authorize;
mod basic_auth;
mod body;
mod client_credentials;
mod client_endpoint;
mod errors;
mod form;
mod health;
mod introspect;
mod metadata;
mod ops;
mod resource;
mod revoke;
mod token;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpResponse, HttpServer};
use grantd_domain::{ServerMetadata, TokenService};

pub use authorize::{AuthorizePages, SessionKey};
pub use basic_auth::{parse as parse_authorization_header, AuthorizationHeader, BasicCredentials};
pub use errors::OAuthError;
pub use form::{Form, FormError};
pub use ops::{Operations, PoolGauge, REQUEST_ID_HEADER};

/// What every handler shares.
#[derive(Clone)]
pub struct HttpState {
    pub service: TokenService,
    /// Whether the database answers (for `/readyz`). Blocking: called off the workers.
    pub readiness: Arc<dyn Fn() -> bool + Send + Sync>,
    pub max_body_bytes: usize,
    /// The RFC 8414 document, built once at start-up.
    pub metadata: Arc<ServerMetadata>,
    /// The login and consent pages' session settings.
    pub authorize: Arc<AuthorizePages>,
    /// Metrics, the bound on blocking work, the header limit and the draining flag.
    pub ops: Arc<Operations>,
}

/// Server tuning.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// 0 = one worker per core.
    pub workers: usize,
    pub shutdown_timeout_secs: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            workers: 0,
            shutdown_timeout_secs: 10,
        }
    }
}

/// Builds the server on an already-bound listener (so callers choose the port, and tests
/// can bind port 0). The returned server runs when awaited.
pub fn build_server(
    listener: TcpListener,
    state: HttpState,
    options: &ServerOptions,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::new(state);
    // Signals are the caller's: `grantd serve` flips readiness before it stops the server
    // (actix would stop accepting at once).
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(ops::observe))
            .configure(routes)
    })
    .disable_signals()
    .shutdown_timeout(options.shutdown_timeout_secs);
    if options.workers > 0 {
        server = server.workers(options.workers);
    }
    Ok(server.listen(listener)?.run())
}

/// Every route; public so that tests can mount the app in-process too.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/oauth/authorize")
            .route(web::get().to(authorize::authorize_get))
            .route(web::post().to(authorize::authorize_post))
            .default_service(web::to(|| async { method_not_allowed("GET, POST") })),
    )
    .route("/assets/grantd.css", web::get().to(authorize::stylesheet))
    .route("/callback", web::get().to(authorize::demo_callback))
    .service(
        web::resource("/oauth/token")
            .route(web::post().to(token::token))
            .default_service(web::to(|| async { method_not_allowed("POST") })),
    )
    .service(
        web::resource("/oauth/revoke")
            .route(web::post().to(revoke::revoke))
            .default_service(web::to(|| async { method_not_allowed("POST") })),
    )
    .service(
        web::resource("/oauth/introspect")
            .route(web::post().to(introspect::introspect))
            .default_service(web::to(|| async { method_not_allowed("POST") })),
    )
    .route(
        "/.well-known/oauth-authorization-server",
        web::get().to(metadata::metadata),
    )
    .service(
        web::resource("/api/me")
            .route(web::get().to(resource::me))
            .default_service(web::to(|| async { method_not_allowed("GET") })),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/metrics", web::get().to(ops::metrics))
    .default_service(web::to(not_found));
}

fn method_not_allowed(allow: &'static str) -> HttpResponse {
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
