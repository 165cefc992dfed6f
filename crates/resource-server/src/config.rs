//! `VerifierBuilder`: what the verifier is configured with (the issuer, the audience this
//! resource server answers to, leeway, caches, introspection credentials, DPoP), checked once at
//! `build`, so that a request never meets a configuration error.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use reqwest::Url;

use crate::clock::{Clock, SystemClock};
use crate::nonce::{Nonces, MIN_SECRET_LEN};
use crate::replay::{MemoryReplayCache, ReplayCache};
use crate::verifier::Verifier;

/// The widest DPoP `iat` window accepted: a proof is meant for "a relatively brief
/// period" (RFC 9449 §11.1), and the replay cache holds each `jti` this long.
const MAX_DPOP_WINDOW: Duration = Duration::from_secs(300);

/// RFC 7519 §4.1.4 allows "a few minutes"; grantd's policy for resource servers is at most
/// 60 s.
const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// A configuration `build` refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("issuer {0:?}: must be an http(s) URL without query or fragment")]
    Issuer(String),
    #[error("issuer {0:?} is https, but this build has no TLS: enable the crate's `rustls` feature or hand the builder a reqwest::Client with TLS (`http_client`)")]
    NoTls(String),
    #[error("the audience must not be empty (RFC 9068 §4: the resource server MUST check aud)")]
    Audience,
    #[error("leeway {0:?} is over 60 s")]
    Leeway(Duration),
    #[error("the refetch interval must be at least one second")]
    RefetchInterval,
    #[error("algorithms: only asymmetric ones (RS*, PS*, ES256, ES384, EdDSA), at least one")]
    Algorithms,
    #[error("realm: printable ASCII without '\"' or '\\'")]
    Realm,
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    #[error("public base URL {0:?}: must be an http(s) URL without query or fragment")]
    PublicBaseUrl(String),
    #[error("the DPoP iat window must be 1 to 300 s, not {0:?}")]
    DpopWindow(Duration),
    #[error("the DPoP nonce secret must be at least 32 bytes")]
    NonceSecret,
}

/// The introspecting client's credentials (RFC 7662 §2.1, sent as `client_secret_basic`).
#[derive(Clone)]
pub(crate) struct IntrospectionCredentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
}

/// The settings the parts of the verifier read, in whole seconds.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) leeway: i64,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) refetch_interval: i64,
    pub(crate) jwks_max_age: i64,
    pub(crate) cache_ttl: i64,
    pub(crate) cache_max_entries: usize,
    pub(crate) realm: Option<Arc<str>>,
    /// Whether `Authorization: DPoP` is accepted (and offered in challenges).
    pub(crate) dpop: bool,
    /// The DPoP `iat` window, either way.
    pub(crate) dpop_window: i64,
    /// The API's external base URL, without a trailing `/`.
    pub(crate) public_base_url: Option<String>,
    /// Server nonces, when proofs must carry one (RFC 9449 §9).
    pub(crate) dpop_nonces: Option<Nonces>,
}

/// Builds a [`Verifier`]. Start with [`Verifier::builder`].
pub struct VerifierBuilder {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    leeway: Duration,
    algorithms: Vec<Algorithm>,
    refetch_interval: Duration,
    jwks_max_age: Duration,
    pub(crate) introspection: Option<IntrospectionCredentials>,
    cache_ttl: Duration,
    cache_max_entries: usize,
    realm: Option<String>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    dpop: bool,
    dpop_window: Duration,
    public_base_url: Option<String>,
    replay_cache: Option<Arc<dyn ReplayCache>>,
    replay_cache_max_entries: usize,
    nonce_secret: Option<Vec<u8>>,
}

/// The asymmetric signature algorithms; HMAC is never accepted (RFC 8725 §3.1: a public
/// key used as an HMAC secret is the classic algorithm confusion), and `none` is not even
/// representable.
pub(crate) fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

impl VerifierBuilder {
    pub(crate) fn new(issuer: String, audience: String) -> Self {
        use Algorithm::*;
        Self {
            issuer,
            audience,
            leeway: Duration::from_secs(30),
            algorithms: vec![
                RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
            ],
            refetch_interval: Duration::from_secs(30),
            jwks_max_age: Duration::from_secs(300),
            introspection: None,
            cache_ttl: Duration::from_secs(60),
            cache_max_entries: 10_000,
            realm: None,
            http: None,
            timeout: Duration::from_secs(5),
            clock: Arc::new(SystemClock),
            dpop: true,
            dpop_window: Duration::from_secs(60),
            public_base_url: None,
            replay_cache: None,
            replay_cache_max_entries: 100_000,
            nonce_secret: None,
        }
    }

    /// Whether DPoP-bound tokens are accepted with `Authorization: DPoP` and a proof (RFC
    /// 9449 §7; default yes). Off: such requests are refused and challenges name Bearer only.
    pub fn dpop(mut self, accept: bool) -> Self {
        self.dpop = accept;
        self
    }

