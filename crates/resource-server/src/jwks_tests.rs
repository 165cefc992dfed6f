//! The JWKS cache: which keys a set yields, and the refetch rules (once per unknown kid,
//! at most once per interval, concurrent misses sharing one fetch, stale keys kept when
//! the issuer is down).

use std::sync::atomic::AtomicUsize;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::test_keys::{jwks, ManualClock, TestKey};

const T0: i64 = 1_700_000_000;
const INTERVAL: i64 = 30;
const MAX_AGE: i64 = 300;

/// A JWKS source that counts its fetches and answers what the test sets.
#[derive(Clone, Default)]
struct FakeSource {
    inner: Arc<FakeInner>,
}

struct FakeInner {
    body: Mutex<Result<Vec<u8>, IssuerProblem>>,
    fetches: AtomicUsize,
    delay_ms: AtomicUsize,
}

impl Default for FakeInner {
    fn default() -> Self {
        Self {
            body: Mutex::new(Ok(b"{\"keys\": []}".to_vec())),
            fetches: AtomicUsize::new(0),
            delay_ms: AtomicUsize::new(0),
        }
    }
}

impl FakeSource {
    fn serving(keys: &[&TestKey]) -> Self {
        let source = Self::default();
        source.serve(keys);
        source
    }

    fn serve(&self, keys: &[&TestKey]) {
        *self.inner.body.lock().unwrap() = Ok(jwks(keys));
    }

    fn fail(&self) {
        *self.inner.body.lock().unwrap() =
            Err(IssuerProblem::Unreachable("connection refused".into()));
    }

    fn fetches(&self) -> usize {
        self.inner.fetches.load(Ordering::SeqCst)
    }
}

impl KeySource for FakeSource {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, IssuerProblem>> + Send + '_>> {
        Box::pin(async move {
            self.inner.fetches.fetch_add(1, Ordering::SeqCst);
            let delay = self.inner.delay_ms.load(Ordering::SeqCst) as u64;
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            self.inner.body.lock().unwrap().clone()
        })
    }
}

fn cache(source: &FakeSource, clock: &Arc<ManualClock>) -> JwksCache {
    JwksCache::new(Box::new(source.clone()), clock.clone(), INTERVAL, MAX_AGE)
}

#[test]
fn a_set_yields_only_usable_signature_keys() {
    let good = TestKey::es256("good");
    let ed = TestKey::ed25519("ed");
    let mut no_alg = TestKey::es256("no-alg").jwk;
    no_alg.as_object_mut().unwrap().remove("alg");
    let mut wrong_alg = TestKey::es256("wrong-alg").jwk;
    wrong_alg["alg"] = json!("RS256");
    let mut hmac_alg = TestKey::es256("hmac-alg").jwk;
    hmac_alg["alg"] = json!("HS256");
    let mut for_encryption = TestKey::es256("enc").jwk;
    for_encryption["use"] = json!("enc");
    let mut no_kid = TestKey::es256("x").jwk;
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut duplicate = TestKey::ed25519("good").jwk;
    duplicate["kid"] = json!("good");
    let set = json!({ "keys": [
        good.jwk, ed.jwk, no_alg, wrong_alg, hmac_alg, for_encryption, no_kid, duplicate,
        { "kty": "oct", "kid": "secret", "k": "c2VjcmV0", "alg": "HS256" },
        { "kty": "oct", "kid": "secret2", "k": "c2VjcmV0" },
        { "kty": "EC", "kid": "broken", "crv": "P-256", "x": 1 },
        { "kty": "XYZ", "kid": "unknown-type" },
    ]});
    let keys = parse_jwks(set.to_string().as_bytes()).unwrap();
    let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
    kids.sort_unstable();
    assert_eq!(kids, ["ed", "good", "no-alg"]);
    assert_eq!(
        keys["no-alg"].algorithms,
        [Algorithm::ES256],
        "from the key type"
    );
    assert_eq!(
        keys["good"].algorithms,
        [Algorithm::ES256],
        "the first of a duplicate kid"
    );
    assert!(parse_jwks(b"{\"keys\": 5}").is_err());
    assert!(parse_jwks(b"not json").is_err());
}

#[tokio::test]
async fn keys_are_fetched_once_and_served_from_the_cache() {
    let k1 = TestKey::es256("k1");
    let source = FakeSource::serving(&[&k1]);
    let clock = ManualClock::at(T0);
    let cache = cache(&source, &clock);
    for _ in 0..5 {
        assert!(cache.key("k1").await.unwrap().is_some());
    }
    assert_eq!(source.fetches(), 1);
}

