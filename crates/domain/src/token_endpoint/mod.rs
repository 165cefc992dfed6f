//! The token endpoint (`POST /oauth/token`, RFC 6749 §3.2): authenticate the client, check
//! that it may use the grant, run the grant (§4.1.3, §4.3, §4.4, §6), and store what it
//! issues.

mod authorization_code;
mod client_credentials;
mod issue;
mod password;
mod refresh;

pub use authorization_code::ExchangeDenied;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use grantd_ports::{
    Client, DomainEvent, GrantType, PlainToken, ResourceSet, ScopeSet, SigningKey, Subject,
    TokenKind, UnixMillis, UnixTime,
};

use crate::client_auth::{ClientAuthenticator, ClientCredentials};
use crate::dpop::{DpopError, DpopProofs, Jkt, ProofContext};
use crate::id_token::{self, Authentication};
use crate::jwt_access::{access_token_claims, AccessTokenFormat, JwtAccessTokens};
use crate::rotation::RotationPolicy;
use crate::user_auth::UserAuthenticator;
use crate::{
    resource_indicators, PortSet, ResourceRegistry, ScopeRegistry, TokenError, TokenResponse,
    TokenSettings,
};

/// One grant's parameters, already split out of the form by the HTTP edge. Values are
/// raw strings: validating them is this crate's job.
#[derive(Clone)]
pub enum GrantRequest {
    /// RFC 6749 §4.3.
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
    /// RFC 6749 §6.
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    /// RFC 6749 §4.4.
    ClientCredentials { scope: Option<String> },
    /// RFC 6749 §4.1.3 with RFC 7636 §4.5.
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
}

impl fmt::Debug for GrantRequest {
    /// Never shows a password or token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantRequest::Password {
                username, scope, ..
            } => f
                .debug_struct("Password")
                .field("username", username)
                .field("scope", scope)
                .finish_non_exhaustive(),
            GrantRequest::RefreshToken { scope, .. } => f
                .debug_struct("RefreshToken")
                .field("scope", scope)
                .finish_non_exhaustive(),
            GrantRequest::ClientCredentials { scope } => f
                .debug_struct("ClientCredentials")
                .field("scope", scope)
                .finish(),
            GrantRequest::AuthorizationCode { redirect_uri, .. } => f
                .debug_struct("AuthorizationCode")
                .field("redirect_uri", redirect_uri)
                .finish_non_exhaustive(),
        }
    }
}

impl GrantRequest {
    pub fn grant_type(&self) -> GrantType {
        match self {
            GrantRequest::Password { .. } => GrantType::Password,
            GrantRequest::RefreshToken { .. } => GrantType::RefreshToken,
            GrantRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
            GrantRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
        }
    }
}

/// A token request: who asks (`None` = no credentials at all), from where, for what, and
/// when it arrived.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub client: Option<ClientCredentials>,
    pub grant: GrantRequest,
    /// The address the request came from (the peer, or what a trusted proxy says): the
    /// brute-force budgets count failures per source.
    pub source_address: IpAddr,
    /// The `resource` parameters (RFC 8707 §2), raw, as often as the request repeated it;
    /// empty = none. Every grant takes them.
    pub resources: Vec<String>,
    /// The request's arrival, from [`TokenEndpoint::arrival`], stamped by the edge before
    /// the request waits for anything (a permit, a connection, a lock). It tells a refresh
    /// that raced a rotation from one sent after it (RFC 9700 §4.14.2).
    pub arrived_at_ms: UnixMillis,
    /// The `DPoP` header's value (RFC 9449 §5), when the request carried exactly one.
    pub dpop_proof: Option<String>,
}

/// The token endpoint's use case. Cheap to clone; clones share the limiters and the cache.
#[derive(Clone)]
pub struct TokenEndpoint {
    ports: PortSet,
    settings: TokenSettings,
    /// The same authenticator (limiter and secret cache) as revocation and introspection.
    clients: ClientAuthenticator,
    /// The same password budgets as the login page.
    users: UserAuthenticator,
    /// What an omitted `scope` gets, and which scopes may be issued at all.
    scopes: Arc<ScopeRegistry>,
    /// The resources a `resource` parameter may name (RFC 8707).
    resources: Arc<ResourceRegistry>,
    /// JWT access tokens (RFC 9068), when signing keys are configured.
    jwt: Option<JwtAccessTokens>,
    /// The key this request signs its access token with, read before any transaction.
    signing: Option<SigningKey>,
    /// DPoP proofs (RFC 9449), when configured.
    dpop: Option<DpopProofs>,
    /// The key this request's proof showed, which its tokens are bound to.
    bound_to: Option<Jkt>,
}

