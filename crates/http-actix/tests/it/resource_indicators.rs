//! RFC 8707 resource indicators over real HTTP on both backends: the JWT `aud` of one and
//! of two named resources (verified with `jsonwebtoken` against the JWKS), `invalid_target`
//! for an unregistered, malformed or fragment resource with nothing stored, the code flow
//! carrying the authorization request's resources to its exchange, a refresh narrowing
//! the audience and refusing a resource outside the grant, and introspection's `aud`.

use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, SqliteConnection};
use grantd_domain::TokenSettings;
use grantd_testkit::app::{issue_jwts, register_resource};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::authorization_code::{
    authorize_path, code_for_web, enc, exchange, location, query_param, Browser, VERIFIER,
};
use crate::common::*;

const API: &str = "https://api.example/";
const FILES: &str = "https://files.example/v1";
const ISSUER: &str = "http://grantd.test";

/// The app with `[resources.api]` and `[resources.files]`, issuing JWT access tokens.
fn jwt_app(backend: Backend) -> TestApp {
    TestApp::start_with(backend, TokenSettings::default(), |config| {
        issue_jwts(config);
        register_resource(config, "api", API);
        register_resource(config, "files", FILES);
    })
}

/// The same, issuing opaque access tokens.
fn opaque_app(backend: Backend) -> TestApp {
    TestApp::start_with(backend, TokenSettings::default(), |config| {
        register_resource(config, "api", API);
        register_resource(config, "files", FILES);
    })
}

/// `resource=...` once per value, for a form or a query.
fn resources(uris: &[&str]) -> String {
    uris.iter()
        .map(|u| format!("&resource={}", enc(u)))
        .collect()
}

/// The password grant for alice with `extra` parameters.
fn password(app: &TestApp, extra: &str) -> (u16, Value) {
    json(token_request(
        app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}{extra}"),
    ))
}

fn refresh_with(app: &TestApp, refresh_token: &str, extra: &str) -> (u16, Value) {
    json(token_request(
        app,
        Some(("app", SECRET)),
        &format!("grant_type=refresh_token&refresh_token={refresh_token}{extra}"),
    ))
}

fn access_of(body: &Value) -> String {
    body["access_token"].as_str().unwrap().to_owned()
}

/// A resource server's offline check: the JWKS, the kid, the signature, `iss`, and `aud`
/// containing `audience` (jsonwebtoken accepts `aud` as a string or an array).
fn verify_for(app: &TestApp, token: &str, audience: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let set: JwkSet = http()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let jwk = set
        .find(header.kid.as_deref().ok_or("no kid")?)
        .ok_or("kid not in the JWKS")?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|d| d.claims)
        .map_err(|e| e.to_string())
}

fn introspect(app: &TestApp, token: &str) -> Value {
    let resp = post_form(
        app,
        "/oauth/introspect",
        ("rs", SECRET),
        &format!("token={token}"),
    );
    assert_eq!(resp.status(), 200);
    resp.json().unwrap()
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The rows of every table a grant writes, read straight from the database.
fn counts(app: &TestApp) -> Vec<i64> {
    let url = app.database_url();
    let tables = [
        "grants",
        "access_tokens",
        "refresh_tokens",
        "authorization_codes",
    ];
    let query = |table: &str| diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"));
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut conn = SqliteConnection::establish(path).unwrap();
        tables
            .iter()
            .map(|t| query(t).get_result::<Count>(&mut conn).unwrap().n)
            .collect()
    } else {
        let mut conn = PgConnection::establish(url).unwrap();
        tables
            .iter()
            .map(|t| query(t).get_result::<Count>(&mut conn).unwrap().n)
            .collect()
    }
}

