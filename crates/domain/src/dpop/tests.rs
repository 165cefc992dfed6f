//! The proof rules of RFC 9449 §4.3 over doubled ports: the verifier double returns the
//! proof a test describes, the replay double is the store's contract over a set.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use grantd_ports::{
    MockClock, MockDpopReplayStore, MockProofVerifier, ProofAlgorithm, ProofClaims, ProofRejected,
    StoreError, VerifiedProof,
};

use super::*;

const NOW: i64 = 1_000_000;
const TOKEN_URL: &str = "https://as.example/oauth/token";

fn key() -> BTreeMap<String, String> {
    [("kty", "EC"), ("crv", "P-256"), ("x", "eA"), ("y", "eQ")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn proof() -> VerifiedProof {
    VerifiedProof {
        typ: Some(DPOP_JWT.to_owned()),
        algorithm: ProofAlgorithm::Es256,
        jwk: key(),
        claims: ProofClaims {
            jti: Some("j1".into()),
            htm: Some("POST".into()),
            htu: Some(TOKEN_URL.into()),
            iat: Some(NOW),
            nonce: None,
            ath: None,
        },
    }
}

const AT_TOKEN: ProofContext<'static> = ProofContext {
    method: "POST",
    url: TOKEN_URL,
    access_token: None,
};

/// The replay store's contract over a set of hashes (expiry is not exercised here).
fn replay(seen: Arc<Mutex<HashSet<[u8; 32]>>>) -> MockDpopReplayStore {
    let mut store = MockDpopReplayStore::new();
    store
        .expect_record_jti()
        .returning(move |hash, _, _| Ok(seen.lock().unwrap().insert(*hash)));
    store
}

fn checker(
    verified: Result<VerifiedProof, ProofRejected>,
    store: MockDpopReplayStore,
) -> DpopProofs {
    let mut verifier = MockProofVerifier::new();
    verifier
        .expect_verify_dpop_proof()
        .returning(move |_, _| verified.clone());
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    DpopProofs::new(
        Arc::new(verifier),
        Arc::new(store),
        Arc::new(clock),
        DpopSettings::default(),
        "https://as.example/",
    )
}

fn never_recorded() -> MockDpopReplayStore {
    let mut store = MockDpopReplayStore::new();
    store.expect_record_jti().never();
    store
}

#[test]
fn a_valid_proof_gives_its_keys_thumbprint_and_records_its_jti_until_the_window_ends() {
    let mut store = MockDpopReplayStore::new();
    store
        .expect_record_jti()
        .withf(|_, now, expires_at| *now == NOW && *expires_at == NOW + 60)
        .times(1)
        .returning(|_, _, _| Ok(true));
    let jkt = checker(Ok(proof()), store)
        .check("proof", &AT_TOKEN)
        .unwrap();
    assert_eq!(jkt, thumbprint(&key()).unwrap());
}

#[test]
fn a_replayed_proof_is_refused() {
    let seen = Arc::default();
    let dpop = checker(Ok(proof()), replay(seen));
    dpop.check("proof", &AT_TOKEN).unwrap();
    assert_eq!(
        dpop.check("proof", &AT_TOKEN),
        Err(DpopError::Invalid("the DPoP proof was used before"))
    );
}

#[test]
fn the_same_jti_from_another_key_is_not_a_replay() {
    let seen: Arc<Mutex<HashSet<[u8; 32]>>> = Arc::default();
    checker(Ok(proof()), replay(seen.clone()))
        .check("proof", &AT_TOKEN)
        .unwrap();
    let mut other = proof();
    other.jwk.insert("x".into(), "eB".into());
    checker(Ok(other), replay(seen))
        .check("proof", &AT_TOKEN)
        .unwrap();
}

#[test]
fn each_broken_rule_is_refused_and_records_nothing() {
    type Edit = fn(&mut VerifiedProof);
    let cases: [(&str, Edit); 14] = [
        ("no typ", |p| p.typ = None),
        ("typ JWT", |p| p.typ = Some("JWT".into())),
        ("private key", |p| {
            p.jwk.insert("d".into(), "AA".into());
        }),
        ("symmetric key", |p| {
            p.jwk = [("kty".to_owned(), "oct".to_owned())].into();
        }),
        ("no jti", |p| p.claims.jti = None),
        ("empty jti", |p| p.claims.jti = Some(String::new())),
        ("no htm", |p| p.claims.htm = None),
        ("htm GET", |p| p.claims.htm = Some("GET".into())),
        ("htm lower case", |p| p.claims.htm = Some("post".into())),
        ("no htu", |p| p.claims.htu = None),
        ("htu of another endpoint", |p| {
            p.claims.htu = Some("https://as.example/oauth/revoke".into())
        }),
        ("no iat", |p| p.claims.iat = None),
        ("iat too old", |p| p.claims.iat = Some(NOW - 61)),
        ("iat too far ahead", |p| p.claims.iat = Some(NOW + 61)),
    ];
    for (name, edit) in cases {
        let mut p = proof();
        edit(&mut p);
        let err = checker(Ok(p), never_recorded())
            .check("proof", &AT_TOKEN)
            .unwrap_err();
        assert!(matches!(err, DpopError::Invalid(_)), "{name}: {err:?}");
    }
}

#[test]
fn iat_at_either_edge_of_the_window_is_accepted() {
    for iat in [NOW - 60, NOW + 60] {
        let mut p = proof();
        p.claims.iat = Some(iat);
        let seen = Arc::default();
        assert!(checker(Ok(p), replay(seen))
            .check("proof", &AT_TOKEN)
            .is_ok());
    }
}

#[test]
fn an_equivalent_htu_is_accepted() {
    let mut p = proof();
    p.claims.htu = Some("HTTPS://AS.example:443/oauth/token?x=1#f".into());
    assert!(checker(Ok(p), replay(Arc::default()))
        .check("proof", &AT_TOKEN)
        .is_ok());
}

#[test]
fn a_proof_the_adapter_refuses_is_invalid() {
    for why in [
        ProofRejected::Malformed,
        ProofRejected::Algorithm,
        ProofRejected::Key,
        ProofRejected::Signature,
    ] {
        let err = checker(Err(why), never_recorded())
            .check("proof", &AT_TOKEN)
            .unwrap_err();
        assert!(matches!(err, DpopError::Invalid(_)), "{why:?}");
    }
}

#[test]
fn at_a_resource_ath_must_be_the_tokens_hash() {
    let context = ProofContext {
        method: "GET",
        url: "https://as.example/api/me",
        access_token: Some("gat_token"),
    };
    let at_resource = |ath: Option<String>| {
        let mut p = proof();
        p.claims.htm = Some("GET".into());
        p.claims.htu = Some("https://as.example/api/me".into());
        p.claims.ath = ath;
        p
    };
    let right = access_token_hash("gat_token");
    assert!(
        checker(Ok(at_resource(Some(right))), replay(Arc::default()))
            .check("proof", &context)
            .is_ok()
    );
    for ath in [None, Some(access_token_hash("gat_other"))] {
        let err = checker(Ok(at_resource(ath.clone())), never_recorded())
            .check("proof", &context)
            .unwrap_err();
        assert!(matches!(err, DpopError::Invalid(_)), "{ath:?}");
    }
}

#[test]
fn ath_is_base64url_of_sha256() {
    // SHA-256("abc"), RFC 6234's test vector, in base64url.
    assert_eq!(
        access_token_hash("abc"),
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    );
}

#[test]
fn with_nonces_required_a_proof_needs_a_current_one() {
    let key = NonceKey::new([3; 32]);
    let with_nonce = |nonce: Option<String>| {
        let mut p = proof();
        p.claims.nonce = nonce;
        let mut verifier = MockProofVerifier::new();
        verifier
            .expect_verify_dpop_proof()
            .returning(move |_, _| Ok(p.clone()));
        let mut clock = MockClock::new();
        clock.expect_now().return_const(NOW);
        DpopProofs::new(
            Arc::new(verifier),
            Arc::new(replay(Arc::default())),
            Arc::new(clock),
            DpopSettings {
                nonces: Some(key.clone()),
                ..DpopSettings::default()
            },
            "https://as.example",
        )
        .check("proof", &AT_TOKEN)
    };
    let Err(DpopError::UseNonce(fresh)) = with_nonce(None) else {
        panic!("a proof without a nonce must be told to use one");
    };
    assert!(with_nonce(Some(fresh)).is_ok());
    assert!(matches!(
        with_nonce(Some(key.issue(NOW - 2 * NONCE_STEP))),
        Err(DpopError::UseNonce(_))
    ));
    assert!(matches!(
        with_nonce(Some(NonceKey::new([4; 32]).issue(NOW))),
        Err(DpopError::UseNonce(_))
    ));
}

#[test]
fn endpoint_urls_are_the_issuers() {
    let dpop = checker(Ok(proof()), never_recorded());
    assert_eq!(dpop.endpoint_url("/oauth/token"), TOKEN_URL);
}

#[test]
fn a_replay_store_outage_is_not_a_client_error() {
    let mut store = MockDpopReplayStore::new();
    store
        .expect_record_jti()
        .returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
    let err = checker(Ok(proof()), store)
        .check("proof", &AT_TOKEN)
        .unwrap_err();
    assert!(matches!(err, DpopError::Store(StoreError::Unavailable(_))));
}
