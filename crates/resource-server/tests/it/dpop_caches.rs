//! The verifier's caches under DPoP with grantd's own bound tokens, each request counted
//! at grantd (`/metrics`): an introspected answer (and its `cnf.jkt`) is reused for fresh
//! proofs, never past its TTL or the token's `exp`; a refused proof costs grantd nothing;
//! a rotated signing key is seen through one JWKS refetch, and a concurrent flood of
//! made-up `kid`s, each with a valid proof of the attacker's key, fetches no more than the
//! refetch interval allows.

use std::time::Duration;

use grantd_resource_server::{
    Clock, ProofProblem, Reason, Request, Scheme, TokenFormat, TokenProblem,
};

use crate::dpop::ProofKey;
use crate::support::{claims_of, forge, header_of, Harness, API_URL};

#[test]
fn fresh_proofs_for_one_opaque_token_are_one_introspection_and_bad_proofs_none() {
    let h = Harness::start(false);
    let verifier = h.introspecting().build().unwrap();
    let key = ProofKey::ed25519();
    let token = h.dpop_token(&key, None);
    for _ in 0..5 {
        let who = h
            .verify_dpop(&verifier, &token, &h.proof(&key, &token), &["read"])
            .unwrap();
        assert_eq!((who.sub.as_str(), who.scheme), ("user-alice", Scheme::DPoP));
        assert_eq!(
            (who.format, who.jkt),
            (TokenFormat::Introspected, Some(key.jkt()))
        );
    }
    assert_eq!(h.served("/oauth/introspect"), 1);
    let stats = verifier.stats();
    assert_eq!(
        (stats.introspection_requests, stats.introspection_cache_hits),
        (1, 4)
    );

    // Proofs that fail their own checks are refused before the token is looked at.
    let now = h.clock.now();
    let bad = [
        (
            key.proof_at("POST", API_URL, &token, now),
            ProofProblem::Method,
        ),
        (
            key.proof_at("GET", "http://127.0.0.1:3000/other", &token, now),
            ProofProblem::Url,
        ),
        (
            key.proof_at("GET", API_URL, "gat_other", now),
            ProofProblem::TokenHash,
        ),
        (
            key.proof_at("GET", API_URL, &token, now - 3600),
            ProofProblem::IssuedAt,
        ),
    ];
    for (proof, problem) in bad {
        let refused = h.verify_dpop(&verifier, &token, &proof, &[]).unwrap_err();
        assert_eq!(refused.reason(), &Reason::InvalidDpopProof(problem));
    }
    // A thief's good proof: judged from the cached answer's binding.
    let thief = ProofKey::es256();
    let refused = h
        .verify_dpop(&verifier, &token, &h.proof(&thief, &token), &[])
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::KeyBinding)
    );
    assert_eq!(
        h.served("/oauth/introspect"),
        1,
        "none of these asked grantd"
    );
    assert_eq!(verifier.stats().introspection_requests, 1);
}

