//! End to end through the real binary: migrate, register a client and a user with the CLI,
//! start `grantd serve` on a free port, and run the refresh token flow over HTTP (RFC 6749
//! §1.5 steps A-H) with the same requests as the README's curl lines.
use serde_json::Value;

use crate::support::{env as new_env, token, Env, Server};

/// A token request to `base` with Basic client authentication.
fn token_request(
    http: &reqwest::blocking::Client,
    base: &str,
    id: &str,
    secret: &str,
    body: &str,
) -> (u16, Value) {
    token(http, base, (id, secret), body)
}

/// `grantd` with `args` (e.g. `serve`) on a free port, output to `<name>.log`, healthy.
fn start(env: &Env, name: &str, args: &[&str]) -> (Server, String) {
    let server = env.serve_with(name, args);
    let base = server.base.clone();
    (server, base)
}

#[test]
fn version_and_help_work() {
    let env = new_env(None);
    let version = env.run_ok(&["--version"]);
    assert!(version.starts_with("grantd "), "{version}");
    let help = env.run_ok(&["client", "--help"]);
    for command in ["create", "list", "show", "delete", "rotate-secret"] {
        assert!(help.contains(command), "{help}");
    }
    // propagate_version: subcommands answer --version too.
    assert!(env
        .run_ok(&["user", "create", "--version"])
        .contains("grantd"));
}

