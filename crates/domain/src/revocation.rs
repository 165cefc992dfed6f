//! Token revocation (RFC 7009): a client revokes a token it holds. Revoking a refresh token
//! revokes its whole grant (§2.1 SHOULD); revoking an access token revokes that token. A
//! token that is unknown or belongs to another client is answered as success and
//! changes nothing (§2.2, §5: "the token being revoked must also belong to the
//! requesting client").

use grantd_ports::{Client, PlainToken, StoreError, TokenKind};

use crate::jwt_access::PresentedTokens;
use crate::PortSet;

/// `token_type_hint` (§2.1): a hint to look in the right table first, never trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

impl TokenTypeHint {
    /// An unknown hint value is ignored (§2.2).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "access_token" => Some(Self::AccessToken),
            "refresh_token" => Some(Self::RefreshToken),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    /// The token is of a kind this endpoint does not revoke (§2.2.1), e.g. a code.
    #[error("unsupported_token_type")]
    UnsupportedTokenType,
    /// The client must assume the token still exists and may retry (§2.2.1).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The revocation endpoint's use case (`POST /oauth/revoke`). The client is authenticated
/// first, by the shared [`ClientAuthenticator`](crate::ClientAuthenticator) (§2.1).
#[derive(Clone)]
pub struct RevokeEndpoint {
    ports: PortSet,
    tokens: PresentedTokens,
}

impl RevokeEndpoint {
    pub(crate) fn new(ports: PortSet, tokens: PresentedTokens) -> Self {
        Self { ports, tokens }
    }

    /// Revokes `presented` if `client` holds it. Blocking.
    pub fn revoke(
        &self,
        client: &Client,
        presented: &str,
        hint: Option<TokenTypeHint>,
    ) -> Result<(), RevokeError> {
        let ports = &self.ports;
        // A JWT access token is revoked through its recorded `jti`; one that does not
        // verify is an invalid token: success, nothing changes (§2.2).
        let Some(recorded) = self.tokens.recorded(presented)? else {
            return Ok(());
        };
        let presented = recorded.as_str();
        if [TokenKind::AuthorizationCode, TokenKind::ClientSecret]
            .iter()
            .any(|k| k.is_well_formed(presented))
        {
            return Err(RevokeError::UnsupportedTokenType);
        }
        let hash = PlainToken::from_presented(presented).hash();
        let now = ports.clock.now();
        // The token's own prefix says which table holds it; the hint only orders the lookups.
        let refresh_first = match hint {
            _ if TokenKind::Refresh.is_well_formed(presented) => true,
            _ if TokenKind::Access.is_well_formed(presented) => false,
            Some(TokenTypeHint::RefreshToken) => true,
            _ => false,
        };
        for refresh in [refresh_first, !refresh_first] {
            if refresh {
                if let Some(state) = ports.tokens.find_refresh_token(&hash)? {
                    if state.grant.client_id == client.id {
                        ports.tokens.revoke_grant(&state.grant.id, now)?;
                        tracing::info!(client_id = %client.id, grant_id = %state.grant.id, "grant revoked by its client");
                    }
                    return Ok(());
                }
            } else if let Some(state) = ports.tokens.find_access_token(&hash)? {
                if state.grant.client_id == client.id {
                    ports.tokens.revoke_access_token(&hash, now)?;
                }
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use grantd_ports::{StoreError, TokenKind};

    use super::*;
    use crate::test_support::*;

    fn revocation(d: Doubles) -> RevokeEndpoint {
        RevokeEndpoint::new(d.ports(), PresentedTokens::default())
    }

    #[test]
    fn revoking_a_refresh_token_revokes_its_grant() {
        let mut d = Doubles::new();
        d.tokens
            .expect_find_refresh_token()
            .returning(|_| Ok(Some(refresh_state("app"))));
        d.tokens
            .expect_revoke_grant()
            .withf(|id, _| id.as_str() == "g1")
            .times(1)
            .returning(|_, _| Ok(true));
        revocation(d)
            .revoke(&client("app", true), &presented_refresh(), None)
            .unwrap();
    }

    #[test]
    fn revoking_another_clients_token_changes_nothing() {
        let mut d = Doubles::new();
        d.tokens
            .expect_find_refresh_token()
            .returning(|_| Ok(Some(refresh_state("public"))));
        d.tokens.expect_revoke_grant().never();
        // The hint says access_token; the token's own shape wins, and it still answers Ok.
        revocation(d)
            .revoke(
                &client("app", true),
                &presented_refresh(),
                Some(TokenTypeHint::AccessToken),
            )
            .unwrap();
    }

    #[test]
    fn revoking_an_access_token_revokes_only_it() {
        let token = TokenKind::Access.encode(&[4; 32]);
        let mut d = Doubles::new();
        let state = access_state("app", &token);
        d.tokens
            .expect_find_access_token()
            .returning(move |_| Ok(Some(state.clone())));
        d.tokens
            .expect_revoke_access_token()
            .times(1)
            .returning(|_, _| Ok(true));
        d.tokens.expect_revoke_grant().never();
        revocation(d)
            .revoke(&client("app", true), token.expose(), None)
            .unwrap();
    }

    #[test]
    fn revoking_unknown_tokens_is_ok_and_codes_are_unsupported() {
        let mut d = Doubles::new();
        d.tokens.expect_find_refresh_token().returning(|_| Ok(None));
        d.tokens.expect_find_access_token().returning(|_| Ok(None));
        let revocation = revocation(d);
        assert!(revocation
            .revoke(&client("app", true), "whatever", None)
            .is_ok());
        let code = TokenKind::AuthorizationCode.encode(&[1; 32]);
        assert!(matches!(
            revocation.revoke(&client("app", true), code.expose(), None),
            Err(RevokeError::UnsupportedTokenType)
        ));
    }

    #[test]
    fn revocation_storage_failure_is_an_error_not_success() {
        let mut d = Doubles::new();
        d.tokens
            .expect_find_refresh_token()
            .returning(|_| Err(StoreError::Unavailable("down".into())));
        let err = revocation(d)
            .revoke(&client("app", true), &presented_refresh(), None)
            .unwrap_err();
        assert!(matches!(
            err,
            RevokeError::Store(StoreError::Unavailable(_))
        ));
    }
}
