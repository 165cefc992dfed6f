//! The resource server's check (RFC 6750, RFC 9449 §7): is this access token active, was
//! it presented as its binding requires (a DPoP-bound token only with a proof of its key),
//! and on whose behalf does it act?

use grantd_ports::{
    ClientId, GrantId, PlainToken, ScopeSet, StoreError, Subject, TokenKind, UnixTime,
};

use crate::dpop::{DpopError, DpopProofs, ProofContext};
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
    /// A DPoP-bound token presented as a bearer token or with another key's proof, or an
    /// unbound token presented with the DPoP scheme (RFC 9449 §7.1 `invalid_token` with the
    /// DPoP challenge).
    #[error("invalid_token (DPoP)")]
    InvalidDpopToken,
    /// The DPoP proof is missing or fails a check of RFC 9449 §4.3 (`invalid_dpop_proof`).
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(&'static str),
    /// RFC 9449 §9: the proof needs the server's current nonce, which is this.
    #[error("use_dpop_nonce")]
    UseDpopNonce(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How an access token was presented: RFC 6750 §2.1's `Bearer`, or RFC 9449 §7.1's
/// `DPoP` with the request's proof (if any), method and path (for `htm` and `htu`).
#[derive(Debug, Clone, Copy)]
pub enum Presentation<'a> {
    Bearer,
    Dpop {
        proof: Option<&'a str>,
        method: &'a str,
        path: &'a str,
    },
}

/// The resource server's use case (`GET /api/me` and any protected resource).
#[derive(Clone)]
pub struct BearerCheck {
    ports: PortSet,
    tokens: PresentedTokens,
    dpop: Option<DpopProofs>,
}

impl BearerCheck {
    pub(crate) fn new(ports: PortSet, tokens: PresentedTokens) -> Self {
        Self {
            ports,
            tokens,
            dpop: None,
        }
    }

    pub(crate) fn with_dpop(mut self, dpop: Option<DpopProofs>) -> Self {
        self.dpop = dpop;
        self
    }

    /// Checks a bearer token (RFC 6750). Blocking.
    pub fn check_access_token(&self, presented: &str) -> Result<ActiveToken, BearerError> {
        self.check(presented, Presentation::Bearer)
    }

    /// Checks a presented access token: one indexed lookup by hash, then the rules, then
    /// the binding (RFC 9449 §7.1, §7.2). Blocking: a proof's `jti` is recorded.
    pub fn check(
        &self,
        presented: &str,
        presentation: Presentation<'_>,
    ) -> Result<ActiveToken, BearerError> {
        let as_presented = presented;
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
        self.check_binding(state.token.dpop_jkt.as_deref(), as_presented, presentation)?;
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

impl BearerCheck {
    /// RFC 9449 §7.2: a bound token "MUST" come with the DPoP scheme and a valid proof of
    /// its key (`ath` = this token's hash); a bound token shown as Bearer is refused, as is
    /// an unbound one under the DPoP scheme.
    fn check_binding(
        &self,
        bound: Option<&str>,
        token: &str,
        presentation: Presentation<'_>,
    ) -> Result<(), BearerError> {
        let (bound, proof, method, path) = match (bound, presentation) {
            (None, Presentation::Bearer) => return Ok(()),
            (None, Presentation::Dpop { .. }) | (Some(_), Presentation::Bearer) => {
                return Err(BearerError::InvalidDpopToken)
            }
            (
                Some(bound),
                Presentation::Dpop {
                    proof,
                    method,
                    path,
                },
            ) => (bound, proof, method, path),
        };
        let proof = proof.ok_or(BearerError::InvalidDpopProof("a DPoP proof is required"))?;
        let dpop = self
            .dpop
            .as_ref()
            .ok_or(BearerError::InvalidDpopProof("DPoP is not available here"))?;
        let context = ProofContext {
            method,
            url: &dpop.endpoint_url(path),
            access_token: Some(token),
        };
        let jkt = dpop.check(proof, &context).map_err(|e| match e {
            DpopError::Invalid(why) => BearerError::InvalidDpopProof(why),
            DpopError::UseNonce(nonce) => BearerError::UseDpopNonce(nonce),
            DpopError::Store(e) => BearerError::Store(e),
        })?;
        if jkt.as_str() != bound {
            return Err(BearerError::InvalidDpopToken);
        }
        Ok(())
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

    /// A live access token of `app`'s grant, bound to the test key `x` (or unbound).
    fn bearer_for(bound: Option<&str>) -> (PlainToken, BearerCheck) {
        let live = TokenKind::Access.encode(&[6; 32]);
        let mut st = access_state("app", &live);
        st.token.dpop_jkt = bound.map(test_jkt);
        let mut d = Doubles::new();
        d.tokens
            .expect_find_access_token()
            .returning(move |_| Ok(Some(st.clone())));
        let ath = crate::dpop::access_token_hash(live.expose());
        let dpop = dpop_proofs_for("GET", "https://as.example/api/me", Some(ath));
        let bearer = BearerCheck::new(d.ports(), PresentedTokens::default()).with_dpop(Some(dpop));
        (live, bearer)
    }

    fn dpop_at_me(proof: Option<&str>) -> Presentation<'_> {
        Presentation::Dpop {
            proof,
            method: "GET",
            path: "/api/me",
        }
    }

    #[test]
    fn a_bound_token_needs_the_dpop_scheme_and_a_proof_of_its_key() {
        let (token, bearer) = bearer_for(Some("eA"));
        assert!(bearer.check(token.expose(), dpop_at_me(Some("eA"))).is_ok());
        let refused = [
            (Presentation::Bearer, "as Bearer"),
            (dpop_at_me(Some("eB")), "another key"),
            (dpop_at_me(None), "no proof"),
        ];
        for (presentation, why) in refused {
            let err = bearer.check(token.expose(), presentation).unwrap_err();
            assert!(
                matches!(
                    err,
                    BearerError::InvalidDpopToken | BearerError::InvalidDpopProof(_)
                ),
                "{why}: {err:?}"
            );
        }
        assert!(matches!(
            bearer.check(token.expose(), Presentation::Bearer),
            Err(BearerError::InvalidDpopToken)
        ));
    }

    #[test]
    fn a_proof_for_another_resource_or_token_is_invalid_dpop_proof() {
        let (token, bearer) = bearer_for(Some("eA"));
        let elsewhere = Presentation::Dpop {
            proof: Some("eA"),
            method: "GET",
            path: "/oauth/userinfo",
        };
        assert!(matches!(
            bearer.check(token.expose(), elsewhere),
            Err(BearerError::InvalidDpopProof(_))
        ));
        let posted = Presentation::Dpop {
            proof: Some("eA"),
            method: "POST",
            path: "/api/me",
        };
        assert!(matches!(
            bearer.check(token.expose(), posted),
            Err(BearerError::InvalidDpopProof(_))
        ));
    }

    #[test]
    fn an_unbound_token_is_bearer_only() {
        let (token, bearer) = bearer_for(None);
        assert!(bearer.check(token.expose(), Presentation::Bearer).is_ok());
        assert!(matches!(
            bearer.check(token.expose(), dpop_at_me(Some("eA"))),
            Err(BearerError::InvalidDpopToken)
        ));
    }
}
