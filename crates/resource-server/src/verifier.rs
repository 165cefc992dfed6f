//! `Verifier`: the one entry point. It reads what a request presents, picks the check for
//! the token's shape (a JWT against the JWKS, anything else by introspection) and the
//! scheme (Bearer now; DPoP is refused until RFC 9449 §7 lands here with grantd's issue
//! 13), then enforces the required scopes. Cheap to clone: clones share the caches.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use reqwest::Url;

use crate::clock::Clock;
use crate::config::{IntrospectionCredentials, Settings, VerifierBuilder};
use crate::credentials::looks_like_jwt;
use crate::discovery::Discovery;
use crate::introspection::Introspector;
use crate::jwks::{HttpKeySource, JwksCache};
use crate::jwt::{self, Expectations};
use crate::{Authenticated, Credentials, IssuerProblem, Reason, Rejection, Scheme, TokenProblem};

/// Checks access tokens issued by one issuer for one audience.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    clock: Arc<dyn Clock>,
    discovery: Arc<Discovery>,
    jwks: JwksCache,
    introspector: Option<Introspector>,
}

/// How often the verifier has asked the issuer (for metrics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    pub discovery_fetches: u64,
    pub jwks_fetches: u64,
    pub introspection_requests: u64,
    pub introspection_cache_hits: u64,
}

impl Verifier {
    /// A builder for tokens of `issuer` (the RFC 8414 issuer identifier, exactly as the
    /// metadata names it) meant for `audience` (this API's identifier in the tokens' `aud`;
    /// grantd's default audience is its issuer, `tokens.default_audience` sets another).
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder::new(issuer.into(), audience.into())
    }

    pub(crate) fn from_parts(
        settings: Settings,
        issuer: Url,
        http: reqwest::Client,
        introspection: Option<IntrospectionCredentials>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let discovery = Arc::new(Discovery::new(
            &issuer,
            &settings.issuer,
            http.clone(),
            clock.clone(),
            settings.refetch_interval,
        ));
        let source = HttpKeySource {
            discovery: discovery.clone(),
            http: http.clone(),
        };
        let jwks = JwksCache::new(
            Box::new(source),
            clock.clone(),
            settings.refetch_interval,
            settings.jwks_max_age,
        );
        let introspector = introspection.map(|credentials| {
            Introspector::new(
                discovery.clone(),
                http,
                &credentials,
                settings.clone(),
                clock.clone(),
            )
        });
        Self {
            inner: Arc::new(Inner {
                settings,
                clock,
                discovery,
                jwks,
                introspector,
            }),
        }
    }

    /// The configured realm of the challenges.
    pub fn realm(&self) -> Option<&str> {
        self.inner.settings.realm.as_deref()
    }

    pub fn stats(&self) -> Stats {
        let introspector = self.inner.introspector.as_ref();
        let count =
            |c: Option<&std::sync::atomic::AtomicU64>| c.map_or(0, |c| c.load(Ordering::Relaxed));
        Stats {
            discovery_fetches: self.inner.discovery.fetches.load(Ordering::Relaxed),
            jwks_fetches: self.inner.jwks.fetches.load(Ordering::Relaxed),
            introspection_requests: count(introspector.map(|i| &i.requests)),
            introspection_cache_hits: count(introspector.map(|i| &i.cache_hits)),
        }
    }

    fn reject(&self, reason: Reason) -> Rejection {
        Rejection::from(reason).with_realm(self.inner.settings.realm.as_ref())
    }

    /// Verifies the token of a request's `Authorization` header values (all of them: two
    /// are an `invalid_request`) and requires `required_scopes`.
    pub async fn verify_authorization<'a>(
        &self,
        authorization: impl IntoIterator<Item = &'a [u8]>,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let credentials =
            Credentials::from_authorization(authorization).map_err(|r| self.reject(r))?;
        self.verify(&credentials, required_scopes).await
    }

    /// Verifies `credentials` and requires `required_scopes` (RFC 6750 §3.1: a bad token is
    /// `invalid_token` before any scope is looked at).
    pub async fn verify(
        &self,
        credentials: &Credentials,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let checked = match credentials {
            Credentials::Bearer(token) => self.bearer(token).await,
            // RFC 9449 §7: the proof, its `ath` and the token's `cnf.jkt` are checked here once
            // grantd issues DPoP-bound tokens (issue 13); until then such a request is refused,
            // never taken as a bearer request.
            Credentials::DPoP { .. } => Err(Reason::SchemeNotSupported(Scheme::DPoP)),
        };
        let authenticated = checked
            .map_err(|r| self.reject(r))?
            .presented_as(credentials, self.inner.settings.realm.as_ref());
        authenticated.require(required_scopes)?;
        Ok(authenticated)
    }

    async fn bearer(&self, token: &str) -> Result<Authenticated, Reason> {
        if !looks_like_jwt(token) {
            return match &self.inner.introspector {
                Some(introspector) => introspector.check(token).await,
                None => Err(Reason::InvalidToken(TokenProblem::CannotIntrospect)),
            };
        }
        let metadata = self
            .inner
            .discovery
            .metadata()
            .await
            .map_err(Reason::IssuerUnavailable)?;
        match (&metadata.jwks_uri, &self.inner.introspector) {
            (Some(_), _) => self.jwt(token).await,
            // An issuer without published keys can still answer for its JWTs.
            (None, Some(introspector)) => introspector.check(token).await,
            (None, None) => Err(Reason::IssuerUnavailable(IssuerProblem::MissingEndpoint(
                "jwks_uri",
            ))),
        }
    }

    async fn jwt(&self, token: &str) -> Result<Authenticated, Reason> {
        let settings = &self.inner.settings;
        let header =
            jwt::check_header(token, &settings.algorithms).map_err(Reason::InvalidToken)?;
        let key = self
            .inner
            .jwks
            .key(&header.kid)
            .await
            .map_err(Reason::IssuerUnavailable)?
            .ok_or(Reason::InvalidToken(TokenProblem::UnknownKey))?;
        let expect = Expectations {
            issuer: &settings.issuer,
            audience: &settings.audience,
            leeway: settings.leeway,
        };
        jwt::verify(token, &header, &key, &expect, self.inner.clock.now())
            .map_err(Reason::InvalidToken)
    }
}
