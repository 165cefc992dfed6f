//! JWT access tokens (RFC 9068): which format a client's access tokens take, the claims a
//! JWT access token carries, and how a presented JWT becomes the `jti` that grantd
//! recorded. grantd records every access token by the hash of its `jti` (the opaque token
//! it would otherwise have handed out), so introspection, revocation, `/api/me` and grant
//! revocation treat both formats alike; the JWT only lets a resource server verify offline.

use std::sync::Arc;

use grantd_ports::{
    AccessTokenClaims, Client, IdTokenClaims, JwtExpectations, JwtVerifier, PlainToken,
    ResourceSet, ScopeSet, SigningAlgorithm, SigningKey, StoreError, Subject, TokenKind, UnixTime,
};

use crate::{resource_indicators, KeyError, KeyRing, TokenError};

pub use grantd_ports::AccessTokenFormat;

/// What the JWT access tokens say about their issuer and audience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtSettings {
    /// The global format; a client's own setting wins.
    pub format: AccessTokenFormat,
    /// `iss` (RFC 9068 §2.2), the metadata document's issuer.
    pub issuer: String,
    /// `aud` when the request names no resource (`tokens.default_audience`).
    pub default_audience: String,
    /// The algorithms a presented JWT may use: those grantd signs with, never `none` or
    /// HMAC (they are not representable).
    pub algorithms: Vec<SigningAlgorithm>,
}

impl JwtSettings {
    /// `aud` of a token for no resource: `default_audience`, else the issuer.
    pub fn default_aud(&self) -> &str {
        if self.default_audience.is_empty() {
            &self.issuer
        } else {
            &self.default_audience
        }
    }
}

/// The JWT side of access tokens: signing through the key ring, verifying against the
/// published keys.
#[derive(Clone)]
pub struct JwtAccessTokens {
    ring: KeyRing,
    verifier: Arc<dyn JwtVerifier>,
    settings: JwtSettings,
}

/// What the subject claim names: the user's stable opaque id, or the client itself for
/// the client credentials grant (RFC 9068 §2.2: `sub` is the client id then).
fn subject_of(client: &Client, subject: &Subject) -> String {
    match subject {
        Subject::User { id, .. } => id.as_str().to_owned(),
        Subject::Client => client.id.as_str().to_owned(),
    }
}

/// The claims of one access token (RFC 9068 §2.2). `jti` is the recorded opaque token, so
/// that a presented JWT leads to its record; `auth_time` only where the grant knows when
/// the user authenticated; `aud` the token's resources (RFC 8707), else the default.
#[allow(clippy::too_many_arguments)]
pub fn access_token_claims(
    settings: &JwtSettings,
    client: &Client,
    subject: &Subject,
    scope: &ScopeSet,
    resources: &ResourceSet,
    jti: &PlainToken,
    iat: UnixTime,
    exp: UnixTime,
    auth_time: Option<UnixTime>,
) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: settings.issuer.clone(),
        sub: subject_of(client, subject),
        aud: resource_indicators::audience(resources, Some(settings.default_aud())),
        client_id: client.id.as_str().to_owned(),
        iat,
        exp,
        jti: jti.expose().to_owned(),
        scope: scope.to_delimited(),
        auth_time,
        cnf_jkt: None,
    }
}