fn one_resource_is_the_jwts_aud_as_a_string_and_two_are_an_array(backend: Backend) {
    let app = jwt_app(backend);
    let (status, body) = password(&app, &resources(&[API]));
    assert_eq!(status, 200, "{body}");
    let token = access_of(&body);
    let claims = verify_for(&app, &token, API).unwrap();
    assert_eq!(claims["aud"], API, "one audience travels as a string");
    let err = verify_for(&app, &token, FILES).unwrap_err();
    assert!(err.contains("Audience"), "not for another resource: {err}");
    assert!(
        verify_for(&app, &token, ISSUER).is_err(),
        "nor for the default audience"
    );

    let (status, body) = password(&app, &resources(&[FILES, API]));
    assert_eq!(status, 200, "{body}");
    let token = access_of(&body);
    for audience in [API, FILES] {
        let claims = verify_for(&app, &token, audience).unwrap();
        assert_eq!(
            claims["aud"],
            json!([API, FILES]),
            "several travel as an array"
        );
    }
    // grantd accepts its own array-aud token wherever a token is presented.
    assert_eq!(me(&app, &token).status(), 200);

    // client_credentials takes resources too; no resource keeps the default audience.
    let (status, body) = json(token_request(
        &app,
        Some(("app", SECRET)),
        &format!("grant_type=client_credentials{}", resources(&[FILES])),
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        verify_for(&app, &access_of(&body), FILES).unwrap()["aud"],
        FILES
    );
    let (status, body) = password(&app, "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        verify_for(&app, &access_of(&body), ISSUER).unwrap()["aud"],
        ISSUER
    );
}

fn a_bad_resource_is_invalid_target_and_stores_nothing(backend: Backend) {
    let app = jwt_app(backend);
    let (status, body) = password(&app, "");
    assert_eq!(status, 200, "{body}");
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    let before = counts(&app);
    for bad in [
        "https://unregistered.example/",
        "not a uri",
        "/relative/path",
        "https://api.example/#fragment",
    ] {
        let bad = resources(&[API, bad]);
        let attempts = [
            password(&app, &bad),
            json(token_request(
                &app,
                Some(("app", SECRET)),
                &format!("grant_type=client_credentials{bad}"),
            )),
            refresh_with(&app, &refresh_token, &bad),
        ];
        for (status, body) in attempts {
            assert_eq!(status, 400, "{bad}: {body}");
            assert_eq!(body["error"], "invalid_target", "{bad}: {body}");
            assert!(body["error_description"].is_string());
        }
    }
    assert_eq!(counts(&app), before, "a refused resource stored nothing");
    // The refused refreshes consumed nothing: the token still refreshes.
    let (status, body) = refresh_with(&app, &refresh_token, "");
    assert_eq!(status, 200, "{body}");
}

fn the_code_flow_carries_the_authorize_requests_resources_to_the_exchange(backend: Backend) {
    let app = jwt_app(backend);
    // `read` first, then the default `read write`: each needs the consent page, which a
    // remembered consent covering the scope would skip.
    let extra = format!("&scope=read{}", resources(&[API, FILES]));
    let code = code_for_web(&app, &mut Browser::new(&app), &extra);
    let (status, body) = exchange(&app, &code, WEB_CB, VERIFIER);
    assert_eq!(status, 200, "{body}");
    let claims = verify_for(&app, &access_of(&body), API).unwrap();
    assert_eq!(claims["aud"], json!([API, FILES]));

    // The exchange may narrow its token to one of the code's resources, not name another.
    let code = code_for_web(&app, &mut Browser::new(&app), &resources(&[API]));
    let narrowing = |code: &str, extra: &str| {
        json(token_request(
            &app,
            Some(("web", SECRET)),
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}{extra}",
                enc(WEB_CB)
            ),
        ))
    };
    let (status, body) = narrowing(&code, &resources(&[FILES]));
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_target")),
        "{body}"
    );
    // Refused before anything was written: the code is still good.
    let (status, body) = narrowing(&code, &resources(&[API]));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        verify_for(&app, &access_of(&body), API).unwrap()["aud"],
        API
    );

    // A bad resource at the authorization request goes back to the client by redirect.
    let mut browser = Browser::new(&app);
    for bad in [
        "https://unregistered.example/",
        "https://api.example/#x",
        "rel",
    ] {
        let path = authorize_path("web", WEB_CB, &resources(&[bad]));
        let resp = browser.get(&path);
        assert_eq!(resp.status(), 302, "{bad}");
        let to = location(&resp);
        assert!(to.starts_with(WEB_CB), "{bad}: {to}");
        assert_eq!(query_param(&to, "error").as_deref(), Some("invalid_target"));
        assert_eq!(query_param(&to, "state").as_deref(), Some("xyz"));
    }
}

