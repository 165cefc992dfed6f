//! The resource rules at the use cases, with the mockall doubles: what each grant records
//! for the `resource` parameters (the grant's resources, the access token's audience), the
//! `invalid_target` refusals and that they write nothing, the refresh's narrowing, the code
//! carrying the authorization request's resources to its exchange, the JWT `aud`, and
//! introspection's `aud`.

use std::sync::{Arc, Mutex};

use grantd_ports::{
    AccessTokenClaims, AuthorizationCodeRecord, ClientId, CodeWrite, GrantType, Issuance,
    MockClientStore, MockJwtVerifier, MockKeyStore, MockTokenSigner, RedeemOutcome, RefreshIntent,
    RefreshTokenState, RefreshWrite, ResourceSet, RotateOutcome, ScopeSet, SealedPrivateKey,
    SigningAlgorithm, SigningKey, TokenHash, TokenKind, User, UserId, Username,
};

use crate::authorize_request::{AuthorizeError, AuthorizeParams};
use crate::test_support::*;
use crate::{
    AccessTokenFormat, AuthorizeFailure, GrantRequest, IntrospectEndpoint, JwtAccessTokens,
    JwtSettings, KeyRing, KeySettings, ResourceDefinition, ResourceRegistry, TokenError,
    TokenRequest, TokenSettings, UseCases,
};

const API: &str = "https://api.example/";
const FILES: &str = "https://files.example/";
const CB: &str = "https://web.example/cb";

fn resources() -> ResourceRegistry {
    ResourceRegistry::new(
        [("api", API), ("files", FILES)].map(|(name, uri)| ResourceDefinition {
            name: name.into(),
            uri: uri.into(),
        }),
    )
    .unwrap()
}

fn set(uris: &[&str]) -> ResourceSet {
    ResourceSet::from_uris(uris).unwrap()
}

fn use_cases(d: Doubles) -> UseCases {
    d.use_cases(TokenSettings::default())
        .with_resources(resources())
}

/// `request` naming these `resource` values.
fn naming(resources: &[&str], request: TokenRequest) -> TokenRequest {
    TokenRequest {
        resources: resources.iter().map(|r| (*r).to_owned()).collect(),
        ..request
    }
}

fn alice_password(resources: &[&str]) -> TokenRequest {
    naming(
        resources,
        password_request(basic("app", SECRET), "alice", PASSWORD, None),
    )
}

fn issued(d: &mut Doubles) -> Arc<Mutex<Vec<Issuance>>> {
    let issued = Arc::new(Mutex::new(Vec::new()));
    let i = issued.clone();
    d.tokens.expect_issue().times(1).returning(move |issuance| {
        i.lock().unwrap().push(issuance.clone());
        Ok(())
    });
    issued
}

#[test]
fn a_new_grant_records_the_named_resources_and_its_token_their_audience() {
    for (asked, expected) in [
        (&[API][..], &[API][..]),
        (&[FILES, API, FILES], &[API, FILES]),
        (&[], &[]),
    ] {
        let mut d = Doubles::new().with_user(false);
        let issued = issued(&mut d);
        use_cases(d).token.respond(&alice_password(asked)).unwrap();
        let issuance = issued.lock().unwrap().remove(0);
        assert_eq!(issuance.grant.resources, set(expected), "{asked:?}");
        // An opaque token's audience is its resources, nothing else.
        assert_eq!(issuance.access.audience, expected, "{asked:?}");
    }
}

#[test]
fn client_credentials_take_resources_too() {
    let mut d = Doubles::new();
    let issued = issued(&mut d);
    let request = TokenRequest {
        client: basic("app", SECRET),
        grant: GrantRequest::ClientCredentials { scope: None },
        source_address: SOURCE,
        resources: vec![FILES.into()],
        arrived_at_ms: NOW_MS,
        dpop_proof: None,
    };
    use_cases(d).token.respond(&request).unwrap();
    let issuance = issued.lock().unwrap().remove(0);
    assert_eq!(issuance.grant.resources, set(&[FILES]));
    assert_eq!(issuance.access.audience, [FILES]);
}

