//! The scope registry through the built binary: `client create` refuses an unregistered
//! scope and stores `--default-scope`, a fresh server's metadata lists the configured
//! scopes, a stored client whose scope left the configuration is reported at start, and a
//! real client library (requests-oauthlib, installed by .ci/run) logs in without `scope`
//! and refreshes automatically.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

#[test]
fn client_create_accepts_only_registered_scopes_and_stores_default_scopes() {
    let env = env(None);
    env.run_ok(&["migrate"]);
    let out = env.run(&["client", "create", "--name", "t", "--scope", "read admin"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: --scope: scope \"admin\" is not registered (see [scopes] in the configuration)"
    );
    let out = env.run(&[
        "client",
        "create",
        "--name",
        "t",
        "--scope",
        "read",
        "--default-scope",
        "read write",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--default-scope: default scope \"write\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.run_ok(&["client", "list"]).trim() == "[]",
        "nothing was stored"
    );

    // A scope the configuration adds may be used; the client's own defaults are shown.
    let created: Value = serde_json::from_str(
        &env.grantd(&[
            "client",
            "create",
            "--name",
            "t",
            "--scope",
            "read write admin",
            "--default-scope",
            "read",
        ])
        .env("GRANTD_SCOPES__ADMIN__DESCRIPTION", "Manage this server")
        .output()
        .map(|o| String::from_utf8(o.stdout).unwrap())
        .unwrap(),
    )
    .unwrap();
    let id = created["client_id"].as_str().unwrap();
    let shown: Value = serde_json::from_str(&env.run_ok(&["client", "show", id])).unwrap();
    assert_eq!(shown["scope"], "admin read write");
    assert_eq!(shown["default_scope"], "read");
    let listed: Value = serde_json::from_str(&env.run_ok(&["client", "list"])).unwrap();
    assert_eq!(listed[0]["default_scope"], "read");
}

#[test]
fn a_fresh_server_lists_the_configured_scopes_and_reports_clients_with_unregistered_ones() {
    let mut env = env(None);
    env.set("GRANTD_SCOPES__LEGACY__DESCRIPTION", "An old scope");
    env.run_ok(&["migrate"]);
    let server = env.serve("fresh");
    let doc: Value = fresh_client()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    // No client exists yet: the list is the configuration's.
    assert_eq!(
        doc["scopes_supported"],
        serde_json::json!([
            "email",
            "legacy",
            "offline_access",
            "openid",
            "profile",
            "read",
            "write"
        ])
    );
    let created: Value = serde_json::from_str(&env.run_ok(&[
        "client",
        "create",
        "--name",
        "old",
        "--grant-type",
        "client_credentials",
        "--scope",
        "read legacy",
    ]))
    .unwrap();
    let (id, secret) = (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    );
    drop(server);

    // The operator drops `legacy` from the configuration and restarts.
    env.extra.clear();
    let server = env.serve("restarted");
    let log = server.output();
    assert!(
        log.contains(&format!(
            "client {id} has scope \"legacy\", which is not registered in [scopes]"
        )),
        "{log}"
    );
    let (status, body) = token(
        &fresh_client(),
        &server.base,
        (&id, &secret),
        "grant_type=client_credentials",
    );
    assert_eq!(
        (status, body["scope"].as_str()),
        (200, Some("read")),
        "{body}"
    );
    let (status, body) = token(
        &fresh_client(),
        &server.base,
        (&id, &secret),
        "grant_type=client_credentials&scope=legacy",
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[test]
fn requests_oauthlib_logs_in_without_scope_and_refreshes_automatically() {
    let env = env(None);
    env.run_ok(&["migrate"]);
    // The case: registered for more than the defaults; a 2 s access token so that
    // the library's automatic refresh is exercised.
    let created: Value = serde_json::from_str(&env.run_ok(&[
        "client",
        "create",
        "--name",
        "py",
        "--grant-type",
        "password",
        "--grant-type",
        "refresh_token",
        "--scope",
        "read write profile",
        "--access-token-lifetime",
        "2",
    ]))
    .unwrap();
    let (id, secret) = (
        created["client_id"].as_str().unwrap(),
        created["client_secret"].as_str().unwrap(),
    );
    env.create_user("alice", "wonderland");
    let server = env.serve("library");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/requests_oauthlib_flow.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([server.base.as_str(), id, secret, "alice", "wonderland"])
        // requests-oauthlib refuses plain http otherwise; the test server is on loopback.
        .env("OAUTHLIB_INSECURE_TRANSPORT", "1")
        // Keep its scope check strict.
        .env_remove("OAUTHLIB_RELAX_TOKEN_SCOPE")
        .output()
        .expect("python3 runs (.ci/run installs Python and requests-oauthlib)");
    assert!(
        out.status.success(),
        "requests-oauthlib failed (exit {:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr),
        server.output()
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The password grant went out without `scope`, and came back as read write.
    let fetch = seen["fetch_body"].as_object().unwrap();
    assert_eq!(fetch["grant_type"], "password");
    assert!(!fetch.contains_key("scope"), "{seen}");
    assert_eq!(seen["first_scope"], serde_json::json!(["read", "write"]));
    // The expired token was refreshed once, automatically, with rotation.
    assert_eq!(seen["refresh_body_has_refresh_token"], true, "{seen}");
    assert_eq!(seen["updates"], 1, "{seen}");
    assert_eq!(
        seen["refreshed_scope"],
        serde_json::json!(["read", "write"])
    );
    assert_ne!(seen["refreshed_refresh_token"], seen["first_refresh_token"]);
    assert_eq!(seen["me_status"], 200, "{seen}");
    assert_eq!(seen["me"]["username"], "alice");
    assert_eq!(seen["me"]["client_id"], id);
}