/// Whether `presented` has the shape of a compact JWS (three base64url parts), as opposed
/// to grantd's prefixed opaque tokens.
pub fn looks_like_jwt(presented: &str) -> bool {
    let parts: Vec<&str> = presented.split('.').collect();
    parts.len() == 3
        && parts.iter().take(2).all(|p| !p.is_empty())
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl JwtAccessTokens {
    pub fn new(ring: KeyRing, verifier: Arc<dyn JwtVerifier>, settings: JwtSettings) -> Self {
        Self {
            ring,
            verifier,
            settings,
        }
    }

    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }

    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// The format of `client`'s access tokens: its own setting, else the global one.
    pub fn format_for(&self, client: &Client) -> AccessTokenFormat {
        client_format(client).unwrap_or(self.settings.format)
    }

    /// The key to sign `client`'s next access token or id token with, read before any
    /// transaction opens; `None` when the client gets opaque tokens and no id tokens.
    pub(crate) fn signing_key_for(
        &self,
        client: &Client,
    ) -> Result<Option<SigningKey>, TokenError> {
        // Opaque tokens need no key, unless the client may be granted `openid` and so
        // get id tokens: an opaque client without it pays no key lookup per request.
        if self.format_for(client) == AccessTokenFormat::Opaque
            && !client.scopes.contains(crate::id_token::OPENID)
        {
            return Ok(None);
        }
        let key_error = |e: KeyError| match e {
            KeyError::Store(e) => TokenError::Store(e),
            e => TokenError::Store(StoreError::Other(e.to_string())),
        };
        match self.ring.current().map_err(key_error)? {
            Some(key) => Ok(Some(key)),
            // A client registered for JWTs before any key existed (`client create
            // --access-token-format jwt` on a server with only opaque tokens): make the
            // first key now rather than fail the client's request.
            None => match self.ring.ensure_key().map_err(key_error)? {
                Some(key) => Ok(Some(key)),
                None => self.ring.current().map_err(key_error),
            },
        }
    }

    /// The signed id token carrying `claims`.
    pub(crate) fn sign_id_token(
        &self,
        key: &SigningKey,
        claims: &grantd_ports::IdTokenClaims,
    ) -> Result<PlainToken, TokenError> {
        self.ring
            .signer()
            .sign_id_token(key, claims)
            .map(|jwt| PlainToken::from_presented(&jwt))
            .map_err(|e| TokenError::Store(StoreError::Other(e.to_string())))
    }

    /// The signed JWT carrying `claims`.
    pub(crate) fn sign(
        &self,
        key: &SigningKey,
        claims: &AccessTokenClaims,
    ) -> Result<PlainToken, TokenError> {
        self.ring
            .signer()
            .sign_access_token(key, claims)
            .map(|jwt| PlainToken::from_presented(&jwt))
            .map_err(|e| TokenError::Store(StoreError::Other(e.to_string())))
    }

    /// The recorded opaque token behind a presented JWT: `Ok(None)` if it does not verify
    /// against the published keys (unknown `kid`, bad signature, wrong `alg`, `typ` or
    /// `iss`, expired) or its `jti` is no access token of ours.
    pub(crate) fn jti_of(&self, presented: &str) -> Result<Option<String>, StoreError> {
        let keys = match self.ring.published() {
            Ok(keys) => keys,
            Err(KeyError::Store(e)) => return Err(e),
            Err(e) => return Err(StoreError::Other(e.to_string())),
        };
        let expected = JwtExpectations {
            issuer: self.settings.issuer.clone(),
            now: self.ring.now(),
            algorithms: self.settings.algorithms.clone(),
        };
        let Ok(claims) = self
            .verifier
            .verify_access_token(presented, &keys, &expected)
        else {
            return Ok(None);
        };
        Ok(TokenKind::Access
            .is_well_formed(&claims.jti)
            .then_some(claims.jti))
    }
}

impl JwtAccessTokens {
    /// The claims of an `id_token_hint` (RP-Initiated Logout §2): an id token this server
    /// signed with a published key, under its issuer, with a configured algorithm. Expiry
    /// is not checked (an expired id token may still name the session to end). `Ok(None)`
    /// if it does not verify.
    pub(crate) fn verify_id_token_hint(
        &self,
        hint: &str,
    ) -> Result<Option<IdTokenClaims>, StoreError> {
        let keys = match self.ring.published() {
            Ok(keys) => keys,
            Err(KeyError::Store(e)) => return Err(e),
            Err(e) => return Err(StoreError::Other(e.to_string())),
        };
        let expected = JwtExpectations {
            issuer: self.settings.issuer.clone(),
            now: self.ring.now(),
            algorithms: self.settings.algorithms.clone(),
        };
        Ok(self
            .verifier
            .verify_id_token_hint(hint, &keys, &expected)
            .ok())
    }
}

/// The client's own format, if it has one (`client create --access-token-format`).
fn client_format(client: &Client) -> Option<AccessTokenFormat> {
    client.access_token_format
}

/// The token to look up for `presented`: itself if opaque, the `jti` of a verified JWT,
/// or `None` for a JWT that does not verify (or any JWT when JWTs are off).
/// How a presented access token leads to its record, the one rule the resource check,
/// introspection and revocation share: an opaque token is its own record, a JWT is
/// verified and leads to its `jti`. Without JWT access tokens configured, a JWT leads
/// nowhere.
#[derive(Clone, Default)]
pub(crate) struct PresentedTokens {
    jwt: Option<JwtAccessTokens>,
}