    /// How far a DPoP proof's `iat` may be from now, either way (default 60 s, 1–300 s).
    /// Proofs are remembered this long for the replay check.
    pub fn dpop_iat_window(mut self, window: Duration) -> Self {
        self.dpop_window = window;
        self
    }

    /// This API's URL as its clients call it (e.g. `https://api.example`, or
    /// `https://example.com/api` behind a proxy that strips `/api`): the actix extractor
    /// checks a DPoP proof's `htu` against it plus the request's path. Taken from
    /// configuration, not the `Host` header, which a client (or a proxy) sets. Without it,
    /// the extractor refuses DPoP requests; the framework-free
    /// [`Verifier::verify_request`] takes the URL from its caller.
    pub fn public_base_url(mut self, url: impl Into<String>) -> Self {
        self.public_base_url = Some(url.into());
        self
    }

    /// Where seen DPoP proofs are recorded (default: a [`MemoryReplayCache`] of this
    /// process). Several instances of the API each keep their own, so a proof replayed to
    /// another instance is not caught unless they share a store: implement
    /// [`ReplayCache`] over one.
    pub fn dpop_replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay_cache = Some(cache);
        self
    }

    /// Requires a server nonce in every DPoP proof (RFC 9449 §9): a proof without the
    /// current one is refused with `error="use_dpop_nonce"` and a `DPoP-Nonce` header the
    /// client retries with. Nonces are derived from `secret` (at least 32 random bytes) and
    /// the time, a new one each `dpop_iat_window`, the previous one still accepted; nothing
    /// is stored, and instances given the same secret accept each other's nonces.
    pub fn require_dpop_nonce(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.nonce_secret = Some(secret.into());
        self
    }

    /// The most proofs the default in-memory replay cache holds (default 100 000): above
    /// the proofs this instance sees in two `iat` windows, or the oldest ones drop out.
    pub fn dpop_replay_cache_max_entries(mut self, max: usize) -> Self {
        self.replay_cache_max_entries = max;
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 30 s, at most 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// The JWT algorithms accepted (default: every asymmetric one `jsonwebtoken` knows);
    /// a token must also use its key's own `alg`.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The least time between two fetches of the JWKS (default 30 s). A token with an
    /// unknown `kid` triggers a refetch only if the last one is at least this old, so that
    /// tokens with made-up `kid`s cannot make the verifier hammer the issuer. It also
    /// spaces the retries of a failed discovery.
    pub fn jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// How long fetched keys are trusted before the JWKS is fetched again (default 300 s,
    /// grantd's `Cache-Control: max-age` for it with the default `keys.publish_ahead`), so
    /// that a key the issuer withdrew stops verifying. If that fetch fails, the keys held
    /// are used on until one succeeds.
    pub fn jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// Opaque tokens are checked by RFC 7662 introspection as this client (it needs the
    /// right to introspect: `grantd client create ... --introspect`). Without it, only JWT
    /// access tokens are accepted.
    pub fn introspection(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.introspection = Some(IntrospectionCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        });
        self
    }

    /// How long an active introspection answer is reused (default 60 s; never past the
    /// token's `exp`). A revocation is seen at most this late. Zero: no cache.
    pub fn introspection_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// The most introspection answers held (default 10 000; zero: no cache).
    pub fn introspection_cache_max_entries(mut self, max: usize) -> Self {
        self.cache_max_entries = max;
        self
    }

    /// The `realm` of the `WWW-Authenticate` challenges (RFC 6750 §3; default none).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// The HTTP client for discovery, JWKS and introspection (default: one of this crate's
    /// own, no redirects, the `timeout` below). Yours brings its own TLS and timeouts.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The time limit of each request to the issuer with the default client (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time source (default the system clock): for tests, or an application's own.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the configuration and builds the verifier. Nothing is fetched yet: discovery
    /// happens on the first token, so that an API can start before its issuer.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        let url = Url::parse(&self.issuer).map_err(|_| ConfigError::Issuer(self.issuer.clone()))?;
        if !matches!(url.scheme(), "http" | "https")
            || url.query().is_some()
            || url.fragment().is_some()
            || url.host_str().is_none()
        {
            return Err(ConfigError::Issuer(self.issuer));
        }
        if url.scheme() == "https" && self.http.is_none() && !cfg!(feature = "rustls") {
            return Err(ConfigError::NoTls(self.issuer));
        }
        if self.audience.is_empty() {
            return Err(ConfigError::Audience);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::Leeway(self.leeway));
        }
        if self.refetch_interval < Duration::from_secs(1) {
            return Err(ConfigError::RefetchInterval);
        }
        if self.algorithms.is_empty() || !self.algorithms.iter().all(|a| is_asymmetric(*a)) {
            return Err(ConfigError::Algorithms);
        }
        if let Some(realm) = &self.realm {
            let printable = |c: char| c.is_ascii_graphic() || c == ' ';
            if !realm.chars().all(|c| printable(c) && c != '"' && c != '\\') {
                return Err(ConfigError::Realm);
            }
        }
        let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        if self.dpop_window < Duration::from_secs(1) || self.dpop_window > MAX_DPOP_WINDOW {
            return Err(ConfigError::DpopWindow(self.dpop_window));
        }
        let public_base_url = match self.public_base_url {
            None => None,
            Some(raw) => {
                let parsed =
                    Url::parse(&raw).map_err(|_| ConfigError::PublicBaseUrl(raw.clone()))?;
                if !matches!(parsed.scheme(), "http" | "https")
                    || parsed.query().is_some()
                    || parsed.fragment().is_some()
                    || parsed.host_str().is_none()
                {
                    return Err(ConfigError::PublicBaseUrl(raw));
                }
                Some(raw.trim_end_matches('/').to_owned())
            }
        };
        if self
            .nonce_secret
            .as_ref()
            .is_some_and(|s| s.len() < MIN_SECRET_LEN)
        {
            return Err(ConfigError::NonceSecret);
        }
        let dpop_nonces = self
            .nonce_secret
            .map(|secret| Nonces::new(secret, seconds(self.dpop_window)));
        let replay_cache = self
            .replay_cache
            .unwrap_or_else(|| Arc::new(MemoryReplayCache::new(self.replay_cache_max_entries)));
        let http = match self.http {
            Some(client) => client,
            None => reqwest::Client::builder()
                // The issuer's documents and answers are read where discovery says they
                // are; a redirect elsewhere is not followed.
                .redirect(reqwest::redirect::Policy::none())
                .timeout(self.timeout)
                .build()
                .map_err(|e| ConfigError::HttpClient(e.to_string()))?,
        };
        let settings = Settings {
            issuer: self.issuer,
            audience: self.audience,
            leeway: seconds(self.leeway),
            algorithms: self.algorithms,
            refetch_interval: seconds(self.refetch_interval),
            jwks_max_age: seconds(self.jwks_max_age),
            cache_ttl: seconds(self.cache_ttl),
            cache_max_entries: self.cache_max_entries,
            realm: self.realm.map(Arc::from),
            dpop: self.dpop,
            dpop_window: seconds(self.dpop_window),
            public_base_url,
            dpop_nonces,
        };
        Ok(Verifier::from_parts(
            settings,
            url,
            http,
            self.introspection,
            self.clock,
            replay_cache,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder(issuer: &str) -> VerifierBuilder {
        Verifier::builder(issuer, "https://api.example")
    }

    #[test]
    fn the_defaults_build() {
        assert!(builder("http://127.0.0.1:8080").build().is_ok());
        assert!(builder("http://as.example/tenant/a").build().is_ok());
    }

    #[test]
    fn bad_configurations_are_refused_at_build() {
        let err = |b: VerifierBuilder| b.build().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(builder("as.example")).contains("http(s) URL"));
        assert!(err(builder("ftp://as.example")).contains("http(s) URL"));
        assert!(err(builder("http://as.example/?x=1")).contains("http(s) URL"));
        assert!(err(builder("http://as.example/#f")).contains("http(s) URL"));
        assert!(err(Verifier::builder("http://as.example", "")).contains("audience"));
        assert!(
            err(builder("http://as.example").leeway(Duration::from_secs(61))).contains("leeway")
        );
        assert!(
            err(builder("http://as.example").jwks_refetch_interval(Duration::ZERO))
                .contains("refetch")
        );
        assert!(
            err(builder("http://as.example").algorithms([Algorithm::HS256])).contains("asymmetric")
        );
        assert!(err(builder("http://as.example").algorithms([])).contains("asymmetric"));
        assert!(err(builder("http://as.example").realm("a\"b")).contains("realm"));
        assert!(
            err(builder("http://as.example").dpop_iat_window(Duration::ZERO)).contains("window")
        );
        assert!(
            err(builder("http://as.example").dpop_iat_window(Duration::from_secs(301)))
                .contains("window")
        );
        for bad in ["api.example", "https://api.example/?q", "ftp://api.example"] {
            assert!(
                err(builder("http://as.example").public_base_url(bad)).contains("public base URL"),
                "{bad}"
            );
        }
        assert!(
            err(builder("http://as.example").require_dpop_nonce(vec![1; 31])).contains("nonce")
        );
        assert!(builder("http://as.example")
            .public_base_url("https://api.example/v1/")
            .build()
            .is_ok());
    }

    #[test]
    #[cfg(not(feature = "rustls"))]
    fn an_https_issuer_needs_tls_or_an_own_client() {
        let err = builder("https://as.example").build().err();
        assert!(matches!(err, Some(ConfigError::NoTls(_))), "{err:?}");
        let own = reqwest::Client::new();
        assert!(builder("https://as.example")
            .http_client(own)
            .build()
            .is_ok());
    }
}
