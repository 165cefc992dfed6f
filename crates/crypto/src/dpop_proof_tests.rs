//! Real proofs signed with `jsonwebtoken` by a fresh P-256 or Ed25519 key.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{EncodingKey, Header};
use rand::rngs::OsRng;
use serde_json::json;

use super::*;

struct Signer {
    encoding: EncodingKey,
    jwk: serde_json::Value,
    algorithm: Algorithm,
}

fn p256_signer() -> Signer {
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::ecdsa::SigningKey::random(&mut OsRng);
    let der = key.to_pkcs8_der().unwrap();
    let point = key.verifying_key().to_encoded_point(false);
    Signer {
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        jwk: json!({
            "kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        }),
        algorithm: Algorithm::ES256,
    }
}

fn ed25519_signer() -> Signer {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
    let der = key.to_pkcs8_der().unwrap();
    Signer {
        encoding: EncodingKey::from_ed_der(der.as_bytes()),
        jwk: json!({
            "kty": "OKP", "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
        }),
        algorithm: Algorithm::EdDSA,
    }
}

fn rsa_signer(bits: usize) -> Signer {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::new(&mut OsRng, bits).unwrap();
    let der = key.to_pkcs1_der().unwrap();
    Signer {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        }),
        algorithm: Algorithm::RS256,
    }
}

impl Signer {
    fn sign(&self, jwk: &serde_json::Value, claims: &serde_json::Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.typ = Some("dpop+jwt".into());
        let mut encoded = serde_json::to_value(&header).unwrap();
        encoded["jwk"] = jwk.clone();
        // The library's Header has no room for arbitrary jwk members, so the header is
        // assembled here and only the signature is the library's.
        let head = URL_SAFE_NO_PAD.encode(encoded.to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{head}.{body}");
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.algorithm).unwrap();
        format!("{input}.{signature}")
    }

    fn proof(&self) -> String {
        self.sign(&self.jwk, &claims())
    }
}

fn claims() -> serde_json::Value {
    json!({"jti": "j1", "htm": "POST", "htu": "https://as.example/oauth/token", "iat": 1000})
}

#[test]
fn a_signed_proof_verifies_with_its_header_key() {
    for signer in [p256_signer(), ed25519_signer()] {
        let verified = JoseProofVerifier
            .verify_dpop_proof(&signer.proof(), &ProofAlgorithm::ALL)
            .unwrap();
        assert_eq!(verified.typ.as_deref(), Some("dpop+jwt"));
        assert_eq!(verified.claims.jti.as_deref(), Some("j1"));
        assert_eq!(verified.claims.iat, Some(1000));
        assert_eq!(
            verified.jwk.get("x"),
            signer.jwk["x"].as_str().map(str::to_owned).as_ref()
        );
        let _: Jwk = serde_json::from_value(signer.jwk.clone()).unwrap();
    }
}

#[test]
fn a_proof_signed_by_another_key_is_refused() {
    let (a, b) = (p256_signer(), p256_signer());
    let forged = a.sign(&b.jwk, &claims());
    assert_eq!(
        JoseProofVerifier.verify_dpop_proof(&forged, &ProofAlgorithm::ALL),
        Err(ProofRejected::Signature)
    );
}

#[test]
fn an_algorithm_not_accepted_is_refused() {
    let proof = p256_signer().proof();
    assert_eq!(
        JoseProofVerifier.verify_dpop_proof(&proof, &[ProofAlgorithm::EdDsa]),
        Err(ProofRejected::Algorithm)
    );
}

#[test]
fn hmac_and_none_are_refused() {
    let claims = URL_SAFE_NO_PAD.encode(claims().to_string());
    for header in [
        json!({"alg": "HS256", "typ": "dpop+jwt", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
        json!({"alg": "none", "typ": "dpop+jwt", "jwk": {"kty": "oct", "k": "c2VjcmV0"}}),
    ] {
        let proof = format!(
            "{}.{claims}.c2ln",
            URL_SAFE_NO_PAD.encode(header.to_string())
        );
        assert_eq!(
            JoseProofVerifier.verify_dpop_proof(&proof, &ProofAlgorithm::ALL),
            Err(ProofRejected::Algorithm)
        );
    }
}

#[test]
fn private_members_reach_the_domain() {
    let signer = p256_signer();
    let mut jwk = signer.jwk.clone();
    jwk["d"] = json!("AAAA");
    let verified = JoseProofVerifier
        .verify_dpop_proof(&signer.sign(&jwk, &claims()), &ProofAlgorithm::ALL)
        .unwrap();
    assert!(verified.jwk.contains_key("d"));
}

#[test]
fn garbage_is_malformed_never_a_panic() {
    for proof in ["", "a.b", "a.b.c", "....", "eyJ9.e30.", "e30.e30.e30"] {
        assert!(JoseProofVerifier
            .verify_dpop_proof(proof, &ProofAlgorithm::ALL)
            .is_err());
    }
    let no_key = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "typ": "dpop+jwt"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    assert_eq!(
        JoseProofVerifier.verify_dpop_proof(&no_key, &ProofAlgorithm::ALL),
        Err(ProofRejected::Key)
    );
}

/// RFC 7518 §3.3: RSA proof keys of fewer than 2048 bits are refused (`Key`, which the
/// domain answers with `invalid_dpop_proof`), a 2048-bit one verifies.
#[test]
fn an_rsa_key_under_2048_bits_is_refused() {
    let small = rsa_signer(1024);
    assert_eq!(
        JoseProofVerifier.verify_dpop_proof(&small.proof(), &ProofAlgorithm::ALL),
        Err(ProofRejected::Key)
    );
    let big = rsa_signer(MIN_RSA_BITS);
    let verified = JoseProofVerifier
        .verify_dpop_proof(&big.proof(), &ProofAlgorithm::ALL)
        .unwrap();
    assert_eq!(verified.algorithm, ProofAlgorithm::Rs256);
}

#[test]
fn the_modulus_size_counts_significant_bits() {
    let enc = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    assert_eq!(rsa_modulus_bits(&enc(&[0x80; 256])), Some(2048));
    // A leading zero byte (as some encoders add) does not count.
    let mut padded = vec![0u8];
    padded.extend([0x80; 256]);
    assert_eq!(rsa_modulus_bits(&enc(&padded)), Some(2048));
    assert_eq!(rsa_modulus_bits(&enc(&[0x7f; 256])), Some(2047));
    assert_eq!(rsa_modulus_bits(&enc(&[0, 0])), Some(0));
    assert_eq!(rsa_modulus_bits("not base64!"), None);
}
