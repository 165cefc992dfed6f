//! Tests of the RP-initiated logout rules (pure tables) and of `LogoutEndpoint` over the
//! mockall doubles: when a session ends at once, when the user is asked, and that the
//! browser is only ever sent to a registered address.

use std::sync::Arc;

use grantd_ports::{
    IdTokenClaims, JwtRejected, MockClientStore, MockClock, MockJwtVerifier, MockKeyStore,
    MockTokenSigner, SessionStamp, SigningAlgorithm, Username,
};

use super::*;
use crate::jwt_access::{AccessTokenFormat, JwtSettings};
use crate::test_support::{client, Doubles, NOW, STAMP};
use crate::{KeyRing, KeySettings, TokenSettings};

const BACK: &str = "https://app.example/signed-out";

fn app() -> Client {
    let mut c = client("app", true);
    c.name = "The App".into();
    c.post_logout_redirect_uris = vec![BACK.into(), "https://app.example/bye?x=1".into()];
    c
}

#[test]
fn the_named_client_is_the_hints_audience_or_client_id_and_both_must_agree() {
    assert_eq!(named_client(None, None).unwrap(), None);
    assert_eq!(named_client(Some("app"), None).unwrap(), Some("app"));
    assert_eq!(named_client(None, Some("app")).unwrap(), Some("app"));
    assert_eq!(named_client(Some("app"), Some("app")).unwrap(), Some("app"));
    assert!(matches!(
        named_client(Some("app"), Some("other")),
        Err(LogoutError::ClientMismatch)
    ));
}

#[test]
fn only_an_exactly_registered_address_is_a_redirect() {
    let app = app();
    assert_eq!(post_logout(Some(&app), None, Some("s")), PostLogout::Stay);
    assert_eq!(
        post_logout(Some(&app), Some(BACK), Some("s1")),
        PostLogout::Redirect {
            uri: BACK.into(),
            state: Some("s1".into())
        }
    );
    assert_eq!(
        post_logout(Some(&app), Some("https://app.example/bye?x=1"), None),
        PostLogout::Redirect {
            uri: "https://app.example/bye?x=1".into(),
            state: None
        }
    );
    for near_miss in [
        "https://app.example/signed-out/",
        "https://APP.example/signed-out",
        "https://app.example/signed-out?x=1",
        "https://app.example/signed-out#f",
        "https://evil.example/",
        "//evil.example",
    ] {
        assert_eq!(
            post_logout(Some(&app), Some(near_miss), None),
            PostLogout::Refused,
            "{near_miss}"
        );
    }
    // No client named: no address is registered for nobody.
    assert_eq!(post_logout(None, Some(BACK), None), PostLogout::Refused);
    // A client registered for redirect URIs only.
    let mut plain = app.clone();
    plain.post_logout_redirect_uris.clear();
    plain.redirect_uris = vec![BACK.into()];
    assert_eq!(
        post_logout(Some(&plain), Some(BACK), None),
        PostLogout::Refused,
        "a redirect URI is not a post-logout redirect URI"
    );
}

#[test]
fn a_session_ends_at_once_only_for_a_hint_naming_its_user() {
    let u1 = UserId::parse("u1").unwrap();
    use SessionAction::*;
    let cases = [
        (None, None, NothingToEnd),
        (None, Some("u1"), NothingToEnd),
        (Some(&u1), Some("u1"), EndNow),
        (Some(&u1), Some("u2"), Confirm),
        (Some(&u1), None, Confirm),
        // The username is not the subject.
        (Some(&u1), Some("alice"), Confirm),
    ];
    for (user, sub, expected) in cases {
        assert_eq!(session_action(user, sub), expected, "{user:?} {sub:?}");
    }
}

fn id_token(sub: &str, aud: &str) -> IdTokenClaims {
    IdTokenClaims {
        iss: "https://as.example".into(),
        sub: sub.into(),
        aud: aud.into(),
        iat: NOW - 7200,
        exp: NOW - 3600,
        auth_time: None,
        nonce: None,
        at_hash: None,
        amr: vec!["pwd".into()],
        name: None,
        preferred_username: None,
        email: None,
        email_verified: None,
    }
}

/// JWT support over doubles: no keys in the store (the verifier double decides), and a
/// verifier that knows three hints: alice's and bob's id tokens for `app`, and alice's
/// for `other`. Anything else does not verify.
fn jwt() -> JwtAccessTokens {
    let mut keys = MockKeyStore::new();
    keys.expect_list_signing_keys().returning(|| Ok(vec![]));
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    let ring = KeyRing::new(
        Arc::new(keys),
        Arc::new(MockTokenSigner::new()),
        Arc::new(clock),
        KeySettings::default(),
    );
    let mut verifier = MockJwtVerifier::new();
    verifier
        .expect_verify_id_token_hint()
        .returning(|token, _, expected| {
            assert_eq!(expected.issuer, "https://as.example");
            match token {
                "alice-app" => Ok(id_token("u1", "app")),
                "bob-app" => Ok(id_token("u2", "app")),
                "alice-other" => Ok(id_token("u1", "other")),
                _ => Err(JwtRejected::Signature),
            }
        });
    JwtAccessTokens::new(
        ring,
        Arc::new(verifier),
        JwtSettings {
            format: AccessTokenFormat::Opaque,
            issuer: "https://as.example".into(),
            default_audience: String::new(),
            algorithms: vec![SigningAlgorithm::Rs256],
        },
    )
}

