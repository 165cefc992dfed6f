//! `POST /admin/prune`: one prune now, as `grantd prune` and the periodic housekeeper run
//! it (the store's `Housekeeping` port decides what may go).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::hop::{self, Written};
use super::problem::Problem;
use crate::HttpState;

/// What a prune deleted.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "grants": 3, "access_tokens": 12, "refresh_tokens": 4, "authorization_codes": 1,
    "auth_failures": 0, "dpop_jtis": 0
}))]
pub(crate) struct PruneOut {
    pub grants: u64,
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub authorization_codes: u64,
    pub auth_failures: u64,
    pub dpop_jtis: u64,
}

#[utoipa::path(post, path = "/admin/prune", tag = "prune",
    responses((status = 200, body = PruneOut), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub(crate) async fn prune(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let out = hop::write(&state, &req, "prune.run", "-", |a| {
        let r = a.housekeeping.prune(a.ports.clock.now(), a.prune_pace)?;
        Ok(Written::new(
            PruneOut {
                grants: r.grants,
                access_tokens: r.access_tokens,
                refresh_tokens: r.refresh_tokens,
                authorization_codes: r.authorization_codes,
                auth_failures: r.auth_failures,
                dpop_jtis: r.dpop_jtis,
            },
            "-",
        ))
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
