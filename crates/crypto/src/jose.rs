//! `TokenSigner` and `JwtVerifier` with the `jsonwebtoken` crate (its pure-Rust backend),
//! and key generation with `rsa`, `p256` and `ed25519-dalek`. No signature code is written
//! here: this module only generates keys, seals their private part (ChaCha20-Poly1305 under
//! `keys.encryption_key`) and hands keys and claims to the JOSE library. Which key signs,
//! and which keys are published, is the domain's decision.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use grantd_ports::{
    AccessTokenClaims, GeneratedKey, IdTokenClaims, JwtExpectations, JwtRejected, JwtVerifier,
    SealedPrivateKey, SignerError, SigningAlgorithm, SigningKey, TokenSigner,
};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::rngs::OsRng;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::id_token_wire::IdTokenWire;

/// RFC 9068 §2.1: the `typ` of a JWT access token. §4 also accepts the full media type.
const AT_JWT: &str = "at+jwt";
const AT_JWT_MEDIA_TYPE: &str = "application/at+jwt";
const NONCE_LEN: usize = 12;
/// The RSA modulus size: 2048 bits is the floor of RFC 7518 §3.3 and what OIDC RPs expect.
const RSA_BITS: usize = 2048;

/// The 32-byte key that seals every private signing key (`keys.encryption_key`).
#[derive(Clone)]
pub struct KeyEncryptionKey([u8; 32]);

impl KeyEncryptionKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A random key, for `serve --demo` when none is configured.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key as configured: base64 (standard alphabet) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(<redacted>)")
    }
}

/// The JOSE adapter: generates, seals, opens (once per key, then cached) and signs.
pub struct JoseKeys {
    encryption: KeyEncryptionKey,
    opened: Mutex<HashMap<String, EncodingKey>>,
}

impl JoseKeys {
    pub fn new(encryption: KeyEncryptionKey) -> Self {
        Self {
            encryption,
            opened: Mutex::new(HashMap::new()),
        }
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.encryption.0))
    }

    /// The sealed form binds the kid and algorithm as associated data, so a sealed blob
    /// copied onto another row does not open.
    fn aad(kid: &str, algorithm: SigningAlgorithm) -> Vec<u8> {
        format!("grantd signing key v1|{kid}|{}", algorithm.as_str()).into_bytes()
    }

    /// Seals a private key given as DER (PKCS#1 for RSA, PKCS#8 otherwise) for `kid`:
    /// the form `KeyStore` stores. Used by `generate`, and to import an existing key.
    pub fn seal_private(
        &self,
        kid: &str,
        algorithm: SigningAlgorithm,
        der: &[u8],
    ) -> Result<SealedPrivateKey, SignerError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let aad = Self::aad(kid, algorithm);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: der,
                    aad: &aad,
                },
            )
            .map_err(|_| SignerError::Failed("sealing the private key".to_owned()))?;
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&sealed);
        Ok(SealedPrivateKey::from_stored(stored))
    }

    fn open(&self, key: &SigningKey) -> Result<Vec<u8>, SignerError> {
        let sealed = key.private_key.as_bytes();
        if sealed.len() <= NONCE_LEN {
            return Err(SignerError::Sealed(key.kid.clone()));
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let aad = Self::aad(&key.kid, key.algorithm);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| SignerError::Sealed(key.kid.clone()))
    }

    fn encoding_key(&self, key: &SigningKey) -> Result<EncodingKey, SignerError> {
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = opened.get(&key.kid) {
            return Ok(found.clone());
        }
        let der = self.open(key)?;
        let encoding = match key.algorithm {
            SigningAlgorithm::Rs256 => EncodingKey::from_rsa_der(&der),
            SigningAlgorithm::Es256 => EncodingKey::from_ec_der(&der),
            SigningAlgorithm::EdDsa => EncodingKey::from_ed_der(&der),
        };
        opened.insert(key.kid.clone(), encoding.clone());
        Ok(encoding)
    }
}

