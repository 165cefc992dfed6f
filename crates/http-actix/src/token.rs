//! `POST /oauth/token` (RFC 6749 §3.2, §4.3, §4.4, §6): parse strictly, hand the request to
//! the domain in one blocking hop, answer JSON with `Cache-Control: no-store`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse};
use grantd_domain::{GrantRequest, TokenError, TokenRequest, TokenResponse};
use serde::Serialize;

use crate::body::read_form;
use crate::client_credentials;
use crate::errors::OAuthError;
use crate::form::Form;
use crate::ops::GrantTypeLabel;
use crate::{source_address, HttpState};

#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    /// OpenID Connect Core §3.1.3.3.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

pub async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, OAuthError> {
    // First, before the body is read or a permit awaited: the request's own arrival, which
    // tells a refresh that raced a rotation from a replay sent after it (RFC 9700 §4.14.2).
    let arrived_at_ms = state.use_cases.token.arrival();
    let form = read_form(&req, payload, state.max_body_bytes).await?;
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let client = client_credentials::extract(authorization, &form)?;
    let dpop_proof = dpop_header(&req)?;
    let sent_proof = dpop_proof.is_some();
    let grant = grant_request(&form)?;
    let grant_type = grant.grant_type().as_str();
    req.extensions_mut().insert(GrantTypeLabel(grant_type));
    let source = client.as_ref().map(|c| c.source);
    let client_id = client
        .as_ref()
        .map(|c| c.id.to_string())
        .unwrap_or_default();

    let use_cases = state.use_cases.clone();
    let request = TokenRequest {
        client,
        grant,
        source_address: source_address::of(&req, &state.trusted_proxies),
        // RFC 8707 §2: any grant may name the resources the token is for.
        resources: form.all("resource").to_vec(),
        arrived_at_ms,
        dpop_proof,
    };
    let refused = |e: TokenError| {
        let refused = OAuthError::from(e).for_credentials(source);
        tracing::info!(
            grant_type,
            client_id,
            outcome = refused.code(),
            "token refused"
        );
        refused
    };
    // A flood of password guesses beyond the password-check permits is refused here, so
    // that it never waits for the blocking work that every other request needs.
    use_cases.token.admit(&request).map_err(refused)?;
    let response = state
        .ops
        .blocking(move || use_cases.token.respond(&request))
        .await?
        .map_err(refused)?;
    tracing::info!(grant_type, client_id, outcome = "issued", "token issued");
    let mut ok = success(&response);
    if sent_proof {
        crate::resource::add_dpop_nonce(&mut ok, &state);
    }
    Ok(ok)
}

/// The `DPoP` header (RFC 9449 §4.1): at most one, as text; two, or one that is not
/// visible ASCII, is `invalid_dpop_proof` (§4.3 check 1).
fn dpop_header(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let mut values = req.headers().get_all("dpop");
    let Some(first) = values.next() else {
        return Ok(None);
    };
    let refused = || {
        OAuthError::from(TokenError::InvalidDpopProof(
            "send exactly one DPoP header with one proof",
        ))
    };
    if values.next().is_some() {
        return Err(refused());
    }
    first
        .to_str()
        .map(|v| Some(v.trim().to_owned()))
        .map_err(|_| refused())
}

/// Splits the grant's parameters out of the form; a missing one is `invalid_request`.
fn grant_request(form: &Form) -> Result<GrantRequest, OAuthError> {
    let require = |name| form.require(name).map(str::to_owned);
    let scope = form.get("scope").map(str::to_owned);
    match form.require("grant_type")? {
        "password" => Ok(GrantRequest::Password {
            username: require("username")?,
            password: require("password")?,
            scope,
        }),
        "refresh_token" => Ok(GrantRequest::RefreshToken {
            refresh_token: require("refresh_token")?,
            scope,
        }),
        "client_credentials" => Ok(GrantRequest::ClientCredentials { scope }),
        // RFC 6749 §4.1.3; `code_verifier` from RFC 7636 §4.5.
        "authorization_code" => Ok(GrantRequest::AuthorizationCode {
            code: require("code")?,
            redirect_uri: form.get("redirect_uri").map(str::to_owned),
            code_verifier: form.get("code_verifier").map(str::to_owned),
        }),
        _ => Err(TokenError::UnsupportedGrantType.into()),
    }
}

/// §5.1: JSON, and "Cache-Control: no-store" and "Pragma: no-cache" on every token response.
fn success(r: &TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")))
        .json(TokenBody {
            access_token: r.access_token.expose(),
            token_type: r.token_type(),
            expires_in: r.expires_in,
            scope: r.scope.to_delimited(),
            refresh_token: r.refresh_token.as_ref().map(|t| t.expose()),
            id_token: r.id_token.as_ref().map(|t| t.expose()),
        })
}
