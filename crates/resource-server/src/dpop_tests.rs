//! Each RFC 9449 §4.3 check of `dpop.rs`, with proof keys made in the test.

use serde_json::{json, Value};

use super::*;
use crate::test_keys::{compact, TestKey};

const NOW: i64 = 1_700_000_000;
const WINDOW: i64 = 60;
const URL: &str = "https://api.example/v1/items";
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

fn facts() -> RequestFacts<'static> {
    RequestFacts {
        method: "GET",
        url: URL,
        access_token: TOKEN,
        nonces: None,
    }
}

fn check(proof: &str) -> Result<CheckedProof, ProofProblem> {
    check_proof(proof, &facts(), WINDOW, NOW)
}

fn claims() -> Value {
    json!({
        "jti": "jti-1", "htm": "GET", "htu": URL, "iat": NOW, "ath": token_hash(TOKEN),
    })
}

fn with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn a_good_proof_of_either_key_type_passes_with_its_thumbprint() {
    for key in [TestKey::es256("p1"), TestKey::ed25519("p2")] {
        let checked = check(&key.proof_with(&claims())).unwrap();
        assert_eq!(checked.jkt, key.jkt());
        assert_eq!(checked.until, NOW + WINDOW + 1);
    }
}

#[test]
fn the_replay_key_is_per_key_and_jti() {
    let key = TestKey::es256("p1");
    let a = check(&key.proof_with(&claims())).unwrap();
    let again = check(&key.proof_with(&claims())).unwrap();
    assert_eq!(
        a.replay_key, again.replay_key,
        "the same jti of the same key"
    );
    let other_jti = check(&key.proof_with(&with(json!({"jti": "jti-2"})))).unwrap();
    assert_ne!(a.replay_key, other_jti.replay_key);
    let other_key = check(&TestKey::es256("p2").proof_with(&claims())).unwrap();
    assert_ne!(a.replay_key, other_key.replay_key);
}

#[test]
fn typ_must_be_dpop_jwt() {
    let key = TestKey::es256("p1");
    for typ in [json!("JWT"), json!("at+jwt"), Value::Null] {
        let mut header = key.proof_header();
        header["typ"] = typ.clone();
        assert_eq!(
            check(&key.sign_raw(&header, &claims())).err(),
            Some(ProofProblem::Type),
            "{typ}"
        );
    }
}

#[test]
fn alg_must_be_an_accepted_asymmetric_one_of_the_jwk() {
    let key = TestKey::es256("p1");
    let mut header = key.proof_header();
    for alg in ["none", "HS256", "ES384", "RS512"] {
        header["alg"] = json!(alg);
        let token = compact(&header, &claims(), "");
        assert_eq!(check(&token).err(), Some(ProofProblem::Algorithm), "{alg}");
    }
    // An EC key under EdDSA: the key type must be the algorithm's.
    header["alg"] = json!("EdDSA");
    let token = compact(&header, &claims(), "c2ln");
    assert_eq!(check(&token).err(), Some(ProofProblem::Algorithm));
}

#[test]
fn the_jwk_must_be_a_usable_public_key() {
    let key = TestKey::es256("p1");
    let mut with_d = key.proof_header();
    with_d["jwk"]["d"] = json!("c2VjcmV0");
    assert_eq!(
        check(&key.sign_raw(&with_d, &claims())).err(),
        Some(ProofProblem::Key),
        "a private key in the header is refused, not ignored"
    );
    let mut none = key.proof_header();
    none.as_object_mut().unwrap().remove("jwk");
    assert_eq!(
        check(&key.sign_raw(&none, &claims())).err(),
        Some(ProofProblem::Key)
    );
    let mut oct = key.proof_header();
    oct["jwk"] = json!({"kty": "oct", "k": "c2VjcmV0"});
    assert_eq!(
        check(&key.sign_raw(&oct, &claims())).err(),
        Some(ProofProblem::Key)
    );
    let mut junk = key.proof_header();
    junk["jwk"] = json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"});
    assert!(check(&key.sign_raw(&junk, &claims())).is_err());
    junk["jwk"] = json!("EC");
    assert_eq!(
        check(&key.sign_raw(&junk, &claims())).err(),
        Some(ProofProblem::Key)
    );
}

#[test]
fn the_proof_must_be_signed_by_its_jwk() {
    let key = TestKey::es256("p1");
    let other = TestKey::es256("p2");
    // The header names key's jwk, the signature is other's.
    let forged = other.sign_raw(&key.proof_header(), &claims());
    assert_eq!(check(&forged).err(), Some(ProofProblem::Signature));
}

#[test]
fn malformed_proofs_are_refused() {
    for bad in ["", "abc", "a.b", "a.b.c.d", "!!.??.xx", &"a".repeat(9000)] {
        assert_eq!(check(bad).err(), Some(ProofProblem::Malformed), "{bad:.10}");
    }
    let key = TestKey::es256("p1");
    for missing in ["jti", "htm", "htu", "iat"] {
        let proof = key.proof_with(&with(json!({ missing: null })));
        assert_eq!(check(&proof).err(), Some(ProofProblem::Claims), "{missing}");
    }
    let proof = key.proof_with(&with(json!({"jti": ""})));
    assert_eq!(check(&proof).err(), Some(ProofProblem::Claims));
    let proof = key.proof_with(&with(json!({"iat": "now"})));
    assert_eq!(check(&proof).err(), Some(ProofProblem::Claims));
}

