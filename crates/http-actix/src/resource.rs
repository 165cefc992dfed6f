//! `GET /api/me`, the sample protected resource (steps C–F of RFC 6749 §1.5): 200 with the
//! token's user (or client) and scope; 401 with a bare `Bearer realm` challenge when no
//! bearer token was presented, 400 `invalid_request` for a malformed `Authorization`
//! header, or 401 `invalid_token` for a token that is not good (RFC 6750 §3, §3.1).

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
    let dpop = presented.dpop.is_some();
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
    let mut ok = HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Me {
            sub,
            username,
            client_id: active.client_id.to_string(),
            scope: active.scope.to_delimited(),
            exp: active.expires_at,
            iat: active.issued_at,
        });
    if dpop {
        add_dpop_nonce(&mut ok, &state);
    }
    Ok(ok)
}

/// RFC 9449 §8.2, §9: with nonces required, a successful response to a DPoP request
/// carries the next nonce, so the client can use it before the current one runs out.
pub(crate) fn add_dpop_nonce(response: &mut HttpResponse, state: &HttpState) {
    let Some(nonce) = state.use_cases.fresh_dpop_nonce() else {
        return;
    };
    if let Ok(value) = header::HeaderValue::from_str(&nonce) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static("dpop-nonce"), value);
    }
}

/// An access token as the request presented it, with what a DPoP check needs.
pub(crate) struct PresentedToken {
    pub token: String,
    /// With the DPoP scheme: the `DPoP` header (if any), the method and the path.
    pub dpop: Option<(Option<String>, String, String)>,
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

/// The longest access token read. grantd's JWTs are under 1 KiB; anything near this is not
/// one (the resource-server crate's limit too).
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The access token and its scheme from the `Authorization` header (RFC 6750 §2.1, RFC 9449
/// §7.1), by the same rules as the resource-server crate's `Credentials`:
///
/// - no header, or one of another scheme (e.g. Basic): a request without credentials
///   (§3.1: the bare challenge, no error code);
/// - more than one, not visible ASCII, or a `Bearer`/`DPoP` header whose token is empty,
///   too long or not a `b64token` (§2.1): a malformed request, §3.1 `invalid_request`
///   (400), not a token to look up.
///
/// The query-string method (§2.3, "SHOULD NOT be used") is not accepted.
fn authorization(req: &HttpRequest) -> Result<(bool, String), OAuthError> {
    let mut values = req.headers().get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(OAuthError::bearer_required());
    };
    if values.next().is_some() {
        return Err(OAuthError::malformed_authorization(
            "send one Authorization header",
            false,
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| {
            OAuthError::malformed_authorization("the Authorization header is not text", false)
        })?
        .trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    // RFC 7235 §2.1: the scheme is case-insensitive.
    let dpop = if scheme.eq_ignore_ascii_case("bearer") {
        false
    } else if scheme.eq_ignore_ascii_case("dpop") {
        true
    } else {
        return Err(OAuthError::bearer_required());
    };
    match token.trim() {
        "" => Err(OAuthError::malformed_authorization(
            "the Authorization header carries no token",
            dpop,
        )),
        token if token.len() > MAX_TOKEN_LEN || !is_b64token(token) => Err(
            OAuthError::malformed_authorization("the access token is malformed", dpop),
        ),
        token => Ok((dpop, token.to_owned())),
    }
}

/// A bearer token alone (RFC 6750 §2.1), for the endpoints that take no DPoP proof
/// (registration): the DPoP scheme there is a request without usable credentials.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String, OAuthError> {
    match authorization(req)? {
        (false, token) => Ok(token),
        (true, _) => Err(OAuthError::bearer_required()),
    }
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// RFC 9449 §7.1: `Authorization: DPoP <token>` with (at most) one `DPoP` header, else
/// RFC 6750's bearer token ([`authorization`]).
pub(crate) fn presented_token(req: &HttpRequest) -> Result<PresentedToken, OAuthError> {
    let (dpop, token) = authorization(req)?;
    if !dpop {
        return Ok(PresentedToken { token, dpop: None });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64tokens_follow_rfc_6750() {
        for good in ["gat_abc", "a.b.c==", "A-_~+/9"] {
            assert!(is_b64token(good), "{good}");
        }
        for bad in ["", "===", "a b", "a\"b", "a,b", "=a"] {
            assert!(!is_b64token(bad), "{bad}");
        }
    }
}
