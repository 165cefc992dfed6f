//! Every error the HTTP surface sends: JSON `{"error", "error_description"}` with the
//! status and headers of RFC 6749 §5.2, RFC 6750 §3, RFC 7009 §2.2.1 and RFC 7662 §2.1.
//! This is the one place that picks a wire code for a domain or store error, each through
//! a `From<...> for OAuthError`, so that handlers end in `?`; `ops` reports its refusals
//! as typed errors too ([`Busy`], [`HeadersTooLarge`]) and imports nothing from here. No
//! internal text ever reaches a body.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use grantd_domain::{
    AuthenticateError, BearerError, ChecksBusy, ClientAuthError, CredentialSource, IntrospectError,
    RevokeError, TokenError, UserinfoError,
};
use grantd_ports::StoreError;
use serde::Serialize;

use crate::form::FormError;
use crate::ops::{Busy, ErrorCodeLabel, HeadersTooLarge};

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 2;

/// §5.2: the challenge of a 401 `invalid_client` when the client used (or could have
/// used) the `Authorization` header.
const BASIC_CHALLENGE: &str = "Basic realm=\"grantd\", charset=\"UTF-8\"";

/// RFC 6750 §3: the challenge of a request that presented no bearer token at all (none,
/// or another scheme): the realm alone, since such a request "SHOULD NOT include an error
/// code or other error information" (§3.1).
const BEARER_REALM: &str = "Bearer realm=\"grantd\"";

/// RFC 6750 §3: the challenge of every refused bearer token.
const BEARER_CHALLENGE: &str = "Bearer realm=\"grantd\", error=\"invalid_token\", error_description=\"the access token is missing, invalid, expired or revoked\"";

/// RFC 6750 §3, §3.1: a good token that lacks the scope the resource needs, here `openid`
/// (OpenID Connect Core §5.3), named in the challenge's `scope`.
const OPENID_SCOPE_CHALLENGE: &str = "Bearer realm=\"grantd\", error=\"insufficient_scope\", error_description=\"the access token does not carry the openid scope for a user\", scope=\"openid\"";

/// RFC 9449 §7.1: the DPoP challenges, with the algorithms a proof may use
/// (`ProofAlgorithm::ALL`, what the metadata advertises).
const DPOP_TOKEN_CHALLENGE: &str = "DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"invalid_token\", error_description=\"the access token is invalid, or not presented with its DPoP key\"";
const DPOP_NONCE_CHALLENGE: &str = "DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"use_dpop_nonce\", error_description=\"send the DPoP proof again with the nonce in the DPoP-Nonce header\"";
/// RFC 6750 §3.1 `invalid_request` under each scheme: a malformed `Authorization` header.
const BEARER_REQUEST_CHALLENGE: &str = "Bearer realm=\"grantd\", error=\"invalid_request\", error_description=\"the Authorization header is malformed\"";
const DPOP_REQUEST_CHALLENGE: &str = "DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"invalid_request\", error_description=\"the Authorization header is malformed\"";
const DPOP_PROOF_CHALLENGE: &str = "DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"invalid_dpop_proof\", error_description=\"the DPoP proof is missing or invalid\"";

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: String,
}

/// An OAuth error response, ready to send.
#[derive(Debug)]
pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    www_authenticate: Option<&'static str>,
    retry_after: Option<i64>,
    /// RFC 9449 §8: the `DPoP-Nonce` to retry with.
    dpop_nonce: Option<String>,
}

