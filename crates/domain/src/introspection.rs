//! Token introspection (RFC 7662) for clients registered with the right to it (e.g.
//! resource servers). Anything not active is answered as just "inactive", without why
//! (§2.2).

use grantd_ports::{ClientId, PlainToken, ScopeSet, StoreError, Subject, TokenKind, UnixTime};

use crate::PortSet;

/// What an active token says (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub scope: ScopeSet,
    pub client_id: ClientId,
    pub subject: Subject,
    /// "Bearer" for access tokens, "refresh_token" for refresh tokens.
    pub token_type: &'static str,
    pub exp: UnixTime,
    pub iat: UnixTime,
}

/// `Ok(None)` = inactive: unknown, malformed, expired, consumed or revoked. Blocking.
pub fn introspect(ports: &PortSet, presented: &str) -> Result<Option<Introspection>, StoreError> {
    let now = ports.clock.now();
    let hash = PlainToken::from_presented(presented).hash();
    if TokenKind::Access.is_well_formed(presented) {
        let Some(s) = ports.tokens.find_access_token(&hash)? else {
            return Ok(None);
        };
        let active = s.token.revoked_at.is_none()
            && s.grant.revoked_at.is_none()
            && now < s.token.expires_at;
        return Ok(active.then_some(Introspection {
            scope: s.token.scope,
            client_id: s.grant.client_id,
            subject: s.grant.subject,
            token_type: "Bearer",
            exp: s.token.expires_at,
            iat: s.token.issued_at,
        }));
    }
    if TokenKind::Refresh.is_well_formed(presented) {
        let Some(s) = ports.tokens.find_refresh_token(&hash)? else {
            return Ok(None);
        };
        let active = s.token.consumed_at.is_none()
            && s.grant.revoked_at.is_none()
            && now < s.token.expires_at
            && s.grant.expires_at.is_none_or(|cap| now < cap);
        return Ok(active.then_some(Introspection {
            scope: s.grant.scope,
            client_id: s.grant.client_id,
            subject: s.grant.subject,
            token_type: "refresh_token",
            exp: s.token.expires_at,
            iat: s.token.issued_at,
        }));
    }
    Ok(None)
}
