//! grantd as the OpenID Provider of a real relying party: the `openidconnect` crate
//! discovers it (`/.well-known/openid-configuration`), runs the code flow with PKCE and a
//! nonce, verifies the id token through the JWKS (signature, iss, aud, nonce, at_hash),
//! reads userinfo, refreshes (a new id token, verified again), and logs out through the
//! end session endpoint with the id token as the hint. On both backends.

use grantd_ports::{Client, ClientId, GrantType, LifetimeOverrides, ScopeSet, SecretHasher};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId as RpClientId, ClientSecret, CsrfToken, IssuerUrl,
    LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};

use crate::authorization_code::{csrf, enc, location, query_param, Browser};
use crate::common::*;

const RP: &str = "oidc-rp";
const RP_CALLBACK: &str = "https://rp.example/cb";
const RP_SIGNED_OUT: &str = "https://rp.example/signed-out";

fn register_relying_party(app: &TestApp) {
    app.ports
        .clients
        .insert_client(&Client {
            id: ClientId::parse(RP).unwrap(),
            name: "Relying Party".into(),
            secret: Some(app.hasher.hash_client_secret(SECRET)),
            secret_version: 1,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: ScopeSet::parse("openid profile email offline_access").unwrap(),
            access_token_format: None,
            default_scopes: None,
            redirect_uris: vec![RP_CALLBACK.into()],
            post_logout_redirect_uris: vec![RP_SIGNED_OUT.into()],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            created_at: 0,
            require_dpop: false,
            admin: false,
        })
        .unwrap();
}

/// The relying party's HTTP client: no redirects followed (openidconnect's advice, so a
/// redirect cannot leak a token to another host).
fn rp_http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The path and query of a URL of `app`.
fn on_app<'a>(app: &TestApp, url: &'a str) -> &'a str {
    url.strip_prefix(app.base.as_str())
        .unwrap_or_else(|| panic!("{url} is not on {}", app.base))
}

/// Logs alice in on the authorization page and allows; returns the code.
fn front_channel(app: &TestApp, browser: &mut Browser, authorize_url: &str) -> (String, String) {
    let path = on_app(app, authorize_url);
    let page = browser.get(path);
    assert_eq!(page.status(), 200);
    let html = page.text().unwrap();
    let resp = browser.post(
        path,
        &format!(
            "csrf_token={}&username=alice&password={PASSWORD}",
            enc(&csrf(&html))
        ),
    );
    assert_eq!(resp.status(), 303);
    let consent = browser.get(path).text().unwrap();
    let to = browser.decide(path, &consent, "allow");
    assert!(to.starts_with(RP_CALLBACK), "{to}");
    (
        query_param(&to, "code").unwrap(),
        query_param(&to, "state").unwrap(),
    )
}

fn the_openidconnect_crate_signs_in_refreshes_reads_userinfo_and_logs_out(backend: Backend) {
    let app = TestApp::start_as_issuer(backend, false);
    register_relying_party(&app);
    let http = rp_http();

    let metadata =
        ProviderMetadataWithLogout::discover(&IssuerUrl::new(app.base.clone()).unwrap(), &http)
            .expect("discovery");
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint is advertised");
    let client = CoreClient::from_provider_metadata(
        metadata,
        RpClientId::new(RP.into()),
        Some(ClientSecret::new(SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(RP_CALLBACK.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new(&app);
    let (code, returned_state) = front_channel(&app, &mut browser, authorize_url.as_str());
    assert_eq!(&returned_state, state.secret());

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an id token");
    let verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("a valid id token");
    assert_eq!(claims.subject().as_str(), "user-alice");
    assert!(claims.auth_time().is_some());
    let expected = claims.access_token_hash().expect("at_hash");
    let actual = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual, expected);

    let userinfo: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().to_owned(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request(&http)
        .expect("userinfo");
    assert_eq!(
        userinfo
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str()),
        Some(ALICE_NAME)
    );
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some(ALICE_EMAIL));
    assert_eq!(userinfo.email_verified(), Some(true));

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("offline_access"))
        .unwrap()
        .request(&http)
        .expect("refresh");
    let renewed = refreshed.id_token().expect("a refresh renews the id token");
    // Core §12.2: no nonce on a refreshed id token; the crate then accepts any.
    let renewed_claims = renewed
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("a valid refreshed id token");
    assert_eq!(renewed_claims.subject(), claims.subject());
    assert_eq!(renewed_claims.audiences(), claims.audiences());
    assert_eq!(renewed_claims.auth_time(), claims.auth_time());

    let logout_state = CsrfToken::new_random();
    let logout_url = LogoutRequest::from(end_session)
        .set_id_token_hint(id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(RP_SIGNED_OUT.into()).unwrap())
        .set_state(logout_state.clone())
        .http_get_url();
    let resp = browser.get(on_app(&app, logout_url.as_str()));
    assert!(resp.status().is_redirection(), "{:?}", resp.status());
    let to = location(&resp);
    assert!(to.starts_with(RP_SIGNED_OUT), "{to}");
    assert_eq!(
        query_param(&to, "state").as_deref(),
        Some(logout_state.secret().as_str())
    );
    // The session is over: the next authorization asks for a login again.
    let again = browser.get(on_app(&app, authorize_url.as_str()));
    assert_eq!(again.status(), 200);
    assert!(again.text().unwrap().contains(r#"name="password""#));
}

on_both_backends!(the_openidconnect_crate_signs_in_refreshes_reads_userinfo_and_logs_out);