impl OAuthError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            www_authenticate: None,
            retry_after: None,
            dpop_nonce: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// §5.2: 401, with `WWW-Authenticate` matching the scheme when the header was used.
    pub fn invalid_client(description: &str, source: Option<CredentialSource>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description).for_credentials(source)
    }

    /// RFC 6750 §3.1: the bearer token is missing, unknown, expired or revoked.
    pub fn invalid_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is missing, invalid, expired or revoked",
        );
        e.www_authenticate = Some(BEARER_CHALLENGE);
        e
    }

    /// RFC 6750 §3.1: 400 `invalid_request` at a resource, for an `Authorization` header
    /// that is repeated or malformed, challenged under the scheme it used (`dpop`).
    pub fn malformed_authorization(description: &'static str, dpop: bool) -> Self {
        let mut e = Self::invalid_request(description);
        e.www_authenticate = Some(if dpop {
            DPOP_REQUEST_CHALLENGE
        } else {
            BEARER_REQUEST_CHALLENGE
        });
        e
    }

    /// RFC 9449 §7.1: 401 `invalid_token` with the DPoP challenge: a bound token shown as
    /// Bearer or with another key, or an unbound one under the DPoP scheme.
    pub fn invalid_dpop_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is invalid, or not presented with its DPoP key",
        );
        e.www_authenticate = Some(DPOP_TOKEN_CHALLENGE);
        e
    }

    /// RFC 9449 §7.1: 401 `invalid_dpop_proof` at a resource.
    pub fn invalid_resource_dpop_proof(description: &str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_dpop_proof", description);
        e.www_authenticate = Some(DPOP_PROOF_CHALLENGE);
        e
    }

    /// RFC 9449 §8: `use_dpop_nonce` with the nonce to use, 400 at the token endpoint,
    /// 401 with the DPoP challenge (§9) at a resource.
    pub fn use_dpop_nonce(nonce: String, at_resource: bool) -> Self {
        let description = "send the DPoP proof again with the nonce in the DPoP-Nonce header";
        let mut e = if at_resource {
            let mut e = Self::new(StatusCode::UNAUTHORIZED, "use_dpop_nonce", description);
            e.www_authenticate = Some(DPOP_NONCE_CHALLENGE);
            e
        } else {
            Self::new(StatusCode::BAD_REQUEST, "use_dpop_nonce", description)
        };
        e.dpop_nonce = Some(nonce);
        e
    }

    /// RFC 6750 §3.1: 403 `insufficient_scope`, the token lacks `openid` (or acts for no
    /// user).
    pub fn insufficient_openid_scope() -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the access token does not carry the openid scope for a user",
        );
        e.www_authenticate = Some(OPENID_SCOPE_CHALLENGE);
        e
    }

    /// RFC 6750 §3, §3.1: a protected resource was asked for with no credentials: 401 with
    /// the bare challenge, and no error code anywhere (so no body either).
    pub fn bearer_required() -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "", "");
        e.www_authenticate = Some(BEARER_REALM);
        e
    }

    /// 503 + `Retry-After`: the database or the blocking-work permits are out of reach for
    /// now; the request may be retried.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the service is temporarily unavailable, retry later",
        )
    }

    /// Brute-force protection: 429 with `Retry-After`.
    pub fn too_many_attempts(retry_after: i64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "too many failed attempts, retry later",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// §5.2: an `invalid_client` answers in the scheme the client used: with the Basic
    /// header (or no credentials at all) the 401 carries a Basic challenge, with
    /// credentials in the body it carries none. Other errors are left as they are.
    pub fn for_credentials(mut self, source: Option<CredentialSource>) -> Self {
        if self.code == "invalid_client" {
            self.www_authenticate = matches!(source, Some(CredentialSource::BasicHeader) | None)
                .then_some(BASIC_CHALLENGE);
        }
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn into_response(self) -> HttpResponse {
        self.error_response()
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.code.is_empty() {
            return f.write_str("authentication required");
        }
        write!(f, "{}: {}", self.code, sanitise(&self.description))
    }
}

/// Lets handlers return `Result<HttpResponse, OAuthError>` and end in `?`.
impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        builder
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if let Some(challenge) = self.www_authenticate {
            builder.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        if let Some(nonce) = &self.dpop_nonce {
            builder.insert_header(("DPoP-Nonce", nonce.clone()));
        }
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            builder.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        if self.code.is_empty() {
            // No error to tell (RFC 6750 §3.1): the challenge says what is needed.
            return builder.finish();
        }
        let mut response = builder.json(Body {
            error: self.code,
            error_description: sanitise(&self.description),
        });
        response.extensions_mut().insert(ErrorCodeLabel(self.code));
        response
    }
}