impl TokenEndpoint {
    pub(crate) fn new(
        ports: PortSet,
        settings: TokenSettings,
        clients: ClientAuthenticator,
        users: UserAuthenticator,
        scopes: Arc<ScopeRegistry>,
    ) -> Self {
        Self {
            ports,
            settings,
            clients,
            users,
            scopes,
            resources: Arc::default(),
            jwt: None,
            signing: None,
            dpop: None,
            bound_to: None,
        }
    }

    pub(crate) fn with_dpop(mut self, dpop: Option<DpopProofs>) -> Self {
        self.dpop = dpop;
        self
    }

    pub(crate) fn dpop(&self) -> Option<&DpopProofs> {
        self.dpop.as_ref()
    }

    pub(crate) fn with_resources(mut self, resources: Arc<ResourceRegistry>) -> Self {
        self.resources = resources;
        self
    }

    pub fn scopes(&self) -> &ScopeRegistry {
        &self.scopes
    }

    pub(crate) fn scopes_arc(&self) -> Arc<ScopeRegistry> {
        self.scopes.clone()
    }

    pub(crate) fn with_jwt(mut self, jwt: Option<JwtAccessTokens>) -> Self {
        self.jwt = jwt;
        self
    }

    pub(crate) fn jwt(&self) -> Option<&JwtAccessTokens> {
        self.jwt.as_ref()
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub(crate) fn users(&self) -> &UserAuthenticator {
        &self.users
    }

    /// The instant to stamp on a token request as it arrives ([`TokenRequest::arrived_at_ms`]).
    pub fn arrival(&self) -> UnixMillis {
        self.ports.clock.now_millis()
    }

    /// Whether the request may go on to [`TokenEndpoint::respond`] now, decided without
    /// blocking: a password grant needs a password-check permit, so with none free it is
    /// refused at once (`TokenError::Busy`) before any blocking work is queued for it.
    pub fn admit(&self, request: &TokenRequest) -> Result<(), TokenError> {
        if let GrantRequest::Password { .. } = request.grant {
            crate::check_permits::free(&self.ports)?;
        }
        Ok(())
    }

    /// Answers a token request. Blocking: runs bcrypt and the stores.
    pub fn respond(&self, request: &TokenRequest) -> Result<TokenResponse, TokenError> {
        // The refresh's common path, in one round trip; anything else starts over below.
        if let Some(response) = self.refresh_from_memory(request)? {
            return Ok(response);
        }
        let source = request.source_address;
        let client = self.clients.authenticate(request.client.as_ref(), source)?;
        let grant_type = request.grant.grant_type();
        // §5.2 unauthorized_client: "not authorized to use this authorization grant type".
        if !client.allows(grant_type) {
            return Err(TokenError::UnauthorizedClient(
                "the client is not allowed this grant type",
            ));
        }
        // RFC 8707 §2: every value must name a registered resource, checked before any
        // grant reads or writes anything.
        let resources = resource_indicators::requested(&request.resources, &self.resources)?;
        // RFC 9449 §5: a proof, when sent, is checked before any grant runs; its key binds
        // what this request issues.
        let bound_to = match (&request.dpop_proof, &self.dpop) {
            // RFC 9449 §5.2: `dpop_bound_access_tokens` clients must always send one.
            (None, _) if client.require_dpop => {
                return Err(TokenError::InvalidDpopProof(
                    "this client must send a DPoP proof",
                ))
            }
            (None, _) => None,
            (Some(_), None) => {
                return Err(TokenError::InvalidDpopProof("DPoP is not available here"))
            }
            (Some(proof), Some(dpop)) => Some(
                dpop.check(
                    proof,
                    &ProofContext {
                        method: "POST",
                        url: &dpop.endpoint_url(TOKEN_PATH),
                        access_token: None,
                    },
                )
                .map_err(dpop_refused)?,
            ),
        };
        // The signing key is read now, outside the store's transactions (which must not
        // wait for a second pooled connection); the grant then signs with it.
        let signing = match &self.jwt {
            Some(jwt) => jwt.signing_key_for(&client)?,
            None => None,
        };
        let with_key;
        let this = if signing.is_some() || bound_to.is_some() {
            with_key = Self {
                signing,
                bound_to,
                ..self.clone()
            };
            &with_key
        } else {
            self
        };
        let result = this.grant(&client, request, &resources);
        match &result {
            Ok(_) => self
                .ports
                .metrics
                .record(DomainEvent::TokensIssued(grant_type)),
            Err(TokenError::TooManyAttempts { .. }) => {
                self.ports.metrics.record(DomainEvent::RateLimited)
            }
            Err(_) => {}
        }
        result
    }

    fn grant(
        &self,
        client: &Client,
        request: &TokenRequest,
        resources: &ResourceSet,
    ) -> Result<TokenResponse, TokenError> {
        let client = client.clone();
        match &request.grant {
            GrantRequest::Password {
                username,
                password,
                scope,
            } => self.password_grant(
                &client,
                username,
                password,
                scope.as_deref(),
                resources,
                request.source_address,
            ),
            GrantRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh_grant(
                &client,
                refresh_token,
                scope.as_deref(),
                resources,
                request.arrived_at_ms,
            ),
            GrantRequest::ClientCredentials { scope } => {
                self.client_credentials_grant(&client, scope.as_deref(), resources)
            }
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => self.authorization_code_grant(
                &client,
                code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
                resources,
            ),
        }
    }

    /// What the client receives for the recorded access token `jti`, with the audience to
    /// record for it: the token itself (its audience its resources), or an RFC 9068 JWT
    /// whose `jti` it is, signed with this request's key (its audience the `aud` claim).
    #[allow(clippy::too_many_arguments)]
    fn handed_out(
        &self,
        client: &Client,
        subject: &Subject,
        scope: &ScopeSet,
        resources: &ResourceSet,
        jti: &PlainToken,
        iat: UnixTime,
        exp: UnixTime,
        auth_time: Option<UnixTime>,
    ) -> Result<(PlainToken, Vec<String>), TokenError> {
        let opaque = || Ok((jti.clone(), resource_indicators::audience(resources, None)));
        let (Some(jwt), Some(key)) = (&self.jwt, &self.signing) else {
            return opaque();
        };
        // The key may be here only for the id token.
        if jwt.format_for(client) == AccessTokenFormat::Opaque {
            return opaque();
        }
        let mut claims = access_token_claims(
            jwt.settings(),
            client,
            subject,
            scope,
            resources,
            jti,
            iat,
            exp,
            auth_time,
        );
        // RFC 9449 §6.1: a bound JWT names its key.
        claims.cnf_jkt = self.bound_jkt();
        Ok((jwt.sign(key, &claims)?, claims.aud))
    }

    /// The id token of a response for `scope` acting for `subject`, when one is due
    /// ([`id_token::is_due`]): signed with this request's key over the access token the
    /// client receives (`at_hash`).
    #[allow(clippy::too_many_arguments)]
    fn id_token(
        &self,
        client: &Client,
        subject: &Subject,
        scope: &ScopeSet,
        authentication: &Authentication,
        access_token: &PlainToken,
        iat: UnixTime,
    ) -> Result<Option<PlainToken>, TokenError> {
        let Subject::User { id, .. } = subject else {
            return Ok(None);
        };
        if !id_token::is_due(scope, subject) {
            return Ok(None);
        }
        let (Some(jwt), Some(key)) = (&self.jwt, &self.signing) else {
            // Refused before any grant is made (`openid_available`); never silently dropped.
            return Err(openid_unavailable());
        };
        let claims = id_token::claims(
            &self.settings.oidc,
            &jwt.settings().issuer,
            client.id.as_str(),
            id.as_str(),
            authentication,
            iat,
            key.algorithm,
            access_token.expose(),
        );
        jwt.sign_id_token(key, &claims).map(Some)
    }

    /// `openid` is only granted where id tokens can be signed (signing keys configured).
    pub(super) fn openid_available(&self, scope: &ScopeSet) -> Result<(), TokenError> {
        if scope.contains(id_token::OPENID) && self.jwt.is_none() {
            return Err(openid_unavailable());
        }
        Ok(())
    }

    /// The policy for a refresh by `client` of a grant that is DPoP-bound or not
    /// ([`crate::rotation::rotates`]).
    fn rotation_policy(&self, client: &Client, dpop_bound: bool) -> RotationPolicy {
        RotationPolicy {
            rotate: crate::rotation::rotates(
                self.settings.always_issue_new_refresh_token,
                self.settings.rotate_dpop_bound_public_refresh_tokens,
                client.is_public(),
                dpop_bound,
            ),
            grace_period: self
                .settings
                .refresh_token_reuse_grace_period
                .clamp(0, TokenSettings::MAX_REUSE_GRACE_PERIOD),
        }
    }

    /// The thumbprint this request's access token is bound to (RFC 9449 §6), if any.
    fn bound_jkt(&self) -> Option<String> {
        self.bound_to.as_ref().map(|k| k.as_str().to_owned())
    }

    /// The thumbprint a new grant binds its refresh tokens to: a public client's only
    /// (RFC 9449 §5; a confidential client's are guarded by its authentication).
    fn grant_jkt(&self, client: &Client) -> Option<String> {
        client.is_public().then(|| self.bound_jkt()).flatten()
    }

    fn mint(&self, kind: TokenKind) -> grantd_ports::PlainToken {
        self.ports.minter.mint(kind)
    }
}

/// The token endpoint's path under the issuer (the metadata's `token_endpoint`).
pub const TOKEN_PATH: &str = "/oauth/token";

/// A refused proof: the client's (`invalid_dpop_proof`), or the replay store's failure.
fn dpop_refused(e: DpopError) -> TokenError {
    match e {
        DpopError::Invalid(why) => TokenError::InvalidDpopProof(why),
        DpopError::UseNonce(nonce) => TokenError::UseDpopNonce(nonce),
        DpopError::Store(e) => TokenError::Store(e),
    }
}

fn openid_unavailable() -> TokenError {
    TokenError::InvalidScope(
        "openid needs OpenID Connect, which this server has not configured (signing keys)".into(),
    )
}

#[cfg(test)]
mod tests {
    use grantd_ports::{DomainEvent, GrantType};

