//! Token introspection (RFC 7662) for clients registered with the right to it (e.g.
//! resource servers). Anything not active is answered as just "inactive", without why
//! (§2.2).

use grantd_ports::{
    Client, ClientId, PlainToken, ScopeSet, StoreError, Subject, TokenKind, UnixTime,
};

use crate::jwt_access::PresentedTokens;
use crate::PortSet;

/// What an active token says (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub scope: ScopeSet,
    pub client_id: ClientId,
    pub subject: Subject,
    /// "Bearer" or "DPoP" (RFC 9449 §6.2) for access tokens, "refresh_token" for refresh
    /// tokens.
    pub token_type: &'static str,
    pub exp: UnixTime,
    pub iat: UnixTime,
    /// `aud`: an access token's recorded audience, a refresh token's grant's resources
    /// (RFC 8707); empty = none.
    pub aud: Vec<String>,
    /// `cnf.jkt` (RFC 9449 §6.2): the DPoP key a bound token (an access token, or a
    /// public client's refresh token) is for.
    pub cnf_jkt: Option<String>,
}

/// Why introspection was refused (an inactive token is not an error, §2.3).
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// The client is not registered with the introspection right (§2.1, §4).
    #[error("the client may not introspect tokens")]
    NotAllowed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The introspection endpoint's use case (`POST /oauth/introspect`). The client is
/// authenticated first, by the shared [`ClientAuthenticator`](crate::ClientAuthenticator).
#[derive(Clone)]
pub struct IntrospectEndpoint {
    ports: PortSet,
    tokens: PresentedTokens,
}

impl IntrospectEndpoint {
    pub(crate) fn new(ports: PortSet, tokens: PresentedTokens) -> Self {
        Self { ports, tokens }
    }

    /// Only for clients with the introspection right. `Ok(None)` = inactive. Blocking.
    pub fn introspect(
        &self,
        client: &Client,
        presented: &str,
    ) -> Result<Option<Introspection>, IntrospectError> {
        if !client.can_introspect {
            return Err(IntrospectError::NotAllowed);
        }
        // A JWT that does not verify is inactive (RFC 7662 §4: signature and expiry).
        let Some(recorded) = self.tokens.recorded(presented)? else {
            return Ok(None);
        };
        Ok(lookup(&self.ports, &recorded)?)
    }
}

/// `Ok(None)` = inactive: unknown, malformed, expired, consumed or revoked.
fn lookup(ports: &PortSet, presented: &str) -> Result<Option<Introspection>, StoreError> {
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
            token_type: if s.token.dpop_jkt.is_some() {
                "DPoP"
            } else {
                "Bearer"
            },
            exp: s.token.expires_at,
            iat: s.token.issued_at,
            aud: s.token.audience,
            cnf_jkt: s.token.dpop_jkt,
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
            aud: s.grant.resources.to_vec(),
            cnf_jkt: s.grant.dpop_jkt,
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use grantd_ports::TokenKind;

    use super::*;
    use crate::test_support::*;

    #[test]
    fn introspection_needs_the_right_and_reports_only_active_tokens() {
        let token = TokenKind::Access.encode(&[4; 32]);
        let mut d = Doubles::new();
        let state = access_state("app", &token);
        d.tokens
            .expect_find_access_token()
            .returning(move |_| Ok(Some(state.clone())));
        let mut consumed = refresh_state("app");
        consumed.token.consumed_at = Some(NOW - 1);
        d.tokens
            .expect_find_refresh_token()
            .returning(move |_| Ok(Some(consumed.clone())));
        let introspection = IntrospectEndpoint::new(d.ports(), PresentedTokens::default());

        assert!(matches!(
            introspection.introspect(&client("app", true), token.expose()),
            Err(IntrospectError::NotAllowed)
        ));
        let mut rs = client("rs", true);
        rs.can_introspect = true;
        let active = introspection
            .introspect(&rs, token.expose())
            .unwrap()
            .unwrap();
        assert_eq!(
            (active.token_type, active.client_id.as_str()),
            ("Bearer", "app")
        );
        assert!(
            introspection
                .introspect(&rs, &presented_refresh())
                .unwrap()
                .is_none(),
            "consumed = inactive"
        );
        assert!(introspection.introspect(&rs, "junk").unwrap().is_none());
    }
}
