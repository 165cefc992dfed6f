//! Each RFC 9068 §4 check of `jwt.rs`, with keys made in the test.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::test_keys::{claims, compact, TestKey, AUDIENCE, ISSUER};
use crate::{Reason, TokenProblem};

const NOW: i64 = 1_700_000_000;
const LEEWAY: i64 = 30;

fn expect() -> Expectations<'static> {
    Expectations {
        issuer: ISSUER,
        audience: AUDIENCE,
        leeway: LEEWAY,
    }
}

fn all_algorithms() -> Vec<Algorithm> {
    use Algorithm::*;
    vec![RS256, PS256, ES256, ES384, EdDSA]
}

/// The whole check, as the verifier runs it, with `key` as the looked-up key.
fn check(token: &str, key: &TestKey, now: i64) -> Result<Authenticated, TokenProblem> {
    let header = check_header(token, &all_algorithms())?;
    verify(token, &header, &key.verify_key(), &expect(), now)
}

fn with(changes: serde_json::Value) -> serde_json::Value {
    let mut c = claims(NOW);
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn a_good_token_of_either_key_type_is_accepted() {
    for key in [TestKey::es256("k1"), TestKey::ed25519("k2")] {
        let a = check(&key.sign(&claims(NOW)), &key, NOW).unwrap();
        assert_eq!((a.sub.as_str(), a.client_id.as_str()), ("user-1", "app"));
        assert_eq!(a.scope.to_string(), "read write");
        assert_eq!((a.exp, a.iat), (Some(NOW + 300), Some(NOW)));
        assert_eq!(a.format, TokenFormat::Jwt);
    }
}

#[test]
fn typ_must_be_at_jwt() {
    let key = TestKey::es256("k1");
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let mut header = key.header();
        header.typ = Some(typ.into());
        assert!(
            check(&key.sign_with(&header, &claims(NOW)), &key, NOW).is_ok(),
            "{typ}"
        );
    }
    for typ in [Some("JWT"), Some("dpop+jwt"), None] {
        let mut header = key.header();
        header.typ = typ.map(str::to_owned);
        let token = key.sign_with(&header, &claims(NOW));
        assert_eq!(
            check(&token, &key, NOW).err(),
            Some(TokenProblem::Type),
            "{typ:?}"
        );
    }
}

#[test]
fn alg_none_is_refused() {
    let key = TestKey::es256("k1");
    for alg in ["none", "None"] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": "k1"});
        let token = compact(&header, &claims(NOW), "");
        assert!(
            crate::credentials::looks_like_jwt(&token),
            "judged as a JWT"
        );
        assert_eq!(
            check(&token, &key, NOW).err(),
            Some(TokenProblem::Malformed)
        );
    }
}

#[test]
fn hmac_is_refused_even_keyed_with_the_public_key() {
    // Algorithm confusion (RFC 8725 §2.1): an HS256 token whose secret is the public key.
    let key = TestKey::es256("k1");
    let public = key.jwk["x"].as_str().unwrap().as_bytes().to_vec();
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("k1".into());
    let token =
        jsonwebtoken::encode(&header, &claims(NOW), &EncodingKey::from_secret(&public)).unwrap();
    assert_eq!(
        check(&token, &key, NOW).err(),
        Some(TokenProblem::Algorithm)
    );
    // Not even when a caller lists it (the builder refuses that list too).
    assert_eq!(
        check_header(&token, &[Algorithm::HS256]).err(),
        Some(TokenProblem::Algorithm)
    );
}

#[test]
fn alg_must_be_accepted_and_the_keys_own() {
    let es = TestKey::es256("k1");
    let token = es.sign(&claims(NOW));
    assert_eq!(
        check_header(&token, &[Algorithm::EdDSA]).err(),
        Some(TokenProblem::Algorithm),
        "not in the accepted list"
    );
    // An ES256 token presented against an EdDSA key of the same kid.
    let ed = TestKey::ed25519("k1");
    let header = check_header(&token, &all_algorithms()).unwrap();
    assert_eq!(
        verify(&token, &header, &ed.verify_key(), &expect(), NOW).err(),
        Some(TokenProblem::Algorithm)
    );
}

#[test]
fn a_token_without_kid_names_no_key() {
    let key = TestKey::es256("k1");
    let mut header = key.header();
    header.kid = None;
    let token = key.sign_with(&header, &claims(NOW));
    assert_eq!(
        check(&token, &key, NOW).err(),
        Some(TokenProblem::UnknownKey)
    );
}

#[test]
fn a_forged_or_tampered_signature_is_refused() {
    let key = TestKey::es256("k1");
    let forger = TestKey::es256("k1");
    let forged = forger.sign(&claims(NOW));
    assert_eq!(
        check(&forged, &key, NOW).err(),
        Some(TokenProblem::Signature)
    );

    let token = key.sign(&claims(NOW));
    let (head, rest) = token.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let more_scope = compact(
        &serde_json::Value::Null,
        &with(json!({"scope": "read write admin"})),
        "",
    );
    let payload = more_scope.split('.').nth(1).unwrap();
    let tampered = format!("{head}.{payload}.{signature}");
    assert_eq!(
        check(&tampered, &key, NOW).err(),
        Some(TokenProblem::Signature)
    );
}

