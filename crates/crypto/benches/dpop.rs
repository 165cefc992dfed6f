//! The cost of the server's check of one DPoP proof signature (RFC 9449 §4.3 checks 1-6:
//! header parsing, the embedded JWK, the signature), per algorithm: what each DPoP request
//! at the token endpoint or a resource adds before the claim rules and the jti record.
//! `cargo bench -p grantd-crypto --bench dpop`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use grantd_crypto::JoseProofVerifier;
use grantd_ports::{ProofAlgorithm, ProofVerifier};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::OsRng;
use serde_json::{json, Value};

/// A client key: what signs, and the public JWK its proofs carry.
fn key(algorithm: Algorithm) -> (EncodingKey, Value) {
    match algorithm {
        Algorithm::ES256 => {
            use p256::pkcs8::EncodePrivateKey;
            let key = p256::ecdsa::SigningKey::random(&mut OsRng);
            let der = key.to_pkcs8_der().expect("pkcs8");
            let point = key.verifying_key().to_encoded_point(false);
            let (x, y) = (point.x().expect("x"), point.y().expect("y"));
            (
                EncodingKey::from_ec_der(der.as_bytes()),
                json!({"kty": "EC", "crv": "P-256",
                       "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)}),
            )
        }
        Algorithm::EdDSA => {
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
            let der = key.to_pkcs8_der().expect("pkcs8");
            (
                EncodingKey::from_ed_der(der.as_bytes()),
                json!({"kty": "OKP", "crv": "Ed25519",
                       "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes())}),
            )
        }
        _ => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).expect("rsa");
            let der = key.to_pkcs1_der().expect("pkcs1");
            (
                EncodingKey::from_rsa_der(der.as_bytes()),
                json!({"kty": "RSA",
                       "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                       "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())}),
            )
        }
    }
}

/// A proof for the token endpoint, as a client sends it.
fn proof(algorithm: Algorithm) -> String {
    let (encoding, jwk) = key(algorithm);
    let mut header = Header::new(algorithm);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(serde_json::from_value::<Jwk>(jwk).expect("jwk"));
    let claims = json!({"jti": "Vb1JQ2pm3nq0P0Hq3kS3Ag", "htm": "POST",
        "htu": "https://grantd.example/oauth/token", "iat": 1_800_000_000});
    jsonwebtoken::encode(&header, &claims, &encoding).expect("sign")
}

fn verification(c: &mut Criterion) {
    for (name, algorithm) in [
        ("ES256", Algorithm::ES256),
        ("EdDSA", Algorithm::EdDSA),
        ("RS256", Algorithm::RS256),
    ] {
        let proof = proof(algorithm);
        eprintln!("dpop proof {name}: {} bytes", proof.len());
        assert!(JoseProofVerifier
            .verify_dpop_proof(&proof, &ProofAlgorithm::ALL)
            .is_ok());
        c.bench_function(&format!("dpop_proof_verify/{name}"), |b| {
            b.iter(|| {
                JoseProofVerifier
                    .verify_dpop_proof(black_box(&proof), &ProofAlgorithm::ALL)
                    .is_ok()
            })
        });
    }
}

criterion_group!(benches, verification);
criterion_main!(benches);