/// Alice (u1) signed in; `app` registered with [`BACK`]; `ends` = how many times her
/// session stamp may be replaced.
fn logout(ends: usize) -> LogoutEndpoint {
    let mut d = Doubles::new().with_user(false);
    d.clients = MockClientStore::new();
    d.clients
        .expect_find_client()
        .returning(|id| Ok((id.as_str() == "app").then(app)));
    d.users
        .expect_set_session_stamp()
        .times(ends)
        .returning(|id, stamp| {
            assert_eq!(id.as_str(), "u1");
            assert_ne!(stamp.as_str(), STAMP);
            Ok(true)
        });
    d.use_cases(TokenSettings::default()).with_jwt(jwt()).logout
}

fn alice_session() -> SessionClaim {
    SessionClaim {
        user_id: UserId::parse("u1").unwrap(),
        username: Username::parse("alice").unwrap(),
        stamp: SessionStamp::parse(STAMP).unwrap(),
        auth_time: None,
    }
}

fn request(hint: Option<&str>, uri: Option<&str>, client_id: Option<&str>) -> LogoutRequest {
    LogoutRequest {
        id_token_hint: hint.map(str::to_owned),
        post_logout_redirect_uri: uri.map(str::to_owned),
        state: Some("st".into()),
        client_id: client_id.map(str::to_owned),
    }
}

#[test]
fn a_hint_for_the_sessions_user_ends_it_and_redirects_to_a_registered_address() {
    let outcome = logout(1)
        .request(
            &request(Some("alice-app"), Some(BACK), None),
            Some(&alice_session()),
        )
        .unwrap();
    assert_eq!(
        outcome,
        LogoutOutcome::SignedOut {
            ended: true,
            then: PostLogout::Redirect {
                uri: BACK.into(),
                state: Some("st".into())
            }
        }
    );
}

#[test]
fn an_unregistered_address_is_never_followed() {
    let outcome = logout(1)
        .request(
            &request(Some("alice-app"), Some("https://evil.example/"), None),
            Some(&alice_session()),
        )
        .unwrap();
    assert_eq!(
        outcome,
        LogoutOutcome::SignedOut {
            ended: true,
            then: PostLogout::Refused
        }
    );
    // The hint names `other`, which registered nothing (here: does not exist).
    let outcome = logout(1)
        .request(
            &request(Some("alice-other"), Some(BACK), None),
            Some(&alice_session()),
        )
        .unwrap();
    assert!(matches!(
        outcome,
        LogoutOutcome::SignedOut {
            then: PostLogout::Refused,
            ..
        }
    ));
}

#[test]
fn without_a_hint_for_the_sessions_user_the_user_is_asked_and_nothing_ends() {
    for hint in [Some("bob-app"), None] {
        let outcome = logout(0)
            .request(
                &request(hint, Some(BACK), Some("app")),
                Some(&alice_session()),
            )
            .unwrap();
        assert_eq!(
            outcome,
            LogoutOutcome::Confirm {
                username: "alice".into(),
                client: Some((ClientId::parse("app").unwrap(), "The App".into())),
                then: PostLogout::Redirect {
                    uri: BACK.into(),
                    state: Some("st".into())
                }
            },
            "{hint:?}"
        );
    }
}

#[test]
fn a_bad_hint_or_a_mismatched_client_is_refused_and_nothing_ends() {
    for (hint, client_id) in [
        ("tampered", None),
        ("alice-app", Some("other")),
        ("alice-app", Some("not a client id")),
    ] {
        let result = logout(0).request(
            &request(Some(hint), Some(BACK), client_id),
            Some(&alice_session()),
        );
        assert!(result.is_err(), "{hint} {client_id:?}");
    }
    assert!(matches!(
        logout(0).request(&request(Some("tampered"), None, None), None),
        Err(LogoutError::InvalidHint)
    ));
    // Without signing keys no hint can be ours.
    let mut d = Doubles::new().with_user(false);
    d.users.expect_set_session_stamp().never();
    let no_keys = d.use_cases(TokenSettings::default()).logout;
    assert!(matches!(
        no_keys.request(
            &request(Some("alice-app"), None, None),
            Some(&alice_session())
        ),
        Err(LogoutError::InvalidHint)
    ));
}

#[test]
fn without_a_live_session_there_is_nothing_to_end_but_the_redirect_stands() {
    let outcome = logout(0)
        .request(&request(None, Some(BACK), Some("app")), None)
        .unwrap();
    assert_eq!(
        outcome,
        LogoutOutcome::SignedOut {
            ended: false,
            then: PostLogout::Redirect {
                uri: BACK.into(),
                state: Some("st".into())
            }
        }
    );
    // A session whose stamp was replaced (signed out elsewhere) is no session.
    let stale = SessionClaim {
        stamp: SessionStamp::parse("stamp-before").unwrap(),
        ..alice_session()
    };
    let outcome = logout(0)
        .request(&request(Some("bob-app"), None, None), Some(&stale))
        .unwrap();
    assert_eq!(
        outcome,
        LogoutOutcome::SignedOut {
            ended: false,
            then: PostLogout::Stay
        }
    );
}

#[test]
fn the_confirmation_ends_the_session_and_checks_the_address_again() {
    let outcome = logout(1)
        .confirm(Some(&alice_session()), Some("app"), Some(BACK), Some("st"))
        .unwrap();
    assert_eq!(
        outcome,
        LogoutOutcome::SignedOut {
            ended: true,
            then: PostLogout::Redirect {
                uri: BACK.into(),
                state: Some("st".into())
            }
        }
    );
    let forged = logout(1)
        .confirm(
            Some(&alice_session()),
            Some("app"),
            Some("https://evil.example/"),
            None,
        )
        .unwrap();
    assert_eq!(
        forged,
        LogoutOutcome::SignedOut {
            ended: true,
            then: PostLogout::Refused
        }
    );
    let nobody = logout(0).confirm(None, None, None, None).unwrap();
    assert_eq!(
        nobody,
        LogoutOutcome::SignedOut {
            ended: false,
            then: PostLogout::Stay
        }
    );
}
