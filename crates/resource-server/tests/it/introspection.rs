//! grantd's opaque access tokens, checked by RFC 7662 introspection as the fixtures'
//! resource server `rs`, with the answer cache counted on grantd's side.

use std::time::Duration;

use grantd_resource_server::{IssuerProblem, Reason, TokenFormat, TokenProblem};

use crate::support::Harness;

#[test]
fn an_opaque_token_is_accepted_by_introspection_once_then_from_the_cache() {
    let h = Harness::start(false);
    let verifier = h.introspecting().build().unwrap();
    let token = h.token(None);
    assert!(token.starts_with("gat_"));
    for _ in 0..5 {
        let who = h.verify(&verifier, &token, &["read"]).unwrap();
        assert_eq!(
            (who.sub.as_str(), who.client_id.as_str()),
            ("user-alice", "app")
        );
        assert_eq!(who.username.as_deref(), Some("alice"));
        assert_eq!(who.format, TokenFormat::Introspected);
    }
    assert_eq!(h.served("/oauth/introspect"), 1);
    let stats = verifier.stats();
    assert_eq!(
        (stats.introspection_requests, stats.introspection_cache_hits),
        (1, 4)
    );
    // Another token is another entry.
    assert!(h
        .verify(&verifier, &h.token(Some("read")), &["read"])
        .is_ok());
    assert_eq!(h.served("/oauth/introspect"), 2);
}

#[test]
fn a_revoked_token_is_refused_once_its_cache_entry_expires() {
    let h = Harness::start(false);
    let verifier = h
        .introspecting()
        .introspection_cache_ttl(Duration::from_secs(20))
        .build()
        .unwrap();
    let token = h.token(None);
    assert!(h.verify(&verifier, &token, &[]).is_ok());
    h.revoke(&token);
    // The documented delay: the cached answer stands until its TTL.
    h.advance_verifier(19);
    assert!(h.verify(&verifier, &token, &[]).is_ok(), "still cached");
    assert_eq!(h.served("/oauth/introspect"), 1);
    h.advance_verifier(1);
    let refused = h.verify(&verifier, &token, &[]).unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::Inactive)
    );
    assert_eq!(refused.status(), 401);
    assert_eq!(h.served("/oauth/introspect"), 2);
    // An inactive answer is not cached: asked again.
    assert!(h.verify(&verifier, &token, &[]).is_err());
    assert_eq!(h.served("/oauth/introspect"), 3);
}

#[test]
fn a_cache_entry_never_outlives_the_tokens_exp() {
    let h = Harness::start(false);
    // A TTL far beyond the token's hour.
    let verifier = h
        .introspecting()
        .introspection_cache_ttl(Duration::from_secs(24 * 3600))
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let token = h.token(None);
    let exp = h.verify(&verifier, &token, &[]).unwrap().exp.unwrap();
    let now = {
        use grantd_resource_server::Clock;
        h.clock.now()
    };
    h.advance(exp - now - 1);
    assert!(
        h.verify(&verifier, &token, &[]).is_ok(),
        "a second before exp: cached"
    );
    assert_eq!(h.served("/oauth/introspect"), 1);
    h.advance(1);
    let refused = h.verify(&verifier, &token, &[]).unwrap_err();
    assert!(
        matches!(refused.reason(), Reason::InvalidToken(_)),
        "{refused}"
    );
    assert_eq!(h.served("/oauth/introspect"), 2, "the entry ended at exp");
}

#[test]
fn a_refresh_token_is_no_access_token() {
    let h = Harness::start(false);
    let verifier = h.introspecting().build().unwrap();
    let (_, refresh) = grantd_testkit::app::login(&h.app);
    let refused = h.verify(&verifier, &refresh, &[]).unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::Inactive)
    );
}

#[test]
fn wrong_introspection_credentials_are_a_503_not_a_bad_token() {
    let h = Harness::start(false);
    let token = h.token(None);
    let verifier = h
        .builder()
        .introspection("rs", "not-the-secret")
        .build()
        .unwrap();
    let refused = h.verify(&verifier, &token, &[]).unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::IssuerUnavailable(IssuerProblem::Status {
            what: "the introspection endpoint",
            status: 401
        })
    );
    assert_eq!(refused.status(), 503);
    // Without introspection, an opaque token cannot be judged: invalid here.
    let jwt_only = h.builder().build().unwrap();
    assert_eq!(
        h.verify(&jwt_only, &token, &[]).unwrap_err().reason(),
        &Reason::InvalidToken(TokenProblem::CannotIntrospect)
    );
}