#[test]
fn iss_must_be_the_issuer() {
    let key = TestKey::ed25519("k1");
    for iss in ["http://other.example", "http://as.example/"] {
        let token = key.sign(&with(json!({ "iss": iss })));
        assert_eq!(
            check(&token, &key, NOW).err(),
            Some(TokenProblem::Issuer),
            "{iss}"
        );
    }
}

#[test]
fn aud_must_name_this_resource_server_as_a_string_or_in_an_array() {
    let key = TestKey::ed25519("k1");
    for ok in [json!(AUDIENCE), json!(["https://x.example", AUDIENCE])] {
        assert!(check(&key.sign(&with(json!({ "aud": ok }))), &key, NOW).is_ok());
    }
    for bad in [
        json!("https://x.example"),
        json!(["https://x.example"]),
        json!([]),
        json!(null),
    ] {
        let token = key.sign(&with(json!({ "aud": bad })));
        assert_eq!(
            check(&token, &key, NOW).err(),
            Some(TokenProblem::Audience),
            "{bad}"
        );
    }
}

#[test]
fn exp_is_checked_with_the_leeway() {
    let key = TestKey::ed25519("k1");
    let token = key.sign(&claims(NOW)); // exp = NOW + 300
    let exp = NOW + 300;
    assert!(check(&token, &key, exp - 1).is_ok());
    assert!(
        check(&token, &key, exp + LEEWAY - 1).is_ok(),
        "inside the leeway"
    );
    assert_eq!(
        check(&token, &key, exp + LEEWAY).err(),
        Some(TokenProblem::Expired)
    );
    let no_exp = key.sign(&with(json!({ "exp": null })));
    assert_eq!(
        check(&no_exp, &key, NOW).err(),
        Some(TokenProblem::Malformed),
        "exp is required"
    );
}

#[test]
fn nbf_and_iat_in_the_future_are_checked_with_the_leeway() {
    let key = TestKey::ed25519("k1");
    for claim in ["nbf", "iat"] {
        let at_edge = key.sign(&with(json!({ claim: NOW + LEEWAY })));
        assert!(
            check(&at_edge, &key, NOW).is_ok(),
            "{claim} inside the leeway"
        );
        let beyond = key.sign(&with(json!({ claim: NOW + LEEWAY + 1 })));
        assert_eq!(
            check(&beyond, &key, NOW).err(),
            Some(TokenProblem::NotYetValid),
            "{claim}"
        );
    }
}

#[test]
fn a_key_binding_is_read_for_the_scheme_check() {
    let key = TestKey::ed25519("k1");
    let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let bound = check(
        &key.sign(&with(json!({ "cnf": { "jkt": jkt } }))),
        &key,
        NOW,
    )
    .unwrap();
    assert_eq!(
        (bound.jkt.as_deref(), bound.other_binding),
        (Some(jkt), false)
    );
    let unbound = check(&key.sign(&claims(NOW)), &key, NOW).unwrap();
    assert_eq!((unbound.jkt, unbound.other_binding), (None, false));
    for other in [
        json!({ "x5t#S256": "abc" }),
        json!({ "jkt": jkt, "x5t#S256": "abc" }),
        json!({ "jkt": 1 }),
        json!("jkt"),
    ] {
        let a = check(&key.sign(&with(json!({ "cnf": other.clone() }))), &key, NOW).unwrap();
        assert!(a.other_binding, "{other}");
    }
}

#[test]
fn sub_and_client_id_are_required() {
    let key = TestKey::ed25519("k1");
    for claim in ["sub", "client_id"] {
        let token = key.sign(&with(json!({ claim: null })));
        assert_eq!(
            check(&token, &key, NOW).err(),
            Some(TokenProblem::Malformed),
            "{claim}"
        );
    }
}

#[test]
fn required_scopes_are_enforced_with_insufficient_scope() {
    let key = TestKey::ed25519("k1");
    let a = check(&key.sign(&with(json!({ "scope": "read" }))), &key, NOW).unwrap();
    assert!(a.require(&["read"]).is_ok());
    assert!(a.require(&[]).is_ok());
    let refused = a.require(&["read", "write"]).unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InsufficientScope(vec!["read".into(), "write".into()])
    );
    assert_eq!(refused.status(), 403);
    assert!(refused
        .www_authenticate()
        .unwrap()
        .ends_with(r#"scope="read write""#));
    let none = check(&key.sign(&with(json!({ "scope": null }))), &key, NOW).unwrap();
    assert!(none.scope.is_empty());
    assert!(none.require(&["read"]).is_err());
}