/// A storage failure is never an OAuth denial: 503 + `Retry-After` when it may pass
/// (`Unavailable`), else a bare 500. The reason goes to the log, never to the body.
impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        log_store_failure(&e);
        match e {
            StoreError::Unavailable(_) => Self::unavailable(),
            _ => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            ),
        }
    }
}

/// Logs a storage failure once, at the edge: an outage as a warning, anything else (a bug
/// or a broken schema) as an error. Shared with the authorization pages.
pub(crate) fn log_store_failure(e: &StoreError) {
    match e {
        StoreError::Unavailable(reason) => tracing::warn!(%reason, "storage unavailable"),
        _ => tracing::error!(error = %e, "storage error"),
    }
}

/// No permit for blocking work in time: the same 503 as an outage.
impl From<Busy> for OAuthError {
    fn from(_: Busy) -> Self {
        Self::unavailable()
    }
}

/// Every password-check permit is taken (the flood of guesses is refused, not queued): the
/// same 503 as an outage, never an `invalid_*` denial.
impl From<ChecksBusy> for OAuthError {
    fn from(_: ChecksBusy) -> Self {
        Self::unavailable()
    }
}

/// RFC 6585 §5: the headers are over the limit; answered before any handler runs.
impl From<HeadersTooLarge> for OAuthError {
    fn from(_: HeadersTooLarge) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "invalid_request",
            "the request headers are too large",
        )
    }
}

/// Lets the middleware answer an oversized request without knowing the error format.
impl ResponseError for HeadersTooLarge {
    fn status_code(&self) -> StatusCode {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    }

    fn error_response(&self) -> HttpResponse {
        OAuthError::from(*self).error_response()
    }
}

/// A malformed form or query: `invalid_request` with the parser's (safe) message.
impl From<FormError> for OAuthError {
    fn from(e: FormError) -> Self {
        Self::invalid_request(e.0)
    }
}

/// §5.2 `invalid_client`, one description for every reason but a missing credential (the
/// reason is for logs only); the client id's failure limit is 429. The challenge assumes
/// the Basic header; [`OAuthError::for_credentials`] corrects it for body credentials.
impl From<ClientAuthError> for OAuthError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::TooManyAttempts { retry_after } => {
                Self::too_many_attempts(retry_after)
            }
            ClientAuthError::Missing => {
                Self::invalid_client("client authentication is required", None)
            }
            ClientAuthError::UnknownClient
            | ClientAuthError::WrongSecret
            | ClientAuthError::SecretRequired
            | ClientAuthError::UnexpectedSecret => {
                Self::invalid_client("client authentication failed", None)
            }
        }
    }
}

impl From<AuthenticateError> for OAuthError {
    fn from(e: AuthenticateError) -> Self {
        match e {
            AuthenticateError::Denied(e) => e.into(),
            AuthenticateError::Busy(e) => e.into(),
            AuthenticateError::Store(e) => e.into(),
        }
    }
}

/// The token endpoint (RFC 6749 §5.2): every denial is a 400 with its code, but client
/// authentication (401) and the failure limits (429).
impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        let bad_request =
            |code, description: String| Self::new(StatusCode::BAD_REQUEST, code, description);
        match e {
            TokenError::InvalidRequest(d) => bad_request("invalid_request", d),
            TokenError::InvalidClient(e) => e.into(),
            TokenError::InvalidGrant(d) => bad_request("invalid_grant", d.to_owned()),
            TokenError::UnauthorizedClient(d) => bad_request("unauthorized_client", d.to_owned()),
            TokenError::UnsupportedGrantType => bad_request(
                "unsupported_grant_type",
                "grant_type must be password, refresh_token, client_credentials or authorization_code"
                    .to_owned(),
            ),
            TokenError::InvalidScope(d) => bad_request("invalid_scope", d),
            // RFC 8707 §2: "HTTP 400 (Bad Request) status code".
            TokenError::InvalidTarget(d) => bad_request("invalid_target", d),
            // RFC 9449 §5: "invalid_dpop_proof", a 400 like any token-endpoint denial.
            TokenError::InvalidDpopProof(d) => bad_request("invalid_dpop_proof", d.to_owned()),
            TokenError::UseDpopNonce(nonce) => Self::use_dpop_nonce(nonce, false),
            TokenError::TooManyAttempts { retry_after } => Self::too_many_attempts(retry_after),
            TokenError::Busy(e) => e.into(),
            TokenError::Store(e) => e.into(),
        }
    }
}