#[test]
fn a_revoked_bound_token_is_refused_once_its_cache_entry_expires() {
    let h = Harness::start(false);
    let verifier = h
        .introspecting()
        .introspection_cache_ttl(Duration::from_secs(20))
        .build()
        .unwrap();
    let key = ProofKey::es256();
    let token = h.dpop_token(&key, None);
    assert!(h
        .verify_dpop(&verifier, &token, &h.proof(&key, &token), &[])
        .is_ok());
    h.revoke(&token);
    h.advance_verifier(19);
    assert!(
        h.verify_dpop(&verifier, &token, &h.proof(&key, &token), &[])
            .is_ok(),
        "still cached: the documented delay"
    );
    assert_eq!(h.served("/oauth/introspect"), 1);
    h.advance_verifier(1);
    let refused = h
        .verify_dpop(&verifier, &token, &h.proof(&key, &token), &[])
        .unwrap_err();
    assert_eq!(
        refused.reason(),
        &Reason::InvalidToken(TokenProblem::Inactive)
    );
    assert!(refused
        .www_authenticate()
        .unwrap()
        .starts_with(r#"DPoP error="invalid_token""#));
    assert_eq!(h.served("/oauth/introspect"), 2);
}

#[test]
fn a_bound_tokens_cache_entry_never_outlives_its_exp() {
    let h = Harness::start(false);
    let verifier = h
        .introspecting()
        .introspection_cache_ttl(Duration::from_secs(24 * 3600))
        .leeway(Duration::ZERO)
        .build()
        .unwrap();
    let key = ProofKey::es256();
    let token = h.dpop_token(&key, None);
    let exp = h
        .verify_dpop(&verifier, &token, &h.proof(&key, &token), &[])
        .unwrap()
        .exp
        .unwrap();
    h.advance(exp - h.clock.now() - 1);
    assert!(
        h.verify_dpop(&verifier, &token, &h.proof(&key, &token), &[])
            .is_ok(),
        "a second before exp: cached"
    );
    assert_eq!(h.served("/oauth/introspect"), 1);
    h.advance(1);
    let refused = h
        .verify_dpop(&verifier, &token, &h.proof(&key, &token), &[])
        .unwrap_err();
    assert!(
        matches!(refused.reason(), Reason::InvalidToken(_)),
        "{refused}"
    );
    assert_eq!(h.served("/oauth/introspect"), 2, "the entry ended at exp");
}

/// `n` requests at once, each a JWT of `claims` under a made-up `kid` (`prefix-i`) with a
/// valid proof of `attacker`'s key: all refused for the unknown key.
fn flood(h: &Harness, verifier: &grantd_resource_server::Verifier, prefix: &str, n: usize) {
    let attacker = ProofKey::es256();
    let mut claims = claims_of(&h.token(None));
    claims["cnf"] = serde_json::json!({ "jkt": attacker.jkt() });
    let requests: Vec<(String, String)> = (0..n)
        .map(|i| {
            let token = forge(&format!("{prefix}-{i}"), &claims);
            let proof = h.proof(&attacker, &token);
            (format!("DPoP {token}"), proof)
        })
        .collect();
    let reasons = h.rt.block_on(async {
        let mut all = tokio::task::JoinSet::new();
        for (authorization, proof) in requests {
            let verifier = verifier.clone();
            all.spawn(async move {
                let request = Request::new("GET", API_URL)
                    .authorization([authorization.as_bytes()])
                    .dpop([proof.as_bytes()]);
                verifier
                    .verify_request(&request, &[])
                    .await
                    .unwrap_err()
                    .reason()
                    .clone()
            });
        }
        all.join_all().await
    });
    assert_eq!(reasons.len(), n);
    for reason in reasons {
        assert_eq!(reason, Reason::InvalidToken(TokenProblem::UnknownKey));
    }
}

#[test]
fn a_rotated_key_signs_bound_jwts_seen_through_one_refetch_and_floods_fetch_no_more() {
    let h = Harness::start(true);
    let verifier = h
        .builder()
        .jwks_max_age(Duration::from_secs(24 * 3600))
        .jwks_refetch_interval(Duration::from_secs(30))
        .build()
        .unwrap();
    let key = ProofKey::ed25519();
    let first = h.dpop_token(&key, None);
    assert!(h
        .verify_dpop(&verifier, &first, &h.proof(&key, &first), &[])
        .is_ok());
    assert_eq!(h.served("/.well-known/jwks.json"), 1);

    // `grantd keys rotate`: published now, signing once keys.publish_ahead (600 s) passed.
    let rotated = h.app.key_ring().rotate().unwrap();
    h.advance(601);
    let second = h.dpop_token(&key, None);
    assert_eq!(header_of(&second)["kid"], rotated.kid.as_str());
    assert_ne!(header_of(&first)["kid"], header_of(&second)["kid"]);
    for _ in 0..3 {
        let who = h
            .verify_dpop(&verifier, &second, &h.proof(&key, &second), &["read"])
            .unwrap();
        assert_eq!(who.jkt, Some(key.jkt()));
    }
    // The old key is still published: its token verifies from the refetched set.
    assert!(h
        .verify_dpop(&verifier, &first, &h.proof(&key, &first), &[])
        .is_ok());
    assert_eq!(
        h.served("/.well-known/jwks.json"),
        2,
        "one refetch for the new kid"
    );

    // 64 made-up kids at once, right after: nothing more is fetched.
    flood(&h, &verifier, "made-up", 64);
    assert_eq!(h.served("/.well-known/jwks.json"), 2, "rate-limited");
    // One interval later, 64 at once again: one fetch between them all.
    h.advance_verifier(30);
    flood(&h, &verifier, "again", 64);
    assert_eq!(h.served("/.well-known/jwks.json"), 3, "one per interval");
    assert_eq!(verifier.stats().jwks_fetches, 3);
    // The real tokens were never in doubt.
    assert!(h
        .verify_dpop(&verifier, &second, &h.proof(&key, &second), &[])
        .is_ok());
    assert_eq!(h.served("/.well-known/jwks.json"), 3);
}
