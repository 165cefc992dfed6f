//! The actix-web side (feature `actix`): [`Authenticated`] as an extractor, the
//! [`RequireScope`] middleware for whole scopes of routes, and [`Rejection`] as an error
//! response with its RFC 6750 / RFC 9449 challenges. The [`Verifier`] is read from the app
//! data (`App::new().app_data(web::Data::new(verifier))`). For DPoP the request's URL is the
//! configured `public_base_url` plus the path as actix sees it, never the `Host` header.

use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::{Authenticated, Rejection, Request, Verifier};

/// 400/401/403 with `WWW-Authenticate: Bearer …` (and `DPoP …`), or 503; the body is grantd's JSON error
/// (`{"error": …, "error_description": …}`), empty for a request without a token.
impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(challenge) = self.www_authenticate() {
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if let Some(nonce) = self.dpop_nonce() {
            response.insert_header(("DPoP-Nonce", nonce));
        }
        match self.body() {
            Some(body) => response.json(body),
            None => response.finish(),
        }
    }
}

fn verifier_of(req: &HttpRequest) -> Result<web::Data<Verifier>, actix_web::Error> {
    req.app_data::<web::Data<Verifier>>()
        .cloned()
        .ok_or_else(|| {
            tracing::error!("no grantd_resource_server::Verifier in the app data");
            actix_web::error::ErrorInternalServerError("the resource server is misconfigured")
        })
}

/// What the check reads of the request, owned (the check outlives the request borrow).
struct Parts {
    method: String,
    url: Option<String>,
    authorization: Vec<Vec<u8>>,
    dpop: Vec<Vec<u8>>,
}

fn parts_of(req: &HttpRequest, verifier: Option<&Verifier>) -> Parts {
    let values = |name| {
        req.headers()
            .get_all(name)
            .map(|v| v.as_bytes().to_vec())
            .collect()
    };
    Parts {
        method: req.method().as_str().to_owned(),
        url: verifier.and_then(|v| v.public_url(req.uri().path())),
        authorization: values(header::AUTHORIZATION),
        dpop: values(header::HeaderName::from_static("dpop")),
    }
}

async fn authenticate(
    verifier: web::Data<Verifier>,
    parts: Parts,
    required: &[&str],
) -> Result<Authenticated, Rejection> {
    let request = match &parts.url {
        Some(url) => Request::new(&parts.method, url),
        None => Request::without_url(&parts.method),
    }
    .authorization(parts.authorization.iter().map(Vec::as_slice))
    .dpop(parts.dpop.iter().map(Vec::as_slice));
    verifier.verify_request(&request, required).await
}

/// Extracts the verified token, with no scope required (use
/// [`Authenticated::require`] in the handler, or [`RequireScope`] around it). A
/// [`RequireScope`] that already verified the request hands its result on.
impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(done) = req.extensions().get::<Authenticated>().cloned() {
            return Box::pin(ready(Ok(done)));
        }
        let verifier = verifier_of(req);
        let parts = parts_of(req, verifier.as_ref().ok().map(|v| v.get_ref()));
        Box::pin(async move { Ok(authenticate(verifier?, parts, &[]).await?) })
    }
}

/// Middleware that lets a request through only with a valid token carrying every one of
/// these scopes, e.g. `web::scope("/admin").wrap(RequireScope::new(["admin"]))`. Others get
/// the RFC 6750 refusal; handlers inside may still extract [`Authenticated`] (verified once).
#[derive(Debug, Clone)]
pub struct RequireScope {
    scopes: Rc<[String]>,
}

impl RequireScope {
    pub fn new<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> Self {
        Self {
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireScope
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireScopeService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireScopeService {
            service: Rc::new(service),
            scopes: self.scopes.clone(),
        }))
    }
}

/// The service [`RequireScope`] wraps around the inner one.
pub struct RequireScopeService<S> {
    service: Rc<S>,
    scopes: Rc<[String]>,
}

impl<S, B> Service<ServiceRequest> for RequireScopeService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let required: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let earlier = req.extensions().get::<Authenticated>().cloned();
            let checked = match earlier {
                // An outer RequireScope verified the token already.
                Some(done) => done.require(&required).map(|()| done),
                None => {
                    let verifier = verifier_of(req.request())?;
                    let parts = parts_of(req.request(), Some(&verifier));
                    authenticate(verifier, parts, &required).await
                }
            };
            match checked {
                Ok(authenticated) => {
                    req.extensions_mut().insert(authenticated);
                    Ok(service.call(req).await?.map_into_left_body())
                }
                Err(rejection) => Ok(req
                    .into_response(rejection.error_response())
                    .map_into_right_body()),
            }
        })
    }
}
