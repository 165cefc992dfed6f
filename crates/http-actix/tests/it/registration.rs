//! Dynamic client registration (RFC 7591) and the client configuration endpoint
//! (RFC 7592) over real HTTP on both backends: off by default (404, not advertised); on,
//! a registration needs a usable initial access token (else 401 and nothing stored), its
//! metadata is checked with RFC 7591 §3.2.2's errors naming the field (and a refused
//! registration takes no use of the token), the registered client works at the token
//! endpoint, and its registration access token reads, replaces and deletes it, and
//! nothing else. The `openidconnect` crate registers a client as a real relying party.

use std::sync::Arc;

use grantd_domain::dynamic_registration::InitialAccessTokens;
use grantd_domain::TokenSettings;
use openidconnect::core::{CoreClientRegistrationRequest, CoreProviderMetadata};
use openidconnect::registration::EmptyAdditionalClientMetadata;
use openidconnect::{AccessToken, IssuerUrl, RedirectUrl};
use serde_json::{json, Value};

use crate::common::*;

fn enabled(backend: Backend) -> TestApp {
    TestApp::start_with(backend, TokenSettings::default(), |config| {
        config.registration.enabled = true;
    })
}

/// A new initial access token good for `uses` registrations for 10 minutes, as
/// `grantd registration token create` makes it.
fn initial_token(app: &TestApp, uses: i64) -> String {
    InitialAccessTokens::new(app.ports.clone(), Arc::new(app.db.clone()))
        .create(600, uses)
        .unwrap()
        .token
        .expose()
        .to_owned()
}

fn tok(app: &TestApp, id: &str, secret: &str, body: &str) -> (u16, Value) {
    json(token_request(app, Some((id, secret)), body))
}

fn client_count(app: &TestApp) -> usize {
    app.ports.clients.list_clients().unwrap().len()
}

fn send(request: reqwest::blocking::RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
    let response = request.send().unwrap();
    let headers = response.headers().clone();
    let (status, body) = json(response);
    (status, body, headers)
}

fn register(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = http().post(app.url("/oauth/register")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let (status, body, _) = send(request);
    (status, body)
}

fn web_app() -> Value {
    json!({
        "redirect_uris": [WEB_CB],
        "client_name": "Registered app",
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "read write",
        "logo_uri": "https://web.example/logo.png"
    })
}

/// Registers [`web_app`] with a new one-use token.
fn registered(app: &TestApp) -> Value {
    let token = initial_token(app, 1);
    let (status, body) = register(app, Some(&token), &web_app());
    assert_eq!(status, 201, "{body}");
    body
}

fn config_uri(app: &TestApp, client_id: &str) -> String {
    app.url(&format!("/oauth/register/{client_id}"))
}

fn registration_is_off_by_default_and_not_advertised(backend: Backend) {
    let app = TestApp::start(backend, TokenSettings::default());
    let (status, body) = register(&app, Some("gia_x"), &web_app());
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    for method in [
        reqwest::Method::GET,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let status = http()
            .request(method.clone(), config_uri(&app, "web"))
            .send()
            .unwrap()
            .status();
        assert_eq!(status, 404, "{method}");
    }
    assert_eq!(
        http()
            .get(app.url("/oauth/register"))
            .send()
            .unwrap()
            .status(),
        404
    );
    for doc in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let (_, doc) = json(http().get(app.url(doc)).send().unwrap());
        assert!(doc.get("registration_endpoint").is_none(), "{doc}");
    }
}

fn both_metadata_documents_advertise_the_registration_endpoint(backend: Backend) {
    let app = enabled(backend);
    for doc in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let (_, doc) = json(http().get(app.url(doc)).send().unwrap());
        assert_eq!(
            doc["registration_endpoint"],
            "http://grantd.test/oauth/register"
        );
    }
    // Other methods are 405 once the endpoint exists.
    let response = http().get(app.url("/oauth/register")).send().unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let response = http().patch(config_uri(&app, "web")).send().unwrap();
    assert_eq!(response.status(), 405);
}

