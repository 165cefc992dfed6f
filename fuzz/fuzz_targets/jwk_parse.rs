//! JWK parsing: any JSON (or not) as a proof header's `jwk` gives the domain's RFC 7638
//! thumbprint or a typed refusal, and the JOSE adapter refuses it without a panic, whatever
//! its members' types, sizes or nesting (RFC 9449 §4.3 check 7: public keys only).
#![no_main]

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use grantd_crypto::JoseProofVerifier;
use grantd_domain::dpop::{thumbprint, JwkProblem};
use grantd_ports::{ProofAlgorithm, ProofRejected, ProofVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(serde_json::Value::Object(members)) = serde_json::from_slice::<serde_json::Value>(data)
    else {
        return;
    };
    // The domain's view: members as the adapter hands them over (strings as their value,
    // anything else as its JSON text).
    let jwk: BTreeMap<String, String> = members
        .iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect();
    match thumbprint(&jwk) {
        Ok(jkt) => assert_eq!(jkt.as_str().len(), 43),
        Err(JwkProblem::Private | JwkProblem::Incomplete) => {}
    }
    // The adapter's view: the object as the header's `jwk`, for every algorithm. A junk
    // signature never verifies, so each answer is a refusal.
    for alg in ProofAlgorithm::ALL {
        let header = serde_json::json!({"typ": "dpop+jwt", "alg": alg.as_str(), "jwk": members});
        let proof = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(r#"{"jti":"j"}"#),
            URL_SAFE_NO_PAD.encode([1u8; 64])
        );
        match JoseProofVerifier.verify_dpop_proof(&proof, &ProofAlgorithm::ALL) {
            Err(
                ProofRejected::Malformed
                | ProofRejected::Algorithm
                | ProofRejected::Key
                | ProofRejected::Signature,
            ) => {}
            Ok(_) => panic!("a junk signature verified"),
        }
    }
});