/// RFC 7009 §2.2.1: an unrevocable kind is `unsupported_token_type`; a storage failure
/// is 503 so that the client knows the token may still be valid.
impl From<RevokeError> for OAuthError {
    fn from(e: RevokeError) -> Self {
        match e {
            RevokeError::UnsupportedTokenType => Self::new(
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                "only access and refresh tokens can be revoked",
            ),
            RevokeError::Store(e) => e.into(),
        }
    }
}

/// RFC 7662 §2.1: introspection is for clients registered with the right to it.
impl From<IntrospectError> for OAuthError {
    fn from(e: IntrospectError) -> Self {
        match e {
            IntrospectError::NotAllowed => Self::new(
                StatusCode::FORBIDDEN,
                "unauthorized_client",
                "this client is not registered to introspect tokens",
            ),
            IntrospectError::Store(e) => e.into(),
        }
    }
}

/// RFC 6750 §3.1: every refused bearer token gets the same `invalid_token` challenge.
impl From<BearerError> for OAuthError {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::InvalidToken => Self::invalid_token(),
            BearerError::InvalidDpopToken => Self::invalid_dpop_token(),
            BearerError::InvalidDpopProof(d) => Self::invalid_resource_dpop_proof(d),
            BearerError::UseDpopNonce(nonce) => Self::use_dpop_nonce(nonce, true),
            BearerError::Store(e) => e.into(),
        }
    }
}

/// OpenID Connect Core §5.3.3: userinfo errors are RFC 6750's.
impl From<UserinfoError> for OAuthError {
    fn from(e: UserinfoError) -> Self {
        match e {
            UserinfoError::InvalidToken => Self::invalid_token(),
            UserinfoError::InvalidDpopToken => Self::invalid_dpop_token(),
            UserinfoError::InvalidDpopProof(d) => Self::invalid_resource_dpop_proof(d),
            UserinfoError::UseDpopNonce(nonce) => Self::use_dpop_nonce(nonce, true),
            UserinfoError::InsufficientScope => Self::insufficient_openid_scope(),
            UserinfoError::Store(e) => e.into(),
        }
    }
}

/// RFC 7591 §3.2.2 and RFC 7592 §3: metadata errors are 400 with their own codes; a
/// missing, unknown or other client's token is RFC 6750's 401 `invalid_token`.
impl From<grantd_domain::dynamic_registration::RegisterError> for OAuthError {
    fn from(e: grantd_domain::dynamic_registration::RegisterError) -> Self {
        use grantd_domain::dynamic_registration::{MetadataError, RegisterError};
        match e {
            RegisterError::InvalidToken => Self::invalid_token(),
            RegisterError::Metadata(MetadataError::InvalidRedirectUri(d)) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_redirect_uri", d)
            }
            RegisterError::Metadata(MetadataError::InvalidClientMetadata(d)) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_client_metadata", d)
            }
            RegisterError::Store(e) => e.into(),
        }
    }
}

