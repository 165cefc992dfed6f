//! Two grantd processes on one PostgreSQL (the test's own), behind one issuer name, share
//! one DPoP replay record (RFC 9449 §11.1): a proof's `jti` accepted by instance A and
//! replayed to instance B is refused there with `invalid_dpop_proof`, at the token
//! endpoint (400) and at `/api/me` (401, the DPoP challenge), while a fresh proof of the
//! same key is served by B. With per-process records, B would have taken the replay.

use grantd_testkit::dpop::DpopKey;
use serde_json::Value;

use crate::support::*;

/// One issuer for both, as behind a load balancer: a proof's `htu` names it, so the very
/// same proof is good at either instance but for its `jti`.
const ISSUER: &str = "http://grantd.internal";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A password grant at `server` with this `DPoP` proof.
fn token_with_proof(
    http: &reqwest::blocking::Client,
    server: &Server,
    client: (&str, &str),
    proof: &str,
) -> (u16, Value) {
    json(
        http.post(server.url("/oauth/token"))
            .basic_auth(client.0, Some(client.1))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("DPoP", proof)
            .body("grant_type=password&username=alice&password=wonderland")
            .send()
            .unwrap(),
    )
}

/// `GET /api/me` at `server` with `Authorization: DPoP <token>` and `proof`: the status
/// and the challenge.
fn me_with_proof(
    http: &reqwest::blocking::Client,
    server: &Server,
    token: &str,
    proof: &str,
) -> (u16, String) {
    let resp = http
        .get(server.url("/api/me"))
        .header("authorization", format!("DPoP {token}"))
        .header("DPoP", proof)
        .send()
        .unwrap();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (resp.status().as_u16(), challenge)
}

#[test]
fn a_dpop_proof_accepted_by_one_instance_is_refused_by_the_other() {
    let _heavy = crate::support::heavy();
    let pg = OwnPostgres::start();
    let mut env = env(Some(pg.url()));
    env.set("GRANTD_SERVER__ISSUER", ISSUER);
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let client = (id.as_str(), secret.as_str());
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| env.serve("a"));
        let b = scope.spawn(|| env.serve("b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let http = fresh_client();
    let key = DpopKey::generate();
    let token_url = format!("{ISSUER}/oauth/token");

    // The token endpoint: A binds the token; the same proof at B is a replay.
    let proof = key.proof("POST", &token_url, now(), None);
    let (status, body) = token_with_proof(&http, &a, client, &proof);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (status, body) = token_with_proof(&http, &b, client, &proof);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_dpop_proof")),
        "{body}"
    );
    let fresh = key.proof("POST", &token_url, now(), None);
    let (status, body) = token_with_proof(&http, &b, client, &fresh);
    assert_eq!(status, 200, "a fresh proof of the same key at B: {body}");

    // A resource: A serves the bound token; the same proof at B is a replay.
    let me_url = format!("{ISSUER}/api/me");
    let proof = key.proof("GET", &me_url, now(), Some(&access));
    assert_eq!(me_with_proof(&http, &a, &access, &proof).0, 200);
    let (status, challenge) = me_with_proof(&http, &b, &access, &proof);
    assert_eq!(status, 401, "the replay at B");
    assert!(
        challenge.starts_with("DPoP ")
            && challenge.contains(r#"error="invalid_dpop_proof""#)
            && challenge.contains("algs="),
        "{challenge}"
    );
    let fresh = key.proof("GET", &me_url, now(), Some(&access));
    assert_eq!(me_with_proof(&http, &b, &access, &fresh).0, 200);
    // And back: B's proof is a replay at A too.
    assert_eq!(me_with_proof(&http, &a, &access, &fresh).0, 401);
}
