//! Signing keys and JOSE: the key rows every instance shares (`KeyStore`), and the ports
//! that generate keys, sign JWTs and verify them (`TokenSigner`, `JwtVerifier`). The domain
//! decides which key signs and which keys are published; how a signature is made is the
//! crypto adapter's (a well-kept JOSE library, never hand-written signature code).

use std::fmt;

use crate::{StoreError, UnixTime};

/// The JWS algorithms grantd signs with (RFC 7518 §3.1, RFC 8037). RS256 is the one OIDC
/// Discovery requires; there is deliberately no `none` and no HMAC algorithm here, so a
/// verifier built on this list can never accept them (alg confusion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    Rs256,
    Es256,
    EdDsa,
}

impl SigningAlgorithm {
    pub const ALL: [SigningAlgorithm; 3] = [Self::Rs256, Self::Es256, Self::EdDsa];

    /// The JWA name (`alg`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm with this JWA name, or `None`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// The private key, sealed (AEAD) under `keys.encryption_key`: the only form stored.
/// `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPrivateKey(Vec<u8>);

impl SealedPrivateKey {
    pub fn from_stored(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SealedPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedPrivateKey(<redacted>)")
    }
}

/// One signing key as stored. `public_jwk` is the RFC 7517 JSON object that the JWKS
/// publishes (with `kid`, `alg`, `use`); the private part is only ever sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: SigningAlgorithm,
    pub public_jwk: String,
    pub private_key: SealedPrivateKey,
    pub created_at: UnixTime,
    /// From this time on the key may sign (published earlier, so that caches have it).
    pub activates_at: UnixTime,
    /// Set by `keys retire`: the key signs nothing from then on.
    pub retired_at: Option<UnixTime>,
    /// A retired key stays published until every token it signed has expired.
    pub published_until: Option<UnixTime>,
}

/// The signing keys, shared by every instance through the database.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait KeyStore: Send + Sync + 'static {
    /// Stores a new key. MUST return `Conflict` if the kid is taken.
    fn insert_signing_key(&self, key: &SigningKey) -> Result<(), StoreError>;
    /// Every key, retired ones included, ordered by `created_at` then `kid`.
    fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError>;
    /// Marks a key retired at `retired_at`, published until `published_until`. MUST return
    /// `Ok(false)` (and change nothing) for an unknown or already retired kid.
    fn retire_signing_key(
        &self,
        kid: &str,
        retired_at: UnixTime,
        published_until: UnixTime,
    ) -> Result<bool, StoreError>;
}

/// The claims of an RFC 9068 access token (§2.2). `aud` holds one audience or several
/// (RFC 7519 §4.1.3: one travels as a string, several as an array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub client_id: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub scope: String,
    pub auth_time: Option<UnixTime>,
    /// `cnf.jkt` (RFC 9449 §6.1): the thumbprint of the DPoP key the token is bound to.
    pub cnf_jkt: Option<String>,
}

/// The claims of an OpenID Connect id token (Core §2, §3.1.3.6, §5.1). The profile
/// claims are present only when the granted scope releases them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// The client id (Core §2: the id token's audience is the relying party).
    pub aud: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub auth_time: Option<UnixTime>,
    pub nonce: Option<String>,
    /// Core §3.1.3.6: the left half of the hash of the access token, base64url.
    pub at_hash: Option<String>,
    /// Authentication methods (RFC 8176), e.g. `pwd`.
    pub amr: Vec<String>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
}

/// What a verifier checks besides the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtExpectations {
    pub issuer: String,
    pub now: UnixTime,
    /// The algorithms accepted; a token naming any other `alg` is refused.
    pub algorithms: Vec<SigningAlgorithm>,
}

/// A key pair just generated: its public JWK (with `kid`, `alg`, `use`) and the sealed
/// private part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    pub kid: String,
    pub public_jwk: String,
    pub private_key: SealedPrivateKey,
}

/// A failure to generate, open or use a key: a misconfiguration (wrong
/// `keys.encryption_key`) or a bug, never a client's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignerError {
    #[error("the private part of key {0} does not open under keys.encryption_key")]
    Sealed(String),
    #[error("signing failed: {0}")]
    Failed(String),
}

/// Why a presented JWT is not accepted. Each is the client's problem (`invalid_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtRejected {
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not accepted")]
    Algorithm,
    #[error("unknown key id")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong type")]
    Type,
    #[error("wrong issuer")]
    Issuer,
    #[error("expired")]
    Expired,
}

/// Generates keys and signs JWTs with them (the crypto adapter's JOSE library).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenSigner: Send + Sync + 'static {
    /// A fresh key pair for `algorithm`, its private part sealed.
    fn generate(&self, algorithm: SigningAlgorithm) -> Result<GeneratedKey, SignerError>;
    /// Whether the key's private part opens under the configured encryption key.
    fn can_open(&self, key: &SigningKey) -> bool;
    /// The compact JWS of `claims` with `typ: at+jwt` (RFC 9068 §2.1) and `kid`.
    fn sign_access_token(
        &self,
        key: &SigningKey,
        claims: &AccessTokenClaims,
    ) -> Result<String, SignerError>;
    /// The compact JWS of an id token (`typ: JWT`) with `kid`.
    fn sign_id_token(
        &self,
        key: &SigningKey,
        claims: &IdTokenClaims,
    ) -> Result<String, SignerError>;
}

/// Verifies a presented JWT access token against the published keys only.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait JwtVerifier: Send + Sync + 'static {
    /// The claims of a token whose `kid` is one of `keys`, whose `alg` is the key's and one
    /// of `expected.algorithms`, whose signature, `typ` (`at+jwt`), `iss` and `exp` check.
    fn verify_access_token(
        &self,
        token: &str,
        keys: &[SigningKey],
        expected: &JwtExpectations,
    ) -> Result<AccessTokenClaims, JwtRejected>;
    /// The claims of an id token this server issued (an `id_token_hint`): `kid` one of
    /// `keys`, `alg` the key's and accepted, the signature and `iss` check. Expiry is not
    /// checked: RP-Initiated Logout §2 lets an expired id token name the session to end.
    fn verify_id_token_hint(
        &self,
        token: &str,
        keys: &[SigningKey],
        expected: &JwtExpectations,
    ) -> Result<IdTokenClaims, JwtRejected>;
}