/// The private key's DER (the form `jsonwebtoken` reads) and the public JWK's key members.
fn generate_pair(algorithm: SigningAlgorithm) -> Result<(Vec<u8>, serde_json::Value), String> {
    match algorithm {
        SigningAlgorithm::Rs256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS).map_err(|e| e.to_string())?;
            let der = key.to_pkcs1_der().map_err(|e| e.to_string())?;
            let jwk = json!({
                "kty": "RSA",
                "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
            });
            Ok((der.as_bytes().to_vec(), jwk))
        }
        SigningAlgorithm::Es256 => {
            use p256::pkcs8::EncodePrivateKey;
            let key = p256::ecdsa::SigningKey::random(&mut OsRng);
            let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
            let point = key.verifying_key().to_encoded_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err("P-256 point without coordinates".to_owned());
            };
            let jwk = json!({
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(x),
                "y": URL_SAFE_NO_PAD.encode(y),
            });
            Ok((der.as_bytes().to_vec(), jwk))
        }
        SigningAlgorithm::EdDsa => {
            use ed25519_dalek::pkcs8::EncodePrivateKey;
            let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
            let der = key.to_pkcs8_der().map_err(|e| e.to_string())?;
            let jwk = json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
            });
            Ok((der.as_bytes().to_vec(), jwk))
        }
    }
}

fn jose_algorithm(algorithm: SigningAlgorithm) -> Algorithm {
    match algorithm {
        SigningAlgorithm::Rs256 => Algorithm::RS256,
        SigningAlgorithm::Es256 => Algorithm::ES256,
        SigningAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

/// `aud` as it travels (RFC 7519 §4.1.3): one audience as a string, several as an array.
/// Both forms are read, whoever minted the token.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum WireAudience {
    One(String),
    Many(Vec<String>),
}

impl WireAudience {
    fn from_values(values: &[String]) -> Self {
        match values {
            [one] => Self::One(one.clone()),
            many => Self::Many(many.to_vec()),
        }
    }

    fn into_values(self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        }
    }
}

/// The claims as they travel (RFC 9068 §2.2).
#[derive(Serialize, Deserialize)]
struct WireClaims {
    iss: String,
    sub: String,
    aud: WireAudience,
    client_id: String,
    iat: i64,
    exp: i64,
    jti: String,
    scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    /// RFC 9449 §6.1 (RFC 7800 §3.1): the DPoP key a bound token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cnf: Option<WireConfirmation>,
}

/// RFC 7800 `cnf` with RFC 9449's `jkt` member.
#[derive(Serialize, Deserialize)]
struct WireConfirmation {
    jkt: String,
}

impl TokenSigner for JoseKeys {
    fn generate(&self, algorithm: SigningAlgorithm) -> Result<GeneratedKey, SignerError> {
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        // A kid starting with '-' would read as an option to `grantd keys retire KID`.
        let kid = format!("k{}", URL_SAFE_NO_PAD.encode(id));
        let (der, mut jwk) = generate_pair(algorithm).map_err(SignerError::Failed)?;
        // RFC 7517 §4.2, §4.4, §4.5: what the key is for, with which algorithm, under which id.
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(algorithm.as_str());
        jwk["use"] = json!("sig");
        let private_key = self.seal_private(&kid, algorithm, &der)?;
        Ok(GeneratedKey {
            kid,
            public_jwk: jwk.to_string(),
            private_key,
        })
    }

    fn can_open(&self, key: &SigningKey) -> bool {
        self.open(key).is_ok()
    }

    fn sign_access_token(
        &self,
        key: &SigningKey,
        claims: &AccessTokenClaims,
    ) -> Result<String, SignerError> {
        let encoding = self.encoding_key(key)?;
        let mut header = Header::new(jose_algorithm(key.algorithm));
        header.typ = Some(AT_JWT.to_owned());
        header.kid = Some(key.kid.clone());
        let wire = WireClaims {
            iss: claims.iss.clone(),
            sub: claims.sub.clone(),
            aud: WireAudience::from_values(&claims.aud),
            client_id: claims.client_id.clone(),
            iat: claims.iat,
            exp: claims.exp,
            jti: claims.jti.clone(),
            scope: claims.scope.clone(),
            auth_time: claims.auth_time,
            cnf: claims.cnf_jkt.clone().map(|jkt| WireConfirmation { jkt }),
        };
        jsonwebtoken::encode(&header, &wire, &encoding)
            .map_err(|e| SignerError::Failed(e.to_string()))
    }

