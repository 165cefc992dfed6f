//! The token endpoint's error: one variant per RFC 6749 §5.2 code, plus storage failures.
//! No HTTP status here; the HTTP adapter maps each variant once.

use grantd_ports::StoreError;

use crate::ClientAuthError;

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Missing, repeated or malformed parameter (§5.2 `invalid_request`).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed (§5.2 `invalid_client`).
    #[error("invalid_client: {0}")]
    InvalidClient(ClientAuthError),
    /// The grant (password, code or refresh token) is invalid, expired, revoked or
    /// was issued to another client (§5.2 `invalid_grant`).
    #[error("invalid_grant: {0}")]
    InvalidGrant(&'static str),
    /// The client may not use this grant type (§5.2 `unauthorized_client`).
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    /// `grant_type` names no grant this server knows (§5.2 `unsupported_grant_type`).
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// Malformed scope, or more than the client or the grant allows (§5.2 `invalid_scope`).
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// Too many failed attempts for this username or client id: retry after the given
    /// number of seconds (HTTP 429).
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: i64 },
    /// The storage failed; the request may be retried (503) or is a bug (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TokenError {
    /// The RFC 6749 §5.2 `error` code. Storage failures have none of their own: the HTTP
    /// edge answers `temporarily_unavailable` or `server_error`.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient(ClientAuthError::Store(_)) => "temporarily_unavailable",
            TokenError::InvalidClient(ClientAuthError::TooManyAttempts { .. })
            | TokenError::TooManyAttempts { .. } => "too_many_requests",
            TokenError::InvalidClient(_) => "invalid_client",
            TokenError::InvalidGrant(_) => "invalid_grant",
            TokenError::UnauthorizedClient(_) => "unauthorized_client",
            TokenError::UnsupportedGrantType => "unsupported_grant_type",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::Store(StoreError::Unavailable(_)) => "temporarily_unavailable",
            TokenError::Store(_) => "server_error",
        }
    }

    /// A human-readable `error_description`, safe to send: it never carries internal
    /// text, and stays within §5.2's character set (%x20-21 / %x23-5B / %x5D-7E).
    pub fn description(&self) -> String {
        match self {
            TokenError::InvalidRequest(d) | TokenError::InvalidScope(d) => d.clone(),
            TokenError::InvalidClient(ClientAuthError::Store(_)) | TokenError::Store(StoreError::Unavailable(_)) => {
                "the service is temporarily unavailable, retry later".to_owned()
            }
            TokenError::InvalidClient(e) => e.description().to_owned(),
            TokenError::TooManyAttempts { .. } => "too many failed attempts, retry later".to_owned(),
            TokenError::InvalidGrant(d) | TokenError::UnauthorizedClient(d) => (*d).to_owned(),
            TokenError::UnsupportedGrantType => {
                "grant_type must be password, refresh_token, client_credentials or authorization_code".to_owned()
            }
            TokenError::Store(_) => "internal error".to_owned(),
        }
    }

    /// Seconds to wait when refused for too many failed attempts.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            TokenError::TooManyAttempts { retry_after }
            | TokenError::InvalidClient(ClientAuthError::TooManyAttempts { retry_after }) => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// The storage failure behind this error, if any.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            TokenError::Store(e) | TokenError::InvalidClient(ClientAuthError::Store(e)) => Some(e),
            _ => None,
        }
    }
}

impl From<ClientAuthError> for TokenError {
    fn from(e: ClientAuthError) -> Self {
        TokenError::InvalidClient(e)
    }
}
