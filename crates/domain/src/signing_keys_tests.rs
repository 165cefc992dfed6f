//! Tests of the key rules (pure) and of `KeyRing` with the mockall doubles: key selection
//! and the rotation timing as the mock Clock moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use grantd_ports::{
    GeneratedKey, MockClock, MockKeyStore, MockTokenSigner, SealedPrivateKey, SigningAlgorithm,
    SigningKey,
};

use super::*;

const T0: UnixTime = 1_000_000;

fn key(kid: &str, created_at: UnixTime, activates_at: UnixTime) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        algorithm: SigningAlgorithm::Rs256,
        public_jwk: format!("{{\"kid\":\"{kid}\"}}"),
        private_key: SealedPrivateKey::from_stored(vec![1, 2, 3]),
        created_at,
        activates_at,
        retired_at: None,
        published_until: None,
    }
}

fn retired(mut k: SigningKey, at: UnixTime, until: UnixTime) -> SigningKey {
    k.retired_at = Some(at);
    k.published_until = Some(until);
    k
}

#[test]
fn the_newest_activated_live_key_signs() {
    let keys = [key("a", T0, T0), key("b", T0 + 10, T0 + 610)];
    assert_eq!(
        signing_key(&keys, T0 + 609).map(|k| k.kid.as_str()),
        Some("a")
    );
    assert_eq!(
        signing_key(&keys, T0 + 610).map(|k| k.kid.as_str()),
        Some("b")
    );
}

#[test]
fn a_retired_key_never_signs() {
    let keys = [retired(key("a", T0, T0), T0 + 5, T0 + 3605)];
    assert_eq!(signing_key(&keys, T0 + 6), None);
    let keys = [
        retired(key("a", T0, T0), T0 + 5, T0 + 3605),
        key("b", T0, T0 + 1),
    ];
    assert_eq!(
        signing_key(&keys, T0 + 6).map(|k| k.kid.as_str()),
        Some("b")
    );
}

#[test]
fn without_an_activated_key_the_first_pending_one_signs_early() {
    let keys = [key("b", T0, T0 + 900), key("a", T0, T0 + 600)];
    assert_eq!(signing_key(&keys, T0).map(|k| k.kid.as_str()), Some("a"));
    assert_eq!(signing_key(&[], T0), None);
    let gone = [retired(key("a", T0, T0), T0, T0 + 10)];
    assert_eq!(signing_key(&gone, T0 + 1), None);
}

#[test]
fn key_states_follow_the_clock() {
    let keys = [
        key("a", T0, T0),
        key("b", T0, T0 + 600),
        retired(key("c", T0, T0), T0, T0 + 100),
    ];
    let states = |now| {
        keys.iter()
            .map(|k| key_state(&keys, k, now))
            .collect::<Vec<_>>()
    };
    assert_eq!(states(T0 + 1), ["signing", "pending", "retired"]);
    assert_eq!(states(T0 + 600), ["published", "signing", "expired"]);
}

#[test]
fn a_pending_key_is_published_and_a_retired_one_until_its_tokens_expired() {
    assert!(is_published(&key("a", T0, T0 + 600), T0));
    let old = retired(key("a", T0, T0), T0 + 100, T0 + 3700);
    assert!(is_published(&old, T0 + 3699));
    assert!(!is_published(&old, T0 + 3700));
}

#[test]
fn the_first_key_signs_at_once_a_later_one_after_publish_ahead() {
    let settings = KeySettings::default();
    assert_eq!(activation_time(&[], T0, &settings), T0);
    assert_eq!(
        activation_time(&[key("a", T0, T0)], T0 + 5, &settings),
        T0 + 5 + 600
    );
    // Only retired keys that left the JWKS: no cache holds anything worth protecting.
    let gone = retired(key("a", T0, T0), T0, T0 + 10);
    assert_eq!(activation_time(&[gone], T0 + 20, &settings), T0 + 20);
}

#[test]
fn the_longest_lifetime_counts_per_client_overrides() {
    let settings = TokenSettings::default();
    let plain = crate::test_support::client("plain", true);
    assert_eq!(
        longest_access_lifetime(&settings, std::slice::from_ref(&plain)),
        3600
    );
    let mut long = crate::test_support::client("long", true);
    long.lifetimes.access_token = Some(7200);
    assert_eq!(longest_access_lifetime(&settings, &[plain, long]), 7200);
}

#[test]
fn the_jwks_max_age_is_within_publish_ahead() {
    let settings = KeySettings::default();
    assert!(settings.jwks_max_age() > 0 && settings.jwks_max_age() < settings.publish_ahead);
}

/// A mock Clock whose time the test moves, and an in-memory key table behind MockKeyStore.
struct Ring {
    now: Arc<AtomicI64>,
    rows: Arc<Mutex<Vec<SigningKey>>>,
    ring: KeyRing,
}

