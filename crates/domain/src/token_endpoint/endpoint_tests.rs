//! Tests of brute-force limits, revocation and introspection over the mockall doubles.

use grantd_ports::{AccessToken, AccessTokenState, StoreError, TokenKind};

use crate::test_support::*;
use crate::{
    AttemptLimit, ClientAuthError, GrantRequest, RevokeError, TokenError, TokenRequest,
    TokenSettings, TokenTypeHint,
};

fn password(client: Option<crate::ClientCredentials>, username: &str, pw: &str) -> TokenRequest {
    TokenRequest {
        client,
        grant: GrantRequest::Password {
            username: username.into(),
            password: pw.into(),
            scope: None,
        },
    }
}

const LIMIT: AttemptLimit = AttemptLimit {
    max_failures: 3,
    window_secs: 60,
};

#[test]
fn failed_passwords_per_username_hit_the_limit_and_others_are_unaffected() {
    let mut d = Doubles::new().with_user(false);
    d.users
        .expect_find_user_by_username()
        .returning(|_| Ok(None));
    d.hasher
        .expect_burn_password_verification()
        .return_const(());
    d.tokens.expect_issue().never();
    let service = d
        .service(TokenSettings::default())
        .with_attempt_limits(LIMIT, LIMIT);
    for _ in 0..3 {
        assert!(matches!(
            service
                .token(&password(basic("app", SECRET), "alice", "bad"))
                .unwrap_err(),
            TokenError::InvalidGrant(_)
        ));
    }
    // Even the right password waits now: that is what stops a guesser.
    let err = service
        .token(&password(basic("app", SECRET), "alice", PASSWORD))
        .unwrap_err();
    assert!(
        matches!(err, TokenError::TooManyAttempts { retry_after } if retry_after > 0 && retry_after <= 60),
        "{err:?}"
    );
    // Another username is unaffected (bob is unknown: invalid_grant, not 429).
    assert!(matches!(
        service
            .token(&password(basic("app", SECRET), "bob", "x"))
            .unwrap_err(),
        TokenError::InvalidGrant(_)
    ));
}

#[test]
fn successful_logins_do_not_count() {
    let mut d = Doubles::new().with_user(false);
    d.tokens.expect_issue().returning(|_| Ok(()));
    let service = d
        .service(TokenSettings::default())
        .with_attempt_limits(LIMIT, LIMIT);
    for _ in 0..5 {
        assert!(service
            .token(&password(basic("app", SECRET), "alice", PASSWORD))
            .is_ok());
    }
}

#[test]
fn failed_client_secrets_per_client_id_hit_the_limit() {
    let d = Doubles::new();
    let service = d
        .service(TokenSettings::default())
        .with_attempt_limits(LIMIT, LIMIT);
    for _ in 0..3 {
        assert!(matches!(
            service
                .token(&password(basic("app", "bad"), "alice", PASSWORD))
                .unwrap_err(),
            TokenError::InvalidClient(ClientAuthError::WrongSecret)
        ));
    }
    let err = service
        .token(&password(basic("app", SECRET), "alice", PASSWORD))
        .unwrap_err();
    assert!(
        matches!(
            err,
            TokenError::InvalidClient(ClientAuthError::TooManyAttempts { .. })
        ),
        "{err:?}"
    );
    // Another client id is unaffected.
    let err = service
        .token(&password(basic("narrow", SECRET), "alice", PASSWORD))
        .unwrap_err();
    assert!(matches!(err, TokenError::UnauthorizedClient(_)));
}

fn access_state(client_id: &str, presented: &grantd_ports::PlainToken) -> AccessTokenState {
    let s = refresh_state(client_id);
    AccessTokenState {
        token: AccessToken {
            hash: presented.hash(),
            grant_id: s.grant.id.clone(),
            scope: s.grant.scope.clone(),
            issued_at: NOW - 1,
            expires_at: NOW + 100,
            revoked_at: None,
        },
        grant: s.grant,
    }
}

