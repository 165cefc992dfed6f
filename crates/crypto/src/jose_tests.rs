//! Tests of the JOSE adapter: every algorithm signs and verifies; each way a token can be
//! wrong (tampered, unknown kid, other key, alg none, HS256, wrong typ, issuer, expired)
//! is refused; sealed keys open only under their own encryption key and row.

#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::*;

const ISS: &str = "https://grantd.example";
const NOW: i64 = 1_000_000;

fn record(generated: GeneratedKey, algorithm: SigningAlgorithm) -> SigningKey {
    SigningKey {
        kid: generated.kid,
        algorithm,
        public_jwk: generated.public_jwk,
        private_key: generated.private_key,
        created_at: NOW,
        activates_at: NOW,
        retired_at: None,
        published_until: None,
    }
}

fn claims() -> AccessTokenClaims {
    AccessTokenClaims {
        iss: ISS.to_owned(),
        sub: "alice".to_owned(),
        aud: vec!["https://api.example".to_owned()],
        client_id: "app".to_owned(),
        iat: NOW,
        exp: NOW + 300,
        jti: "gat_abc".to_owned(),
        scope: "read write".to_owned(),
        auth_time: None,
        cnf_jkt: None,
    }
}

fn expect() -> JwtExpectations {
    JwtExpectations {
        issuer: ISS.to_owned(),
        now: NOW + 1,
        algorithms: SigningAlgorithm::ALL.to_vec(),
    }
}

fn jose() -> JoseKeys {
    JoseKeys::new(KeyEncryptionKey::new([7; 32]))
}

fn keyed(jose: &JoseKeys, algorithm: SigningAlgorithm) -> SigningKey {
    record(jose.generate(algorithm).unwrap(), algorithm)
}

/// Re-encodes a token's header (and keeps its payload and signature).
fn with_header(token: &str, header: serde_json::Value) -> String {
    let mut parts = token.splitn(2, '.');
    parts.next();
    let rest = parts.next().unwrap();
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()))
}

#[test]
fn every_algorithm_signs_and_verifies_with_typ_and_kid() {
    let jose = jose();
    for algorithm in SigningAlgorithm::ALL {
        let key = keyed(&jose, algorithm);
        let token = jose.sign_access_token(&key, &claims()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        let got = JoseVerifier
            .verify_access_token(&token, std::slice::from_ref(&key), &expect())
            .unwrap();
        assert_eq!(got, claims(), "{algorithm:?}");
        assert!(
            key.kid.starts_with(|c: char| c.is_ascii_alphanumeric()),
            "a kid is a safe CLI argument: {}",
            key.kid
        );
        let jwk: serde_json::Value = serde_json::from_str(&key.public_jwk).unwrap();
        assert_eq!(jwk["alg"], algorithm.as_str());
        assert_eq!(jwk["use"], "sig");
        assert!(
            jwk.get("d").is_none(),
            "no private member in the public JWK"
        );
    }
}

/// The payload of a compact JWS, as JSON.
fn payload(token: &str) -> serde_json::Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn one_audience_travels_as_a_string_and_several_as_an_array() {
    let jose = jose();
    let key = keyed(&jose, SigningAlgorithm::Es256);
    let keys = std::slice::from_ref(&key);
    let one = jose.sign_access_token(&key, &claims()).unwrap();
    assert_eq!(payload(&one)["aud"], "https://api.example");
    let several = AccessTokenClaims {
        aud: vec!["https://a.example/".into(), "https://b.example/".into()],
        ..claims()
    };
    let token = jose.sign_access_token(&key, &several).unwrap();
    assert_eq!(
        payload(&token)["aud"],
        serde_json::json!(["https://a.example/", "https://b.example/"])
    );
    // The verifier reads both forms back.
    for (token, expected) in [(one, claims()), (token, several)] {
        let got = JoseVerifier
            .verify_access_token(&token, keys, &expect())
            .unwrap();
        assert_eq!(got, expected);
    }
}

#[test]
fn a_tampered_or_foreign_token_is_refused() {
    let jose = jose();
    let key = keyed(&jose, SigningAlgorithm::Es256);
    let other = keyed(&jose, SigningAlgorithm::Es256);
    let token = jose.sign_access_token(&key, &claims()).unwrap();
    let keys = [key.clone()];
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(
            &serde_json::json!({"iss": ISS, "sub": "mallory", "aud": "x",
            "client_id": "app", "iat": NOW, "exp": NOW + 300, "jti": "j", "scope": "admin"}),
        )
        .unwrap(),
    );
    parts[1] = &forged;
    let tampered = parts.join(".");
    let v = |t: &str, keys: &[SigningKey]| JoseVerifier.verify_access_token(t, keys, &expect());
    assert_eq!(v(&tampered, &keys), Err(JwtRejected::Signature));
    assert_eq!(
        v(&token, std::slice::from_ref(&other)),
        Err(JwtRejected::UnknownKey)
    );
    // The other key under this key's kid: the signature does not check.
    let mut swapped = other;
    swapped.kid = key.kid.clone();
    assert_eq!(v(&token, &[swapped]), Err(JwtRejected::Signature));
    assert_eq!(v("not.a.jwt", &keys), Err(JwtRejected::Malformed));
    assert_eq!(v("", &keys), Err(JwtRejected::Malformed));
}