#[test]
fn a_bad_resource_is_invalid_target_and_nothing_is_read_or_written() {
    for asked in [
        "https://other.example/",
        "/relative",
        "https://api.example/#fragment",
    ] {
        let mut d = Doubles::new();
        // Refused before the password is even checked: no user lookup, no write.
        d.users.expect_find_user_by_username().never();
        d.tokens.expect_issue().never();
        let err = use_cases(d)
            .token
            .respond(&alice_password(&[API, asked]))
            .unwrap_err();
        assert!(
            matches!(err, TokenError::InvalidTarget(_)),
            "{asked}: {err:?}"
        );
    }
    // Without a registry, every resource is unknown.
    let mut d = Doubles::new();
    d.tokens.expect_issue().never();
    let err = d.token().respond(&alice_password(&[API])).unwrap_err();
    assert!(matches!(err, TokenError::InvalidTarget(_)));
}

/// A store whose rotate_refresh runs the decision against `state` and keeps the write.
fn rotating(d: &mut Doubles, state: RefreshTokenState) -> Arc<Mutex<Vec<RefreshWrite>>> {
    let writes = Arc::new(Mutex::new(Vec::new()));
    let w = writes.clone();
    // The one-statement path matches nothing: the full path decides.
    d.tokens
        .expect_rotate_refresh_if()
        .returning(|_, _| Ok(None));
    d.tokens
        .expect_rotate_refresh()
        .times(1)
        .returning(move |_, intent, decide| {
            assert!(matches!(intent, RefreshIntent::Consume { .. }));
            Ok(match decide.decide(&state) {
                Some(write) => {
                    w.lock().unwrap().push(write);
                    RotateOutcome::Written
                }
                None => RotateOutcome::Declined,
            })
        });
    writes
}

fn granted(uris: &[&str]) -> RefreshTokenState {
    let mut state = refresh_state("app");
    state.grant.resources = set(uris);
    state
}

fn app_refresh(resources: &[&str]) -> TokenRequest {
    naming(
        resources,
        refresh_request(basic("app", SECRET), &presented_refresh(), None),
    )
}

#[test]
fn a_refresh_without_resource_gets_the_grants_resources() {
    let mut d = Doubles::new();
    let writes = rotating(&mut d, granted(&[API, FILES]));
    use_cases(d).token.respond(&app_refresh(&[])).unwrap();
    assert_eq!(writes.lock().unwrap()[0].access.audience, [API, FILES]);
}

#[test]
fn a_refresh_narrows_its_access_token_to_the_named_resources() {
    let mut d = Doubles::new();
    let writes = rotating(&mut d, granted(&[API, FILES]));
    let r = use_cases(d).token.respond(&app_refresh(&[FILES])).unwrap();
    let writes = writes.lock().unwrap();
    assert_eq!(writes[0].access.audience, [FILES]);
    // The grant (and so the successor) keeps both: the next refresh may name API again.
    assert!(writes[0].successor.is_some() && r.refresh_token.is_some());
}

#[test]
fn a_refresh_naming_a_resource_outside_the_grant_is_invalid_target_and_writes_nothing() {
    for grant_has in [&[API][..], &[]] {
        let mut d = Doubles::new();
        let writes = rotating(&mut d, granted(grant_has));
        d.tokens.expect_revoke_grant().never();
        let err = use_cases(d)
            .token
            .respond(&app_refresh(&[FILES]))
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidTarget(_)), "{err:?}");
        assert!(
            writes.lock().unwrap().is_empty(),
            "declined: nothing written"
        );
    }
}

#[test]
fn an_unregistered_resource_at_refresh_never_reaches_the_store() {
    let mut d = Doubles::new();
    d.tokens.expect_rotate_refresh().never();
    let err = use_cases(d)
        .token
        .respond(&app_refresh(&["https://other.example/"]))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidTarget(_)));
}

// ---- the authorization code flow ----------------------------------------------------------

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// Doubles with the client `web` (authorization_code, refresh_token; one redirect URI).
fn web_doubles() -> Doubles {
    let mut d = Doubles::new();
    d.clients = MockClientStore::new();
    d.clients.expect_find_client().returning(|id| {
        Ok((id.as_str() == "web").then(|| {
            let mut c = client("web", true);
            c.grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
            c.redirect_uris = vec![CB.into()];
            c
        }))
    });
    d
}

fn authorize_params(resources: &[&str]) -> AuthorizeParams {
    AuthorizeParams {
        response_type: Some("code".into()),
        client_id: Some("web".into()),
        redirect_uri: Some(CB.into()),
        scope: Some("read".into()),
        state: Some("st".into()),
        code_challenge: Some(CHALLENGE.into()),
        code_challenge_method: Some("S256".into()),
        resource: resources.iter().map(|r| (*r).to_owned()).collect(),
        ..AuthorizeParams::default()
    }
}