    use crate::test_support::*;
    use crate::{ClientAuthError, TokenError, TokenSettings};

    #[test]
    fn client_without_the_grant_type_is_unauthorized_client() {
        let mut d = Doubles::new();
        d.users.expect_find_user_by_username().never();
        let err = d
            .token()
            .respond(&password_request(
                basic("narrow", SECRET),
                "alice",
                PASSWORD,
                None,
            ))
            .unwrap_err();
        assert!(matches!(err, TokenError::UnauthorizedClient(_)));
    }

    #[test]
    fn client_authentication_failures_are_invalid_client() {
        let cases = [
            (
                "wrong secret",
                basic("app", "bad"),
                ClientAuthError::WrongSecret,
            ),
            (
                "unknown client",
                basic("ghost", SECRET),
                ClientAuthError::UnknownClient,
            ),
            (
                "confidential without secret",
                id_only("app"),
                ClientAuthError::SecretRequired,
            ),
            (
                "public with a secret",
                basic("public", "x"),
                ClientAuthError::UnexpectedSecret,
            ),
            ("no credentials", None, ClientAuthError::Missing),
        ];
        for (name, creds, why) in cases {
            let mut d = Doubles::new();
            d.users.expect_find_user_by_username().never();
            d.tokens.expect_issue().never();
            let err = d
                .token()
                .respond(&password_request(creds, "alice", PASSWORD, None))
                .unwrap_err();
            assert!(
                matches!(err, TokenError::InvalidClient(ref e) if *e == why),
                "{name}: {err:?}"
            );
        }
    }

