//! grantd's RFC 9068 JWT access tokens, verified offline against its JWKS.

use std::net::TcpListener;
use std::time::Duration;

use grantd_resource_server::{IssuerProblem, Reason, TokenFormat, TokenProblem, Verifier};

use crate::support::{claims_of, forge, header_of, Harness};

#[test]
fn a_jwt_access_token_from_grantd_is_accepted() {
    let h = Harness::start(true);
    let verifier = h.builder().build().unwrap();
    let token = h.token(None);
    assert_eq!(header_of(&token)["typ"], "at+jwt");
    for _ in 0..3 {
        let who = h.verify(&verifier, &token, &["read"]).unwrap();
        assert_eq!(
            (who.sub.as_str(), who.client_id.as_str()),
            ("user-alice", "app")
        );
        assert_eq!(who.scope.to_string(), "read write");
        assert_eq!(who.format, TokenFormat::Jwt);
        assert_eq!(who.exp, claims_of(&token)["exp"].as_i64());
    }
    // Discovery and the JWKS once; the three checks were offline.
    assert_eq!(h.served("/.well-known/oauth-authorization-server"), 1);
    assert_eq!(h.served("/.well-known/jwks.json"), 1);
    assert_eq!(h.served("/oauth/introspect"), 0);
    let stats = verifier.stats();
    assert_eq!((stats.discovery_fetches, stats.jwks_fetches), (1, 1));
}

#[test]
fn a_tampered_jwt_is_refused() {
    let h = Harness::start(true);
    let verifier = h.builder().build().unwrap();
    let token = h.token(Some("read"));
    let (head, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();

    // More scope written into the payload, grantd's signature kept.
    let mut claims = claims_of(&token);
    claims["scope"] = "read write".into();
    use base64::Engine;
    let more = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    // One signature byte changed (the middle: the last character holds padding bits).
    let mut sig: Vec<char> = signature.chars().collect();
    let middle = sig.len() / 2;
    sig[middle] = if sig[middle] == 'A' { 'B' } else { 'A' };
    let sig: String = sig.into_iter().collect();
    for bad in [
        format!("{head}.{more}.{signature}"),
        format!("{head}.{payload}.{sig}"),
    ] {
        let refused = h.verify(&verifier, &bad, &[]).unwrap_err();
        assert_eq!(
            refused.reason(),
            &Reason::InvalidToken(TokenProblem::Signature)
        );
        assert_eq!(refused.status(), 401);
        assert_eq!(
            refused.www_authenticate().unwrap(),
            r#"Bearer error="invalid_token", error_description="The access token is invalid", DPoP algs="ES256 EdDSA RS256 PS256""#
        );
    }
    // The same claims signed by a forger's own (ES256) key under grantd's (RS256) kid.
    let kid = header_of(&token)["kid"].as_str().unwrap().to_owned();
    assert_eq!(header_of(&token)["alg"], "RS256");
    let refused = h
        .verify(&verifier, &forge(&kid, &claims_of(&token)), &[])
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::Algorithm)
    );
    assert_eq!(refused.status(), 401);
    assert!(
        h.verify(&verifier, &token, &["read"]).is_ok(),
        "the original still verifies"
    );
}

#[test]
fn an_expired_jwt_is_refused_after_the_leeway() {
    let h = Harness::start(true);
    let verifier = h.builder().leeway(Duration::from_secs(30)).build().unwrap();
    let token = h.token(None);
    assert!(h.verify(&verifier, &token, &[]).is_ok());
    let exp = claims_of(&token)["exp"].as_i64().unwrap();
    let now = {
        use grantd_resource_server::Clock;
        h.clock.now()
    };
    h.advance(exp - now + 29);
    assert!(
        h.verify(&verifier, &token, &[]).is_ok(),
        "inside the leeway"
    );
    h.advance(1);
    let refused = h.verify(&verifier, &token, &[]).unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::Expired)
    );
    assert!(refused
        .www_authenticate()
        .unwrap()
        .contains(r#"error_description="The access token expired""#));
}

#[test]
fn a_token_for_another_audience_or_without_the_scope_is_refused() {
    let h = Harness::start(true);
    let token = h.token(Some("read"));
    let elsewhere = Verifier::builder(h.issuer(), "https://other-api.example")
        .build()
        .unwrap();
    assert_eq!(
        h.verify(&elsewhere, &token, &[]).unwrap_err().reason(),
        &Reason::InvalidToken(TokenProblem::Audience)
    );
    let verifier = h.builder().realm("grantd-test").build().unwrap();
    let refused = h.verify(&verifier, &token, &["read", "write"]).unwrap_err();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.www_authenticate().unwrap(),
        r#"Bearer realm="grantd-test", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="read write", DPoP realm="grantd-test", algs="ES256 EdDSA RS256 PS256""#
    );
}

