//! `Authenticated`: what a verified access token says, whichever way it was checked.

use std::sync::Arc;

use crate::{Credentials, Reason, Rejection, Scheme, Scopes};

/// How the token was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFormat {
    /// An RFC 9068 JWT, verified against the issuer's JWKS.
    Jwt,
    /// An opaque token, answered by RFC 7662 introspection (perhaps from the cache).
    Introspected,
}

/// The token's subject and client, its scopes and lifetime, and the key it is bound to.
/// `non_exhaustive`: more claims may join.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Authenticated {
    /// `sub`: the user's opaque id, or the client's id for a client credentials token.
    pub sub: String,
    /// `client_id`: the client the token was issued to.
    pub client_id: String,
    /// `scope`.
    pub scope: Scopes,
    /// `exp`, when known (introspection may omit it).
    pub exp: Option<i64>,
    /// `iat`, when known.
    pub iat: Option<i64>,
    /// `username`, when introspection tells it (a JWT carries none).
    pub username: Option<String>,
    pub format: TokenFormat,
    pub scheme: Scheme,
    /// `cnf.jkt`: the RFC 7638 thumbprint of the key a DPoP-bound token is bound to (with
    /// [`Scheme::DPoP`], the key that signed the request's proof); `None` for a bearer token.
    pub jkt: Option<String>,
    /// Bound (`cnf`) in a way other than one `jkt` (e.g. mTLS), which this crate cannot check.
    pub(crate) other_binding: bool,
    /// The realm for the challenge of a later scope refusal ([`Authenticated::require`]).
    pub(crate) realm: Option<Arc<str>>,
    /// Whether that challenge lists DPoP too.
    pub(crate) dpop: bool,
}

impl Authenticated {
    /// Whether the token carries every scope of `required`.
    pub fn has_scopes(&self, required: &[&str]) -> bool {
        self.scope.missing(required).is_empty()
    }

    /// `Ok` if the token carries every scope of `required`, else the RFC 6750
    /// `insufficient_scope` refusal (403, naming the required scopes in its challenge).
    pub fn require(&self, required: &[&str]) -> Result<(), Rejection> {
        if self.has_scopes(required) {
            return Ok(());
        }
        let required = required.iter().map(|s| (*s).to_owned()).collect();
        Err(Rejection::from(Reason::InsufficientScope(required))
            .with_realm(self.realm.as_ref())
            .with_challenge(self.scheme, self.dpop))
    }

    pub(crate) fn presented_as(
        mut self,
        credentials: &Credentials,
        realm: Option<&Arc<str>>,
        dpop: bool,
    ) -> Self {
        self.scheme = credentials.scheme();
        self.realm = realm.cloned();
        self.dpop = dpop;
        self
    }

    /// Reads a `cnf` claim or member (RFC 7800): its `jkt`, and whether it binds otherwise.
    pub(crate) fn bind(mut self, cnf: Option<&serde_json::Value>) -> Self {
        let Some(cnf) = cnf else {
            return self;
        };
        let members = cnf.as_object();
        self.jkt = members
            .and_then(|m| m.get("jkt"))
            .and_then(|j| j.as_str())
            .map(str::to_owned);
        self.other_binding =
            members.is_none_or(|m| m.keys().any(|k| k != "jkt")) || self.jkt.is_none();
        self
    }
}
