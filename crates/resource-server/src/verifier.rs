//! `Verifier`: the one entry point. It reads what a request presents, picks the check for
//! the token's shape (a JWT against the JWKS, anything else by introspection), matches the
//! token's key binding to the scheme (Bearer: none; DPoP, RFC 9449 §7: the proof's key,
//! after the proof's own checks, and the proof's `jti` not seen before), then enforces the
//! required scopes. Cheap to clone: clones share the caches.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use reqwest::Url;

use crate::clock::Clock;
use crate::config::{IntrospectionCredentials, Settings, VerifierBuilder};
use crate::credentials::looks_like_jwt;
use crate::discovery::Discovery;
use crate::dpop::{self, RequestFacts};
use crate::introspection::Introspector;
use crate::jwks::{HttpKeySource, JwksCache};
use crate::jwt::{self, Expectations};
use crate::replay::ReplayCache;
use crate::{
    Authenticated, Credentials, IssuerProblem, ProofProblem, Reason, Rejection, Request, Scheme,
    TokenProblem,
};

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
    replay: Arc<dyn ReplayCache>,
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
        replay: Arc<dyn ReplayCache>,
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
                replay,
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

    /// The URL a client called for `path_and_query` (as the HTTP framework sees it), from
    /// the configured [`public_base_url`](crate::VerifierBuilder::public_base_url); `None`
    /// without one.
    pub fn public_url(&self, path_and_query: &str) -> Option<String> {
        let base = self.inner.settings.public_base_url.as_deref()?;
        let path = path_and_query.strip_prefix('/').unwrap_or(path_and_query);
        Some(format!("{base}/{path}"))
    }

    fn reject(&self, reason: Reason, scheme: Scheme) -> Rejection {
        let settings = &self.inner.settings;
        // RFC 9449 §9: the refusal for a missing or old nonce hands out the current one.
        let nonce = match (&reason, &settings.dpop_nonces) {
            (Reason::InvalidDpopProof(ProofProblem::Nonce), Some(nonces)) => {
                Some(nonces.current(self.inner.clock.now()))
            }
            _ => None,
        };
        Rejection::from(reason)
            .with_realm(settings.realm.as_ref())
            .with_challenge(scheme, settings.dpop)
            .with_nonce(nonce)
    }

    /// Verifies the token of a request's `Authorization` header values (all of them: two
    /// are an `invalid_request`) and requires `required_scopes`. Without the method and URL
    /// a DPoP request cannot be checked: use [`Verifier::verify_request`] for those.
    pub async fn verify_authorization<'a>(
        &self,
        authorization: impl IntoIterator<Item = &'a [u8]>,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let request = Request::without_url("").authorization(authorization);
        self.verify_request(&request, required_scopes).await
    }

    /// Verifies a request, Bearer or DPoP (RFC 9449 §7: its `DPoP` proof for this method
    /// and URL, signed by the key the token is bound to), and requires `required_scopes`.
    pub async fn verify_request(
        &self,
        request: &Request<'_>,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let credentials = Credentials::from_authorization(request.authorization.iter().copied())
            .map_err(|r| self.reject(r, Scheme::Bearer))?;
        let checked = match &credentials {
            Credentials::Bearer(token) => self.bearer(token).await,
            Credentials::DPoP { token } => self.dpop(token, request).await,
        };
        self.finish(checked, &credentials, required_scopes)
    }

    /// Verifies `credentials` and requires `required_scopes` (RFC 6750 §3.1: a bad token is
    /// `invalid_token` before any scope is looked at). DPoP credentials need the request
    /// ([`Verifier::verify_request`]); here they are refused for want of a proof.
    pub async fn verify(
        &self,
        credentials: &Credentials,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let checked = match credentials {
            Credentials::Bearer(token) => self.bearer(token).await,
            Credentials::DPoP { .. } => Err(Reason::InvalidDpopProof(ProofProblem::Missing)),
        };
        self.finish(checked, credentials, required_scopes)
    }

    fn finish(
        &self,
        checked: Result<Authenticated, Reason>,
        credentials: &Credentials,
        required_scopes: &[&str],
    ) -> Result<Authenticated, Rejection> {
        let settings = &self.inner.settings;
        let authenticated = checked
            .map_err(|r| self.reject(r, credentials.scheme()))?
            .presented_as(credentials, settings.realm.as_ref(), settings.dpop);
        authenticated.require(required_scopes)?;
        Ok(authenticated)
    }

    /// A bearer token must be bound to nothing (RFC 9449 §7.2).
    async fn bearer(&self, token: &str) -> Result<Authenticated, Reason> {
        let authenticated = self.token(token).await?;
        if authenticated.jkt.is_some() || authenticated.other_binding {
            return Err(Reason::InvalidToken(TokenProblem::SenderConstrained));
        }
        Ok(authenticated)
    }

    /// RFC 9449 §7.1: the proof (cheap, local) first, then the token and its binding to the
    /// proof's key; the `jti` is recorded last, so that only proofs of a request that
    /// passed everything else take room in the replay cache.
    async fn dpop(&self, token: &str, request: &Request<'_>) -> Result<Authenticated, Reason> {
        let settings = &self.inner.settings;
        if !settings.dpop {
            return Err(Reason::SchemeNotSupported(Scheme::DPoP));
        }
        let Some(url) = request.url else {
            tracing::warn!(
                "a DPoP request without its URL: use verify_request, or set public_base_url \
                 for the actix extractor"
            );
            return Err(Reason::SchemeNotSupported(Scheme::DPoP));
        };
        let proof = match request.dpop.as_slice() {
            [] => return Err(Reason::InvalidDpopProof(ProofProblem::Missing)),
            [one] => std::str::from_utf8(one)
                .map_err(|_| Reason::InvalidDpopProof(ProofProblem::Malformed))?
                .trim(),
            _ => return Err(Reason::InvalidDpopProof(ProofProblem::Multiple)),
        };
        let facts = RequestFacts {
            method: request.method,
            url,
            access_token: token,
            nonces: settings.dpop_nonces.as_ref(),
        };
        let proof = dpop::check_proof(proof, &facts, settings.dpop_window, self.inner.clock.now())
            .map_err(Reason::InvalidDpopProof)?;
        let authenticated = self.token(token).await?;
        if authenticated.other_binding || authenticated.jkt.as_deref() != Some(proof.jkt.as_str()) {
            return Err(Reason::InvalidToken(TokenProblem::KeyBinding));
        }
        let first = self
            .inner
            .replay
            .first_use(proof.replay_key, proof.until, self.inner.clock.now())
            .await
            .map_err(|e| {
                tracing::warn!(problem = %e, "the DPoP replay cache failed");
                Reason::ReplayCacheUnavailable(e)
            })?;
        if !first {
            return Err(Reason::InvalidDpopProof(ProofProblem::Replayed));
        }
        Ok(authenticated)
    }

    /// The token itself, whatever the scheme: a JWT against the JWKS, else introspection.
    async fn token(&self, token: &str) -> Result<Authenticated, Reason> {
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