#[test]
fn revoking_a_refresh_token_revokes_its_grant() {
    let mut d = Doubles::new();
    d.tokens
        .expect_find_refresh_token()
        .returning(|_| Ok(Some(refresh_state("app"))));
    d.tokens
        .expect_revoke_grant()
        .withf(|id, _| id.as_str() == "g1")
        .times(1)
        .returning(|_, _| Ok(true));
    let service = d.service(TokenSettings::default());
    service
        .revoke(&client("app", true), &presented_refresh(), None)
        .unwrap();
}

#[test]
fn revoking_another_clients_token_changes_nothing() {
    let mut d = Doubles::new();
    d.tokens
        .expect_find_refresh_token()
        .returning(|_| Ok(Some(refresh_state("public"))));
    d.tokens.expect_revoke_grant().never();
    let service = d.service(TokenSettings::default());
    // The hint says access_token; the token's own shape wins, and it still answers Ok.
    service
        .revoke(
            &client("app", true),
            &presented_refresh(),
            Some(TokenTypeHint::AccessToken),
        )
        .unwrap();
}

#[test]
fn revoking_an_access_token_revokes_only_it() {
    let token = TokenKind::Access.encode(&[4; 32]);
    let mut d = Doubles::new();
    let state = access_state("app", &token);
    d.tokens
        .expect_find_access_token()
        .returning(move |_| Ok(Some(state.clone())));
    d.tokens
        .expect_revoke_access_token()
        .times(1)
        .returning(|_, _| Ok(true));
    d.tokens.expect_revoke_grant().never();
    d.service(TokenSettings::default())
        .revoke(&client("app", true), token.expose(), None)
        .unwrap();
}

#[test]
fn revoking_unknown_tokens_is_ok_and_codes_are_unsupported() {
    let mut d = Doubles::new();
    d.tokens.expect_find_refresh_token().returning(|_| Ok(None));
    d.tokens.expect_find_access_token().returning(|_| Ok(None));
    let service = d.service(TokenSettings::default());
    assert!(service
        .revoke(&client("app", true), "whatever", None)
        .is_ok());
    let code = TokenKind::AuthorizationCode.encode(&[1; 32]);
    assert!(matches!(
        service.revoke(&client("app", true), code.expose(), None),
        Err(RevokeError::UnsupportedTokenType)
    ));
}

#[test]
fn revocation_storage_failure_is_an_error_not_success() {
    let mut d = Doubles::new();
    d.tokens
        .expect_find_refresh_token()
        .returning(|_| Err(StoreError::Unavailable("down".into())));
    let err = d
        .service(TokenSettings::default())
        .revoke(&client("app", true), &presented_refresh(), None)
        .unwrap_err();
    assert!(matches!(
        err,
        RevokeError::Store(StoreError::Unavailable(_))
    ));
}

#[test]
fn introspection_needs_the_right_and_reports_only_active_tokens() {
    let token = TokenKind::Access.encode(&[4; 32]);
    let mut d = Doubles::new();
    let state = access_state("app", &token);
    d.tokens
        .expect_find_access_token()
        .returning(move |_| Ok(Some(state.clone())));
    let mut consumed = refresh_state("app");
    consumed.token.consumed_at = Some(NOW - 1);
    d.tokens
        .expect_find_refresh_token()
        .returning(move |_| Ok(Some(consumed.clone())));
    let service = d.service(TokenSettings::default());

    assert!(matches!(
        service.introspect(&client("app", true), token.expose()),
        Err(crate::IntrospectError::NotAllowed)
    ));
    let mut rs = client("rs", true);
    rs.can_introspect = true;
    let active = service.introspect(&rs, token.expose()).unwrap().unwrap();
    assert_eq!(
        (active.token_type, active.client_id.as_str()),
        ("Bearer", "app")
    );
    assert!(
        service
            .introspect(&rs, &presented_refresh())
            .unwrap()
            .is_none(),
        "consumed = inactive"
    );
    assert!(service.introspect(&rs, "junk").unwrap().is_none());
}