fn a_refresh_narrows_the_audience_and_refuses_a_resource_outside_the_grant(backend: Backend) {
    let app = jwt_app(backend);
    let (status, body) = password(&app, &resources(&[API, FILES]));
    assert_eq!(status, 200, "{body}");
    let r0 = body["refresh_token"].as_str().unwrap().to_owned();

    let (status, body) = refresh_with(&app, &r0, &resources(&[FILES]));
    assert_eq!(status, 200, "{body}");
    let claims = verify_for(&app, &access_of(&body), FILES).unwrap();
    assert_eq!(claims["aud"], FILES, "narrowed to the one named");
    assert!(verify_for(&app, &access_of(&body), API).is_err());
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();

    // The grant keeps both: the next refresh without resource gets both again.
    let (status, body) = refresh_with(&app, &r1, "");
    assert_eq!(status, 200, "{body}");
    let claims = verify_for(&app, &access_of(&body), API).unwrap();
    assert_eq!(claims["aud"], json!([API, FILES]));
    let r2 = body["refresh_token"].as_str().unwrap().to_owned();

    // A grant for API alone cannot be refreshed into FILES, and the refusal consumes nothing.
    let (status, body) = password(&app, &resources(&[API]));
    assert_eq!(status, 200, "{body}");
    let narrow = body["refresh_token"].as_str().unwrap().to_owned();
    let (status, body) = refresh_with(&app, &narrow, &resources(&[FILES]));
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_target")),
        "{body}"
    );
    let (status, body) = refresh_with(&app, &narrow, &resources(&[API, FILES]));
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_target")),
        "{body}"
    );
    let (status, body) = refresh_with(&app, &narrow, "");
    assert_eq!(
        status, 200,
        "the refused refreshes left the token live: {body}"
    );
    assert_eq!(
        verify_for(&app, &access_of(&body), API).unwrap()["aud"],
        API
    );
    assert_eq!(refresh_with(&app, &r2, "").0, 200);
}

fn introspection_reports_aud_for_opaque_and_jwt_tokens(backend: Backend) {
    let app = opaque_app(backend);
    let (_, one) = password(&app, &resources(&[API]));
    let (_, two) = password(&app, &resources(&[API, FILES]));
    let (_, none) = password(&app, "");
    let access = access_of(&one);
    assert!(access.starts_with("gat_"), "opaque");
    let found = introspect(&app, &access);
    assert_eq!(found["active"], true);
    assert_eq!(found["aud"], API);
    assert_eq!(
        introspect(&app, &access_of(&two))["aud"],
        json!([API, FILES])
    );
    let found = introspect(&app, &access_of(&none));
    assert_eq!(found["active"], true);
    assert!(
        found.get("aud").is_none(),
        "an opaque token for no resource: {found}"
    );
    // A refresh token reports its grant's resources.
    let found = introspect(&app, two["refresh_token"].as_str().unwrap());
    assert_eq!(found["aud"], json!([API, FILES]));

    let app = jwt_app(backend);
    let (_, one) = password(&app, &resources(&[FILES]));
    assert_eq!(introspect(&app, &access_of(&one))["aud"], FILES);
    let (_, none) = password(&app, "");
    assert_eq!(
        introspect(&app, &access_of(&none))["aud"],
        ISSUER,
        "what the JWT says: the default audience"
    );
}

on_both_backends!(
    one_resource_is_the_jwts_aud_as_a_string_and_two_are_an_array,
    a_bad_resource_is_invalid_target_and_stores_nothing,
    the_code_flow_carries_the_authorize_requests_resources_to_the_exchange,
    a_refresh_narrows_the_audience_and_refuses_a_resource_outside_the_grant,
    introspection_reports_aud_for_opaque_and_jwt_tokens,
);
