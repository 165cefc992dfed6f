//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use actix_web::{web, HttpResponse};
use grantd_domain::{ServerMetadata, AUTH_METHODS};
use serde_json::json;

use crate::HttpState;

pub async fn metadata(state: web::Data<HttpState>) -> HttpResponse {
    let m: &ServerMetadata = &state.metadata;
    let mut doc = json!({
        "issuer": m.issuer,
        "authorization_endpoint": m.authorization_endpoint,
        "token_endpoint": m.token_endpoint,
        "revocation_endpoint": m.revocation_endpoint,
        "introspection_endpoint": m.introspection_endpoint,
        "grant_types_supported": m.grant_types_supported,
        "response_types_supported": m.response_types_supported,
        "token_endpoint_auth_methods_supported": m.token_endpoint_auth_methods_supported,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": m.code_challenge_methods_supported,
        "scopes_supported": m.scopes_supported,
    });
    if let (Some(uri), Some(fields)) = (&m.jwks_uri, doc.as_object_mut()) {
        fields.insert("jwks_uri".into(), json!(uri));
    }
    HttpResponse::Ok().json(doc)
}
