//! `GET /.well-known/jwks.json` (RFC 7517 §5): the published signing keys, as the domain's
//! `KeyRing` chooses them (pending keys ahead of use, retired keys until their tokens
//! expired). The `Cache-Control` max-age is shorter than `keys.publish_ahead`, so a cache
//! always learns a new key before it signs. Without signing keys the set is empty.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::errors::OAuthError;
use crate::HttpState;

pub async fn jwks(state: web::Data<HttpState>) -> Result<HttpResponse, OAuthError> {
    let Some(ring) = state.keys.clone() else {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .json(json!({ "keys": [] })));
    };
    let max_age = ring.settings().jwks_max_age();
    let published = state.ops.blocking(move || ring.published()).await??;
    // Each row's public JWK is the JSON object generated with the key: kid, alg, use and
    // the public members only. A row that does not parse is left out rather than served.
    let keys: Vec<Value> = published
        .iter()
        .filter_map(|k| serde_json::from_str(&k.public_jwk).ok())
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .json(json!({ "keys": keys })))
}
