//! The example API (`examples/protected_api.rs`, its routes mounted in-process) with
//! grantd's own DPoP-bound tokens (RFC 9449): a JWT and an opaque (introspected) token,
//! each bound to an ES256 and to an EdDSA key at grantd's token endpoint, accepted with a
//! proof of that key and refused as a bearer token, with another key's proof, without a
//! proof, or with a replayed one; grantd's unbound tokens stay bearer tokens.

use actix_web::test as actix_test;
use actix_web::{web, App};

use crate::dpop::ProofKey;
use crate::example::{protected_api, read, request};
use crate::support::{claims_of, Harness, API_URL};

const HELLO: &str = "hello user-alice (client app, scope read write)\n";
const ALGS: &str = r#"algs="ES256 EdDSA RS256 PS256""#;

/// `GET /hello` with `Authorization: <authorization>` and a `DPoP` header if given:
/// (status, challenge, body).
macro_rules! call {
    ($app:expr, $authorization:expr, $proof:expr) => {{
        let mut req = request("/hello", &[$authorization]);
        if let Some(proof) = $proof {
            req = req.append_header(("DPoP", proof));
        }
        read(actix_test::call_service($app, req.to_request()).await).await
    }};
}

/// The challenge for a bound token refused for its binding (shown as Bearer, or with a
/// proof of another key): the error under DPoP (RFC 9449 §7.1), as grantd's `/api/me` says.
fn binding_refused() -> String {
    format!(
        r#"DPoP error="invalid_token", error_description="The access token is invalid", {ALGS}, Bearer"#
    )
}

/// Every way the example API refuses `token` (bound to `key`), and the one it accepts.
/// (A macro: the test service's type cannot be named.)
macro_rules! holder_only {
    ($app:expr, $key:expr, $token:expr) => {{
        let (app, key, token): (_, &ProofKey, &str) = (&$app, $key, $token);
        let dpop = format!("DPoP {token}");
        let proof = key.proof("GET", API_URL, token);
        let (status, _, body) = call!(app, &dpop, Some(proof.clone()));
        assert_eq!((status, body.as_str()), (200, HELLO), "{}", key.jkt());

        let (status, challenge, _) = call!(app, &dpop, Some(proof));
        assert_eq!(status, 401, "the same proof again");
        assert_eq!(
            challenge.unwrap(),
            format!(
                r#"DPoP error="invalid_dpop_proof", error_description="The DPoP proof was used before", {ALGS}, Bearer"#
            )
        );

        let (status, challenge, _) = call!(app, &format!("Bearer {token}"), None::<String>);
        assert_eq!((status, challenge.unwrap()), (401, binding_refused()), "as Bearer");

        let stolen = ProofKey::es256().proof("GET", API_URL, token);
        let (status, challenge, _) = call!(app, &dpop, Some(stolen));
        assert_eq!((status, challenge.unwrap()), (401, binding_refused()), "another key");

        let (status, challenge, _) = call!(app, &dpop, None::<String>);
        assert_eq!(status, 401, "no proof");
        assert!(challenge
            .unwrap()
            .starts_with(r#"DPoP error="invalid_dpop_proof""#));

        // Nothing above harmed the holder.
        let (status, _, body) = call!(app, &dpop, Some(key.proof("GET", API_URL, token)));
        assert_eq!((status, body.as_str()), (200, HELLO));
    }};
}

#[test]
fn the_example_api_takes_grantds_bound_jwts_only_with_their_keys_proof() {
    let h = Harness::start(true);
    let keys = [ProofKey::es256(), ProofKey::ed25519()];
    let bound: Vec<String> = keys.iter().map(|key| h.dpop_token(key, None)).collect();
    for (key, token) in keys.iter().zip(&bound) {
        assert_eq!(claims_of(token)["cnf"]["jkt"], key.jkt().as_str());
    }
    let unbound = h.token(None);
    assert!(claims_of(&unbound).get("cnf").is_none());
    let verifier = protected_api::verifier(h.issuer(), None, "http://127.0.0.1:3000").unwrap();
    let shared = verifier.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(verifier))
                .configure(protected_api::api),
        )
        .await;
        for (key, token) in keys.iter().zip(&bound) {
            holder_only!(app, key, token);
        }
        // Without DPoP: grantd's unbound JWT is a bearer token, and only that.
        let (status, _, body) = call!(&app, &format!("Bearer {unbound}"), None::<String>);
        assert_eq!((status, body.as_str()), (200, HELLO));
        let proof = keys[0].proof("GET", API_URL, &unbound);
        let (status, challenge, _) = call!(&app, &format!("DPoP {unbound}"), Some(proof));
        assert_eq!((status, challenge.unwrap()), (401, binding_refused()));
    });
    // All of it offline after one discovery and one JWKS fetch, counted at grantd.
    assert_eq!(h.served("/.well-known/jwks.json"), 1);
    assert_eq!(h.served("/oauth/introspect"), 0);
    let stats = shared.stats();
    assert_eq!((stats.discovery_fetches, stats.jwks_fetches), (1, 1));
}

#[test]
fn the_example_api_takes_grantds_bound_opaque_tokens_by_introspection() {
    let h = Harness::start(false);
    let keys = [ProofKey::es256(), ProofKey::ed25519()];
    let bound: Vec<String> = keys.iter().map(|key| h.dpop_token(key, None)).collect();
    let unbound = h.token(None);
    assert!(bound
        .iter()
        .chain([&unbound])
        .all(|t| t.starts_with("gat_")));
    let rs = Some(("rs".to_owned(), grantd_testkit::fixtures::SECRET.to_owned()));
    let verifier = protected_api::verifier(h.issuer(), rs, "http://127.0.0.1:3000").unwrap();
    let shared = verifier.clone();
    actix_web::rt::System::new().block_on(async move {
        let app = actix_test::init_service(
            App::new()
                .app_data(web::Data::new(verifier))
                .configure(protected_api::api),
        )
        .await;
        for (key, token) in keys.iter().zip(&bound) {
            holder_only!(app, key, token);
        }
        let (status, _, body) = call!(&app, &format!("Bearer {unbound}"), None::<String>);
        assert_eq!((status, body.as_str()), (200, HELLO));
    });
    // Six requests per bound token, one introspection each: the answer (with its `cnf.jkt`)
    // is cached, and a refused proof never reaches grantd.
    assert_eq!(h.served("/oauth/introspect"), 3);
    let stats = shared.stats();
    assert_eq!(stats.introspection_requests, 3);
}
