//! Every error the HTTP surface sends: JSON `{"error", "error_description"}` with the
//! status and headers of RFC 6749 §5.2 and RFC 6750 §3. Domain and store errors are mapped
//! here, once; no internal text ever reaches a body.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use grantd_domain::{ClientAuthError, CredentialSource, TokenError};
use grantd_ports::StoreError;
use serde::Serialize;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 2;

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
}

impl OAuthError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            www_authenticate: None,
            retry_after: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// §5.2: 401, with `WWW-Authenticate` matching the scheme when the header was used.
    pub fn invalid_client(description: &str, source: Option<CredentialSource>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        if matches!(source, Some(CredentialSource::BasicHeader) | None) {
            e.www_authenticate = Some("Basic realm=\"grantd\", charset=\"UTF-8\"");
        }
        e
    }

    /// RFC 6750 §3.1: the bearer token is missing, unknown, expired or revoked.
    pub fn invalid_token() -> Self {
        let mut e = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is missing, invalid, expired or revoked",
        );
        e.www_authenticate = Some(
            "Bearer realm=\"grantd\", error=\"invalid_token\", error_description=\"the access token is missing, invalid, expired or revoked\"",
        );
        e
    }

    /// A storage failure: 503 + `Retry-After` when it may pass, else a bare 500.
    pub fn from_store(e: &StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => Self::unavailable(),
            _ => {
                tracing::error!(error = %e, "storage error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the service is temporarily unavailable, retry later",
        )
    }

    /// Maps a token endpoint error (RFC 6749 §5.2).
    pub fn from_token_error(e: &TokenError, source: Option<CredentialSource>) -> Self {
        if let Some(store) = e.store_error() {
            if let StoreError::Unavailable(reason) = store {
                tracing::warn!(%reason, "storage unavailable");
            }
            return Self::from_store(store);
        }
        if let Some(retry_after) = e.retry_after() {
            return Self::too_many_attempts(retry_after);
        }
        match e {
            TokenError::InvalidClient(ClientAuthError::Missing) => {
                Self::invalid_client(&e.description(), None)
            }
            TokenError::InvalidClient(_) => Self::invalid_client(&e.description(), source),
            _ => Self::new(StatusCode::BAD_REQUEST, e.code(), e.description()),
        }
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

    /// Maps a client authentication failure at any endpoint.
    pub fn from_client_auth(e: ClientAuthError, source: Option<CredentialSource>) -> Self {
        Self::from_token_error(&TokenError::InvalidClient(e), source)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn into_response(self) -> HttpResponse {
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
        if let Some(secs) = self.retry_after {
            builder.insert_header((header::RETRY_AFTER, secs.to_string()));
        } else if self.status == StatusCode::SERVICE_UNAVAILABLE {
            builder.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        let mut response = builder.json(Body {
            error: self.code,
            error_description: sanitise(&self.description),
        });
        response
            .extensions_mut()
            .insert(crate::ops::ErrorCodeLabel(self.code));
        response
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

    #[test]
    fn description_is_sanitised() {
        assert_eq!(sanitise("a\"b\\c\u{e9}"), "a?b?c?");
    }

    #[test]
    fn store_errors_map_to_503_or_500_never_an_oauth_denial() {
        let unavailable = OAuthError::from_token_error(
            &TokenError::Store(StoreError::Unavailable("x".into())),
            None,
        );
        assert_eq!(unavailable.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(unavailable.code(), "temporarily_unavailable");
        let auth = OAuthError::from_token_error(
            &TokenError::InvalidClient(ClientAuthError::Store(StoreError::Unavailable("x".into()))),
            Some(CredentialSource::BasicHeader),
        );
        assert_eq!(auth.status(), StatusCode::SERVICE_UNAVAILABLE);
        let other = OAuthError::from_token_error(
            &TokenError::Store(StoreError::Other("SELECT secret".into())),
            None,
        );
        assert_eq!(other.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!other.description.contains("SELECT"));
    }

    #[test]
    fn rfc_codes_and_statuses() {
        let cases = [
            (TokenError::InvalidGrant("x"), 400, "invalid_grant"),
            (
                TokenError::UnsupportedGrantType,
                400,
                "unsupported_grant_type",
            ),
            (TokenError::InvalidScope("x".into()), 400, "invalid_scope"),
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
        ];
        for (e, status, code) in cases {
            let mapped = OAuthError::from_token_error(&e, Some(CredentialSource::Body));
            assert_eq!((mapped.status().as_u16(), mapped.code()), (status, code));
        }
    }

    #[test]
    fn basic_failures_challenge_with_basic() {
        let e = OAuthError::invalid_client("x", Some(CredentialSource::BasicHeader));
        assert!(e.www_authenticate.is_some_and(|c| c.starts_with("Basic")));
        let e = OAuthError::invalid_client("x", Some(CredentialSource::Body));
        assert!(e.www_authenticate.is_none());
    }
}
