//! The resource server's check (RFC 6750): is this bearer access token active, and on
//! whose behalf does it act?

use grantd_ports::{
    ClientId, GrantId, PlainToken, ScopeSet, StoreError, Subject, TokenKind, UnixTime,
};

use crate::jwt_access::PresentedTokens;
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

/// The resource server's use case (`GET /api/me` and any protected resource).
#[derive(Clone)]
pub struct BearerCheck {
    ports: PortSet,
    tokens: PresentedTokens,
}

impl BearerCheck {
    pub(crate) fn new(ports: PortSet, tokens: PresentedTokens) -> Self {
        Self { ports, tokens }
    }

    /// Checks a presented access token: one indexed lookup by hash, then the rules.
    /// Blocking.
    pub fn check_access_token(&self, presented: &str) -> Result<ActiveToken, BearerError> {
        let ports = &self.ports;
        // A JWT access token (RFC 9068) leads to its record through its verified `jti`;
        // one that does not verify is as invalid as an unknown opaque token.
        let recorded = self
            .tokens
            .recorded(presented)?
            .ok_or(BearerError::InvalidToken)?;
        let presented = recorded.as_str();
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
        let active = token.revoked_at.is_none()
            && state.grant.revoked_at.is_none()
            && now < token.expires_at;
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
}

#[cfg(test)]
mod tests {
    use grantd_ports::{AccessToken, AccessTokenState, PlainToken, ScopeSet};

    use super::*;
    use crate::test_support::*;

    #[test]
    fn bearer_check_accepts_live_tokens_only() {
        let live = TokenKind::Access.encode(&[5; 32]);
        let state = |expires_at, revoked_at| {
            let s = refresh_state("app");
            AccessTokenState {
                token: AccessToken {
                    hash: live.hash(),
                    grant_id: s.grant.id.clone(),
                    scope: ScopeSet::parse("read").unwrap(),
                    audience: vec![],
                    issued_at: NOW - 10,
                    expires_at,
                    revoked_at,
                    dpop_jkt: None,
                },
                grant: s.grant,
            }
        };
        let cases = [
            (NOW + 10, None, true),
            (NOW, None, false),
            (NOW + 10, Some(NOW - 1), false),
        ];
        for (expires_at, revoked_at, active) in cases {
            let mut d = Doubles::new();
            let st = state(expires_at, revoked_at);
            d.tokens
                .expect_find_access_token()
                .returning(move |_| Ok(Some(st.clone())));
            let bearer = BearerCheck::new(d.ports(), PresentedTokens::default());
            assert_eq!(bearer.check_access_token(live.expose()).is_ok(), active);
        }
        let mut d = Doubles::new();
        d.tokens.expect_find_access_token().never();
        let bearer = BearerCheck::new(d.ports(), PresentedTokens::default());
        assert!(bearer
            .check_access_token(PlainToken::from_presented("junk").expose())
            .is_err());
    }
}
