//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4): the RFC 8414
//! document (`metadata::document`, the same fields from the same value) plus what an
//! OpenID Provider must add (§3). Served only when signing keys are configured, since
//! OpenID Connect is off without them; otherwise the JSON 404 of any unknown path.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::errors::OAuthError;
use crate::{metadata, HttpState};

pub async fn openid_configuration(state: web::Data<HttpState>) -> Result<HttpResponse, OAuthError> {
    let Some(ring) = state.keys.clone() else {
        return Ok(crate::not_found().await);
    };
    let configured = ring.settings().algorithm;
    // The published keys decide which algorithms may sign an id token now.
    let published = state.ops.blocking(move || ring.published()).await??;
    let Some(oidc) = state.metadata.openid(configured, &published) else {
        return Ok(crate::not_found().await);
    };
    let mut doc = metadata::document(&state.metadata);
    for (name, value) in [
        ("jwks_uri", json!(oidc.jwks_uri)),
        ("userinfo_endpoint", json!(oidc.userinfo_endpoint)),
        ("end_session_endpoint", json!(oidc.end_session_endpoint)),
        (
            "subject_types_supported",
            json!(oidc.subject_types_supported),
        ),
        (
            "id_token_signing_alg_values_supported",
            json!(oidc.id_token_signing_alg_values_supported),
        ),
        ("claims_supported", json!(oidc.claims_supported)),
        (
            "response_modes_supported",
            json!(oidc.response_modes_supported),
        ),
        (
            "claims_parameter_supported",
            json!(oidc.claims_parameter_supported),
        ),
        (
            "request_parameter_supported",
            json!(oidc.request_parameter_supported),
        ),
        (
            "request_uri_parameter_supported",
            json!(oidc.request_uri_parameter_supported),
        ),
    ] {
        doc.insert(name.to_owned(), value);
    }
    Ok(HttpResponse::Ok().json(Value::Object(doc)))
}
