//! RFC 7638 JWK thumbprints (SHA-256, base64url): what a DPoP-bound token's `cnf.jkt`
//! names (RFC 9449 §6.1). Only the required members of the key type count, in
//! lexicographic order, with no whitespace (§3.2), so `kid`, `alg` or `use` change nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The thumbprint of a public JWK; `None` for a key type without one here (only `EC`,
/// `OKP` and `RSA` sign DPoP proofs) or a required member that is missing or not a string.
pub fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    let member = |name: &str| -> Option<String> {
        let value = jwk.get(name)?.as_str()?;
        serde_json::to_string(value).ok()
    };
    let names: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut members = Vec::with_capacity(names.len());
    for name in names {
        members.push(format!("\"{name}\":{}", member(name)?));
    }
    let canonical = format!("{{{}}}", members.join(","));
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_rfc_7638_example_key_has_its_published_thumbprint() {
        // RFC 7638 §3.1.
        let key = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
        });
        assert_eq!(
            jwk_thumbprint(&key).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn optional_members_do_not_count_and_missing_ones_give_none() {
        let a = json!({"kty": "EC", "crv": "P-256", "x": "AAA", "y": "BBB"});
        let b =
            json!({"kty": "EC", "crv": "P-256", "x": "AAA", "y": "BBB", "kid": "k", "use": "sig"});
        assert_eq!(jwk_thumbprint(&a), jwk_thumbprint(&b));
        assert!(jwk_thumbprint(&a).is_some());
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAA"});
        assert_ne!(jwk_thumbprint(&okp), jwk_thumbprint(&a));
        assert_eq!(
            jwk_thumbprint(&json!({"kty": "EC", "crv": "P-256", "x": "AAA"})),
            None
        );
        assert_eq!(jwk_thumbprint(&json!({"kty": "oct", "k": "AAA"})), None);
        assert_eq!(
            jwk_thumbprint(&json!({"kty": "OKP", "crv": 1, "x": "AAA"})),
            None
        );
        assert_eq!(jwk_thumbprint(&json!("EC")), None);
    }
}
