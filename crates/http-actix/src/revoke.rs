//! `POST /oauth/revoke` (RFC 7009): 200 whether or not the token was known (§2.2), 503 on a
//! storage failure so the client knows the token may still exist (§2.2.1).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::{RevokeError, TokenTypeHint};

use crate::client_endpoint::authenticated;
use crate::errors::OAuthError;
use crate::HttpState;

pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> HttpResponse {
    let result = authenticated(&req, payload, &state, |service, client, form| {
        let token = form
            .require("token")
            .map_err(|e| OAuthError::invalid_request(e.0))?;
        // §2.2: an unknown hint value is ignored.
        let hint = form.get("token_type_hint").and_then(TokenTypeHint::parse);
        service.revoke(client, token, hint).map_err(|e| match e {
            RevokeError::UnsupportedTokenType => OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                "only access and refresh tokens can be revoked",
            ),
            RevokeError::Store(e) => OAuthError::from_store(&e),
        })
    })
    .await;
    match result {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("cache-control", "no-store"))
            .finish(),
        Err(e) => e.into_response(),
    }
}
