//! Two grantd processes on one PostgreSQL (the test's own), with the same
//! `keys.encryption_key` and JWT access tokens, publish one key set: both serve the same
//! `/.well-known/jwks.json`, a JWT minted on one verifies against the other's JWKS and is
//! accepted by the other's `/api/me`, userinfo and introspection, an id token minted on
//! one verifies against the other's JWKS, and a key rotated through
//! `grantd keys rotate` appears on both at once.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::support::*;

const KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
/// One issuer for both: behind a load balancer every instance is the same server, and a
/// JWT's `iss` must match wherever it is presented.
const ISSUER: &str = "http://grantd.internal";
const API: &str = "https://api.example/";

fn jwks(http: &reqwest::blocking::Client, server: &Server) -> Value {
    let resp = http
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

fn kids(set: &Value) -> Vec<String> {
    let mut kids: Vec<String> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

/// What a resource server does with only `server`'s JWKS: kid, signature, iss and aud.
fn verify_against(set: &Value, token: &str) -> Value {
    let set: JwkSet = serde_json::from_value(set.clone()).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[API]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims
}

fn me(http: &reqwest::blocking::Client, server: &Server, token: &str) -> (u16, Value) {
    json(
        http.get(server.url("/api/me"))
            .bearer_auth(token)
            .send()
            .unwrap(),
    )
}

#[test]
fn two_instances_publish_one_jwks_and_accept_each_others_jwts() {
    let _heavy = crate::support::heavy();
    let pg = OwnPostgres::start();
    let mut env = env(Some(pg.url()));
    env.set("GRANTD_KEYS__ENCRYPTION_KEY", KEY)
        .set("GRANTD_KEYS__ALGORITHM", "RS256")
        .set("GRANTD_TOKENS__ACCESS_TOKEN_FORMAT", "jwt")
        .set("GRANTD_SERVER__ISSUER", ISSUER)
        .set("GRANTD_RESOURCES__API__URI", API);
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let client = (id.as_str(), secret.as_str());
    // Started together: each makes sure a signing key exists before it serves.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| env.serve("a"));
        let b = scope.spawn(|| env.serve("b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let http = fresh_client();

    // One key set, from the database, on both.
    let set = jwks(&http, &a);
    assert!(!kids(&set).is_empty(), "{set}");
    assert_eq!(jwks(&http, &b), set);
    for key in set["keys"].as_array().unwrap() {
        assert_eq!(
            (key["alg"].as_str(), key["use"].as_str()),
            (Some("RS256"), Some("sig"))
        );
        assert!(key.get("d").is_none(), "no private member: {key}");
    }

    // Minted on A, for the resource API: verifies with B's JWKS alone, and B accepts it.
    let form = format!(
        "grant_type=password&username=alice&password=wonderland&resource={}&scope={}",
        "https%3A%2F%2Fapi.example%2F", "read%20openid%20profile%20offline_access"
    );
    let (status, body) = token(&http, &a.base, client, &form);
    assert_eq!(status, 200, "{body}");
    let on_a = body["access_token"].as_str().unwrap().to_owned();
    let claims = verify_against(&jwks(&http, &b), &on_a);
    assert_eq!(claims["aud"], API);
    assert_eq!(claims["iss"], ISSUER);
    let (status, who) = me(&http, &b, &on_a);
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["username"], "alice");
    let (status, info) = json(
        http.get(b.url("/oauth/userinfo"))
            .bearer_auth(&on_a)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["preferred_username"], "alice");
    assert_eq!(info["sub"], claims["sub"]);
    // The id token minted on A verifies with B's JWKS too.
    let id_token = body["id_token"].as_str().expect("an id token with openid");
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let b_keys: JwkSet = serde_json::from_value(jwks(&http, &b)).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[id.as_str()]);
    let id_claims = jsonwebtoken::decode::<Value>(
        id_token,
        &DecodingKey::from_jwk(b_keys.find(header.kid.as_deref().unwrap()).unwrap()).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(id_claims["sub"], claims["sub"]);
    let (status, found) = json(post_form(
        &http,
        &b.url("/oauth/introspect"),
        client,
        &format!("token={on_a}"),
    ));
    assert_eq!(status, 200);
    assert_eq!(
        (found["active"].as_bool(), found["aud"].as_str()),
        (Some(true), Some(API))
    );

    // Refreshed on B: A accepts B's JWT.
    let refresh_token = body["refresh_token"].as_str().unwrap();
    let (status, refreshed) = refresh(&http, &b.base, client, refresh_token);
    assert_eq!(status, 200, "{refreshed}");
    let on_b = refreshed["access_token"].as_str().unwrap();
    verify_against(&jwks(&http, &a), on_b);
    assert_eq!(me(&http, &a, on_b).0, 200);

    // A key rotated through the CLI is published by both at once (ahead of its use).
    let rotated: Value = serde_json::from_str(&env.run_ok(&["keys", "rotate"])).unwrap();
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    let after = jwks(&http, &a);
    assert!(kids(&after).contains(&new_kid), "{after}");
    assert_eq!(kids(&after).len(), kids(&set).len() + 1);
    assert_eq!(jwks(&http, &b), after);
    // The tokens signed before the rotation still verify and are accepted on both.
    verify_against(&after, &on_a);
    assert_eq!(me(&http, &a, &on_a).0, 200);
    assert_eq!(me(&http, &b, on_b).0, 200);
}
