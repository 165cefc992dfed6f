//! `ProofVerifier` with `jsonwebtoken`: a DPoP proof (RFC 9449 §4.2) verified with the
//! public key in its own header (`DecodingKey::from_jwk`). Only the JOSE mechanics are
//! here; which `typ`, key and claims are acceptable is the domain's rule.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use grantd_ports::{ProofAlgorithm, ProofClaims, ProofRejected, ProofVerifier, VerifiedProof};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// A proof is a few hundred bytes; anything much longer is refused before any parsing.
const MAX_PROOF_LEN: usize = 8 * 1024;
/// The smallest RSA modulus a proof key may have (RFC 7518 §3.3: "A key of size 2048 bits
/// or larger MUST be used with these algorithms"; §3.5 for PS256).
pub const MIN_RSA_BITS: usize = 2048;

/// The size in bits of an RSA modulus given as a JWK `n` (base64url, big-endian), or
/// `None` if it is not base64url.
fn rsa_modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return Some(0);
    };
    let leading = bytes[first].leading_zeros() as usize;
    Some((bytes.len() - first) * 8 - leading)
}

/// Verifies proofs; holds nothing (each proof brings its key).
#[derive(Debug, Clone, Copy, Default)]
pub struct JoseProofVerifier;

fn jose_algorithm(algorithm: ProofAlgorithm) -> Algorithm {
    match algorithm {
        ProofAlgorithm::Es256 => Algorithm::ES256,
        ProofAlgorithm::EdDsa => Algorithm::EdDSA,
        ProofAlgorithm::Rs256 => Algorithm::RS256,
        ProofAlgorithm::Ps256 => Algorithm::PS256,
    }
}

/// The claims as they travel; a claim of the wrong JSON type makes the proof malformed.
#[derive(Deserialize)]
struct WireProofClaims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    nonce: Option<String>,
    ath: Option<String>,
}

/// The protected header, read as JSON so that every `jwk` member is seen (the library's
/// `Jwk` drops the private ones).
fn header(proof: &str) -> Result<serde_json::Map<String, serde_json::Value>, ProofRejected> {
    let encoded = proof.split('.').next().ok_or(ProofRejected::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| ProofRejected::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(ProofRejected::Malformed),
    }
}

impl ProofVerifier for JoseProofVerifier {
    fn verify_dpop_proof(
        &self,
        proof: &str,
        algorithms: &[ProofAlgorithm],
    ) -> Result<VerifiedProof, ProofRejected> {
        if proof.len() > MAX_PROOF_LEN || proof.split('.').count() != 3 {
            return Err(ProofRejected::Malformed);
        }
        let header = header(proof)?;
        // Only the accepted asymmetric algorithms (never `none` or HMAC: alg confusion).
        let alg = header.get("alg").and_then(|a| a.as_str());
        let algorithm = algorithms
            .iter()
            .copied()
            .find(|a| Some(a.as_str()) == alg)
            .ok_or(ProofRejected::Algorithm)?;
        let typ = match header.get("typ") {
            None => None,
            Some(serde_json::Value::String(t)) => Some(t.clone()),
            Some(_) => return Err(ProofRejected::Malformed),
        };
        let Some(serde_json::Value::Object(jwk_members)) = header.get("jwk") else {
            return Err(ProofRejected::Key);
        };
        let jwk: BTreeMap<String, String> = jwk_members
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect();
        // RFC 7518 §3.3: a smaller RSA key is refused before any signature work.
        if jwk.get("kty").map(String::as_str) == Some("RSA")
            && jwk
                .get("n")
                .and_then(|n| rsa_modulus_bits(n))
                .is_none_or(|bits| bits < MIN_RSA_BITS)
        {
            return Err(ProofRejected::Key);
        }
        // RFC 8037 §2: an Ed25519 `x` is 32 octets. jsonwebtoken slices it unchecked and
        // panics on a shorter one, so an anonymous proof could make a 5xx.
        if jwk.get("kty").map(String::as_str) == Some("OKP")
            && jwk
                .get("x")
                .and_then(|x| URL_SAFE_NO_PAD.decode(x).ok())
                .is_none_or(|x| x.len() != 32)
        {
            return Err(ProofRejected::Key);
        }
        let library_jwk: Jwk =
            serde_json::from_value(serde_json::Value::Object(jwk_members.clone()))
                .map_err(|_| ProofRejected::Key)?;
        let key = DecodingKey::from_jwk(&library_jwk).map_err(|_| ProofRejected::Key)?;
        let mut validation = Validation::new(jose_algorithm(algorithm));
        // Time and every claim are the domain's to check.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<WireProofClaims>(proof, &key, &validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => ProofRejected::Signature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    ProofRejected::Algorithm
                }
                ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidRsaKey(_) => ProofRejected::Key,
                _ => ProofRejected::Malformed,
            })?
            .claims;
        Ok(VerifiedProof {
            typ,
            algorithm,
            jwk,
            claims: ProofClaims {
                jti: claims.jti,
                htm: claims.htm,
                htu: claims.htu,
                iat: claims.iat,
                nonce: claims.nonce,
                ath: claims.ath,
            },
        })
    }
}

#[cfg(test)]
#[path = "dpop_proof_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "dpop_proof_props.rs"]
mod props;
