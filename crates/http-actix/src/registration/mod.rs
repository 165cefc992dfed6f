//! `POST /oauth/register` (RFC 7591 §3) and the client configuration endpoint
//! `/oauth/register/{client_id}` (RFC 7592 §2: GET, PUT, DELETE), served only with
//! `registration.enabled` (else the JSON 404, whatever the method). Each request's bearer
//! token is looked at before its body: without one that could be right, the answer is a
//! 401 with no body read and no blocking hop. Every decision is the domain's
//! (`RegistrationEndpoint`), in one blocking hop.

mod wire;

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use grantd_domain::dynamic_registration::{RegisteredClient, RegistrationEndpoint};
use grantd_ports::TokenKind;

use crate::errors::OAuthError;
use crate::resource::bearer_token;
use crate::HttpState;

/// The largest metadata document read (or `server.max_body_bytes`, if smaller): client
/// metadata is a few hundred bytes, and a registration is made by a token holder only.
const MAX_METADATA_BYTES: usize = 16 * 1024;

/// The endpoint, or the 404 of a server without registration.
fn enabled(state: &HttpState) -> Result<RegistrationEndpoint, OAuthError> {
    state
        .registration
        .clone()
        .ok_or_else(|| OAuthError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint"))
}

/// The bearer token, if it has the shape of a `kind` token; anything else is refused
/// here, before the body is read (RFC 6750 §3.1).
fn token_of(req: &HttpRequest, kind: TokenKind) -> Result<String, OAuthError> {
    let token = bearer_token(req)?;
    if !kind.is_well_formed(&token) {
        return Err(OAuthError::invalid_token());
    }
    Ok(token)
}

/// RFC 7591 §3.1: the body is `application/json`, at most [`MAX_METADATA_BYTES`].
async fn read_json(
    req: &HttpRequest,
    mut payload: web::Payload,
    state: &HttpState,
) -> Result<Vec<u8>, OAuthError> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(OAuthError::invalid_request(
            "the body must be application/json",
        ));
    }
    let limit = MAX_METADATA_BYTES.min(state.max_body_bytes);
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| OAuthError::invalid_request("the body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(OAuthError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("the body is larger than {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// RFC 7592 §1: the client configuration endpoint of a client.
fn configuration_uri(state: &HttpState, client_id: &str) -> String {
    let base = state
        .metadata
        .registration_endpoint
        .clone()
        .unwrap_or_else(|| format!("{}/oauth/register", state.metadata.issuer));
    format!("{base}/{client_id}")
}

/// The client information response, never cached (RFC 7591 §3.2.1 carries secrets).
fn respond(state: &HttpState, status: StatusCode, client: &RegisteredClient) -> HttpResponse {
    let uri = configuration_uri(state, client.client.id.as_str());
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(wire::client_information(client, &uri))
}

/// `POST /oauth/register`.
pub async fn register(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    let endpoint = enabled(&state)?;
    let token = token_of(&req, TokenKind::InitialAccess)?;
    let body = read_json(&req, payload, &state).await?;
    let registered = state
        .ops
        .blocking(move || endpoint.register_parsed(&token, || wire::registration_request(&body)))
        .await??;
    Ok(respond(&state, StatusCode::CREATED, &registered))
}

/// `GET /oauth/register/{client_id}` (RFC 7592 §2.1).
pub async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    let endpoint = enabled(&state)?;
    let token = token_of(&req, TokenKind::RegistrationAccess)?;
    let client_id = path.into_inner();
    let client = state
        .ops
        .blocking(move || endpoint.read(&client_id, &token))
        .await??;
    Ok(respond(&state, StatusCode::OK, &client))
}

/// `PUT /oauth/register/{client_id}` (RFC 7592 §2.2).
pub async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    let endpoint = enabled(&state)?;
    let token = token_of(&req, TokenKind::RegistrationAccess)?;
    let body = read_json(&req, payload, &state).await?;
    let client_id = path.into_inner();
    let client = state
        .ops
        .blocking(move || {
            endpoint.update_parsed(&client_id, &token, || wire::update_request(&body))
        })
        .await??;
    Ok(respond(&state, StatusCode::OK, &client))
}

/// `DELETE /oauth/register/{client_id}` (RFC 7592 §2.3): 204.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    let endpoint = enabled(&state)?;
    let token = token_of(&req, TokenKind::RegistrationAccess)?;
    let client_id = path.into_inner();
    state
        .ops
        .blocking(move || endpoint.delete(&client_id, &token))
        .await??;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Any other method: 405 with `Allow`, or the 404 of a server without registration.
pub async fn other_method(
    state: web::Data<HttpState>,
    allow: &'static str,
) -> Result<HttpResponse, OAuthError> {
    enabled(&state)?;
    Ok(crate::method_not_allowed(allow))
}