fn registration_without_a_usable_initial_token_is_401_and_stores_nothing(backend: Backend) {
    let app = enabled(backend);
    let before = client_count(&app);
    // No credentials at all: RFC 6750 §3.1's bare challenge, no error code.
    let response = http()
        .post(app.url("/oauth/register"))
        .json(&web_app())
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer realm=\"grantd\""
    );
    let spent = initial_token(&app, 1);
    assert_eq!(register(&app, Some(&spent), &web_app()).0, 201);
    let revoked = initial_token(&app, 5);
    let tokens = InitialAccessTokens::new(app.ports.clone(), Arc::new(app.db.clone()));
    let id = tokens
        .list()
        .unwrap()
        .into_iter()
        .find(|t| t.uses_left == 5)
        .unwrap()
        .id;
    assert!(tokens.revoke(&id).unwrap());
    let expired = initial_token(&app, 5);
    app.clock.advance(601);
    let unknown = grantd_ports::TokenKind::InitialAccess.encode(&[1; 32]);
    // Another kind of token (an access token of the token endpoint) is no initial token.
    let (_, access) = tok(&app, "app", SECRET, "grant_type=client_credentials");
    let access = access["access_token"].as_str().unwrap().to_owned();
    for bad in [
        "x".to_owned(),
        unknown.expose().to_owned(),
        spent,
        revoked,
        expired,
        access,
    ] {
        let response = http()
            .post(app.url("/oauth/register"))
            .bearer_auth(&bad)
            // Even a malformed body: the token is judged first.
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .unwrap();
        assert_eq!(response.status(), 401, "{bad}");
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer realm=\"grantd\", error=\"invalid_token\""),
            "{challenge}"
        );
        assert_eq!(json(response).1["error"], "invalid_token");
    }
    assert_eq!(
        client_count(&app),
        before + 1,
        "only the one good registration"
    );
}

