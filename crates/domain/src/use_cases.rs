//! `UseCases`: the bundle of use cases the HTTP edge holds, one per endpoint it serves,
//! wired so that they share what must be shared: the client authenticator (client-secret
//! budgets and verified-secret cache) of token, revocation and introspection, and the
//! password budgets of the password grant and the login page.

use std::sync::Arc;

use crate::account::AccountPage;
use crate::client_auth::ClientAuthenticator;
use crate::dpop::DpopProofs;
use crate::jwt_access::{JwtAccessTokens, PresentedTokens};
use crate::user_auth::UserAuthenticator;
use crate::{
    AttemptLimits, AuthorizationSettings, AuthorizeEndpoint, BearerCheck, IntrospectEndpoint,
    LogoutEndpoint, PortSet, ResourceRegistry, RevokeEndpoint, ScopeRegistry, SecretCacheLimits,
    TokenEndpoint, TokenSettings, UserinfoEndpoint,
};

/// Every use case over one [`PortSet`]. Cheap to clone (`Arc`s); clones share the cache
/// (the failure counters are the store's). Built with [`UseCases::new`] and the `with_*` methods, which keep the
/// sharing.
#[derive(Clone)]
pub struct UseCases {
    /// `POST /oauth/token`.
    pub token: TokenEndpoint,
    /// `GET`/`POST /oauth/authorize`: the login and consent pages.
    pub authorize: AuthorizeEndpoint,
    /// `POST /oauth/revoke` (RFC 7009), after [`UseCases::clients`].
    pub revocation: RevokeEndpoint,
    /// `POST /oauth/introspect` (RFC 7662), after [`UseCases::clients`].
    pub introspection: IntrospectEndpoint,
    /// `GET`/`POST /account`: the applications holding a person's grants.
    pub account: AccountPage,
    /// The resource server's check of a bearer token (RFC 6750).
    pub bearer: BearerCheck,
    /// `GET`/`POST /oauth/userinfo` (OpenID Connect Core §5.3), over the same check.
    pub userinfo: UserinfoEndpoint,
    /// `GET /oauth/logout` and its confirmation (RP-Initiated Logout), over the
    /// authorization pages' sessions.
    pub logout: LogoutEndpoint,
    /// Client authentication for revocation and introspection: the token endpoint's own.
    pub clients: ClientAuthenticator,
    ports: PortSet,
    resources: Arc<ResourceRegistry>,
}

/// What the use cases are built from; [`UseCases::assemble`] is the one place that decides
/// who shares what.
struct Parts {
    ports: PortSet,
    settings: TokenSettings,
    authorization: AuthorizationSettings,
    clients: ClientAuthenticator,
    users: UserAuthenticator,
    scopes: Arc<ScopeRegistry>,
    resources: Arc<ResourceRegistry>,
    jwt: Option<JwtAccessTokens>,
    dpop: Option<DpopProofs>,
}

impl UseCases {
    /// The use cases with the default limits, cache and authorization policy, and an empty
    /// scope registry (every request for a scope is `invalid_scope` until
    /// [`UseCases::with_scopes`]).
    pub fn new(ports: PortSet, settings: TokenSettings) -> Self {
        let limits = AttemptLimits::default();
        Self::assemble(Parts {
            clients: ClientAuthenticator::new(ports.clone(), &limits, SecretCacheLimits::default()),
            users: UserAuthenticator::new(ports.clone(), &limits),
            ports,
            settings,
            authorization: AuthorizationSettings::default(),
            scopes: Arc::new(ScopeRegistry::default()),
            resources: Arc::new(ResourceRegistry::default()),
            jwt: None,
            dpop: None,
        })
    }

    /// Accepts DPoP proofs (RFC 9449) at the token endpoint and DPoP-bound tokens at the
    /// resources.
    pub fn with_dpop(self, dpop: DpopProofs) -> Self {
        Self::assemble(Parts {
            dpop: Some(dpop),
            ..self.into_parts()
        })
    }

    /// Sets the resources (RFC 8707) a `resource` parameter may name, at the token and the
    /// authorization endpoint alike; without them every `resource` is `invalid_target`.
    pub fn with_resources(self, resources: ResourceRegistry) -> Self {
        Self::assemble(Parts {
            resources: Arc::new(resources),
            ..self.into_parts()
        })
    }

    /// The `DPoP-Nonce` for a successful DPoP response, when nonces are required (RFC 9449
    /// §8.2, §9).
    pub fn fresh_dpop_nonce(&self) -> Option<String> {
        self.token.dpop().and_then(DpopProofs::fresh_nonce)
    }

    /// The registered resources the endpoints follow.
    pub fn resources(&self) -> &ResourceRegistry {
        &self.resources
    }

    /// Sets the scope registry: what clients may be given, with their descriptions and
    /// which are granted when a request omits `scope`.
    pub fn with_scopes(self, scopes: ScopeRegistry) -> Self {
        Self::assemble(Parts {
            scopes: Arc::new(scopes),
            ..self.into_parts()
        })
    }

    /// Issues JWT access tokens (RFC 9068) where the format says so, and accepts them at
    /// `/api/me`, introspection and revocation.
    pub fn with_jwt(self, jwt: JwtAccessTokens) -> Self {
        Self::assemble(Parts {
            jwt: Some(jwt),
            ..self.into_parts()
        })
    }

    /// The JWT access tokens, if configured.
    pub fn jwt(&self) -> Option<&JwtAccessTokens> {
        self.token.jwt()
    }

    /// Sets the authorization code flow's policy (code lifetime, PKCE rules).
    pub fn with_authorization_settings(self, authorization: AuthorizationSettings) -> Self {
        Self::assemble(Parts {
            authorization,
            ..self.into_parts()
        })
    }