    #[test]
    fn a_proof_binds_the_access_token_and_only_a_public_clients_grant() {
        for (creds, public) in [(id_only("public"), true), (basic("app", SECRET), false)] {
            let mut d = Doubles::new().with_user(false);
            let jkt = test_jkt("eA");
            let expected_grant = public.then(|| jkt.clone());
            d.tokens.expect_issue().times(1).returning(move |i| {
                assert_eq!(i.access.dpop_jkt.as_deref(), Some(jkt.as_str()));
                // RFC 9449 §5: a confidential client's refresh tokens are not bound.
                assert_eq!(i.grant.dpop_jkt, expected_grant);
                Ok(())
            });
            let token = d
                .use_cases(TokenSettings::default())
                .with_dpop(dpop_proofs())
                .token;
            let request = crate::TokenRequest {
                dpop_proof: Some("eA".into()),
                ..password_request(creds, "alice", PASSWORD, None)
            };
            assert_eq!(token.respond(&request).unwrap().token_type(), "DPoP");
        }
    }

    #[test]
    fn a_client_that_requires_dpop_is_refused_without_a_proof() {
        let mut d = Doubles::new().with_user(false);
        d.clients.checkpoint();
        d.clients.expect_find_client().returning(|_| {
            let mut c = client("app", true);
            c.require_dpop = true;
            Ok(Some(c))
        });
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        let token = d
            .use_cases(TokenSettings::default())
            .with_dpop(dpop_proofs())
            .token;
        let without = password_request(basic("app", SECRET), "alice", PASSWORD, None);
        let err = token.respond(&without).unwrap_err();
        assert!(matches!(err, TokenError::InvalidDpopProof(_)), "{err:?}");
        let with = crate::TokenRequest {
            dpop_proof: Some("eA".into()),
            ..without
        };
        assert_eq!(token.respond(&with).unwrap().token_type(), "DPoP");
    }

