//! Hostile proofs, generated: any text, three base64url parts of random bytes, and headers
//! whose `alg`, `typ` and `jwk` members have random values, types and nesting. Each gives
//! one of the typed refusals (`ProofRejected`), never a panic and never an acceptance (no
//! signature here is real).
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| Value::from(URL_SAFE_NO_PAD.encode(b))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A `jwk` that looks like a key: a known or odd `kty`, the members of each key type, each
/// with any value.
fn jwk_like() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(json!("EC")),
            Just(json!("OKP")),
            Just(json!("RSA")),
            Just(json!("oct")),
            any_json(),
        ],
        proptest::collection::btree_map(
            prop_oneof![
                Just("crv".to_owned()),
                Just("x".to_owned()),
                Just("y".to_owned()),
                Just("n".to_owned()),
                Just("e".to_owned()),
                Just("d".to_owned()),
                Just("k".to_owned()),
                ".{0,4}",
            ],
            prop_oneof![
                Just(json!("P-256")),
                Just(json!("Ed25519")),
                Just(json!("AQAB")),
                any_json(),
            ],
            0..7,
        ),
    )
        .prop_map(|(kty, members)| {
            let mut jwk: serde_json::Map<String, Value> = members.into_iter().collect();
            jwk.insert("kty".into(), kty);
            Value::Object(jwk)
        })
}

fn header() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(json!("ES256")),
            Just(json!("EdDSA")),
            Just(json!("RS256")),
            Just(json!("PS256")),
            Just(json!("none")),
            Just(json!("HS256")),
            any_json(),
        ],
        prop_oneof![Just(json!("dpop+jwt")), any_json()],
        prop_oneof![jwk_like(), any_json()],
    )
        .prop_map(|(alg, typ, jwk)| json!({"alg": alg, "typ": typ, "jwk": jwk}))
}

fn refused(proof: &str) -> Result<(), TestCaseError> {
    match JoseProofVerifier.verify_dpop_proof(proof, &ProofAlgorithm::ALL) {
        Err(
            ProofRejected::Malformed
            | ProofRejected::Algorithm
            | ProofRejected::Key
            | ProofRejected::Signature,
        ) => Ok(()),
        Ok(v) => Err(TestCaseError::fail(format!("accepted: {v:?}"))),
    }
}

fn encode(part: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(part)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_refused(text in ".{0,400}") {
        refused(&text)?;
    }

    #[test]
    fn three_parts_of_random_bytes_are_refused(
        parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 3)
    ) {
        let proof = parts.iter().map(|p| encode(p)).collect::<Vec<_>>().join(".");
        refused(&proof)?;
    }

    #[test]
    fn hostile_headers_are_refused(header in header(), claims in any_json(), sig in proptest::collection::vec(any::<u8>(), 0..80)) {
        let proof = format!(
            "{}.{}.{}",
            encode(header.to_string().as_bytes()),
            encode(claims.to_string().as_bytes()),
            encode(&sig)
        );
        refused(&proof)?;
    }
}

#[test]
fn a_huge_proof_is_refused_before_parsing() {
    let huge = format!("{}.{}.{}", "e".repeat(MAX_PROOF_LEN), "e", "e");
    assert_eq!(
        JoseProofVerifier.verify_dpop_proof(&huge, &ProofAlgorithm::ALL),
        Err(ProofRejected::Malformed)
    );
}
