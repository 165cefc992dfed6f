//! `/healthz` (the process is alive) and `/readyz` (it can reach its database).

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::errors::OAuthError;
use crate::HttpState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<HttpState>) -> HttpResponse {
    // Shutting down: not ready, whatever the database says.
    if state.ops.is_draining() {
        return OAuthError::unavailable().into_response();
    }
    let readiness = state.readiness.clone();
    match web::block(move || readiness()).await {
        Ok(true) => HttpResponse::Ok().json(json!({ "status": "ready" })),
        _ => OAuthError::unavailable().into_response(),
    }
}