    #[test]
    fn public_client_authenticates_by_id() {
        let mut d = Doubles::new().with_user(false);
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        assert!(d
            .token()
            .respond(&password_request(
                id_only("public"),
                "alice",
                PASSWORD,
                None
            ))
            .is_ok());
    }

    #[test]
    fn per_client_lifetimes_override_the_global_ones() {
        let mut d = Doubles::new().with_user(false);
        d.clients.checkpoint();
        d.clients.expect_find_client().returning(|_| {
            let mut c = client("app", true);
            c.lifetimes = grantd_ports::LifetimeOverrides {
                access_token: Some(60),
                refresh_token: Some(600),
                refresh_token_max: Some(0),
            };
            Ok(Some(c))
        });
        d.tokens.expect_issue().times(1).returning(|i| {
            assert_eq!(i.access.expires_at, NOW + 60);
            assert_eq!(i.refresh.as_ref().unwrap().expires_at, NOW + 600);
            assert_eq!(i.grant.expires_at, None, "0 = no absolute cap");
            Ok(())
        });
        let r = d
            .token()
            .respond(&password_request(
                basic("app", SECRET),
                "alice",
                PASSWORD,
                None,
            ))
            .unwrap();
        assert_eq!(r.expires_in, 60);
    }

    #[test]
    fn issued_tokens_and_each_refusal_by_a_limit_are_counted_once() {
        let mut d = Doubles::new().with_user(false);
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        let events = d.events.clone();
        let token = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(1))
            .token;
        let alice = |pw| password_request(basic("app", SECRET), "alice", pw, None);
        token.respond(&alice(PASSWORD)).unwrap();
        token.respond(&alice("wrong")).unwrap_err();
        // The username is at its limit from this source now, and so is the client id after
        // a wrong secret.
        token.respond(&alice(PASSWORD)).unwrap_err();
        let wrong_secret = password_request(basic("app", "bad"), "alice", PASSWORD, None);
        token.respond(&wrong_secret).unwrap_err();
        token.respond(&wrong_secret).unwrap_err();
        let counted: Vec<_> = events
            .recorded()
            .into_iter()
            .filter(|e| !matches!(e, DomainEvent::ClientSecretCache { .. }))
            .collect();
        assert_eq!(
            counted,
            [
                DomainEvent::TokensIssued(GrantType::Password),
                DomainEvent::RateLimited,
                DomainEvent::RateLimited,
            ]
        );
    }
}
