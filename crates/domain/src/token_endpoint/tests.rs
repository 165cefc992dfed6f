//! Use-case tests over the mockall doubles: no database, no HTTP. Each asserts the
//! interactions that matter (what is written, what is revoked, what is never touched).

use std::sync::{Arc, Mutex};

use grantd_ports::{
    GrantId, RefreshIntent, RefreshWrite, RotateOutcome, ScopeSet, StoreError, TokenKind,
};

use crate::test_support::*;
use crate::{ClientAuthError, GrantRequest, ReusePolicy, TokenError, TokenRequest, TokenSettings};

fn password(
    client: Option<crate::ClientCredentials>,
    pw: &str,
    scope: Option<&str>,
) -> TokenRequest {
    TokenRequest {
        client,
        grant: GrantRequest::Password {
            username: "alice".into(),
            password: pw.into(),
            scope: scope.map(str::to_owned),
        },
    }
}

fn refresh(
    client: Option<crate::ClientCredentials>,
    token: &str,
    scope: Option<&str>,
) -> TokenRequest {
    TokenRequest {
        client,
        grant: GrantRequest::RefreshToken {
            refresh_token: token.into(),
            scope: scope.map(str::to_owned),
        },
    }
}

/// A token store whose rotate_refresh runs the decision against `state` and records writes,
/// checking each against the declared intent as the real store does.
fn rotating_store(
    d: &mut Doubles,
    state: grantd_ports::RefreshTokenState,
) -> Arc<Mutex<Vec<RefreshWrite>>> {
    let writes = Arc::new(Mutex::new(Vec::new()));
    let w = writes.clone();
    d.tokens
        .expect_rotate_refresh()
        .times(1)
        .returning(move |_, intent, decide| {
            Ok(match decide.decide(&state) {
                Some(write) => {
                    let expected = match intent {
                        RefreshIntent::Consume { at } => (true, at),
                        RefreshIntent::Keep => (false, write.access.issued_at),
                    };
                    assert_eq!((write.consume, write.access.issued_at), expected);
                    w.lock().unwrap().push(write);
                    RotateOutcome::Written
                }
                None => RotateOutcome::Declined,
            })
        });
    writes
}

#[test]
fn password_grant_issues_access_and_refresh_token_with_registered_scope() {
    let mut d = Doubles::new().with_user(false);
    d.tokens.expect_issue().times(1).returning(|i| {
        assert_eq!(i.grant.scope.to_delimited(), "read write");
        assert!(i.refresh.is_some());
        assert_eq!(i.access.expires_at, NOW + 3600);
        Ok(())
    });
    let r = d
        .service(TokenSettings::default())
        .token(&password(basic("app", SECRET), PASSWORD, None))
        .unwrap();
    assert!(TokenKind::Access.is_well_formed(r.access_token.expose()));
    assert!(TokenKind::Refresh.is_well_formed(r.refresh_token.unwrap().expose()));
    assert_eq!(r.expires_in, 3600);
}

#[test]
fn password_grant_narrows_to_requested_scope() {
    let mut d = Doubles::new().with_user(false);
    d.tokens.expect_issue().times(1).returning(|_| Ok(()));
    let r = d
        .service(TokenSettings::default())
        .token(&password(basic("app", SECRET), PASSWORD, Some("read")))
        .unwrap();
    assert_eq!(r.scope.to_delimited(), "read");
}