/// A key operation behind the JWKS or a JWT: storage maps as always; a key that does not
/// open (a wrong `keys.encryption_key`) or fails to sign is the operator's problem, a 500.
impl From<grantd_domain::KeyError> for OAuthError {
    fn from(e: grantd_domain::KeyError) -> Self {
        match e {
            grantd_domain::KeyError::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "signing key failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }
}

/// §5.2: `error_description` is limited to %x20-21 / %x23-5B / %x5D-7E.
fn sanitise(s: &str) -> String {
    s.chars()
        .map(|c| {
            if (' '..='~').contains(&c) && c != '"' && c != '\\' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(e: impl Into<OAuthError>) -> (u16, &'static str) {
        let e = e.into();
        (e.status().as_u16(), e.code())
    }

    #[test]
    fn description_is_sanitised() {
        assert_eq!(sanitise("a\"b\\c\u{e9}"), "a?b?c?");
    }

    #[test]
    fn store_errors_map_to_503_or_500_never_an_oauth_denial() {
        let unavailable = OAuthError::from(TokenError::Store(StoreError::Unavailable("x".into())));
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.code(), "temporarily_unavailable");
        // An outage while authenticating the client is an outage, not invalid_client.
        let auth = OAuthError::from(AuthenticateError::Store(StoreError::Unavailable(
            "x".into(),
        )))
        .for_credentials(Some(CredentialSource::BasicHeader));
        assert_eq!(auth.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(auth.code(), "temporarily_unavailable");
        assert!(auth.www_authenticate.is_none());
        // So is a full password-check pool, at the Basic header too: no challenge.
        let busy = OAuthError::from(AuthenticateError::Busy(ChecksBusy))
            .for_credentials(Some(CredentialSource::BasicHeader));
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.code(), "temporarily_unavailable");
        assert!(busy.www_authenticate.is_none());
        assert!(
            busy.retry_after.is_none(),
            "the default Retry-After is added when sent"
        );
        let other = OAuthError::from(TokenError::Store(StoreError::Other("SELECT secret".into())));
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(other.code(), "server_error");
        assert!(!other.description.contains("SELECT"));
        for e in [
            OAuthError::from(RevokeError::Store(StoreError::Unavailable("x".into()))),
            OAuthError::from(IntrospectError::Store(StoreError::Unavailable("x".into()))),
            OAuthError::from(BearerError::Store(StoreError::Unavailable("x".into()))),
            OAuthError::from(UserinfoError::Store(StoreError::Unavailable("x".into()))),
            OAuthError::from(Busy),
            OAuthError::from(TokenError::Busy(ChecksBusy)),
        ] {
            assert_eq!(
                (e.status().as_u16(), e.code()),
                (503, "temporarily_unavailable")
            );
        }
    }

    #[test]
    fn rfc_codes_and_statuses() {
        let cases = [
            (TokenError::InvalidGrant("x"), 400, "invalid_grant"),
            (TokenError::InvalidDpopProof("x"), 400, "invalid_dpop_proof"),
            (
                TokenError::UnsupportedGrantType,
                400,
                "unsupported_grant_type",
            ),
            (TokenError::InvalidScope("x".into()), 400, "invalid_scope"),
            (TokenError::InvalidTarget("x".into()), 400, "invalid_target"),
            (
                TokenError::UnauthorizedClient("x"),
                400,
                "unauthorized_client",
            ),
            (
                TokenError::InvalidRequest("x".into()),
                400,
                "invalid_request",
            ),
            (
                TokenError::InvalidClient(ClientAuthError::WrongSecret),
                401,
                "invalid_client",
            ),
            (
                TokenError::InvalidClient(ClientAuthError::Missing),
                401,
                "invalid_client",
            ),
            (
                TokenError::TooManyAttempts { retry_after: 5 },
                429,
                "too_many_requests",
            ),
            (
                TokenError::InvalidClient(ClientAuthError::TooManyAttempts { retry_after: 5 }),
                429,
                "too_many_requests",
            ),
        ];
        for (e, status, code) in cases {
            let mapped = OAuthError::from(e).for_credentials(Some(CredentialSource::Body));
            assert_eq!((mapped.status().as_u16(), mapped.code()), (status, code));
        }
        assert_eq!(
            wire(RevokeError::UnsupportedTokenType),
            (400, "unsupported_token_type")
        );
        assert_eq!(
            wire(IntrospectError::NotAllowed),
            (403, "unauthorized_client")
        );
        assert_eq!(wire(BearerError::InvalidToken), (401, "invalid_token"));
        // RFC 9449 §7.1: DPoP refusals challenge with the DPoP scheme and its algorithms.
        for (e, code) in [
            (BearerError::InvalidDpopToken, "invalid_token"),
            (BearerError::InvalidDpopProof("x"), "invalid_dpop_proof"),
        ] {
            let e = OAuthError::from(e);
            assert_eq!((e.status().as_u16(), e.code()), (401, code));
            assert!(e.www_authenticate.is_some_and(
                |c| c.starts_with("DPoP algs=") && c.contains(&format!("error=\"{code}\""))
            ));
        }
        assert_eq!(
            wire(UserinfoError::InvalidDpopToken),
            (401, "invalid_token")
        );
        // RFC 9449 §8, §9: the nonce travels in DPoP-Nonce, 400 at the token endpoint and
        // 401 with the DPoP challenge at a resource.
        let at_token = OAuthError::from(TokenError::UseDpopNonce("n1".into())).error_response();
        assert_eq!(at_token.status(), 400);
        assert_eq!(at_token.headers().get("dpop-nonce").unwrap(), "n1");
        let at_resource = OAuthError::from(BearerError::UseDpopNonce("n2".into())).error_response();
        assert_eq!(at_resource.status(), 401);
        assert_eq!(at_resource.headers().get("dpop-nonce").unwrap(), "n2");
        assert!(at_resource
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("error=\"use_dpop_nonce\""));
        assert_eq!(wire(UserinfoError::InvalidToken), (401, "invalid_token"));
        assert_eq!(
            wire(UserinfoError::InsufficientScope),
            (403, "insufficient_scope")
        );
        assert!(OAuthError::from(UserinfoError::InsufficientScope)
            .www_authenticate
            .is_some_and(
                |c| c.contains("error=\"insufficient_scope\"") && c.contains("scope=\"openid\"")
            ));
        assert_eq!(
            wire(FormError("parameter x is repeated".into())),
            (400, "invalid_request")
        );
        assert_eq!(wire(HeadersTooLarge), (431, "invalid_request"));
    }

    #[test]
    fn descriptions_say_no_more_than_the_rfc_needs() {
        let missing = OAuthError::from(ClientAuthError::Missing);
        assert_eq!(missing.description, "client authentication is required");
        for reason in [
            ClientAuthError::UnknownClient,
            ClientAuthError::WrongSecret,
            ClientAuthError::SecretRequired,
            ClientAuthError::UnexpectedSecret,
        ] {
            assert_eq!(
                OAuthError::from(reason).description,
                "client authentication failed"
            );
        }
        let limited = OAuthError::from(TokenError::TooManyAttempts { retry_after: 0 });
        assert_eq!(limited.retry_after, Some(1));
        assert_eq!(limited.description, "too many failed attempts, retry later");
    }

    #[test]
    fn no_bearer_credentials_get_the_bare_challenge_and_no_error_code() {
        // RFC 6750 §3.1: no error code, nor any other error information.
        let e = OAuthError::bearer_required();
        assert_eq!(e.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(e.www_authenticate, Some("Bearer realm=\"grantd\""));
        let response = e.error_response();
        assert!(response.extensions().get::<ErrorCodeLabel>().is_none());
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(!challenge.contains("error"), "{challenge}");
        // A refused token keeps its error code, with the realm.
        let refused = OAuthError::invalid_token();
        assert!(refused
            .www_authenticate
            .is_some_and(|c| c.starts_with("Bearer realm=\"grantd\", error=\"invalid_token\"")));
    }

    #[test]
    fn basic_failures_challenge_with_basic() {
        let e = OAuthError::invalid_client("x", Some(CredentialSource::BasicHeader));
        assert!(e.www_authenticate.is_some_and(|c| c.starts_with("Basic")));
        let e = OAuthError::invalid_client("x", Some(CredentialSource::Body));
        assert!(e.www_authenticate.is_none());
        let e = OAuthError::from(ClientAuthError::Missing).for_credentials(None);
        assert!(e.www_authenticate.is_some_and(|c| c.starts_with("Basic")));
        // Only invalid_client is touched: a bearer challenge stays.
        let e = OAuthError::invalid_token().for_credentials(Some(CredentialSource::Body));
        assert!(e.www_authenticate.is_some_and(|c| c.starts_with("Bearer")));
    }
}