impl PresentedTokens {
    pub(crate) fn new(jwt: Option<JwtAccessTokens>) -> Self {
        Self { jwt }
    }

    /// The recorded token `presented` stands for; `None` = no such token.
    pub(crate) fn recorded(&self, presented: &str) -> Result<Option<String>, StoreError> {
        recorded_token(self.jwt.as_ref(), presented)
    }
}

pub(crate) fn recorded_token(
    jwt: Option<&JwtAccessTokens>,
    presented: &str,
) -> Result<Option<String>, StoreError> {
    if !looks_like_jwt(presented) {
        return Ok(Some(presented.to_owned()));
    }
    match jwt {
        Some(jwt) => jwt.jti_of(presented),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use grantd_ports::{Subject, UserId, Username};

    use super::*;
    use crate::test_support::client;

    fn settings(aud: &str) -> JwtSettings {
        JwtSettings {
            format: AccessTokenFormat::Jwt,
            issuer: "https://as.example".into(),
            default_audience: aud.into(),
            algorithms: vec![SigningAlgorithm::Rs256],
        }
    }

    #[test]
    fn claims_carry_rfc_9068_members() {
        let app = client("app", true);
        let user = Subject::User {
            id: UserId::parse("u-1").unwrap(),
            username: Username::parse("alice").unwrap(),
        };
        let jti = TokenKind::Access.encode(&[3; 32]);
        let scope = ScopeSet::parse("write read").unwrap();
        let c = access_token_claims(
            &settings("https://api.example"),
            &app,
            &user,
            &scope,
            &ResourceSet::empty(),
            &jti,
            100,
            400,
            Some(100),
        );
        assert_eq!(c.iss, "https://as.example");
        assert_eq!(c.sub, "u-1", "the user's opaque id, not the username");
        assert_eq!(c.aud, ["https://api.example"]);
        assert_eq!(c.client_id, "app");
        assert_eq!((c.iat, c.exp, c.auth_time), (100, 400, Some(100)));
        assert_eq!(c.jti, jti.expose());
        assert_eq!(c.scope, scope.to_delimited());
    }

    #[test]
    fn a_client_token_names_the_client_and_the_audience_defaults_to_the_issuer() {
        let app = client("app", true);
        let jti = TokenKind::Access.encode(&[3; 32]);
        let c = access_token_claims(
            &settings(""),
            &app,
            &Subject::Client,
            &ScopeSet::parse("read").unwrap(),
            &ResourceSet::empty(),
            &jti,
            1,
            2,
            None,
        );
        assert_eq!(c.sub, "app");
        assert_eq!(c.aud, ["https://as.example"]);
        assert_eq!(c.auth_time, None);
    }

    #[test]
    fn the_audience_is_the_tokens_resources_when_it_has_any() {
        let app = client("app", true);
        let jti = TokenKind::Access.encode(&[3; 32]);
        let resources =
            ResourceSet::from_uris(["https://b.example/", "https://a.example/"]).unwrap();
        let c = access_token_claims(
            &settings("https://default.example"),
            &app,
            &Subject::Client,
            &ScopeSet::parse("read").unwrap(),
            &resources,
            &jti,
            1,
            2,
            None,
        );
        assert_eq!(c.aud, ["https://a.example/", "https://b.example/"]);
    }

    #[test]
    fn jwt_shape_is_told_from_opaque_tokens() {
        assert!(looks_like_jwt("eyJh.eyJi.c2ln"));
        assert!(
            looks_like_jwt("eyJh.eyJi."),
            "alg none has an empty signature"
        );
        assert!(!looks_like_jwt(TokenKind::Access.encode(&[1; 32]).expose()));
        assert!(!looks_like_jwt("a.b"));
        assert!(!looks_like_jwt("a.b.c d"));
    }

    #[test]
    fn without_jwts_a_jwt_is_unknown_and_an_opaque_token_passes_through() {
        assert_eq!(recorded_token(None, "eyJh.eyJi.c2ln").unwrap(), None);
        assert_eq!(
            recorded_token(None, "gat_x").unwrap().as_deref(),
            Some("gat_x")
        );
    }
}
