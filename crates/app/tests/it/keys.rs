//! `grantd keys list | rotate | retire KID` through the real binary, and the start-up rules
//! of `keys.encryption_key`: plain `serve` refuses to start when the database holds keys it
//! cannot open (no key configured, or another one), and `serve --demo` makes one up.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{env as new_env, free_port, fresh_client, Env};

const KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";
const OTHER_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn keyed() -> Env {
    let mut env = new_env(None);
    env.set("GRANTD_KEYS__ENCRYPTION_KEY", KEY)
        .set("GRANTD_KEYS__ALGORITHM", "ES256");
    env.run_ok(&["migrate"]);
    env
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// `grantd serve` that must fail at start-up; returns its stderr.
fn serve_fails(env: &Env) -> String {
    let mut child = env
        .grantd(&["serve"])
        .env("GRANTD_SERVER__BIND", format!("127.0.0.1:{}", free_port()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("grantd serve started although it must refuse");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn keys_rotate_list_and_retire() {
    let env = keyed();
    assert_eq!(json(&env.run_ok(&["keys", "list"])), serde_json::json!([]));
    let first = json(&env.run_ok(&["keys", "rotate"]));
    assert_eq!(first["state"], "signing", "the first key signs at once");
    assert_eq!(first["alg"], "ES256");
    let second = json(&env.run_ok(&["keys", "rotate"]));
    assert_eq!(
        second["state"], "pending",
        "a later one after publish_ahead"
    );
    assert_eq!(
        second["activates_at"].as_i64().unwrap() - second["created_at"].as_i64().unwrap(),
        600
    );
    let kid = first["kid"].as_str().unwrap();
    let said = env.run_ok(&["keys", "retire", kid]);
    assert!(said.contains("stays published for 3600 s"), "{said}");
    let listed = json(&env.run_ok(&["keys", "list"]));
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let old = listed.iter().find(|k| k["kid"] == kid).unwrap();
    assert_eq!(old["state"], "retired");
    assert!(old.get("private_key").is_none() && old.get("d").is_none());
    // Retiring twice, or an unknown kid: an error, and nothing changes.
    let again = env.run(&["keys", "retire", kid]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no live signing key"));
    assert_eq!(
        json(&env.run_ok(&["keys", "list"]))
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn keys_commands_need_the_encryption_key() {
    let env = new_env(None);
    env.run_ok(&["migrate"]);
    let out = env.run(&["keys", "rotate"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("keys.encryption_key is empty"));
}

#[test]
fn serve_refuses_keys_it_cannot_open() {
    let mut env = keyed();
    env.run_ok(&["keys", "rotate"]);
    // Without the encryption key.
    env.extra
        .retain(|(k, _)| k != "GRANTD_KEYS__ENCRYPTION_KEY");
    let stderr = serve_fails(&env);
    assert!(
        stderr.contains("keys.encryption_key is empty, but the database holds 1 signing key"),
        "{stderr}"
    );
    assert!(!stderr.contains(KEY));
    // Under another key.
    env.set("GRANTD_KEYS__ENCRYPTION_KEY", OTHER_KEY);
    let stderr = serve_fails(&env);
    assert!(
        stderr.contains("keys.encryption_key does not open signing key"),
        "{stderr}"
    );
}

#[test]
fn plain_serve_without_keys_runs_and_demo_signs_only_with_a_lasting_key() {
    let jwks = |server: &grantd_testkit::process::Server| -> usize {
        let doc: Value = fresh_client()
            .get(server.url("/.well-known/jwks.json"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        doc["keys"].as_array().unwrap().len()
    };
    let env = new_env(None);
    let server = env.serve("plain");
    assert_eq!(jwks(&server), 0);
    let metadata: Value = fresh_client()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(metadata.get("jwks_uri").is_none(), "no keys, no jwks_uri");
    drop(server);

    // A demo with a made-up encryption key makes no signing key: nothing could open it
    // later, and a plain `serve` on the same database must still start.
    let env = new_env(None);
    let server = env.serve_with("demo", &["serve", "--demo"]);
    assert_eq!(jwks(&server), 0, "a throwaway key seals nothing");
    assert!(server.output().contains("keys.encryption_key is empty"));
    drop(server);
    let server = env.serve("after-demo");
    assert_eq!(jwks(&server), 0);
    drop(server);

    // With keys.encryption_key set, the demo signs from the start.
    let env = keyed();
    let server = env.serve_with("demo-keyed", &["serve", "--demo"]);
    assert_eq!(jwks(&server), 1, "the demo made a key");
    let metadata: Value = fresh_client()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(metadata["jwks_uri"], server.url("/.well-known/jwks.json"));
}

#[test]
fn client_create_takes_an_access_token_format() {
    let env = keyed();
    let created = json(&env.run_ok(&[
        "client",
        "create",
        "--name",
        "rs-facing",
        "--grant-type",
        "client_credentials",
        "--access-token-format",
        "jwt",
    ]));
    let id = created["client_id"].as_str().unwrap();
    let shown = json(&env.run_ok(&["client", "show", id]));
    assert_eq!(shown["access_token_format"], "jwt");
    let bad = env.run(&[
        "client",
        "create",
        "--name",
        "x",
        "--access-token-format",
        "paseto",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}