#[test]
fn alg_none_hmac_and_unconfigured_algorithms_are_refused() {
    let jose = jose();
    let key = keyed(&jose, SigningAlgorithm::EdDsa);
    let token = jose.sign_access_token(&key, &claims()).unwrap();
    let keys = [key.clone()];
    let v = |t: &str| JoseVerifier.verify_access_token(t, &keys, &expect());
    let none = with_header(
        &token,
        serde_json::json!({"alg": "none", "typ": "at+jwt", "kid": key.kid}),
    );
    assert!(matches!(
        v(&none),
        Err(JwtRejected::Malformed | JwtRejected::Algorithm)
    ));
    // HS256 keyed with the public key's bytes (the alg-confusion attack).
    let hs = jsonwebtoken::encode(
        &{
            let mut h = Header::new(Algorithm::HS256);
            h.typ = Some("at+jwt".into());
            h.kid = Some(key.kid.clone());
            h
        },
        &serde_json::json!({"iss": ISS, "sub": "x", "aud": "x", "client_id": "app",
            "iat": NOW, "exp": NOW + 300, "jti": "j", "scope": "read"}),
        &EncodingKey::from_secret(key.public_jwk.as_bytes()),
    )
    .unwrap();
    assert_eq!(v(&hs), Err(JwtRejected::Algorithm));
    let only_rs = JwtExpectations {
        algorithms: vec![SigningAlgorithm::Rs256],
        ..expect()
    };
    assert_eq!(
        JoseVerifier.verify_access_token(&token, &keys, &only_rs),
        Err(JwtRejected::Algorithm)
    );
}

#[test]
fn typ_issuer_and_expiry_are_checked() {
    let jose = jose();
    let key = keyed(&jose, SigningAlgorithm::Es256);
    let keys = [key.clone()];
    let token = jose.sign_access_token(&key, &claims()).unwrap();
    let other_iss = JwtExpectations {
        issuer: "https://elsewhere".to_owned(),
        ..expect()
    };
    assert_eq!(
        JoseVerifier.verify_access_token(&token, &keys, &other_iss),
        Err(JwtRejected::Issuer)
    );
    let late = JwtExpectations {
        now: NOW + 300,
        ..expect()
    };
    assert_eq!(
        JoseVerifier.verify_access_token(&token, &keys, &late),
        Err(JwtRejected::Expired)
    );
    // A plain JWT (typ JWT) signed by the same key is not an access token (RFC 9068 §4).
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    let plain =
        jsonwebtoken::encode(&header, &claims_wire(), &jose.encoding_key(&key).unwrap()).unwrap();
    assert_eq!(
        JoseVerifier.verify_access_token(&plain, &keys, &expect()),
        Err(JwtRejected::Type)
    );
}

fn claims_wire() -> serde_json::Value {
    serde_json::json!({"iss": ISS, "sub": "alice", "aud": "a", "client_id": "app",
        "iat": NOW, "exp": NOW + 300, "jti": "j", "scope": "read"})
}

#[test]
fn a_sealed_key_opens_only_under_its_encryption_key_and_row() {
    let jose = jose();
    let key = keyed(&jose, SigningAlgorithm::Es256);
    assert!(jose.can_open(&key));
    let stranger = JoseKeys::new(KeyEncryptionKey::new([8; 32]));
    assert!(!stranger.can_open(&key));
    assert!(matches!(
        stranger.sign_access_token(&key, &claims()),
        Err(SignerError::Sealed(_))
    ));
    let mut moved = key.clone();
    moved.kid = "another-row".to_owned();
    assert!(!jose.can_open(&moved));
}

#[test]
fn the_encryption_key_is_32_bytes_of_base64() {
    let k = KeyEncryptionKey::random();
    assert!(KeyEncryptionKey::from_base64(&k.to_base64()).is_some());
    assert!(KeyEncryptionKey::from_base64("c2hvcnQ=").is_none());
    assert!(KeyEncryptionKey::from_base64("not base64!").is_none());
    assert_eq!(format!("{k:?}"), "KeyEncryptionKey(<redacted>)");
}

fn id_claims() -> IdTokenClaims {
    IdTokenClaims {
        iss: ISS.to_owned(),
        sub: "user-1".to_owned(),
        aud: "web".to_owned(),
        iat: NOW,
        exp: NOW + 300,
        auth_time: Some(NOW - 10),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        at_hash: Some("77QmUPtjPfzWtF2AnpK9RQ".to_owned()),
        amr: vec!["pwd".to_owned()],
        name: None,
        preferred_username: Some("alice".to_owned()),
        email: None,
        email_verified: None,
    }
}

#[test]
fn id_tokens_sign_with_typ_jwt_and_verify_as_hints_even_when_expired() {
    let jose = jose();
    for algorithm in SigningAlgorithm::ALL {
        let key = keyed(&jose, algorithm);
        let keys = [key.clone()];
        let token = jose.sign_id_token(&key, &id_claims()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        // Absent claims are left out, not sent as null.
        let payload: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert!(payload.get("email").is_none(), "{payload}");
        assert_eq!(payload["aud"], "web");
        let late = JwtExpectations {
            now: NOW + 10_000,
            ..expect()
        };
        assert_eq!(
            JoseVerifier.verify_id_token_hint(&token, &keys, &late),
            Ok(id_claims()),
            "{algorithm:?}"
        );
        // An id token is not an access token, and the other way round.
        assert_eq!(
            JoseVerifier.verify_access_token(&token, &keys, &expect()),
            Err(JwtRejected::Type)
        );
        let access = jose.sign_access_token(&key, &claims()).unwrap();
        assert_eq!(
            JoseVerifier.verify_id_token_hint(&access, &keys, &expect()),
            Err(JwtRejected::Type)
        );
        let other_iss = JwtExpectations {
            issuer: "https://elsewhere".to_owned(),
            ..expect()
        };
        assert_eq!(
            JoseVerifier.verify_id_token_hint(&token, &keys, &other_iss),
            Err(JwtRejected::Issuer)
        );
    }
}
