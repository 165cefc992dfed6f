//! Test material made per test: ES256 and EdDSA key pairs with their public JWKs, tokens
//! signed with any header and claims, and a clock the test moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::OsRng;
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::jwks::{parse_jwks, VerifyKey};

pub(crate) const ISSUER: &str = "http://as.example";
pub(crate) const AUDIENCE: &str = "https://api.example";

pub(crate) struct TestKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    encoding: EncodingKey,
    pub(crate) jwk: Value,
}

impl TestKey {
    pub(crate) fn es256(kid: &str) -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let key = p256::ecdsa::SigningKey::random(&mut OsRng);
        let der = key.to_pkcs8_der().unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_der(der.as_bytes()),
            jwk: json!({
                "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
            }),
        }
    }

    pub(crate) fn ed25519(kid: &str) -> Self {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
        let der = key.to_pkcs8_der().unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            jwk: json!({
                "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
            }),
        }
    }

    /// An RS256 key of `bits` bits (RSA keys are slow to make: use them sparingly).
    pub(crate) fn rs256(kid: &str, bits: usize) -> Self {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPrivateKey::new(&mut OsRng, bits).unwrap();
        let der = key.to_pkcs1_der().unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            jwk: json!({
                "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
                "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
            }),
        }
    }

    /// The key as the cache holds it after reading this JWK from a JWKS.
    pub(crate) fn verify_key(&self) -> Arc<VerifyKey> {
        let mut keys = parse_jwks(&jwks(&[self])).unwrap();
        keys.remove(&self.kid).expect("the JWK is usable")
    }

    /// The header grantd writes: this key's alg and kid, `typ: at+jwt`.
    pub(crate) fn header(&self) -> Header {
        let mut header = Header::new(self.alg);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.kid.clone());
        header
    }

    pub(crate) fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).unwrap()
    }

    /// A compact JWS of exactly this header, which need not be one `jsonwebtoken` writes.
    pub(crate) fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let unsigned = compact(header, claims, "");
        let input = unsigned.trim_end_matches('.');
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg).unwrap();
        format!("{input}.{signature}")
    }

    /// The public JWK without `kid`, `alg` and `use`, as a DPoP client puts it in a proof.
    pub(crate) fn public_jwk(&self) -> Value {
        let mut jwk = self.jwk.clone();
        for member in ["kid", "alg", "use"] {
            jwk.as_object_mut().unwrap().remove(member);
        }
        jwk
    }

    /// A DPoP proof of this key with these claims.
    pub(crate) fn proof_with(&self, claims: &Value) -> String {
        self.sign_raw(&self.proof_header(), claims)
    }

    /// The header of this key's proofs.
    pub(crate) fn proof_header(&self) -> Value {
        json!({ "typ": "dpop+jwt", "alg": self.alg_name(), "jwk": self.public_jwk() })
    }

    pub(crate) fn alg_name(&self) -> &'static str {
        match self.alg {
            Algorithm::EdDSA => "EdDSA",
            Algorithm::RS256 => "RS256",
            _ => "ES256",
        }
    }

    /// The RFC 7638 thumbprint of this key.
    pub(crate) fn jkt(&self) -> String {
        crate::jwk_thumbprint(&self.jwk).unwrap()
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.header(), claims)
    }
}

/// A JWKS document of these keys.
pub(crate) fn jwks(keys: &[&TestKey]) -> Vec<u8> {
    let keys: Vec<&Value> = keys.iter().map(|k| &k.jwk).collect();
    json!({ "keys": keys }).to_string().into_bytes()
}

/// RFC 9068 claims as grantd writes them, issued at `now` for five minutes.
pub(crate) fn claims(now: i64) -> Value {
    json!({
        "iss": ISSUER, "sub": "user-1", "aud": AUDIENCE, "client_id": "app",
        "iat": now, "exp": now + 300, "jti": "gat_x", "scope": "read write",
    })
}

/// `base64url(header).base64url(claims).signature`, for headers no library would write.
pub(crate) fn compact(header: &Value, claims: &Value, signature: &str) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.{signature}", part(header), part(claims))
}

#[derive(Default)]
pub(crate) struct ManualClock(AtomicI64);

impl ManualClock {
    pub(crate) fn at(now: i64) -> Arc<Self> {
        Arc::new(Self(AtomicI64::new(now)))
    }

    pub(crate) fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