#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_interval() {
    let k1 = TestKey::es256("k1");
    let source = FakeSource::serving(&[&k1]);
    let clock = ManualClock::at(T0);
    let cache = cache(&source, &clock);
    assert!(cache.key("k1").await.unwrap().is_some());
    // Made-up kids right after a fetch: refused without asking the issuer.
    for i in 0..20 {
        assert!(cache.key(&format!("random-{i}")).await.unwrap().is_none());
    }
    assert_eq!(source.fetches(), 1);
    clock.advance(INTERVAL - 1);
    assert!(cache.key("random").await.unwrap().is_none());
    assert_eq!(source.fetches(), 1, "still inside the interval");
    clock.advance(1);
    assert!(cache.key("random").await.unwrap().is_none());
    assert_eq!(source.fetches(), 2, "one refetch once the interval passed");
    for i in 0..20 {
        assert!(cache.key(&format!("again-{i}")).await.unwrap().is_none());
    }
    assert_eq!(source.fetches(), 2);
}

#[tokio::test]
async fn a_rotated_key_is_found_by_one_refetch() {
    let (k1, k2) = (TestKey::es256("k1"), TestKey::ed25519("k2"));
    let source = FakeSource::serving(&[&k1]);
    let clock = ManualClock::at(T0);
    let cache = cache(&source, &clock);
    assert!(cache.key("k1").await.unwrap().is_some());
    source.serve(&[&k1, &k2]);
    clock.advance(INTERVAL);
    assert!(cache.key("k2").await.unwrap().is_some());
    assert!(cache.key("k2").await.unwrap().is_some());
    assert!(cache.key("k1").await.unwrap().is_some());
    assert_eq!(source.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_misses_share_one_fetch() {
    let k1 = TestKey::es256("k1");
    let source = FakeSource::serving(&[&k1]);
    source.inner.delay_ms.store(50, Ordering::SeqCst);
    let clock = ManualClock::at(T0);
    let cache = Arc::new(cache(&source, &clock));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let cache = cache.clone();
            let kid = if i % 2 == 0 {
                "k1".to_owned()
            } else {
                format!("random-{i}")
            };
            tokio::spawn(async move { cache.key(&kid).await.map(|k| k.is_some()) })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap().unwrap(), i % 2 == 0);
    }
    assert_eq!(source.fetches(), 1);
}

#[tokio::test]
async fn old_keys_are_refetched_after_max_age_and_a_withdrawn_key_stops_verifying() {
    let (k1, k2) = (TestKey::es256("k1"), TestKey::es256("k2"));
    let source = FakeSource::serving(&[&k1, &k2]);
    let clock = ManualClock::at(T0);
    let cache = cache(&source, &clock);
    assert!(cache.key("k1").await.unwrap().is_some());
    source.serve(&[&k2]);
    clock.advance(MAX_AGE - 1);
    assert!(cache.key("k1").await.unwrap().is_some(), "fresh enough");
    assert_eq!(source.fetches(), 1);
    clock.advance(1);
    assert!(
        cache.key("k1").await.unwrap().is_none(),
        "withdrawn at the issuer"
    );
    assert!(cache.key("k2").await.unwrap().is_some());
    assert_eq!(source.fetches(), 2);
}

#[tokio::test]
async fn an_unreachable_issuer_is_no_token_verdict_and_is_not_hammered() {
    let k1 = TestKey::es256("k1");
    let source = FakeSource::default();
    source.fail();
    let clock = ManualClock::at(T0);
    let cache = cache(&source, &clock);
    assert!(matches!(
        cache.key("k1").await,
        Err(IssuerProblem::Unreachable(_))
    ));
    for _ in 0..10 {
        assert_eq!(cache.key("k1").await.err(), Some(IssuerProblem::RetryLater));
    }
    assert_eq!(source.fetches(), 1);
    // Back up: keys arrive; then down again after max age: the held keys verify on.
    source.serve(&[&k1]);
    clock.advance(INTERVAL);
    assert!(cache.key("k1").await.unwrap().is_some());
    source.fail();
    clock.advance(MAX_AGE);
    assert!(
        cache.key("k1").await.unwrap().is_some(),
        "stale keys beat no keys"
    );
    assert_eq!(source.fetches(), 3);
    assert!(
        matches!(cache.key("k9").await, Ok(None)),
        "just asked: unknown"
    );
    clock.advance(INTERVAL);
    assert!(
        matches!(cache.key("k9").await, Err(IssuerProblem::Unreachable(_))),
        "cannot judge"
    );
}