fn alice() -> User {
    User {
        id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        password: grantd_ports::SecretHash::from_stored("hash".into()),
        disabled: false,
        session_stamp: grantd_ports::SessionStamp::parse(STAMP).unwrap(),
        profile: Default::default(),
        created_at: 0,
    }
}

#[test]
fn an_authorization_request_naming_a_bad_resource_is_redirected_with_invalid_target() {
    for bad in [
        "https://other.example/",
        "relative",
        "https://api.example/#x",
    ] {
        let d = web_doubles();
        let authorize = use_cases(d).authorize;
        match authorize.check_authorization_request(&authorize_params(&[API, bad])) {
            Err(AuthorizeFailure::Invalid(AuthorizeError::Redirect(r))) => {
                assert_eq!(r.error, "invalid_target", "{bad}");
                assert_eq!(r.redirect_uri, CB);
                assert_eq!(r.state.as_deref(), Some("st"));
            }
            other => panic!("{bad}: expected an invalid_target redirect, got {other:?}"),
        }
    }
}

#[test]
fn the_code_carries_the_authorization_requests_resources() {
    let mut d = web_doubles();
    d.authorizations
        .expect_find_consent()
        .returning(|_, _| Ok(None));
    d.authorizations.expect_save_consent().returning(|_| Ok(()));
    let stored = Arc::new(Mutex::new(None));
    let s = stored.clone();
    d.authorizations
        .expect_insert_code()
        .times(1)
        .returning(move |code| {
            *s.lock().unwrap() = Some(code.clone());
            Ok(())
        });
    let authorize = use_cases(d).authorize;
    let request = authorize
        .check_authorization_request(&authorize_params(&[FILES, API]))
        .unwrap();
    assert_eq!(request.resources, set(&[API, FILES]));
    authorize
        .approve(&alice(), Some(NOW - 5), &request)
        .unwrap();
    let code = stored.lock().unwrap().clone().unwrap();
    assert_eq!(code.resources, set(&[API, FILES]));
}

fn code_for(resources: &[&str]) -> AuthorizationCodeRecord {
    AuthorizationCodeRecord {
        hash: TokenHash::of("c"),
        client_id: ClientId::parse("web").unwrap(),
        user_id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        redirect_uri: Some(CB.into()),
        scope: ScopeSet::parse("read").unwrap(),
        resources: set(resources),
        challenge: Some(grantd_ports::CodeChallenge {
            challenge: CHALLENGE.into(),
            method: grantd_ports::CodeChallengeMethod::S256,
        }),
        issued_at: NOW - 5,
        expires_at: NOW + 55,
        redeemed_at: None,
        grant_id: None,
        nonce: None,
        auth_time: None,
        dpop_jkt: None,
    }
}

/// A store whose redeem_code runs the decision against `stored` and keeps the issuance.
fn redeeming(d: &mut Doubles, stored: AuthorizationCodeRecord) -> Arc<Mutex<Vec<Issuance>>> {
    let writes = Arc::new(Mutex::new(Vec::new()));
    let w = writes.clone();
    d.authorizations
        .expect_redeem_code()
        .times(1)
        .returning(move |_, decide| {
            Ok(match decide.decide(&stored, Some(&alice())) {
                CodeWrite::Redeem(issuance) => {
                    w.lock().unwrap().push(*issuance);
                    RedeemOutcome::Redeemed
                }
                CodeWrite::Decline => RedeemOutcome::Declined,
            })
        });
    writes
}

fn exchange(resources: &[&str]) -> TokenRequest {
    TokenRequest {
        client: basic("web", SECRET),
        grant: GrantRequest::AuthorizationCode {
            code: TokenKind::AuthorizationCode
                .encode(&[3; 32])
                .expose()
                .to_owned(),
            redirect_uri: Some(CB.into()),
            code_verifier: Some(VERIFIER.into()),
        },
        source_address: SOURCE,
        resources: resources.iter().map(|r| (*r).to_owned()).collect(),
        arrived_at_ms: NOW_MS,
        dpop_proof: None,
    }
}