#[test]
fn a_rotated_key_is_seen_through_exactly_one_jwks_refetch() {
    let h = Harness::start(true);
    // A long max age, so that only the unknown kid can cause a refetch.
    let verifier = h
        .builder()
        .jwks_max_age(Duration::from_secs(24 * 3600))
        .jwks_refetch_interval(Duration::from_secs(30))
        .build()
        .unwrap();
    let first = h.token(None);
    assert!(h.verify(&verifier, &first, &[]).is_ok());
    assert_eq!(h.served("/.well-known/jwks.json"), 1);

    // `grantd keys rotate`: published now, signing after keys.publish_ahead (600 s).
    let rotated = h.app.key_ring().rotate().unwrap();
    h.advance(601);
    let second = h.token(None);
    assert_eq!(
        header_of(&second)["kid"],
        rotated.kid.as_str(),
        "the new key signs"
    );
    assert_ne!(header_of(&first)["kid"], header_of(&second)["kid"]);
    for _ in 0..3 {
        assert!(h.verify(&verifier, &second, &["read"]).is_ok());
    }
    assert_eq!(
        h.served("/.well-known/jwks.json"),
        2,
        "one refetch for the new kid"
    );

    // Made-up kids right after it: refused, and grantd is not asked again.
    let claims = claims_of(&second);
    for i in 0..10 {
        let forged = forge(&format!("made-up-{i}"), &claims);
        let refused = h.verify(&verifier, &forged, &[]).unwrap_err();
        assert_eq!(
            refused.reason(),
            &Reason::InvalidToken(TokenProblem::UnknownKey)
        );
    }
    assert_eq!(h.served("/.well-known/jwks.json"), 2, "rate-limited");
    h.advance_verifier(30);
    for i in 0..10 {
        assert!(h
            .verify(&verifier, &forge(&format!("again-{i}"), &claims), &[])
            .is_err());
    }
    assert_eq!(
        h.served("/.well-known/jwks.json"),
        3,
        "at most one per interval"
    );
    assert_eq!(verifier.stats().jwks_fetches, 3);
}

#[test]
fn an_unreachable_or_mismatched_issuer_is_a_503_not_a_bad_token() {
    let h = Harness::start(true);
    let token = h.token(None);

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let verifier = Verifier::builder(&gone, &gone)
        .introspection("rs", "x")
        .build()
        .unwrap();
    for presented in [token.as_str(), "gat_opaque"] {
        let refused = h.verify(&verifier, presented, &[]).unwrap_err();
        assert!(
            matches!(refused.reason(), Reason::IssuerUnavailable(_)),
            "{refused}"
        );
        assert_eq!(refused.status(), 503);
        assert_eq!(refused.www_authenticate(), None);
        assert_eq!(refused.body().unwrap()["error"], "temporarily_unavailable");
    }

    // The same grantd reached by another name: its metadata names another issuer.
    let other_name = h.issuer().replace("127.0.0.1", "localhost");
    let verifier = Verifier::builder(&other_name, &other_name).build().unwrap();
    let refused = h.verify(&verifier, &token, &[]).unwrap_err();
    assert!(
        matches!(
            refused.reason(),
            Reason::IssuerUnavailable(IssuerProblem::IssuerMismatch { .. })
        ),
        "{refused}"
    );
    // Retried only after the refetch interval, not on every request.
    let again = h.verify(&verifier, &token, &[]).unwrap_err();
    assert_eq!(
        again.reason(),
        &Reason::IssuerUnavailable(IssuerProblem::RetryLater)
    );
}