    fn sign_id_token(
        &self,
        key: &SigningKey,
        claims: &IdTokenClaims,
    ) -> Result<String, SignerError> {
        let encoding = self.encoding_key(key)?;
        let mut header = Header::new(jose_algorithm(key.algorithm));
        header.typ = Some("JWT".to_owned());
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &IdTokenWire::from(claims), &encoding)
            .map_err(|e| SignerError::Failed(e.to_string()))
    }
}

/// Whether a header's `typ` is what the token kind must carry.
#[derive(Clone, Copy)]
enum TypeRule {
    /// RFC 9068 §4: the resource server MUST check `typ`.
    AccessToken,
    /// Id tokens carry `JWT` or nothing (Core §2 names no `typ`).
    IdToken,
}

impl TypeRule {
    fn accepts(self, typ: Option<&str>) -> bool {
        match self {
            Self::AccessToken => matches!(typ, Some(AT_JWT) | Some(AT_JWT_MEDIA_TYPE)),
            Self::IdToken => matches!(typ, None | Some("JWT")),
        }
    }
}

/// The claims of `token` once its header and signature check against `keys`: the `alg`
/// must be one of `expected.algorithms` and the key's own, the `kid` one of `keys`, the
/// `typ` what `rule` wants. Time and issuer are the caller's to check.
fn decode_verified<T: DeserializeOwned>(
    token: &str,
    keys: &[SigningKey],
    expected: &JwtExpectations,
    rule: TypeRule,
) -> Result<T, JwtRejected> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtRejected::Malformed)?;
    // Only the configured algorithms: `none` and HMAC are not even representable in
    // SigningAlgorithm, so a header naming them fails here (alg confusion).
    let algorithm = expected
        .algorithms
        .iter()
        .copied()
        .find(|a| jose_algorithm(*a) == header.alg)
        .ok_or(JwtRejected::Algorithm)?;
    let kid = header.kid.as_deref().ok_or(JwtRejected::UnknownKey)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(JwtRejected::UnknownKey)?;
    if key.algorithm != algorithm {
        return Err(JwtRejected::Algorithm);
    }
    if !rule.accepts(header.typ.as_deref()) {
        return Err(JwtRejected::Type);
    }
    let jwk: Jwk = serde_json::from_str(&key.public_jwk).map_err(|_| JwtRejected::UnknownKey)?;
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| JwtRejected::UnknownKey)?;
    let mut validation = Validation::new(jose_algorithm(algorithm));
    // Time is grantd's Clock, not the library's: the callers check expiry.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<T>(token, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|_| JwtRejected::Signature)
}

/// Verifies with the public JWKs alone (no private part is needed or opened).
#[derive(Debug, Clone, Copy, Default)]
pub struct JoseVerifier;

impl JwtVerifier for JoseVerifier {
    fn verify_access_token(
        &self,
        token: &str,
        keys: &[SigningKey],
        expected: &JwtExpectations,
    ) -> Result<AccessTokenClaims, JwtRejected> {
        let claims: WireClaims = decode_verified(token, keys, expected, TypeRule::AccessToken)?;
        if claims.iss != expected.issuer {
            return Err(JwtRejected::Issuer);
        }
        if claims.exp <= expected.now {
            return Err(JwtRejected::Expired);
        }
        Ok(AccessTokenClaims {
            iss: claims.iss,
            sub: claims.sub,
            aud: claims.aud.into_values(),
            client_id: claims.client_id,
            iat: claims.iat,
            exp: claims.exp,
            jti: claims.jti,
            scope: claims.scope,
            auth_time: claims.auth_time,
            cnf_jkt: claims.cnf.map(|c| c.jkt),
        })
    }

    fn verify_id_token_hint(
        &self,
        token: &str,
        keys: &[SigningKey],
        expected: &JwtExpectations,
    ) -> Result<IdTokenClaims, JwtRejected> {
        let claims: IdTokenWire = decode_verified(token, keys, expected, TypeRule::IdToken)?;
        if claims.iss != expected.issuer {
            return Err(JwtRejected::Issuer);
        }
        claims.into_claims()
    }
}

#[cfg(test)]
#[path = "jose_tests.rs"]
mod tests;
