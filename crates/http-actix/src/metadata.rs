//! `GET /.well-known/oauth-authorization-server` (RFC 8414). Its fields are written once,
//! in [`document`], which the OpenID Provider's document extends (`oidc::discovery`), so
//! the two cannot disagree.

use actix_web::{web, HttpResponse};
use grantd_domain::{ServerMetadata, AUTH_METHODS};
use serde_json::{json, Map, Value};

use crate::HttpState;

/// The RFC 8414 §2 document of `m`. The OpenID Connect endpoints (userinfo, logout) are
/// listed here too when they exist: RFC 8414 §2 allows any registered metadata, and a
/// client reading either document then finds the same endpoints.
pub(crate) fn document(m: &ServerMetadata) -> Map<String, Value> {
    let mut doc = Map::new();
    let mut put = |name: &str, value: Value| {
        doc.insert(name.to_owned(), value);
    };
    put("issuer", json!(m.issuer));
    put("authorization_endpoint", json!(m.authorization_endpoint));
    put("token_endpoint", json!(m.token_endpoint));
    put("revocation_endpoint", json!(m.revocation_endpoint));
    put("introspection_endpoint", json!(m.introspection_endpoint));
    put("grant_types_supported", json!(m.grant_types_supported));
    put(
        "response_types_supported",
        json!(m.response_types_supported),
    );
    put(
        "token_endpoint_auth_methods_supported",
        json!(m.token_endpoint_auth_methods_supported),
    );
    put(
        "revocation_endpoint_auth_methods_supported",
        json!(AUTH_METHODS),
    );
    put(
        "introspection_endpoint_auth_methods_supported",
        json!(["client_secret_basic", "client_secret_post"]),
    );
    put(
        "code_challenge_methods_supported",
        json!(m.code_challenge_methods_supported),
    );
    put("scopes_supported", json!(m.scopes_supported));
    for (name, uri) in [
        ("jwks_uri", &m.jwks_uri),
        ("userinfo_endpoint", &m.userinfo_endpoint),
        ("end_session_endpoint", &m.end_session_endpoint),
        ("registration_endpoint", &m.registration_endpoint),
    ] {
        if let Some(uri) = uri {
            put(name, json!(uri));
        }
    }
    if !m.dpop_signing_alg_values_supported.is_empty() {
        put(
            "dpop_signing_alg_values_supported",
            json!(m.dpop_signing_alg_values_supported),
        );
    }
    doc
}

pub async fn metadata(state: web::Data<HttpState>) -> HttpResponse {
    HttpResponse::Ok().json(Value::Object(document(&state.metadata)))
}
