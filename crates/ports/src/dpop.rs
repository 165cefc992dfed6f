//! DPoP (RFC 9449) proofs as the domain sees them: the JOSE adapter verifies a proof's
//! signature with the key in its own header and hands back the header and claims
//! ([`ProofVerifier`]); the store records each proof's `jti` once ([`DpopReplayStore`]).
//! Which proofs are acceptable (RFC 9449 §4.3) is the domain's rule, not these ports'.

use std::collections::BTreeMap;

use crate::{StoreError, UnixTime};

/// The JWS algorithms a DPoP proof may use: asymmetric only (RFC 9449 §4.2: "MUST NOT be
/// none or an identifier for a symmetric algorithm"), so an HMAC key can never verify one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProofAlgorithm {
    Es256,
    EdDsa,
    Rs256,
    Ps256,
}

impl ProofAlgorithm {
    pub const ALL: [ProofAlgorithm; 4] = [Self::Es256, Self::EdDsa, Self::Rs256, Self::Ps256];

    /// The JWA name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Ps256 => "PS256",
        }
    }
}

/// The claims of a proof (RFC 9449 §4.2), as the client sent them; absent ones are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProofClaims {
    pub jti: Option<String>,
    pub htm: Option<String>,
    pub htu: Option<String>,
    pub iat: Option<UnixTime>,
    pub nonce: Option<String>,
    pub ath: Option<String>,
}

/// A proof whose signature checked against the `jwk` of its own header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The header's `typ`, if any.
    pub typ: Option<String>,
    pub algorithm: ProofAlgorithm,
    /// Every member of the header's `jwk`: string members as their value, any other as its
    /// JSON text (so that the domain sees, and refuses, private members of any kind).
    pub jwk: BTreeMap<String, String>,
    pub claims: ProofClaims,
}

/// Why the adapter could not verify a proof. Each is the client's problem
/// (`invalid_dpop_proof`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofRejected {
    #[error("malformed proof")]
    Malformed,
    #[error("algorithm not accepted")]
    Algorithm,
    #[error("no usable public key in the header")]
    Key,
    #[error("bad signature")]
    Signature,
}

/// Verifies a DPoP proof's signature (the crypto adapter's JOSE library).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait ProofVerifier: Send + Sync + 'static {
    /// The header and claims of `proof` (a compact JWS) whose `alg` is one of `algorithms`
    /// and whose signature checks against the public key in its header's `jwk`. Nothing
    /// else is checked here: `typ`, the key's members and every claim are the caller's.
    fn verify_dpop_proof(
        &self,
        proof: &str,
        algorithms: &[ProofAlgorithm],
    ) -> Result<VerifiedProof, ProofRejected>;
}

/// The proofs' `jti`s already seen, shared by every instance through the database
/// (RFC 9449 §11.1), so that a proof is accepted once however many instances there are.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait DpopReplayStore: Send + Sync + 'static {
    /// Records `jti_hash` (SHA-256 of the proof's key thumbprint and `jti`) until
    /// `expires_at`. MUST return `Ok(true)` if it was not recorded yet, or only by a record
    /// whose `expires_at` is before `now` (which it then replaces), and `Ok(false)`,
    /// changing nothing, if it is recorded and unexpired; concurrent calls with the same
    /// hash MUST return `true` to exactly one. Expired records are removed by the prune.
    fn record_jti(
        &self,
        jti_hash: &[u8; 32],
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError>;
}