fn ring() -> Ring {
    let now = Arc::new(AtomicI64::new(T0));
    let rows: Arc<Mutex<Vec<SigningKey>>> = Arc::default();
    let mut clock = MockClock::new();
    let t = now.clone();
    clock
        .expect_now()
        .returning(move || t.load(Ordering::SeqCst));
    let mut store = MockKeyStore::new();
    let r = rows.clone();
    store
        .expect_list_signing_keys()
        .returning(move || Ok(r.lock().unwrap().clone()));
    let r = rows.clone();
    store.expect_insert_signing_key().returning(move |k| {
        r.lock().unwrap().push(k.clone());
        Ok(())
    });
    let r = rows.clone();
    store
        .expect_retire_signing_key()
        .returning(move |kid, at, until| {
            let mut rows = r.lock().unwrap();
            let Some(k) = rows
                .iter_mut()
                .find(|k| k.kid == kid && k.retired_at.is_none())
            else {
                return Ok(false);
            };
            k.retired_at = Some(at);
            k.published_until = Some(until);
            Ok(true)
        });
    let mut signer = MockTokenSigner::new();
    let n = Arc::new(AtomicI64::new(0));
    signer.expect_generate().returning(move |alg| {
        let i = n.fetch_add(1, Ordering::SeqCst);
        assert_eq!(alg, SigningAlgorithm::Es256);
        Ok(GeneratedKey {
            kid: format!("k{i}"),
            public_jwk: "{}".to_owned(),
            private_key: SealedPrivateKey::from_stored(vec![0; 40]),
        })
    });
    let settings = KeySettings {
        algorithm: SigningAlgorithm::Es256,
        publish_ahead: 600,
    };
    let ring = KeyRing::new(Arc::new(store), Arc::new(signer), Arc::new(clock), settings);
    Ring { now, rows, ring }
}

impl Ring {
    fn at(&self, t: UnixTime) -> &Self {
        self.now.store(t, Ordering::SeqCst);
        self
    }
    fn current(&self) -> Option<String> {
        self.ring.current().unwrap().map(|k| k.kid)
    }
    fn published(&self) -> Vec<String> {
        self.ring
            .published()
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect()
    }
}

#[test]
fn rotation_publishes_at_once_and_signs_after_publish_ahead() {
    let r = ring();
    let first = r.ring.rotate().unwrap();
    assert_eq!(
        (first.activates_at, first.algorithm),
        (T0, SigningAlgorithm::Es256)
    );
    assert_eq!(r.current().as_deref(), Some("k0"));

    r.at(T0 + 100);
    let second = r.ring.rotate().unwrap();
    assert_eq!(second.activates_at, T0 + 700);
    assert_eq!(r.published(), ["k0", "k1"]);
    assert_eq!(r.at(T0 + 699).current().as_deref(), Some("k0"));
    assert_eq!(r.at(T0 + 700).current().as_deref(), Some("k1"));
}

#[test]
fn a_retired_key_stays_published_until_its_last_token_expired() {
    let r = ring();
    r.ring.rotate().unwrap();
    r.at(T0 + 10).ring.rotate().unwrap();
    r.at(T0 + 610);
    r.ring.retire("k0", 3600).unwrap();
    assert_eq!(r.current().as_deref(), Some("k1"));
    assert_eq!(r.at(T0 + 610 + 3599).published(), ["k0", "k1"]);
    assert_eq!(r.at(T0 + 610 + 3600).published(), ["k1"]);
    let row = r.rows.lock().unwrap()[0].clone();
    assert_eq!(row.published_until, Some(T0 + 610 + 3600));
}

#[test]
fn retiring_an_unknown_or_retired_key_is_an_error_and_changes_nothing() {
    let r = ring();
    r.ring.rotate().unwrap();
    assert!(matches!(
        r.ring.retire("nope", 60),
        Err(KeyError::UnknownKey(_))
    ));
    r.ring.retire("k0", 60).unwrap();
    assert!(matches!(
        r.ring.retire("k0", 9999),
        Err(KeyError::UnknownKey(_))
    ));
    assert_eq!(r.rows.lock().unwrap()[0].published_until, Some(T0 + 60));
}

#[test]
fn ensure_key_creates_only_the_first_key() {
    let r = ring();
    assert!(r.ring.ensure_key().unwrap().is_some());
    assert!(r.ring.ensure_key().unwrap().is_none());
    assert_eq!(r.rows.lock().unwrap().len(), 1);
}

#[test]
fn ensure_key_replaces_a_ring_of_retired_keys_and_the_new_one_signs() {
    let r = ring();
    r.ring.rotate().unwrap();
    r.ring.retire("k0", 3600).unwrap();
    let fresh = r.ring.ensure_key().unwrap().unwrap();
    assert_eq!(fresh.activates_at, T0 + 600, "k0 is still published");
    assert_eq!(
        r.current().as_deref(),
        Some("k1"),
        "nothing else signs: early"
    );
}
