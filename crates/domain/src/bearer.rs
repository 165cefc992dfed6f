//! The resource server's check (RFC 6750): is this bearer access token active, and on
//! whose behalf does it act?

use grantd_ports::{
    ClientId, GrantId, PlainToken, ScopeSet, StoreError, Subject, TokenKind, UnixTime,
};

use crate::PortSet;

/// What an active access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    pub client_id: ClientId,
    pub subject: Subject,
    pub scope: ScopeSet,
    pub grant_id: GrantId,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// Unknown, malformed, expired or revoked: RFC 6750 §3.1 `invalid_token`.
    #[error("invalid_token")]
    InvalidToken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks a presented access token: one indexed lookup by hash, then the rules.
pub fn check_access_token(ports: &PortSet, presented: &str) -> Result<ActiveToken, BearerError> {
    // A cheap shape check saves a database round trip for garbage.
    if !TokenKind::Access.is_well_formed(presented) {
        return Err(BearerError::InvalidToken);
    }
    let hash = PlainToken::from_presented(presented).hash();
    let state = ports
        .tokens
        .find_access_token(&hash)?
        .ok_or(BearerError::InvalidToken)?;
    let now = ports.clock.now();
    let token = &state.token;
    let active =
        token.revoked_at.is_none() && state.grant.revoked_at.is_none() && now < token.expires_at;
    if !active {
        return Err(BearerError::InvalidToken);
    }
    Ok(ActiveToken {
        client_id: state.grant.client_id,
        subject: state.grant.subject,
        scope: state.token.scope,
        grant_id: state.grant.id,
        issued_at: state.token.issued_at,
        expires_at: state.token.expires_at,
    })
}