#[test]
fn wrong_password_is_invalid_grant_and_writes_nothing() {
    let mut d = Doubles::new().with_user(false);
    d.tokens.expect_issue().never();
    let err = d
        .service(TokenSettings::default())
        .token(&password(basic("app", SECRET), "nope", None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
}

#[test]
fn unknown_user_burns_a_verification_and_is_invalid_grant() {
    let mut d = Doubles::new();
    d.users
        .expect_find_user_by_username()
        .returning(|_| Ok(None));
    d.hasher
        .expect_burn_password_verification()
        .times(1)
        .return_const(());
    d.tokens.expect_issue().never();
    let err = d
        .service(TokenSettings::default())
        .token(&password(basic("app", SECRET), PASSWORD, None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
}

#[test]
fn disabled_user_is_invalid_grant() {
    let mut d = Doubles::new().with_user(true);
    d.tokens.expect_issue().never();
    let err = d
        .service(TokenSettings::default())
        .token(&password(basic("app", SECRET), PASSWORD, None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
}

#[test]
fn scope_beyond_the_client_is_invalid_scope_before_any_user_lookup() {
    let mut d = Doubles::new();
    d.users.expect_find_user_by_username().never();
    d.tokens.expect_issue().never();
    let err = d
        .service(TokenSettings::default())
        .token(&password(
            basic("app", SECRET),
            PASSWORD,
            Some("read admin"),
        ))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidScope(_)));
}

#[test]
fn client_without_the_grant_type_is_unauthorized_client() {
    let mut d = Doubles::new();
    d.users.expect_find_user_by_username().never();
    let err = d
        .service(TokenSettings::default())
        .token(&password(basic("narrow", SECRET), PASSWORD, None))
        .unwrap_err();
    assert!(matches!(err, TokenError::UnauthorizedClient(_)));
}

#[test]
fn client_authentication_failures_are_invalid_client() {
    let cases = [
        (
            "wrong secret",
            basic("app", "bad"),
            ClientAuthError::WrongSecret,
        ),
        (
            "unknown client",
            basic("ghost", SECRET),
            ClientAuthError::UnknownClient,
        ),
        (
            "confidential without secret",
            id_only("app"),
            ClientAuthError::SecretRequired,
        ),
        (
            "public with a secret",
            basic("public", "x"),
            ClientAuthError::UnexpectedSecret,
        ),
        ("no credentials", None, ClientAuthError::Missing),
    ];
    for (name, creds, why) in cases {
        let mut d = Doubles::new();
        d.users.expect_find_user_by_username().never();
        d.tokens.expect_issue().never();
        let err = d
            .service(TokenSettings::default())
            .token(&password(creds, PASSWORD, None))
            .unwrap_err();
        assert!(
            matches!(err, TokenError::InvalidClient(ref e) if *e == why),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn public_client_authenticates_by_id() {
    let mut d = Doubles::new().with_user(false);
    d.tokens.expect_issue().times(1).returning(|_| Ok(()));
    assert!(d
        .service(TokenSettings::default())
        .token(&password(id_only("public"), PASSWORD, None))
        .is_ok());
}

#[test]
fn rotation_consumes_the_token_and_issues_a_successor_with_the_full_scope() {
    let mut d = Doubles::new();
    let writes = rotating_store(&mut d, refresh_state("app"));
    let r = d
        .service(TokenSettings::default())
        .token(&refresh(
            basic("app", SECRET),
            &presented_refresh(),
            Some("read"),
        ))
        .unwrap();
    let writes = writes.lock().unwrap();
    let w = &writes[0];
    assert!(w.consume);
    assert_eq!(w.access.scope.to_delimited(), "read");
    assert_eq!(w.access.grant_id, GrantId::parse("g1").unwrap());
    let successor = w.successor.as_ref().unwrap();
    assert_eq!(
        Some(successor.hash),
        r.refresh_token.as_ref().map(|t| t.hash())
    );
    // A fresh idle lifetime, capped by the grant's absolute expiry (NOW + 5000 here).
    assert_eq!(
        successor.expires_at,
        (NOW + TokenSettings::default().refresh_token_lifetime).min(NOW + 5000)
    );
    assert_eq!(r.scope.to_delimited(), "read");
    assert!(
        w.sealed_response.is_none(),
        "no retry record without a grace period"
    );
}

#[test]
fn without_rotation_the_token_stays_and_no_refresh_token_is_returned() {
    let mut d = Doubles::new();
    let writes = rotating_store(&mut d, refresh_state("app"));
    let settings = TokenSettings {
        always_issue_new_refresh_token: false,
        ..TokenSettings::default()
    };
    let r = d
        .service(settings)
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap();
    let writes = writes.lock().unwrap();
    assert!(!writes[0].consume);
    assert!(writes[0].successor.is_none());
    assert!(r.refresh_token.is_none());
}

#[test]
fn reused_refresh_token_revokes_the_grant() {
    let mut d = Doubles::new();
    let mut state = refresh_state("app");
    state.token.consumed_at = Some(NOW - 1);
    let writes = rotating_store(&mut d, state);
    d.tokens
        .expect_revoke_grant()
        .withf(|id, now| id.as_str() == "g1" && *now == NOW)
        .times(1)
        .returning(|_, _| Ok(true));
    let err = d
        .service(TokenSettings::default())
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
    assert!(writes.lock().unwrap().is_empty());
}

#[test]
fn losing_a_concurrent_race_revokes_nothing() {
    let mut d = Doubles::new();
    let mut state = refresh_state("app");
    state.token.consumed_at = Some(NOW);
    rotating_store(&mut d, state);
    d.tokens.expect_revoke_grant().never();
    let err = d
        .service(TokenSettings::default())
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
}

#[test]
fn report_only_policy_refuses_reuse_but_revokes_nothing() {
    let mut d = Doubles::new();
    let mut state = refresh_state("app");
    state.token.consumed_at = Some(NOW - 1);
    rotating_store(&mut d, state);
    d.tokens.expect_revoke_grant().never();
    let settings = TokenSettings {
        refresh_token_reuse_policy: ReusePolicy::ReportOnly,
        ..TokenSettings::default()
    };
    let err = d
        .service(settings)
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
}

#[test]
fn refresh_token_of_another_client_is_invalid_grant_and_changes_nothing() {
    let mut d = Doubles::new();
    let writes = rotating_store(&mut d, refresh_state("public"));
    d.tokens.expect_revoke_grant().never();
    let err = d
        .service(TokenSettings::default())
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
    assert!(writes.lock().unwrap().is_empty());
}

#[test]
fn expired_refresh_token_is_invalid_grant() {
    let mut d = Doubles::new();
    let mut state = refresh_state("app");
    state.token.expires_at = NOW;
    rotating_store(&mut d, state);
    let err = d
        .service(TokenSettings::default())
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
}

#[test]
fn scope_beyond_the_grant_on_refresh_is_invalid_scope_and_writes_nothing() {
    let mut d = Doubles::new();
    let writes = rotating_store(&mut d, refresh_state("app"));
    let err = d
        .service(TokenSettings::default())
        .token(&refresh(
            basic("app", SECRET),
            &presented_refresh(),
            Some("read admin"),
        ))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidScope(_)));
    assert!(writes.lock().unwrap().is_empty());
}

#[test]
fn unknown_or_malformed_refresh_token_is_invalid_grant() {
    let mut d = Doubles::new();
    d.tokens
        .expect_rotate_refresh()
        .times(1)
        .returning(|_, _, _| Ok(RotateOutcome::NotFound));
    let service = d.service(TokenSettings::default());
    let err = service
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
    // Malformed: the store is never asked (times(1) above would fail otherwise).
    let err = service
        .token(&refresh(basic("app", SECRET), "not-a-token", None))
        .unwrap_err();
    assert!(matches!(err, TokenError::InvalidGrant(_)));
}

#[test]
fn client_not_allowed_refresh_is_unauthorized_client_without_touching_tokens() {
    let mut d = Doubles::new();
    d.tokens.expect_rotate_refresh().never();
    let err = d
        .service(TokenSettings::default())
        .token(&refresh(
            basic("narrow", SECRET),
            &presented_refresh(),
            None,
        ))
        .unwrap_err();
    assert!(matches!(err, TokenError::UnauthorizedClient(_)));
}

#[test]
fn refreshed_tokens_never_outlive_the_grant_cap() {
    let mut d = Doubles::new();
    let mut state = refresh_state("app");
    state.grant.expires_at = Some(NOW + 100);
    let writes = rotating_store(&mut d, state);
    let r = d
        .service(TokenSettings::default())
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap();
    assert_eq!(r.expires_in, 100);
    assert_eq!(
        writes.lock().unwrap()[0]
            .successor
            .as_ref()
            .unwrap()
            .expires_at,
        NOW + 100
    );
}

#[test]
fn retry_within_grace_period_gets_the_identical_response() {
    let settings = TokenSettings {
        refresh_token_reuse_grace_period: 30,
        ..TokenSettings::default()
    };
    // First rotation: the sealed response is written with the consume.
    let mut d = Doubles::new();
    let writes = rotating_store(&mut d, refresh_state("app"));
    let first = d
        .service(settings.clone())
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap();
    let sealed = writes.lock().unwrap()[0]
        .sealed_response
        .clone()
        .expect("sealed retry record");

    // The retry sees the token consumed, with that record: same response, nothing minted or written.
    let mut d = Doubles::new();
    let mut state = refresh_state("app");
    state.token.consumed_at = Some(NOW - 5);
    state.token.sealed_response = Some(sealed);
    let writes = rotating_store(&mut d, state);
    d.tokens.expect_revoke_grant().never();
    let retry = d
        .service(settings)
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap();
    assert_eq!(retry, first);
    assert!(writes.lock().unwrap().is_empty());
}

#[test]
fn client_credentials_issue_no_refresh_token() {
    let mut d = Doubles::new();
    d.tokens.expect_issue().times(1).returning(|i| {
        assert!(i.refresh.is_none());
        assert_eq!(i.grant.subject, grantd_ports::Subject::Client);
        Ok(())
    });
    let req = TokenRequest {
        client: basic("app", SECRET),
        grant: GrantRequest::ClientCredentials { scope: None },
    };
    let r = d.service(TokenSettings::default()).token(&req).unwrap();
    assert!(r.refresh_token.is_none());
}

#[test]
fn client_credentials_refused_to_public_clients() {
    let mut d = Doubles::new();
    d.tokens.expect_issue().never();
    let req = TokenRequest {
        client: id_only("public"),
        grant: GrantRequest::ClientCredentials { scope: None },
    };
    assert!(matches!(
        d.service(TokenSettings::default()).token(&req).unwrap_err(),
        TokenError::UnauthorizedClient(_)
    ));
}

#[test]
fn storage_outage_is_a_store_error_not_invalid_grant() {
    let mut d = Doubles::new();
    d.tokens
        .expect_rotate_refresh()
        .returning(|_, _, _| Err(StoreError::Unavailable("pool timeout".into())));
    let err = d
        .service(TokenSettings::default())
        .token(&refresh(basic("app", SECRET), &presented_refresh(), None))
        .unwrap_err();
    assert!(matches!(err, TokenError::Store(StoreError::Unavailable(_))));
}

#[test]
fn bearer_check_accepts_live_tokens_only() {
    use grantd_ports::{AccessToken, AccessTokenState, PlainToken};
    let live = TokenKind::Access.encode(&[5; 32]);
    let state = |expires_at, revoked_at| {
        let s = refresh_state("app");
        AccessTokenState {
            token: AccessToken {
                hash: live.hash(),
                grant_id: s.grant.id.clone(),
                scope: ScopeSet::parse("read").unwrap(),
                issued_at: NOW - 10,
                expires_at,
                revoked_at,
            },
            grant: s.grant,
        }
    };
    let cases = [
        (NOW + 10, None, true),
        (NOW, None, false),
        (NOW + 10, Some(NOW - 1), false),
    ];
    for (expires_at, revoked_at, active) in cases {
        let mut d = Doubles::new();
        let st = state(expires_at, revoked_at);
        d.tokens
            .expect_find_access_token()
            .returning(move |_| Ok(Some(st.clone())));
        let service = d.service(TokenSettings::default());
        assert_eq!(service.check_access_token(live.expose()).is_ok(), active);
    }
    let mut d = Doubles::new();
    d.tokens.expect_find_access_token().never();
    let service = d.service(TokenSettings::default());
    assert!(service
        .check_access_token(PlainToken::from_presented("junk").expose())
        .is_err());
}

#[test]
fn per_client_lifetimes_override_the_global_ones() {
    let mut d = Doubles::new().with_user(false);
    d.clients.checkpoint();
    d.clients.expect_find_client().returning(|_| {
        let mut c = client("app", true);
        c.lifetimes = grantd_ports::LifetimeOverrides {
            access_token: Some(60),
            refresh_token: Some(600),
            refresh_token_max: Some(0),
        };
        Ok(Some(c))
    });
    d.tokens.expect_issue().times(1).returning(|i| {
        assert_eq!(i.access.expires_at, NOW + 60);
        assert_eq!(i.refresh.as_ref().unwrap().expires_at, NOW + 600);
        assert_eq!(i.grant.expires_at, None, "0 = no absolute cap");
        Ok(())
    });
    let r = d
        .service(TokenSettings::default())
        .token(&password(basic("app", SECRET), PASSWORD, None))
        .unwrap();
    assert_eq!(r.expires_in, 60);
}
