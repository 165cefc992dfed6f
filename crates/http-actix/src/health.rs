//! Health: `/healthz` (the process is alive), `/readyz` (it can reach its database and is
//! not shutting down), and the draining flag that shutdown sets first.

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::errors::OAuthError;
use crate::HttpState;

/// Set once shutdown has begun: `/readyz` answers 503 from then on, so that a load
/// balancer stops sending new requests while the in-flight ones finish.
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<HttpState>) -> Result<HttpResponse, OAuthError> {
    // Shutting down: not ready, whatever the database says.
    if state.ops.draining().is_draining() {
        return Err(OAuthError::unavailable());
    }
    // The ping blocks, but takes no permit: readiness must answer even when every permit
    // is taken.
    let readiness = state.readiness.clone();
    match web::block(move || readiness()).await {
        Ok(true) => Ok(HttpResponse::Ok().json(json!({ "status": "ready" }))),
        _ => Err(OAuthError::unavailable()),
    }
}