    /// Sets the size and TTL of the verified-secret cache (capacity 0 turns it off).
    pub fn with_secret_cache(self, limits: SecretCacheLimits) -> Self {
        let clients = self.clients.with_secret_cache(limits);
        Self::assemble(Parts {
            clients,
            ..self.into_parts()
        })
    }

    /// Sets the brute-force budgets for passwords (at the password grant and the login
    /// page alike) and client secrets (at every endpoint that authenticates clients).
    pub fn with_attempt_limits(self, limits: AttemptLimits) -> Self {
        let clients = self.clients.with_attempt_limits(&limits);
        let users = UserAuthenticator::new(self.ports.clone(), &limits);
        Self::assemble(Parts {
            clients,
            users,
            ..self.into_parts()
        })
    }

    pub fn settings(&self) -> &TokenSettings {
        self.token.settings()
    }

    pub fn authorization_settings(&self) -> &AuthorizationSettings {
        self.authorize.settings()
    }

    pub fn ports(&self) -> &PortSet {
        &self.ports
    }

    /// The scope registry the endpoints follow.
    pub fn scopes(&self) -> &ScopeRegistry {
        self.token.scopes()
    }

    fn assemble(parts: Parts) -> Self {
        let Parts {
            ports,
            settings,
            authorization,
            clients,
            users,
            scopes,
            resources,
            jwt,
            dpop,
        } = parts;
        let authorize =
            AuthorizeEndpoint::new(ports.clone(), authorization, users.clone(), scopes.clone())
                .with_resources(resources.clone())
                .with_openid(jwt.is_some());
        let bearer = BearerCheck::new(ports.clone(), PresentedTokens::new(jwt.clone()))
            .with_dpop(dpop.clone());
        let scopes_for_account = scopes.clone();
        Self {
            token: TokenEndpoint::new(ports.clone(), settings, clients.clone(), users, scopes)
                .with_resources(resources.clone())
                .with_jwt(jwt.clone())
                .with_dpop(dpop),
            logout: LogoutEndpoint::new(ports.clone(), authorize.clone(), jwt.clone()),
            account: AccountPage::new(ports.clone(), scopes_for_account),
            authorize,
            revocation: RevokeEndpoint::new(ports.clone(), PresentedTokens::new(jwt.clone())),
            introspection: IntrospectEndpoint::new(ports.clone(), PresentedTokens::new(jwt)),
            userinfo: UserinfoEndpoint::new(ports.clone(), bearer.clone()),
            bearer,
            clients,
            ports,
            resources,
        }
    }

    fn into_parts(self) -> Parts {
        Parts {
            settings: self.token.settings().clone(),
            authorization: self.authorize.settings().clone(),
            users: self.token.users().clone(),
            scopes: self.token.scopes_arc(),
            jwt: self.token.jwt().cloned(),
            dpop: self.token.dpop().cloned(),
            resources: self.resources,
            clients: self.clients,
            ports: self.ports,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::*;
    use crate::{
        AttemptLimits, AuthenticateError, ClientAuthError, LoginError, SecretCacheLimits,
        TokenError, TokenSettings,
    };

    fn limit() -> AttemptLimits {
        limits(2)
    }

    #[test]
    fn the_password_grant_and_the_login_page_share_one_password_budget() {
        let mut d = Doubles::new().with_user(false);
        d.tokens.expect_issue().never();
        let use_cases = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limit());
        let alice = |pw| password_request(basic("app", SECRET), "alice", pw, None);
        assert!(matches!(
            use_cases.token.respond(&alice("wrong")),
            Err(TokenError::InvalidGrant(_))
        ));
        assert_eq!(
            use_cases.authorize.log_in("alice", "wrong", SOURCE),
            Err(LoginError::BadCredentials)
        );
        assert!(matches!(
            use_cases.token.respond(&alice(PASSWORD)),
            Err(TokenError::TooManyAttempts { .. })
        ));
        assert!(matches!(
            use_cases.authorize.log_in("alice", PASSWORD, SOURCE),
            Err(LoginError::TooManyAttempts { .. })
        ));
    }

    #[test]
    fn every_endpoint_shares_one_client_limit_whatever_the_builder_order() {
        let use_cases = Doubles::new()
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limit())
            .with_secret_cache(SecretCacheLimits {
                capacity: 0,
                ttl_secs: 300,
            })
            .with_authorization_settings(Default::default());
        // Two wrong secrets at revocation or introspection (which authenticate through
        // `clients`) put the client id at its limit at the token endpoint too.
        for _ in 0..2 {
            assert!(matches!(
                use_cases
                    .clients
                    .authenticate(basic("app", "bad").as_ref(), SOURCE),
                Err(AuthenticateError::Denied(ClientAuthError::WrongSecret))
            ));
        }
        let request = password_request(basic("app", SECRET), "alice", PASSWORD, None);
        assert!(matches!(
            use_cases.token.respond(&request),
            Err(TokenError::InvalidClient(
                ClientAuthError::TooManyAttempts { .. }
            ))
        ));
    }

    #[test]
    fn the_bundle_keeps_the_settings_it_was_given() {
        let settings = TokenSettings {
            access_token_lifetime: 5,
            ..TokenSettings::default()
        };
        let authorization = crate::AuthorizationSettings {
            code_lifetime: 7,
            ..Default::default()
        };
        let use_cases = Doubles::new()
            .use_cases(settings.clone())
            .with_authorization_settings(authorization.clone())
            .with_attempt_limits(limit());
        assert_eq!(use_cases.settings(), &settings);
        assert_eq!(use_cases.authorization_settings(), &authorization);
    }
}
