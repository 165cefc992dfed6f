//! `POST /oauth/revoke` (RFC 7009): 200 whether or not the token was known (§2.2), 503 on a
//! storage failure so the client knows the token may still exist (§2.2.1).

use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::TokenTypeHint;

use crate::client_endpoint::authenticated;
use crate::errors::OAuthError;
use crate::HttpState;

pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    authenticated(&req, payload, &state, |use_cases, client, form| {
        // §2.2: an unknown hint value is ignored.
        let hint = form.get("token_type_hint").and_then(TokenTypeHint::parse);
        let token = form.require("token")?;
        Ok(use_cases.revocation.revoke(client, token, hint)?)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .finish())
}
