//! `GET`/`POST /oauth/userinfo` (OpenID Connect Core §5.3): the bearer token in the
//! `Authorization` header (RFC 6750 §2.1, as at `/api/me`; the form-body method of §2.2
//! is not accepted, there or here), the claims its scope releases as JSON. Errors are RFC
//! 6750's (§5.3.3): 401 `invalid_token`, 403 `insufficient_scope`. Every decision is the
//! domain's (`UserinfoEndpoint`).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::Userinfo;
use serde::Serialize;

use crate::errors::OAuthError;
use crate::resource::presented_token;
use crate::HttpState;

/// Core §5.3.2: claims without a value are left out, never null.
#[derive(Serialize)]
struct Body {
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

impl From<Userinfo> for Body {
    fn from(u: Userinfo) -> Self {
        Self {
            sub: u.sub,
            name: u.claims.name,
            preferred_username: u.claims.preferred_username,
            email: u.claims.email,
            email_verified: u.claims.email_verified,
        }
    }
}

/// Both methods: Core §5.3.1 says the endpoint "MUST support the use of the HTTP GET and
/// HTTP POST methods". A POST's body is not read.
pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    let presented = presented_token(&req)?;
    let dpop = presented.dpop.is_some();
    let use_cases = state.use_cases.clone();
    let info = state
        .ops
        .blocking(move || {
            use_cases
                .userinfo
                .respond_to(&presented.token, presented.presentation())
        })
        .await??;
    let mut ok = HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(Body::from(info));
    if dpop {
        crate::resource::add_dpop_nonce(&mut ok, &state);
    }
    Ok(ok)
}
