//! The token endpoint's use cases (RFC 6749 §4.3, §4.4, §6): authenticate the client,
//! check that it may use the grant, run the grant, and store what it issues.

mod authorization_code;
mod client_credentials;
mod issue;

pub use authorization_code::ExchangeDenied;
mod password;
mod refresh;

use std::fmt;
use std::sync::Arc;

use grantd_ports::{Client, DomainEvent, GrantType, TokenKind};

use crate::bearer::{self, ActiveToken, BearerError};
use crate::client_auth::{self, AuthenticateError, ClientAuthError, ClientCredentials};
use crate::introspection::{self, Introspection};
use crate::revocation::{self, RevokeError, TokenTypeHint};
use crate::rotation::RotationPolicy;
use crate::{
    AttemptLimit, AuthorizationSettings, FailureLimiter, PortSet, SecretCache, SecretCacheLimits,
    TokenError, TokenResponse, TokenSettings,
};

/// Why introspection was refused (an inactive token is not an error, RFC 7662 §2.3).
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// The client is not registered with the introspection right (§2.1, §4).
    #[error("the client may not introspect tokens")]
    NotAllowed,
    #[error(transparent)]
    Store(#[from] grantd_ports::StoreError),
}

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

/// A token request: who asks (`None` = no credentials at all) and for what.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub client: Option<ClientCredentials>,
    pub grant: GrantRequest,
}

/// The token endpoint and resource-server use cases over the ports.
#[derive(Clone)]
pub struct TokenService {
    pub(crate) ports: PortSet,
    settings: TokenSettings,
    pub(crate) user_failures: Arc<FailureLimiter>,
    client_failures: Arc<FailureLimiter>,
    /// Verified client secrets of this process (see `secret_cache`); shared by every clone.
    secret_cache: Arc<SecretCache>,
    /// The authorization code flow's policy.
    pub(crate) authorization: AuthorizationSettings,
}

/// Brute-force defaults: 10 failures per username and per client id per 60 s.
const DEFAULT_LIMIT: AttemptLimit = AttemptLimit {
    max_failures: 10,
    window_secs: 60,
};

impl TokenService {
    pub fn new(ports: PortSet, settings: TokenSettings) -> Self {
        Self {
            ports,
            settings,
            user_failures: Arc::new(FailureLimiter::new(DEFAULT_LIMIT)),
            client_failures: Arc::new(FailureLimiter::new(DEFAULT_LIMIT)),
            secret_cache: Arc::new(SecretCache::new(SecretCacheLimits::default())),
            authorization: AuthorizationSettings::default(),
        }
    }

    /// Sets the authorization code flow's policy (code lifetime, PKCE rules).
    pub fn with_authorization_settings(mut self, settings: AuthorizationSettings) -> Self {
        self.authorization = settings;
        self
    }

    /// Sets the size and TTL of the verified-secret cache (capacity 0 turns it off).
    pub fn with_secret_cache(mut self, limits: SecretCacheLimits) -> Self {
        self.secret_cache = Arc::new(SecretCache::new(limits));
        self
    }

    /// Sets the brute-force limits for passwords (per username) and client secrets
    /// (per client id).
    pub fn with_attempt_limits(
        mut self,
        per_username: AttemptLimit,
        per_client: AttemptLimit,
    ) -> Self {
        self.user_failures = Arc::new(FailureLimiter::new(per_username));
        self.client_failures = Arc::new(FailureLimiter::new(per_client));
        self
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    pub fn ports(&self) -> &PortSet {
        &self.ports
    }

    /// `POST /oauth/token`. Blocking: runs bcrypt and the stores.
    pub fn token(&self, request: &TokenRequest) -> Result<TokenResponse, TokenError> {
        let client = self.authenticate(request.client.as_ref())?;
        let grant_type = request.grant.grant_type();
        // §5.2 unauthorized_client: "not authorized to use this authorization grant type".
        if !client.allows(grant_type) {
            return Err(TokenError::UnauthorizedClient(
                "the client is not allowed this grant type",
            ));
        }
        let result = match &request.grant {
            GrantRequest::Password {
                username,
                password,
                scope,
            } => self.password_grant(&client, username, password, scope.as_deref()),
            GrantRequest::RefreshToken {
                refresh_token,
                scope,
            } => self.refresh_grant(&client, refresh_token, scope.as_deref()),
            GrantRequest::ClientCredentials { scope } => {
                self.client_credentials_grant(&client, scope.as_deref())
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
            ),
        };
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

    /// Authenticates a client for any endpoint that requires it (token, revoke, introspect).
    pub fn authenticate(
        &self,
        credentials: Option<&ClientCredentials>,
    ) -> Result<Client, AuthenticateError> {
        let credentials = credentials.ok_or(ClientAuthError::Missing)?;
        let result = client_auth::authenticate_client(
            &self.ports,
            &self.client_failures,
            &self.secret_cache,
            credentials,
        );
        if let Err(AuthenticateError::Denied(ClientAuthError::TooManyAttempts { .. })) = result {
            self.ports.metrics.record(DomainEvent::RateLimited);
        }
        result
    }

    /// The resource server's check of a bearer access token (RFC 6750).
    pub fn check_access_token(&self, presented: &str) -> Result<ActiveToken, BearerError> {
        bearer::check_access_token(&self.ports, presented)
    }

    /// `POST /oauth/revoke` for an authenticated client (RFC 7009).
    pub fn revoke(
        &self,
        client: &Client,
        token: &str,
        hint: Option<TokenTypeHint>,
    ) -> Result<(), RevokeError> {
        revocation::revoke(&self.ports, client, token, hint)
    }

    /// `POST /oauth/introspect` (RFC 7662): only for clients with the introspection right.
    /// `Ok(None)` = inactive.
    pub fn introspect(
        &self,
        client: &Client,
        token: &str,
    ) -> Result<Option<Introspection>, IntrospectError> {
        if !client.can_introspect {
            return Err(IntrospectError::NotAllowed);
        }
        Ok(introspection::introspect(&self.ports, token)?)
    }

    fn rotation_policy(&self) -> RotationPolicy {
        RotationPolicy {
            rotate: self.settings.always_issue_new_refresh_token,
            grace_period: self.settings.refresh_token_reuse_grace_period.max(0),
        }
    }

    fn mint(&self, kind: TokenKind) -> grantd_ports::PlainToken {
        self.ports.minter.mint(kind)
    }
}

#[cfg(test)]
mod endpoint_tests;
#[cfg(test)]
mod secret_cache_tests;
#[cfg(test)]
mod tests;
