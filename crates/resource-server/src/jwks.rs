//! The issuer's signing keys (RFC 7517 JWKS), cached by `kid`. Keys are fetched on first
//! use and again once older than `jwks_max_age`; a `kid` not in the cache triggers one
//! refetch, but fetches are at least `jwks_refetch_interval` apart whatever asks for them,
//! so tokens with made-up `kid`s cost the issuer at most one fetch per interval.
//! Concurrent misses wait for one fetch. Symmetric (`oct`) keys and keys not for
//! signatures are never taken from the set.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::clock::Clock;
use crate::config::is_asymmetric;
use crate::fetch;
use crate::IssuerProblem;

const WHAT: &str = "the JWKS";

/// Where the JWKS comes from: the issuer over HTTP, or a test's own source.
pub(crate) trait KeySource: Send + Sync {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, IssuerProblem>> + Send + '_>>;
}

/// One verification key and the algorithms it may verify: its JWK's `alg` if it names
/// one, else those of its key type (RFC 7518 §3.1).
pub(crate) struct VerifyKey {
    pub(crate) decoding: DecodingKey,
    pub(crate) algorithms: Vec<Algorithm>,
}

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<VerifyKey>>,
    /// The last successful fetch.
    fetched_at: Option<i64>,
    /// The last fetch, successful or not: the refetch limit counts from it.
    attempted_at: Option<i64>,
}

pub(crate) struct JwksCache {
    source: Box<dyn KeySource>,
    clock: Arc<dyn Clock>,
    refetch_interval: i64,
    max_age: i64,
    set: RwLock<KeySet>,
    fetching: tokio::sync::Mutex<()>,
    pub(crate) fetches: AtomicU64,
}

impl JwksCache {
    pub(crate) fn new(
        source: Box<dyn KeySource>,
        clock: Arc<dyn Clock>,
        refetch_interval: i64,
        max_age: i64,
    ) -> Self {
        Self {
            source,
            clock,
            refetch_interval,
            max_age,
            set: RwLock::new(KeySet::default()),
            fetching: tokio::sync::Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    /// What the cache holds for `kid` now: the key (if any) and whether the set is fresh.
    fn lookup(&self, kid: &str, now: i64) -> (Option<Arc<VerifyKey>>, bool, KeySetTimes) {
        let read = |set: &KeySet| {
            let fresh = set.fetched_at.is_some_and(|at| now - at < self.max_age);
            let times = KeySetTimes {
                fetched_at: set.fetched_at,
                attempted_at: set.attempted_at,
            };
            (set.keys.get(kid).cloned(), fresh, times)
        };
        match self.set.read() {
            Ok(set) => read(&set),
            Err(poisoned) => read(&poisoned.into_inner()),
        }
    }

    /// The key named `kid`: `Ok(None)` if the issuer does not publish it (as of a fetch at
    /// most one refetch interval old), `Err` if the keys cannot be had at all.
    pub(crate) async fn key(&self, kid: &str) -> Result<Option<Arc<VerifyKey>>, IssuerProblem> {
        let (found, fresh, _) = self.lookup(kid, self.clock.now());
        if found.is_some() && fresh {
            return Ok(found);
        }
        let _one_fetch = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        let now = self.clock.now();
        let (found, fresh, times) = self.lookup(kid, now);
        if found.is_some() && fresh {
            return Ok(found);
        }
        let may_fetch = times
            .attempted_at
            .is_none_or(|at| now - at >= self.refetch_interval);
        if !may_fetch {
            return match (found, times.fetched_at) {
                // Stale, but the issuer was just asked: keep using it.
                (Some(key), _) => Ok(Some(key)),
                // The keys are recent and this kid is not among them.
                (None, Some(_)) => Ok(None),
                (None, None) => Err(IssuerProblem::RetryLater),
            };
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = match self.source.fetch().await {
            Ok(body) => parse_jwks(&body),
            Err(problem) => Err(problem),
        };
        let mut set = match self.set.write() {
            Ok(set) => set,
            Err(poisoned) => poisoned.into_inner(),
        };
        set.attempted_at = Some(now);
        match fetched {
            Ok(keys) => {
                set.keys = keys;
                set.fetched_at = Some(now);
                Ok(set.keys.get(kid).cloned())
            }
            Err(problem) => {
                tracing::warn!(%problem, "fetching the JWKS failed");
                // A key already held verifies on (the issuer being down is no reason to
                // refuse every token); an unknown kid cannot be judged.
                match found {
                    Some(key) => Ok(Some(key)),
                    None => Err(problem),
                }
            }
        }
    }
}

struct KeySetTimes {
    fetched_at: Option<i64>,
    attempted_at: Option<i64>,
}

/// The usable keys of a JWKS document, by `kid`. A key that does not parse, has no `kid`,
/// is symmetric, is not for signatures, or names no asymmetric algorithm is left out
/// (the rest still verify). Of two keys with one `kid`, the first is kept.
pub(crate) fn parse_jwks(body: &[u8]) -> Result<HashMap<String, Arc<VerifyKey>>, IssuerProblem> {
    #[derive(Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let set: Set = fetch::json(body, WHAT)?;
    let mut keys = HashMap::new();
    for value in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if let Some(key) = verify_key(&jwk) {
            keys.entry(kid).or_insert_with(|| Arc::new(key));
        }
    }
    Ok(keys)
}

fn verify_key(jwk: &Jwk) -> Option<VerifyKey> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    let by_type: Vec<Algorithm> = match &jwk.algorithm {
        // Never a shared secret from a public document.
        AlgorithmParameters::OctetKey(_) => return None,
        AlgorithmParameters::RSA(_) => {
            use Algorithm::*;
            vec![RS256, RS384, RS512, PS256, PS384, PS512]
        }
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
            _ => return None,
        },
    };
    let algorithms = match jwk.common.key_algorithm {
        None => by_type,
        Some(named) => {
            let named = signing_algorithm(named)?;
            if !by_type.contains(&named) {
                return None;
            }
            vec![named]
        }
    };
    let decoding = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyKey {
        decoding,
        algorithms,
    })
}

/// The JWS algorithm a JWK's `alg` names, if it is an asymmetric signature algorithm.
fn signing_algorithm(named: KeyAlgorithm) -> Option<Algorithm> {
    let alg = match named {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    };
    is_asymmetric(alg).then_some(alg)
}

/// The issuer's JWKS, at the `jwks_uri` discovery names.
pub(crate) struct HttpKeySource {
    pub(crate) discovery: Arc<crate::discovery::Discovery>,
    pub(crate) http: reqwest::Client,
}

impl KeySource for HttpKeySource {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, IssuerProblem>> + Send + '_>> {
        Box::pin(async move {
            let metadata = self.discovery.metadata().await?;
            let uri = metadata
                .jwks_uri
                .as_deref()
                .ok_or(IssuerProblem::MissingEndpoint("jwks_uri"))?;
            fetch::send(self.http.get(uri), WHAT).await
        })
    }
}

#[cfg(test)]
#[path = "jwks_tests.rs"]
mod tests;
