//! The token endpoint's error: one variant per RFC 6749 §5.2 denial, plus storage failures.
//! No wire code, description or HTTP status here: the HTTP adapter maps each variant once.

use grantd_ports::StoreError;

use crate::{AuthenticateError, ChecksBusy, ClientAuthError};

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Missing, repeated or malformed parameter (§5.2 `invalid_request`).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// Client authentication failed (§5.2 `invalid_client`), or the client id is at its
    /// failure limit.
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
    /// A `resource` parameter is malformed, names no registered resource, or one its grant
    /// does not have (RFC 8707 §2 `invalid_target`).
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    /// The `DPoP` proof is missing where required, or fails a check of RFC 9449 §4.3
    /// (`invalid_dpop_proof`, §5).
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(&'static str),
    /// RFC 9449 §8: the proof needs the server's current nonce, which is this
    /// (`use_dpop_nonce`, sent back in `DPoP-Nonce`).
    #[error("use_dpop_nonce")]
    UseDpopNonce(String),
    /// Too many failed attempts for this username: retry after the given number of seconds.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: i64 },
    /// Every password-check permit is taken: retry later. Never a denial.
    #[error(transparent)]
    Busy(#[from] ChecksBusy),
    /// The storage failed; the request may be retried or is a bug. Never a denial.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ClientAuthError> for TokenError {
    fn from(e: ClientAuthError) -> Self {
        TokenError::InvalidClient(e)
    }
}

impl From<AuthenticateError> for TokenError {
    fn from(e: AuthenticateError) -> Self {
        match e {
            AuthenticateError::Denied(e) => TokenError::InvalidClient(e),
            AuthenticateError::Busy(e) => TokenError::Busy(e),
            AuthenticateError::Store(e) => TokenError::Store(e),
        }
    }
}
