//! Token revocation (RFC 7009): a client revokes a token it holds. Revoking a refresh token
//! revokes its whole grant (§2.1 SHOULD); revoking an access token revokes that token. A
//! token that is unknown or belongs to another client is answered as success and
//! changes nothing (§2.2, §5: "the token being revoked must also belong to the
//! requesting client").

use grantd_ports::{Client, PlainToken, StoreError, TokenKind};

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

/// Revokes `presented` if `client` holds it. Blocking.
pub fn revoke(
    ports: &PortSet,
    client: &Client,
    presented: &str,
    hint: Option<TokenTypeHint>,
) -> Result<(), RevokeError> {
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