fn a_registered_client_works_and_its_configuration_endpoint_follows_rfc_7592(backend: Backend) {
    let app = enabled(backend);
    let token = initial_token(&app, 1);
    let response = http()
        .post(app.url("/oauth/register"))
        .bearer_auth(&token)
        .json(&web_app())
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body: Value = response.json().unwrap();
    let id = body["client_id"].as_str().unwrap().to_owned();
    let secret = body["client_secret"].as_str().unwrap().to_owned();
    let rat = body["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("cl_") && secret.starts_with("gcs_") && rat.starts_with("gra_"));
    assert_eq!(
        body["registration_client_uri"],
        format!("http://grantd.test/oauth/register/{id}")
    );
    assert_eq!(body["client_secret_expires_at"], 0);
    assert!(body["client_id_issued_at"].as_i64().unwrap() > 0);
    assert_eq!(body["client_name"], "Registered app");
    assert_eq!(body["redirect_uris"], json!([WEB_CB]));
    assert_eq!(
        body["grant_types"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    assert_eq!(body["response_types"], json!(["code"]));
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["dpop_bound_access_tokens"], false);
    assert!(
        body.get("logo_uri").is_none(),
        "unknown metadata is ignored (RFC 7591 §2)"
    );

    // The client is real: the token endpoint knows it.
    let (status, issued) = tok(
        &app,
        &id,
        &secret,
        "grant_type=client_credentials&scope=read",
    );
    assert_eq!(status, 200, "{issued}");
    let access = issued["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &access).status(), 200);

    // RFC 7592 §2.1: read, with the same token and no secret.
    let (status, read, headers) = send(http().get(config_uri(&app, &id)).bearer_auth(&rat));
    assert_eq!(status, 200, "{read}");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(read.get("client_secret").is_none(), "never shown again");
    assert_eq!(read["registration_access_token"], rat);
    for field in [
        "client_id",
        "client_name",
        "redirect_uris",
        "grant_types",
        "scope",
        "client_id_issued_at",
    ] {
        assert_eq!(read[field], body[field], "{field}");
    }

    // §2.2: a full replacement; omitted fields get their defaults.
    let replacement = json!({
        "client_id": id,
        "client_secret": secret,
        "redirect_uris": [WEB_CB_OTHER],
        "client_name": "Renamed app",
        "token_endpoint_auth_method": "client_secret_post",
        "grant_types": ["authorization_code", "client_credentials"],
        "scope": "read"
    });
    let (status, updated, _) = send(
        http()
            .put(config_uri(&app, &id))
            .bearer_auth(&rat)
            .json(&replacement),
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["client_name"], "Renamed app");
    assert_eq!(updated["redirect_uris"], json!([WEB_CB_OTHER]));
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(updated["scope"], "read");
    let (_, reread, _) = send(http().get(config_uri(&app, &id)).bearer_auth(&rat));
    assert_eq!(
        reread["grant_types"],
        json!(["authorization_code", "client_credentials"])
    );
    // The narrowed scope holds at the token endpoint; the secret is unchanged.
    let (status, denied) = tok(
        &app,
        &id,
        &secret,
        "grant_type=client_credentials&scope=write",
    );
    assert_eq!(
        (status, denied["error"].as_str()),
        (400, Some("invalid_scope"))
    );

    // §2.3: delete; the tokens of its grants die with it, and so does the token.
    let response = http()
        .delete(config_uri(&app, &id))
        .bearer_auth(&rat)
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(me(&app, &access).status(), 401);
    let (status, _) = tok(&app, &id, &secret, "grant_type=client_credentials");
    assert_eq!(status, 401);
    for request in [
        http().get(config_uri(&app, &id)),
        http().delete(config_uri(&app, &id)),
        http().put(config_uri(&app, &id)).json(&replacement),
    ] {
        assert_eq!(request.bearer_auth(&rat).send().unwrap().status(), 401);
    }
}

fn a_registration_access_token_works_for_its_own_client_only(backend: Backend) {
    let app = enabled(backend);
    let (a, b) = (registered(&app), registered(&app));
    let (a_id, b_id) = (
        a["client_id"].as_str().unwrap(),
        b["client_id"].as_str().unwrap(),
    );
    let a_token = a["registration_access_token"].as_str().unwrap();
    let b_token = b["registration_access_token"].as_str().unwrap();
    let change = json!({"client_id": b_id, "redirect_uris": ["https://evil.example/cb"]});
    let initial = initial_token(&app, 1);
    for (uri, token) in [
        (config_uri(&app, b_id), a_token),
        (config_uri(&app, b_id), initial.as_str()),
        (config_uri(&app, b_id), "gra_short"),
        (config_uri(&app, "web"), a_token),
        (config_uri(&app, "no-such-client"), b_token),
    ] {
        for request in [
            http().get(&uri),
            http().put(&uri).json(&change),
            http().delete(&uri),
        ] {
            let response = request.bearer_auth(token).send().unwrap();
            assert_eq!(response.status(), 401, "{uri}");
            assert!(response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("invalid_token"));
        }
    }
    let response = http().get(config_uri(&app, b_id)).send().unwrap();
    assert_eq!(response.status(), 401, "no token");
    // Nothing changed: b reads as registered, the fixture client is untouched.
    let (_, b_now, _) = send(http().get(config_uri(&app, b_id)).bearer_auth(b_token));
    assert_eq!(b_now["redirect_uris"], json!([WEB_CB]));
    let (_, a_now, _) = send(http().get(config_uri(&app, a_id)).bearer_auth(a_token));
    assert_eq!(a_now["client_id"], a_id);
    assert!(app
        .ports
        .clients
        .find_client(&grantd_ports::ClientId::parse("web").unwrap())
        .unwrap()
        .is_some());
}

fn bad_metadata_gets_rfc_7591_errors_and_takes_no_use(backend: Backend) {
    let app = enabled(backend);
    let token = initial_token(&app, 1);
    let before = client_count(&app);
    let with = |edit: Value| {
        let mut body = web_app();
        for (k, v) in edit.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            with(json!({"redirect_uris": ["/cb"]})),
            "invalid_redirect_uri",
            "redirect_uris:",
        ),
        (
            with(json!({"redirect_uris": []})),
            "invalid_redirect_uri",
            "redirect_uris: required",
        ),
        (
            with(json!({"redirect_uris": ["http://web.example/cb"]})),
            "invalid_redirect_uri",
            "redirect_uris:",
        ),
        (
            with(json!({"redirect_uris": ["https://web.example/cb#x"]})),
            "invalid_redirect_uri",
            "redirect_uris:",
        ),
        (
            with(json!({"redirect_uris": "https://web.example/cb"})),
            "invalid_client_metadata",
            "redirect_uris: must be an array",
        ),
        (
            with(json!({"grant_types": ["password"]})),
            "invalid_client_metadata",
            "grant_types:",
        ),
        (
            with(json!({"grant_types": ["implicit"]})),
            "invalid_client_metadata",
            "grant_types:",
        ),
        (
            with(json!({"response_types": ["token"]})),
            "invalid_client_metadata",
            "response_types:",
        ),
        (
            with(json!({"grant_types": ["client_credentials"], "response_types": ["code"]})),
            "invalid_client_metadata",
            "response_types:",
        ),
        (
            with(json!({"token_endpoint_auth_method": "private_key_jwt"})),
            "invalid_client_metadata",
            "token_endpoint_auth_method:",
        ),
        (
            with(json!({"token_endpoint_auth_method": "none"})),
            "invalid_client_metadata",
            "grant_types:",
        ),
        (
            with(json!({"scope": "read admin"})),
            "invalid_client_metadata",
            "scope:",
        ),
        (
            with(json!({"client_name": " "})),
            "invalid_client_metadata",
            "client_name:",
        ),
        (
            with(json!({"dpop_bound_access_tokens": "yes"})),
            "invalid_client_metadata",
            "dpop_bound_access_tokens:",
        ),
        (
            json!(["not", "an", "object"]),
            "invalid_client_metadata",
            "the body must be a JSON object",
        ),
    ];
    for (body, code, field) in cases {
        let (status, error) = register(&app, Some(&token), &body);
        assert_eq!(status, 400, "{body} -> {error}");
        assert_eq!(error["error"], code, "{body} -> {error}");
        let description = error["error_description"].as_str().unwrap();
        assert!(description.starts_with(field), "{description}");
    }
    assert_eq!(client_count(&app), before);
    // The body's framing: JSON only, and small.
    let response = http()
        .post(app.url("/oauth/register"))
        .bearer_auth(&token)
        .form(&[("redirect_uris", WEB_CB)])
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    let huge = json!({"redirect_uris": [WEB_CB], "client_name": "x".repeat(20_000)});
    assert_eq!(register(&app, Some(&token), &huge).0, 413);
    // The one use is still there.
    assert_eq!(register(&app, Some(&token), &web_app()).0, 201);
    assert_eq!(client_count(&app), before + 1);
}

fn an_update_is_checked_like_a_registration_and_changes_nothing_when_refused(backend: Backend) {
    let app = enabled(backend);
    let client = registered(&app);
    let id = client["client_id"].as_str().unwrap();
    let rat = client["registration_access_token"].as_str().unwrap();
    let put = |body: Value| {
        let (status, body, _) = send(
            http()
                .put(config_uri(&app, id))
                .bearer_auth(rat)
                .json(&body),
        );
        (status, body)
    };
    for (body, code, field) in [
        (
            json!({"redirect_uris": [WEB_CB]}),
            "invalid_client_metadata",
            "client_id:",
        ),
        (
            json!({"client_id": "web", "redirect_uris": [WEB_CB]}),
            "invalid_client_metadata",
            "client_id:",
        ),
        (
            json!({"client_id": id, "client_secret": "guess", "redirect_uris": [WEB_CB]}),
            "invalid_client_metadata",
            "client_secret:",
        ),
        (
            json!({"client_id": id, "registration_access_token": rat, "redirect_uris": [WEB_CB]}),
            "invalid_client_metadata",
            "registration_access_token:",
        ),
        (
            json!({"client_id": id, "client_id_issued_at": 1, "redirect_uris": [WEB_CB]}),
            "invalid_client_metadata",
            "client_id_issued_at:",
        ),
        (
            json!({"client_id": id, "token_endpoint_auth_method": "none", "redirect_uris": [WEB_CB]}),
            "invalid_client_metadata",
            "token_endpoint_auth_method:",
        ),
        (
            json!({"client_id": id, "redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
            "redirect_uris:",
        ),
        (
            json!({"client_id": id, "redirect_uris": [WEB_CB], "scope": "read admin"}),
            "invalid_client_metadata",
            "scope:",
        ),
    ] {
        let (status, error) = put(body.clone());
        assert_eq!(
            (status, error["error"].as_str()),
            (400, Some(code)),
            "{body} -> {error}"
        );
        assert!(
            error["error_description"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{error}"
        );
    }
    let (_, now, _) = send(http().get(config_uri(&app, id)).bearer_auth(rat));
    for field in [
        "client_name",
        "redirect_uris",
        "grant_types",
        "scope",
        "token_endpoint_auth_method",
    ] {
        assert_eq!(now[field], client[field], "{field} unchanged");
    }
}

fn a_public_client_registers_without_a_secret_and_may_require_dpop(backend: Backend) {
    let app = enabled(backend);
    let token = initial_token(&app, 1);
    let (status, body) = register(
        &app,
        Some(&token),
        &json!({
            "redirect_uris": [NATIVE_CB, "com.example.app:/cb"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "dpop_bound_access_tokens": true
        }),
    );
    assert_eq!(status, 201, "{body}");
    assert!(body.get("client_secret").is_none());
    assert!(body.get("client_secret_expires_at").is_none());
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert_eq!(body["dpop_bound_access_tokens"], true);
    assert_eq!(body["client_name"], body["client_id"], "no name given");
    assert_eq!(body["scope"], "read write", "the registry's default scopes");
}

fn a_real_relying_party_registers_through_openidconnect(backend: Backend) {
    let app = TestApp::start_with(backend, TokenSettings::default(), |config| {
        config.server.issuer = String::new();
        config.registration.enabled = true;
    });
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let provider =
        CoreProviderMetadata::discover(&IssuerUrl::new(app.base.clone()).unwrap(), &http).unwrap();
    let endpoint = provider
        .registration_endpoint()
        .expect("advertised")
        .clone();
    let request = CoreClientRegistrationRequest::new(
        vec![RedirectUrl::new(WEB_CB.into()).unwrap()],
        EmptyAdditionalClientMetadata {},
    );
    let unauthorised = request.clone().register(&endpoint, &http);
    assert!(unauthorised.is_err(), "no initial access token");
    let response = request
        .set_initial_access_token(Some(AccessToken::new(initial_token(&app, 1))))
        .register(&endpoint, &http)
        .unwrap();
    let id = response.client_id().as_str().to_owned();
    let secret = response
        .client_secret()
        .expect("confidential by default")
        .secret()
        .clone();
    let rat = response
        .registration_access_token()
        .unwrap()
        .secret()
        .clone();
    assert_eq!(
        response.registration_client_uri().unwrap().as_str(),
        config_uri(&app, &id)
    );
    assert_eq!(response.redirect_uris()[0].as_str(), WEB_CB);
    // The client can authenticate; its configuration endpoint answers its token.
    let (status, _) = tok(
        &app,
        &id,
        &secret,
        "grant_type=refresh_token&refresh_token=x",
    );
    assert_eq!(
        status, 400,
        "authenticated, then refused the unknown refresh token"
    );
    let (status, _, _) = send(http.get(config_uri(&app, &id)).bearer_auth(&rat));
    assert_eq!(status, 200);
}

on_both_backends!(
    registration_is_off_by_default_and_not_advertised,
    both_metadata_documents_advertise_the_registration_endpoint,
    registration_without_a_usable_initial_token_is_401_and_stores_nothing,
    a_registered_client_works_and_its_configuration_endpoint_follows_rfc_7592,
    a_registration_access_token_works_for_its_own_client_only,
    bad_metadata_gets_rfc_7591_errors_and_takes_no_use,
    an_update_is_checked_like_a_registration_and_changes_nothing_when_refused,
    a_public_client_registers_without_a_secret_and_may_require_dpop,
    a_real_relying_party_registers_through_openidconnect,
);
