//! `GET /api/me`, the sample protected resource (steps C–F of RFC 6749 §1.5): 200 with the
//! token's user (or client) and scope; 401 with a bare `Bearer realm` challenge when no
//! bearer token was presented, or 401 `invalid_token` for a token that is not good
//! (RFC 6750 §3, §3.1).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use grantd_domain::Presentation;
use grantd_ports::Subject;
use serde::Serialize;

use crate::errors::OAuthError;
use crate::HttpState;

#[derive(Serialize)]
struct Me {
    /// The user's id, or the client's id for a client credentials token.
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    client_id: String,
    scope: String,
    exp: i64,
    iat: i64,
}

pub async fn me(req: HttpRequest, state: web::Data<HttpState>) -> Result<HttpResponse, OAuthError> {
    let presented = presented_token(&req)?;
    let use_cases = state.use_cases.clone();
    let active = state
        .ops
        .blocking(move || {
            use_cases
                .bearer
                .check(&presented.token, presented.presentation())
        })
        .await??;
    let (sub, username) = match active.subject {
        Subject::User { id, username } => (id.to_string(), Some(username.to_string())),
        Subject::Client => (active.client_id.to_string(), None),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Me {
            sub,
            username,
            client_id: active.client_id.to_string(),
            scope: active.scope.to_delimited(),
            exp: active.expires_at,
            iat: active.issued_at,
        }))
}

/// An access token as the request presented it, with what a DPoP check needs.
pub(crate) struct PresentedToken {
    pub token: String,
    /// With the DPoP scheme: the `DPoP` header (if any), the method and the path.
    dpop: Option<(Option<String>, String, String)>,
}

impl PresentedToken {
    pub fn presentation(&self) -> Presentation<'_> {
        match &self.dpop {
            None => Presentation::Bearer,
            Some((proof, method, path)) => Presentation::Dpop {
                proof: proof.as_deref(),
                method,
                path,
            },
        }
    }
}

/// RFC 9449 §7.1: `Authorization: DPoP <token>` with (at most) one `DPoP` header, else
/// RFC 6750's bearer token ([`bearer_token`]).
pub(crate) fn presented_token(req: &HttpRequest) -> Result<PresentedToken, OAuthError> {
    let dpop_scheme = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("dpop"))
        .map(|(_, token)| token.trim().to_owned());
    let Some(token) = dpop_scheme else {
        return Ok(PresentedToken {
            token: bearer_token(req)?,
            dpop: None,
        });
    };
    if token.is_empty() {
        return Err(OAuthError::invalid_dpop_token());
    }
    let mut proofs = req.headers().get_all("dpop");
    let proof = proofs.next();
    if proofs.next().is_some() {
        return Err(OAuthError::invalid_resource_dpop_proof(
            "send exactly one DPoP header",
        ));
    }
    let proof = proof
        .map(|p| p.to_str().map(|p| p.trim().to_owned()))
        .transpose()
        .map_err(|_| OAuthError::invalid_resource_dpop_proof("the DPoP header is not text"))?;
    Ok(PresentedToken {
        token,
        dpop: Some((
            proof,
            req.method().as_str().to_owned(),
            req.path().to_owned(),
        )),
    })
}

/// RFC 6750 §2.1: `Authorization: Bearer <token>`; the scheme is case-insensitive. No
/// header, or another scheme (§3.1: "attempted using an unsupported authentication
/// method"), is a request without credentials; a Bearer header without a usable token is
/// an invalid token. The query-string method (§2.3, "SHOULD NOT be used") is not accepted.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(OAuthError::bearer_required());
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_token())?
        .trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(OAuthError::bearer_required());
    }
    match token.trim() {
        "" => Err(OAuthError::invalid_token()),
        token => Ok(token.to_owned()),
    }
}