#[test]
fn the_exchange_gives_the_grant_the_codes_resources_and_may_narrow_its_token() {
    for (token_asks, audience) in [(&[][..], &[API, FILES][..]), (&[API], &[API])] {
        let mut d = web_doubles();
        let writes = redeeming(&mut d, code_for(&[API, FILES]));
        use_cases(d).token.respond(&exchange(token_asks)).unwrap();
        let issuance = writes.lock().unwrap().remove(0);
        assert_eq!(issuance.grant.resources, set(&[API, FILES]));
        assert_eq!(issuance.access.audience, audience, "{token_asks:?}");
    }
}

#[test]
fn an_exchange_naming_a_resource_the_code_lacks_is_invalid_target_and_redeems_nothing() {
    let mut d = web_doubles();
    let writes = redeeming(&mut d, code_for(&[API]));
    d.tokens.expect_revoke_grant().never();
    let err = use_cases(d).token.respond(&exchange(&[FILES])).unwrap_err();
    assert!(matches!(err, TokenError::InvalidTarget(_)), "{err:?}");
    assert!(writes.lock().unwrap().is_empty());
}

// ---- JWT access tokens and introspection ------------------------------------------------

/// JWT access tokens over one active key; the signer records the claims it signs.
fn jwt(signed: Arc<Mutex<Vec<AccessTokenClaims>>>) -> JwtAccessTokens {
    let mut keys = MockKeyStore::new();
    keys.expect_list_signing_keys().returning(|| {
        Ok(vec![SigningKey {
            kid: "k1".into(),
            algorithm: SigningAlgorithm::Rs256,
            public_jwk: "{}".into(),
            private_key: SealedPrivateKey::from_stored(vec![1; 40]),
            created_at: NOW - 100,
            activates_at: NOW - 100,
            retired_at: None,
            published_until: None,
        }])
    });
    let mut signer = MockTokenSigner::new();
    signer
        .expect_sign_access_token()
        .returning(move |_, claims| {
            signed.lock().unwrap().push(claims.clone());
            Ok("eyJh.eyJi.c2ln".into())
        });
    let mut clock = grantd_ports::MockClock::new();
    clock.expect_now().return_const(NOW);
    let ring = KeyRing::new(
        Arc::new(keys),
        Arc::new(signer),
        Arc::new(clock),
        KeySettings::default(),
    );
    JwtAccessTokens::new(
        ring,
        Arc::new(MockJwtVerifier::new()),
        JwtSettings {
            format: AccessTokenFormat::Jwt,
            issuer: "https://as.example".into(),
            default_audience: "https://default.example".into(),
            algorithms: vec![SigningAlgorithm::Rs256],
        },
    )
}

#[test]
fn a_jwts_aud_is_its_resources_else_the_default_and_is_recorded_as_its_audience() {
    for (asked, aud) in [
        (&[FILES, API][..], &[API, FILES][..]),
        (&[API], &[API]),
        (&[], &["https://default.example"]),
    ] {
        let mut d = Doubles::new().with_user(false);
        let issued = issued(&mut d);
        let signed = Arc::new(Mutex::new(Vec::new()));
        let token = use_cases(d).with_jwt(jwt(signed.clone())).token;
        token.respond(&alice_password(asked)).unwrap();
        let claims = signed.lock().unwrap().remove(0);
        assert_eq!(claims.aud, aud, "{asked:?}");
        assert_eq!(issued.lock().unwrap()[0].access.audience, aud, "{asked:?}");
    }
}

#[test]
fn introspection_reports_the_recorded_audience_and_a_refresh_tokens_grant_resources() {
    let token = TokenKind::Access.encode(&[4; 32]);
    let mut d = Doubles::new();
    let mut state = access_state("app", &token);
    state.token.audience = vec![API.into(), FILES.into()];
    d.tokens
        .expect_find_access_token()
        .returning(move |_| Ok(Some(state.clone())));
    d.tokens
        .expect_find_refresh_token()
        .returning(|_| Ok(Some(granted(&[FILES]))));
    let introspection = IntrospectEndpoint::new(d.ports(), Default::default());
    let mut rs = client("rs", true);
    rs.can_introspect = true;
    let access = introspection
        .introspect(&rs, token.expose())
        .unwrap()
        .unwrap();
    assert_eq!(access.aud, [API, FILES]);
    let refresh = introspection
        .introspect(&rs, &presented_refresh())
        .unwrap()
        .unwrap();
    assert_eq!(refresh.aud, [FILES]);
}