#[test]
fn usage_errors_exit_2_and_runtime_errors_exit_1() {
    let env = new_env(None);
    assert_eq!(env.run(&["no-such-command"]).status.code(), Some(2));
    assert_eq!(
        env.run(&["user", "create", "--username", "a"])
            .status
            .code(),
        Some(2)
    );
    let out = env
        .grantd(&["migrate"])
        .env("GRANTD_TOKENS__ACCESS_TOKEN_LIFETIME", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "invalid configuration: tokens.access_token_lifetime: must be a positive number of seconds"
        ),
        "{stderr}"
    );
    let out = env.run(&["--config", "absent.toml", "migrate"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn cli_manages_clients_and_users() {
    let env = new_env(None);
    env.run_ok(&["migrate"]);
    assert!(env.db_path().is_file());

    let created: Value = serde_json::from_str(&env.run_ok(&[
        "client",
        "create",
        "--name",
        "spa",
        "--public",
        "--redirect-uri",
        "https://spa.example/cb",
    ]))
    .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cl_"), "{id}");
    assert!(created["client_secret"].is_null());

    let shown: Value = serde_json::from_str(&env.run_ok(&["client", "show", &id])).unwrap();
    assert_eq!(shown["public"], true);
    assert_eq!(
        shown["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );

    let out = env.run(&["client", "rotate-secret", &id]);
    assert_eq!(out.status.code(), Some(1));

    let out = env.run(&["client", "show", "cl_missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: no client with id cl_missing"
    );

    env.run_ok(&["client", "delete", &id]);
    assert_eq!(env.run(&["client", "show", &id]).status.code(), Some(1));

    let out = env.run_with_stdin(
        &["user", "create", "--username", "bob", "--password-stdin"],
        "\n",
    );
    assert_eq!(out.status.code(), Some(1), "an empty password is refused");
    let out = env.run_with_stdin(
        &["user", "create", "--username", "bob", "--password-stdin"],
        "pw-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = env.run_with_stdin(
        &["user", "create", "--username", "bob", "--password-stdin"],
        "pw-2\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: username bob is taken"
    );
    let out = env.run_with_stdin(
        &["user", "passwd", "--username", "bob", "--password-stdin"],
        "pw-3\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.run_ok(&["user", "disable", "--username", "bob"]);
    env.run_ok(&["user", "enable", "--username", "bob"]);
    env.run_ok(&["user", "delete", "--username", "bob"]);
    assert_eq!(
        env.run(&["user", "delete", "--username", "bob"])
            .status
            .code(),
        Some(1)
    );
}

/// `user create` with profile claims, `user show`, and `user update` setting, clearing and
/// (un)verifying them; every bad value a clear error that changes nothing.
#[test]
fn cli_sets_and_updates_the_profile_claims_of_users() {
    let env = new_env(None);
    env.run_ok(&["migrate"]);
    let show = |username: &str| -> Value {
        serde_json::from_str(&env.run_ok(&["user", "show", "--username", username])).unwrap()
    };
    let out = env.run_with_stdin(
        &[
            "user",
            "create",
            "--username",
            "carol",
            "--password-stdin",
            "--name",
            " Carol Danvers ",
            "--email",
            "carol@example.com",
            "--email-verified",
        ],
        "pw-1\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let carol = show("carol");
    assert_eq!(carol["name"], "Carol Danvers");
    assert_eq!(carol["email"], "carol@example.com");
    assert_eq!(carol["email_verified"], true);
    assert!(carol["user_id"].is_string() && carol.get("password").is_none());

    // A bad value at creation creates nobody.
    let out = env.run_with_stdin(
        &[
            "user",
            "create",
            "--username",
            "dave",
            "--password-stdin",
            "--email",
            "dave at example.com",
        ],
        "pw-1\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "error: refusing the profile: \"dave at example.com\" is not an email address: it has no @"
    );
    assert_eq!(
        env.run(&["user", "show", "--username", "dave"])
            .status
            .code(),
        Some(1)
    );

    // A new address is unverified unless the same update says otherwise.
    let updated: Value = serde_json::from_str(&env.run_ok(&[
        "user",
        "update",
        "carol",
        "--email",
        "carol@new.example",
    ]))
    .unwrap();
    assert_eq!(updated["email"], "carol@new.example");
    assert_eq!(updated["email_verified"], false);
    assert_eq!(show("carol"), updated);
    env.run_ok(&[
        "user",
        "update",
        "--username",
        "carol",
        "--email-verified",
        "--no-name",
    ]);
    let carol = show("carol");
    assert_eq!(carol["email_verified"], true);
    assert!(carol["name"].is_null());
    env.run_ok(&["user", "update", "carol", "--no-email"]);
    let carol = show("carol");
    assert!(carol["email"].is_null());
    assert_eq!(
        carol["email_verified"], false,
        "no address, nothing verified"
    );

    for (args, message) in [
        (&["carol"][..], "error: nothing to update"),
        (
            &["carol", "--name", "a\tb"],
            "error: refusing the profile: the name contains a control character",
        ),
        (
            &["carol", "--email-verified"],
            "error: refusing the profile: email_verified needs an email address",
        ),
        (&["nobody", "--name", "N"], "error: no user named nobody"),
    ] {
        let out = env.run(&[&["user", "update"][..], args].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
    }
    assert_eq!(
        env.run(&["user", "update", "carol", "--name", "A", "--no-name"])
            .status
            .code(),
        Some(2),
        "contradicting flags are a usage error"
    );
    assert_eq!(show("carol")["name"], Value::Null, "nothing changed");
}

#[test]
fn cli_registers_post_logout_redirect_uris() {
    let env = new_env(None);
    env.run_ok(&["migrate"]);
    let created: Value = serde_json::from_str(&env.run_ok(&[
        "client",
        "create",
        "--name",
        "rp",
        "--redirect-uri",
        "https://rp.example/cb",
        "--post-logout-redirect-uri",
        "https://rp.example/bye",
        "--post-logout-redirect-uri",
        "https://rp.example/bye?again=1",
    ]))
    .unwrap();
    let id = created["client_id"].as_str().unwrap();
    let shown: Value = serde_json::from_str(&env.run_ok(&["client", "show", id])).unwrap();
    assert_eq!(
        shown["post_logout_redirect_uris"],
        serde_json::json!(["https://rp.example/bye", "https://rp.example/bye?again=1"])
    );
    let out = env.run(&[
        "client",
        "create",
        "--name",
        "bad",
        "--post-logout-redirect-uri",
        "https://rp.example/bye#top",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--post-logout-redirect-uri") && stderr.contains("fragment"),
        "{stderr}"
    );
    let listed: Value = serde_json::from_str(&env.run_ok(&["client", "list"])).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        1,
        "nothing stored for the bad one"
    );
}

#[test]
fn refresh_token_flow_through_the_binary() {
    let env = new_env(None);
    env.run_ok(&["migrate"]);

    // password + refresh_token, scopes "read write", as the README's curl lines need.
    let (client_id, client_secret) = env.create_client();

    let listed = env.run_ok(&["client", "list"]);
    assert!(listed.contains(&client_id));
    assert!(
        !listed.contains(&client_secret),
        "client list leaked the secret"
    );
    assert!(!listed.contains("$2"), "client list leaked a bcrypt hash");

    let out = env.run_with_stdin(
        &["user", "create", "--username", "alice", "--password-stdin"],
        "wonderland\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_server, base) = start(&env, "serve", &["serve"]);
    let http = reqwest::blocking::Client::new();

    // (A)-(B): password grant with HTTP Basic client authentication.
    let (status, first) = token_request(
        &http,
        &base,
        &client_id,
        &client_secret,
        "grant_type=password&username=alice&password=wonderland",
    );
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();

    // (C)-(D): the protected resource accepts the bearer token.
    let me = http
        .get(format!("{base}/api/me"))
        .bearer_auth(access)
        .send()
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    assert!(me.text().unwrap().contains("alice"));

    // (G)-(H): refresh; with rotation on (the default) a new refresh token comes back.
    let (status, second) = token_request(
        &http,
        &base,
        &client_id,
        &client_secret,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    );
    assert_eq!(status, 200, "{second}");
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh);
    let me = http
        .get(format!("{base}/api/me"))
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);

    // The rotated token is spent.
    let (status, reused) = token_request(
        &http,
        &base,
        &client_id,
        &client_secret,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
    );
    assert_eq!(status, 400, "{reused}");
    assert_eq!(reused["error"], "invalid_grant");
}

#[test]
fn demo_mode_seeds_credentials_that_work() {
    let env = new_env(None);
    let (server, base) = start(&env, "demo", &["serve", "--demo"]);
    let printed = server.output();
    assert!(
        printed.contains(&format!(
            "curl -u demo-client:demo-secret {base}/oauth/token -d 'grant_type=password&username=demo&password=demo-password'"
        )),
        "{printed}"
    );
    assert!(printed.contains(&format!(
        "curl -H 'Authorization: Bearer ACCESS' {base}/api/me"
    )));
    let http = reqwest::blocking::Client::new();
    let (status, body) = token_request(
        &http,
        &base,
        "demo-client",
        "demo-secret",
        "grant_type=password&username=demo&password=demo-password",
    );
    assert_eq!(status, 200, "{body}");
    drop(server);
    assert_demo_is_idempotent(&env);
}

/// A second `--demo` start finds the demo client and user and leaves them alone.
fn assert_demo_is_idempotent(env: &Env) {
    let (_server, _) = start(env, "demo-again", &["serve", "--demo"]);
    let listed: Value = serde_json::from_str(&env.run_ok(&["client", "list"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn registration_tokens_are_made_once_listed_without_the_token_and_register_a_client() {
    let mut env = new_env(None);
    env.run_ok(&["migrate"]);
    let created: Value = serde_json::from_str(&env.run_ok(&[
        "registration",
        "token",
        "create",
        "--expires-in",
        "600",
        "--uses",
        "2",
    ]))
    .unwrap();
    let token = created["initial_access_token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        token.starts_with("gia_") && id.starts_with("it_"),
        "{created}"
    );
    assert_eq!(created["uses_left"], 2);
    let expires_in =
        created["expires_at"].as_i64().unwrap() - created["created_at"].as_i64().unwrap();
    assert_eq!(expires_in, 600);

    let listed = env.run_ok(&["registration", "token", "list"]);
    assert!(listed.contains(&id) && !listed.contains(&token), "{listed}");

    for (args, expected) in [
        (&["--uses", "0"][..], "--uses must be between 1 and"),
        (&["--expires-in", "0"], "--expires-in must be between 1 and"),
    ] {
        let out = env.run(&[&["registration", "token", "create"][..], args].concat());
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains(expected));
    }

    // The token registers a client at a server with registration enabled, as the README
    // shows with curl.
    env.set("GRANTD_REGISTRATION__ENABLED", "true");
    let (_server, base) = start(&env, "serve", &["serve"]);
    let http = reqwest::blocking::Client::new();
    let response = http
        .post(format!("{base}/oauth/register"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "client_name": "CLI registered",
            "grant_types": ["client_credentials"],
            "scope": "read"
        }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let registered: Value = response.json().unwrap();
    let (status, issued) = token_request(
        &http,
        &base,
        registered["client_id"].as_str().unwrap(),
        registered["client_secret"].as_str().unwrap(),
        "grant_type=client_credentials",
    );
    assert_eq!(status, 200, "{issued}");
    let listed: Value =
        serde_json::from_str(&env.run_ok(&["registration", "token", "list"])).unwrap();
    assert_eq!(listed[0]["uses_left"], 1);

    assert!(env
        .run_ok(&["registration", "token", "revoke", &id])
        .contains("revoked"));
    assert_eq!(
        env.run(&["registration", "token", "revoke", &id])
            .status
            .code(),
        Some(1)
    );
    let response = http
        .post(format!("{base}/oauth/register"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"grant_types": ["client_credentials"]}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 401, "revoked");
}
