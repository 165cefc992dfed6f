//! DPoP proofs (RFC 9449 §4.3): what makes a proof acceptable at one of our endpoints, and
//! the key thumbprint a valid proof binds tokens to. The signature is checked through the
//! [`ProofVerifier`] port (the JOSE library), each `jti` is recorded once through
//! [`DpopReplayStore`]; every other rule is here.

mod htu;
mod nonce;
mod thumbprint;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use grantd_ports::{
    Clock, DpopReplayStore, ProofAlgorithm, ProofVerifier, StoreError, UnixTime, VerifiedProof,
};
use sha2::{Digest, Sha256};

pub use htu::normalise as normalise_htu;
pub use nonce::{NonceKey, NONCE_STEP};
pub use thumbprint::{thumbprint, Jkt, JwkProblem};

/// RFC 9449 §4.2: the proof's `typ`.
pub const DPOP_JWT: &str = "dpop+jwt";

/// The `[dpop]` settings the checks need.
#[derive(Debug, Clone)]
pub struct DpopSettings {
    /// How far a proof's `iat` may be from now, either way, in seconds (§4.3 check 11, §11.1).
    pub iat_window: i64,
    /// The algorithms a proof may be signed with (`dpop_signing_alg_values_supported`).
    pub algorithms: Vec<ProofAlgorithm>,
    /// With a key: every proof must carry a nonce made under it (§8, `dpop.require_nonce`).
    pub nonces: Option<NonceKey>,
}

impl Default for DpopSettings {
    fn default() -> Self {
        Self {
            iat_window: 60,
            algorithms: ProofAlgorithm::ALL.to_vec(),
            nonces: None,
        }
    }
}

/// What a proof must match: the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct ProofContext<'a> {
    /// The request's method (`htm`, §4.3 check 8).
    pub method: &'a str,
    /// The endpoint's URL as the metadata names it (`htu`, §4.3 check 9).
    pub url: &'a str,
    /// At a resource: the access token presented with the proof (`ath`, §4.3 check 12).
    pub access_token: Option<&'a str>,
}

