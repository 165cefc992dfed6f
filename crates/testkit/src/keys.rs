//! Signing-key fixtures: the test `keys.encryption_key`, the JOSE adapter under it, and
//! sealed keys whose clear private part the test knows.

use grantd_crypto::{JoseKeys, KeyEncryptionKey};
use grantd_ports::{SigningAlgorithm, SigningKey};

/// `keys.encryption_key` of every test app (32 bytes of 0x2a, base64).
pub const ENCRYPTION_KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

/// The JOSE adapter under [`ENCRYPTION_KEY`].
pub fn jose() -> JoseKeys {
    JoseKeys::new(KeyEncryptionKey::from_base64(ENCRYPTION_KEY).unwrap())
}

/// A key row whose private part is `clear`, sealed as grantd seals it.
pub fn sealed_key(kid: &str, created_at: i64, clear: &[u8]) -> SigningKey {
    SigningKey {
        kid: kid.to_owned(),
        algorithm: SigningAlgorithm::Es256,
        public_jwk: format!(r#"{{"kty":"EC","kid":"{kid}","alg":"ES256","use":"sig"}}"#),
        private_key: jose()
            .seal_private(kid, SigningAlgorithm::Es256, clear)
            .unwrap(),
        created_at,
        activates_at: created_at,
        retired_at: None,
        published_until: None,
    }
}
