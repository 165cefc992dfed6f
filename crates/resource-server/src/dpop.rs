//! DPoP proofs at the resource (RFC 9449 §4.3, §7.1), the checks in order: one compact
//! JWS; `typ` `dpop+jwt`; an accepted asymmetric `alg` matching the header's `jwk`, a
//! public key (no private member); the signature by that key; `jti`, `htm` (the request's
//! method), `htu` (its URL, normalised), `iat` within the window, and `ath` (the hash of
//! the access token presented with it), and a server nonce if one is required. Pure: the caller then binds the token to the
//! proof's key thumbprint and records the `jti` (replay).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::nonce::Nonces;
use crate::thumbprint::jwk_thumbprint;
use crate::{htu, ProofProblem};

/// `algs="…"` of the `DPoP` challenge: the proof algorithms accepted.
pub(crate) const ALGS: &str = "ES256 EdDSA RS256 PS256";

/// The longest proof read: a proof with an RSA-4096 key is under 2 KiB.
const MAX_PROOF_LEN: usize = 8 * 1024;
/// The longest `jti`: RFC 9449 asks for 96 bits of randomness; more is no use to anyone.
const MAX_JTI_LEN: usize = 256;

/// RFC 7518 §3.3: an RSA key for RS256/PS256 has at least 2048 bits; a smaller one is
/// refused as a key, not merely as a weak signature.
const MIN_RSA_BITS: usize = 2048;

/// JWK members that only a private (or symmetric) key has (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What the request says about itself.
pub(crate) struct RequestFacts<'a> {
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) access_token: &'a str,
    /// The nonces a proof must carry one of, when the verifier requires them (§9).
    pub(crate) nonces: Option<&'a Nonces>,
}

/// A proof that passed: its key's thumbprint, and what the replay check records.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CheckedProof {
    pub(crate) jkt: String,
    /// SHA-256 of `jkt` and `jti`: a `jti` counts per key.
    pub(crate) replay_key: [u8; 32],
    /// Until when the proof would be accepted (`iat` + window), so until when to record it.
    pub(crate) until: i64,
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The `ath` of an access token: base64url(SHA-256(token)) (RFC 9449 §4.2).
pub(crate) fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// Checks `proof` for the request at `now`, with `window` seconds of `iat` either way.
pub(crate) fn check_proof(
    proof: &str,
    request: &RequestFacts<'_>,
    window: i64,
    now: i64,
) -> Result<CheckedProof, ProofProblem> {
    if proof.len() > MAX_PROOF_LEN || !crate::credentials::looks_like_jwt(proof) {
        return Err(ProofProblem::Malformed);
    }
    let header = raw_header(proof)?;
    match header.get("typ").and_then(Value::as_str) {
        Some(t) if t.eq_ignore_ascii_case("dpop+jwt") => {}
        _ => return Err(ProofProblem::Type),
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Algorithm::ES256,
        Some("EdDSA") => Algorithm::EdDSA,
        Some("RS256") => Algorithm::RS256,
        Some("PS256") => Algorithm::PS256,
        _ => return Err(ProofProblem::Algorithm),
    };
    let jwk_value = header.get("jwk").ok_or(ProofProblem::Key)?;
    let (key, jkt) = public_key(jwk_value, alg)?;
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::Json(_) => ProofProblem::Claims,
            ErrorKind::Base64(_) | ErrorKind::Utf8(_) | ErrorKind::InvalidToken => {
                ProofProblem::Malformed
            }
            _ => ProofProblem::Signature,
        })?
        .claims;
    if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
        return Err(ProofProblem::Claims);
    }
    // RFC 9110 §9.1: the method is case-sensitive.
    if claims.htm != request.method {
        return Err(ProofProblem::Method);
    }
    if !htu::matches(&claims.htu, request.url) {
        return Err(ProofProblem::Url);
    }
    if claims.iat.abs_diff(now) > window.unsigned_abs() {
        return Err(ProofProblem::IssuedAt);
    }
    if claims.ath.as_deref() != Some(token_hash(request.access_token).as_str()) {
        return Err(ProofProblem::TokenHash);
    }
    if let Some(nonces) = request.nonces {
        if !claims
            .nonce
            .as_deref()
            .is_some_and(|n| nonces.accepts(n, now))
        {
            return Err(ProofProblem::Nonce);
        }
    }
    let mut replay = Sha256::new();
    replay.update(jkt.as_bytes());
    replay.update([0]);
    replay.update(claims.jti.as_bytes());
    Ok(CheckedProof {
        jkt,
        replay_key: replay.finalize().into(),
        until: claims.iat.saturating_add(window).saturating_add(1),
    })
}

/// The JOSE header as JSON: `jsonwebtoken`'s parse would drop the members a private key
/// has, which must be refused, not ignored.
fn raw_header(proof: &str) -> Result<serde_json::Map<String, Value>, ProofProblem> {
    let part = proof.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| ProofProblem::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(header)) => Ok(header),
        _ => Err(ProofProblem::Malformed),
    }
}

/// The header's `jwk` as a verification key for `alg`, and its thumbprint: a public key
/// of the algorithm's own type and curve (RFC 8725 §3.1), never a private or symmetric one.
fn public_key(jwk: &Value, alg: Algorithm) -> Result<(DecodingKey, String), ProofProblem> {
    let members = jwk.as_object().ok_or(ProofProblem::Key)?;
    if PRIVATE_MEMBERS.iter().any(|m| members.contains_key(*m)) {
        return Err(ProofProblem::Key);
    }
    let parsed: Jwk = serde_json::from_value(jwk.clone()).map_err(|_| ProofProblem::Key)?;
    let fits = match (&parsed.algorithm, alg) {
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => {
            ec.curve == EllipticCurve::P256
        }
        // RFC 8037 §2: `x` is 32 octets; jsonwebtoken panics on a shorter one.
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA) => {
            okp.curve == EllipticCurve::Ed25519
                && URL_SAFE_NO_PAD.decode(&okp.x).is_ok_and(|x| x.len() == 32)
        }
        (AlgorithmParameters::RSA(_), Algorithm::RS256 | Algorithm::PS256) => true,
        _ => false,
    };
    if !fits {
        return Err(ProofProblem::Algorithm);
    }
    if let AlgorithmParameters::RSA(rsa) = &parsed.algorithm {
        if rsa_modulus_bits(&rsa.n).is_none_or(|bits| bits < MIN_RSA_BITS) {
            return Err(ProofProblem::Key);
        }
    }
    let key = DecodingKey::from_jwk(&parsed).map_err(|_| ProofProblem::Key)?;
    let jkt = jwk_thumbprint(jwk).ok_or(ProofProblem::Key)?;
    Ok((key, jkt))
}

/// The size in bits of an RSA modulus given as a JWK `n` (base64url, big-endian, leading
/// zero octets not counted), or `None` if it is not base64url.
fn rsa_modulus_bits(n: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(n).ok()?;
    let Some(first) = bytes.iter().position(|b| *b != 0) else {
        return Some(0);
    };
    Some((bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize)
}

#[cfg(test)]
#[path = "dpop_tests.rs"]
mod tests;