/// Why a proof is refused: the client's problem (`invalid_dpop_proof`, §7.1 `invalid_token`
/// at a resource), or the replay store's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DpopError {
    #[error("{0}")]
    Invalid(&'static str),
    /// §8: the proof lacks a current server nonce; the client must retry with this one.
    #[error("use_dpop_nonce")]
    UseNonce(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The DPoP proof check, shared by the token endpoint and the resources.
#[derive(Clone)]
pub struct DpopProofs {
    verifier: Arc<dyn ProofVerifier>,
    replay: Arc<dyn DpopReplayStore>,
    clock: Arc<dyn Clock>,
    settings: DpopSettings,
    /// The issuer without a trailing slash: our endpoints' URLs, as the metadata names them.
    issuer: String,
}

impl DpopProofs {
    pub fn new(
        verifier: Arc<dyn ProofVerifier>,
        replay: Arc<dyn DpopReplayStore>,
        clock: Arc<dyn Clock>,
        settings: DpopSettings,
        issuer: &str,
    ) -> Self {
        Self {
            verifier,
            replay,
            clock,
            settings,
            issuer: issuer.trim_end_matches('/').to_owned(),
        }
    }

    /// The URL of our endpoint at `path` (e.g. `/oauth/token`): what a proof's `htu` must
    /// name (RFC 9449 §4.3 check 9).
    pub fn endpoint_url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    pub fn settings(&self) -> &DpopSettings {
        &self.settings
    }

    /// A fresh nonce when nonces are required (RFC 9449 §8.2: the server may supply the next
    /// nonce with a successful response too, sparing the client a `use_dpop_nonce` round
    /// trip when the current one expires).
    pub fn fresh_nonce(&self) -> Option<String> {
        let key = self.settings.nonces.as_ref()?;
        Some(key.issue(self.clock.now()))
    }

    /// The thumbprint of the key of `proof`, once every check of RFC 9449 §4.3 passes for
    /// `context`; the proof's `jti` is then recorded, so the same proof fails next time.
    /// Blocking: writes the replay store.
    pub fn check(&self, proof: &str, context: &ProofContext<'_>) -> Result<Jkt, DpopError> {
        let now = self.clock.now();
        // Checks 1-6: one well-formed JWS, an accepted asymmetric alg, a valid signature
        // with the header's key (the adapter).
        let verified = self
            .verifier
            .verify_dpop_proof(proof, &self.settings.algorithms)
            .map_err(|_| DpopError::Invalid("the DPoP proof does not verify"))?;
        let (jkt, jti, iat) = self.acceptable(&verified, context, now)?;
        // §11.1: a jti is accepted once while a proof with its iat is acceptable. Keyed by
        // the thumbprint too, so that two clients' jtis never collide.
        let expires_at = iat.saturating_add(self.settings.iat_window);
        if !self
            .replay
            .record_jti(&jti_hash(&jkt, jti), now, expires_at)?
        {
            return Err(DpopError::Invalid("the DPoP proof was used before"));
        }
        Ok(jkt)
    }

    /// Checks 2 (`typ`), 7 (public key), 8-12 (claims) on a verified proof: the thumbprint,
    /// `jti` and `iat`.
    fn acceptable<'p>(
        &self,
        proof: &'p VerifiedProof,
        context: &ProofContext<'_>,
        now: UnixTime,
    ) -> Result<(Jkt, &'p str, UnixTime), DpopError> {
        if proof.typ.as_deref() != Some(DPOP_JWT) {
            return Err(DpopError::Invalid("the DPoP proof's typ is not dpop+jwt"));
        }
        let jkt = thumbprint(&proof.jwk)
            .map_err(|_| DpopError::Invalid("the DPoP proof's jwk is not a public key"))?;
        let claims = &proof.claims;
        let (Some(jti), Some(htm), Some(htu), Some(iat)) = (
            claims.jti.as_deref(),
            claims.htm.as_deref(),
            claims.htu.as_deref(),
            claims.iat,
        ) else {
            return Err(DpopError::Invalid(
                "the DPoP proof lacks jti, htm, htu or iat",
            ));
        };
        if jti.is_empty() {
            return Err(DpopError::Invalid("the DPoP proof's jti is empty"));
        }
        // Check 8: htm is the method (case-sensitive, RFC 9110 §9.1).
        if htm != context.method {
            return Err(DpopError::Invalid(
                "the DPoP proof's htm is not this method",
            ));
        }
        // Check 9: htu is this endpoint, both normalised.
        match (normalise_htu(htu), normalise_htu(context.url)) {
            (Some(theirs), Some(ours)) if theirs == ours => {}
            _ => return Err(DpopError::Invalid("the DPoP proof's htu is not this URL")),
        }
        // Check 11: iat within the window, either way (clocks differ).
        if (now - iat).abs() > self.settings.iat_window {
            return Err(DpopError::Invalid(
                "the DPoP proof's iat is outside the accepted window",
            ));
        }
        // §8, check 10: the server's nonce, when it asks for one.
        if let Some(key) = &self.settings.nonces {
            if !claims.nonce.as_deref().is_some_and(|n| key.accepts(n, now)) {
                return Err(DpopError::UseNonce(key.issue(now)));
            }
        }
        // Check 12: at a resource, ath is the hash of the presented access token.
        if let Some(token) = context.access_token {
            if claims.ath.as_deref() != Some(access_token_hash(token).as_str()) {
                return Err(DpopError::Invalid(
                    "the DPoP proof's ath is not this access token's hash",
                ));
            }
        }
        Ok((jkt, jti, iat))
    }
}

/// RFC 9449 §5 (a refresh) and §10 (a code exchange): whether a request for a grant or code
/// bound to `bound` may go on with a proof of `presented`. An unbound one takes any request
/// (with or without a proof).
pub fn refresh_key_matches(bound: Option<&str>, presented: Option<&Jkt>) -> bool {
    match bound {
        None => true,
        Some(bound) => presented.is_some_and(|p| p.as_str() == bound),
    }
}

/// §4.2 `ath`: base64url of the SHA-256 of the access token's ASCII.
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The replay record's key: SHA-256 over the thumbprint and the jti, each length-prefixed.
fn jti_hash(jkt: &Jkt, jti: &str) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"grantd-dpop-jti\0");
    for part in [jkt.as_str(), jti] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().into()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