#[test]
fn htm_must_be_the_method_exactly() {
    let key = TestKey::ed25519("p1");
    for htm in ["POST", "get"] {
        let proof = key.proof_with(&with(json!({ "htm": htm })));
        assert_eq!(check(&proof).err(), Some(ProofProblem::Method), "{htm}");
    }
}

#[test]
fn htu_must_be_the_url_after_normalisation() {
    let key = TestKey::ed25519("p1");
    for htu in [
        "HTTPS://API.EXAMPLE:443/v1/items",
        "https://api.example/v1/items?x=1",
    ] {
        let proof = key.proof_with(&with(json!({ "htu": htu })));
        assert!(check(&proof).is_ok(), "{htu}");
    }
    for htu in [
        "https://api.example/v1/other",
        "http://api.example/v1/items",
        "/v1/items",
    ] {
        let proof = key.proof_with(&with(json!({ "htu": htu })));
        assert_eq!(check(&proof).err(), Some(ProofProblem::Url), "{htu}");
    }
}

#[test]
fn iat_must_be_within_the_window_either_way() {
    let key = TestKey::es256("p1");
    for iat in [NOW - WINDOW, NOW + WINDOW, NOW] {
        let proof = key.proof_with(&with(json!({ "iat": iat })));
        assert!(check(&proof).is_ok(), "{iat}");
    }
    for iat in [NOW - WINDOW - 1, NOW + WINDOW + 1, i64::MIN, i64::MAX] {
        let proof = key.proof_with(&with(json!({ "iat": iat })));
        assert_eq!(check(&proof).err(), Some(ProofProblem::IssuedAt), "{iat}");
    }
}

#[test]
fn ath_must_be_the_hash_of_the_presented_token() {
    let key = TestKey::es256("p1");
    for ath in [Value::Null, json!(token_hash("another token")), json!("")] {
        let proof = key.proof_with(&with(json!({ "ath": ath.clone() })));
        assert_eq!(check(&proof).err(), Some(ProofProblem::TokenHash), "{ath}");
    }
}

#[test]
fn a_required_nonce_must_be_a_current_one() {
    let nonces = Nonces::new(vec![1; 32], 60);
    let facts = RequestFacts {
        nonces: Some(&nonces),
        ..facts()
    };
    let key = TestKey::es256("p1");
    let current = nonces.current(NOW);
    for nonce in [
        Value::Null,
        json!("made-up"),
        json!(nonces.current(NOW - 120)),
    ] {
        let proof = key.proof_with(&with(json!({ "nonce": nonce.clone() })));
        assert_eq!(
            check_proof(&proof, &facts, WINDOW, NOW).err(),
            Some(ProofProblem::Nonce),
            "{nonce}"
        );
    }
    let proof = key.proof_with(&with(json!({ "nonce": current })));
    assert!(check_proof(&proof, &facts, WINDOW, NOW).is_ok());
}

#[test]
fn ath_is_base64url_of_sha256() {
    // SHA-256("abc") = ba7816bf…; its base64url without padding.
    assert_eq!(
        token_hash("abc"),
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    );
}

proptest::proptest! {
    /// Hostile proofs never panic: any text, and any JSON header over a real signature.
    #[test]
    fn any_proof_text_is_refused_without_a_panic(proof in "\\PC{0,300}") {
        proptest::prop_assert!(check(&proof).is_err());
    }

    #[test]
    fn any_header_is_judged_without_a_panic(
        typ in proptest::option::of("[a-z+/]{0,12}"),
        alg in proptest::option::of("[A-Za-z0-9]{0,6}"),
        kty in "[A-Za-z]{0,4}",
        crv in "[A-Za-z0-9-]{0,8}",
        x in "[A-Za-z0-9_-]{0,60}",
        iat in proptest::num::i64::ANY,
    ) {
        let key = TestKey::es256("p1");
        let header = json!({
            "typ": typ, "alg": alg, "jwk": {"kty": kty, "crv": crv, "x": x, "y": x},
        });
        let proof = key.sign_raw(&header, &with(json!({ "iat": iat })));
        let _ = check(&proof);
        let _ = check(&key.proof_with(&with(json!({ "iat": iat }))));
    }
}

/// RFC 7518 §3.3: an RS256 proof of a key under 2048 bits is refused as a key; a
/// 2048-bit one passes.
#[test]
fn an_rsa_proof_key_under_2048_bits_is_refused() {
    let small = TestKey::rs256("small", 1024);
    assert_eq!(
        check(&small.proof_with(&claims())).err(),
        Some(ProofProblem::Key)
    );
    let big = TestKey::rs256("big", 2048);
    assert_eq!(check(&big.proof_with(&claims())).unwrap().jkt, big.jkt());
}

#[test]
fn the_modulus_size_counts_significant_bits() {
    let enc = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    assert_eq!(rsa_modulus_bits(&enc(&[0x80; 256])), Some(2048));
    let mut padded = vec![0u8];
    padded.extend([0x80; 256]);
    assert_eq!(rsa_modulus_bits(&enc(&padded)), Some(2048));
    assert_eq!(rsa_modulus_bits(&enc(&[0x7f; 256])), Some(2047));
    assert_eq!(rsa_modulus_bits(&enc(&[0, 0])), Some(0));
    assert_eq!(rsa_modulus_bits("not base64!"), None);
}
