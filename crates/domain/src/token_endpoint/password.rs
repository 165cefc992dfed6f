//! The resource owner password credentials grant (RFC 6749 §4.3). RFC 9700 §2.4 says not to
//! use it; grantd keeps it for existing clients, only for clients registered with it, and
//! limits failed attempts (§4.3.2: "MUST protect the endpoint against brute force
//! attacks") with the login page's budgets (`user_auth`, `attempts`).

use std::net::IpAddr;

use grantd_ports::{Client, ResourceSet, Subject};

use crate::id_token::Authentication;
use crate::resource_indicators::Targets;
use crate::{scope_rules, LoginError, TokenError, TokenResponse};

use super::TokenEndpoint;

impl TokenEndpoint {
    pub(super) fn password_grant(
        &self,
        client: &Client,
        username: &str,
        password: &str,
        scope: Option<&str>,
        resources: &ResourceSet,
        source: IpAddr,
    ) -> Result<TokenResponse, TokenError> {
        let requested = scope_rules::parse_requested(scope)?;
        // §3.3: omitted = the client's default scopes; never an unregistered one.
        let scope = scope_rules::for_new_grant(
            requested,
            client,
            &self.scopes,
            scope_rules::GrantFlow::ForUser,
        )?;
        self.openid_available(&scope)?;
        let user = self
            .users
            .authenticate(username, password, source)
            .map_err(|e| match e {
                // One message for every failure.
                LoginError::BadCredentials => {
                    TokenError::InvalidGrant("invalid username or password")
                }
                LoginError::TooManyAttempts { retry_after } => {
                    TokenError::TooManyAttempts { retry_after }
                }
                LoginError::Busy(e) => TokenError::Busy(e),
                LoginError::Store(e) => TokenError::Store(e),
            })?;
        self.issue_new_grant(
            client,
            Subject::User {
                id: user.id,
                username: user.username,
            },
            scope,
            Targets::all(resources.clone()),
            // The user authenticated with this very request.
            &Authentication {
                auth_time: Some(self.ports.clock.now()),
                nonce: None,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::*;
    use crate::{TokenError, TokenSettings};
    use grantd_ports::TokenKind;

    fn alice(pw: &str, scope: Option<&str>) -> crate::TokenRequest {
        password_request(basic("app", SECRET), "alice", pw, scope)
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
        let r = d.token().respond(&alice(PASSWORD, None)).unwrap();
        assert!(TokenKind::Access.is_well_formed(r.access_token.expose()));
        assert!(TokenKind::Refresh.is_well_formed(r.refresh_token.unwrap().expose()));
        assert_eq!(r.expires_in, 3600);
    }

    #[test]
    fn password_grant_narrows_to_requested_scope() {
        let mut d = Doubles::new().with_user(false);
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        let r = d.token().respond(&alice(PASSWORD, Some("read"))).unwrap();
        assert_eq!(r.scope.to_delimited(), "read");
    }

    /// `app` registered for `scopes`, with `own` default scopes.
    fn app_with_scopes(d: &mut Doubles, scopes: &'static str, own: Option<&'static str>) {
        d.clients.checkpoint();
        d.clients.expect_find_client().returning(move |_| {
            let mut c = client("app", true);
            c.scopes = grantd_ports::ScopeSet::parse(scopes).unwrap();
            c.default_scopes = own.map(|o| grantd_ports::ScopeSet::parse(o).unwrap());
            Ok(Some(c))
        });
    }

    #[test]
    fn an_omitted_scope_gets_the_registrys_defaults_not_every_scope_of_the_client() {
        // The requests-oauthlib case: a client registered for `read write profile` that
        // sends no scope must get `read write`, and the response must say so.
        let mut d = Doubles::new().with_user(false);
        app_with_scopes(&mut d, "read write profile", None);
        d.tokens.expect_issue().times(1).returning(|i| {
            assert_eq!(i.grant.scope.to_delimited(), "read write");
            assert_eq!(i.access.scope.to_delimited(), "read write");
            Ok(())
        });
        let r = d.token().respond(&alice(PASSWORD, None)).unwrap();
        assert_eq!(r.scope.to_delimited(), "read write");
    }

    #[test]
    fn an_omitted_scope_gets_the_clients_own_defaults_first() {
        let mut d = Doubles::new().with_user(false);
        app_with_scopes(&mut d, "read write profile", Some("profile"));
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        let r = d.token().respond(&alice(PASSWORD, None)).unwrap();
        assert_eq!(r.scope.to_delimited(), "profile");
        // A requested scope still wins over any default.
        let mut d = Doubles::new().with_user(false);
        app_with_scopes(&mut d, "read write profile", Some("profile"));
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        let r = d.token().respond(&alice(PASSWORD, Some("write"))).unwrap();
        assert_eq!(r.scope.to_delimited(), "write");
    }

    #[test]
    fn an_omitted_scope_without_any_default_is_invalid_scope_before_any_user_lookup() {
        // RFC 6749 §3.3: no default, so "fail the request indicating an invalid scope".
        for (scopes, own) in [("profile", None), ("read write", Some(""))] {
            let mut d = Doubles::new();
            app_with_scopes(&mut d, scopes, own);
            d.users.expect_find_user_by_username().never();
            d.tokens.expect_issue().never();
            let err = d.token().respond(&alice(PASSWORD, None)).unwrap_err();
            assert!(
                matches!(err, TokenError::InvalidScope(ref m) if m.contains("no default scope")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn a_scope_no_longer_registered_is_never_issued() {
        let mut d = Doubles::new().with_user(false);
        app_with_scopes(&mut d, "read legacy", Some("read legacy"));
        d.tokens.expect_issue().times(1).returning(|i| {
            assert_eq!(i.grant.scope.to_delimited(), "read");
            Ok(())
        });
        assert_eq!(
            d.token()
                .respond(&alice(PASSWORD, None))
                .unwrap()
                .scope
                .to_delimited(),
            "read"
        );
        let mut d = Doubles::new();
        app_with_scopes(&mut d, "read legacy", None);
        d.tokens.expect_issue().never();
        let err = d
            .token()
            .respond(&alice(PASSWORD, Some("legacy")))
            .unwrap_err();
        assert!(
            matches!(err, TokenError::InvalidScope(ref m) if m.contains("unknown: legacy")),
            "{err:?}"
        );
    }

    #[test]
    fn wrong_password_is_invalid_grant_and_writes_nothing() {
        let mut d = Doubles::new().with_user(false);
        d.tokens.expect_issue().never();
        let err = d.token().respond(&alice("nope", None)).unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
    }

    #[test]
    fn a_password_over_72_bytes_is_refused_unhashed_and_counts_as_a_failure() {
        // bcrypt would read only its first 72 bytes; the rule refuses it before any lookup.
        let mut d = Doubles::new();
        d.users.expect_find_user_by_username().never();
        d.hasher = grantd_ports::MockSecretHasher::new();
        d.hasher.expect_verify().never();
        d.hasher.expect_burn_password_verification().never();
        d.tokens.expect_issue().never();
        let token = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(1))
            .token;
        // A public client: no secret to hash, so the hasher sees passwords only.
        let long = format!("{PASSWORD}{}", "x".repeat(72 - PASSWORD.len() + 1));
        assert_eq!(long.len(), 73);
        let public = |pw: &str| password_request(id_only("public"), "alice", pw, None);
        for _ in 0..1 {
            assert!(matches!(
                token.respond(&public(&long)).unwrap_err(),
                TokenError::InvalidGrant(_)
            ));
        }
        // Counted: the username is at its limit now, even for the right password.
        assert!(matches!(
            token.respond(&public(PASSWORD)).unwrap_err(),
            TokenError::TooManyAttempts { .. }
        ));
    }

    #[test]
    fn a_password_of_exactly_72_bytes_is_checked() {
        let mut d = Doubles::new();
        let exact = "p".repeat(72);
        let stored = exact.clone();
        d.users.expect_find_user_by_username().returning(move |_| {
            Ok(Some(grantd_ports::User {
                id: grantd_ports::UserId::parse("u1").unwrap(),
                username: grantd_ports::Username::parse("alice").unwrap(),
                password: grantd_ports::SecretHash::from_stored(format!("hash:{stored}")),
                disabled: false,
                created_at: 0,
                session_stamp: grantd_ports::SessionStamp::parse(STAMP).unwrap(),
                profile: Default::default(),
            }))
        });
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        let request = password_request(id_only("public"), "alice", &exact, None);
        assert!(d.token().respond(&request).is_ok());
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
        let err = d.token().respond(&alice(PASSWORD, None)).unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
    }

    #[test]
    fn disabled_user_is_invalid_grant() {
        let mut d = Doubles::new().with_user(true);
        d.tokens.expect_issue().never();
        let err = d.token().respond(&alice(PASSWORD, None)).unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
    }

    #[test]
    fn scope_beyond_the_client_is_invalid_scope_before_any_user_lookup() {
        let mut d = Doubles::new();
        d.users.expect_find_user_by_username().never();
        d.tokens.expect_issue().never();
        let err = d
            .token()
            .respond(&alice(PASSWORD, Some("read admin")))
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidScope(_)));
    }

    #[test]
    fn failed_passwords_per_username_and_source_hit_the_limit_and_others_are_unaffected() {
        let mut d = Doubles::new().with_user(false);
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(None));
        d.hasher
            .expect_burn_password_verification()
            .return_const(());
        d.tokens.expect_issue().never();
        let token = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(3))
            .token;
        for _ in 0..3 {
            assert!(matches!(
                token.respond(&alice("bad", None)).unwrap_err(),
                TokenError::InvalidGrant(_)
            ));
        }
        // Even the right password waits now: that is what stops a guesser.
        let err = token.respond(&alice(PASSWORD, None)).unwrap_err();
        assert!(
            matches!(err, TokenError::TooManyAttempts { retry_after } if retry_after > 0 && retry_after <= 60),
            "{err:?}"
        );
        // Another username is unaffected (bob is unknown: invalid_grant, not 429).
        assert!(matches!(
            token
                .respond(&password_request(basic("app", SECRET), "bob", "x", None))
                .unwrap_err(),
            TokenError::InvalidGrant(_)
        ));
        // So is alice from another address: her guesser's failures are not hers.
        assert!(matches!(
            token
                .respond(&from(OTHER_SOURCE, alice("bad", None)))
                .unwrap_err(),
            TokenError::InvalidGrant(_)
        ));
    }

    #[test]
    fn successful_logins_do_not_count() {
        let mut d = Doubles::new().with_user(false);
        d.tokens.expect_issue().returning(|_| Ok(()));
        let token = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(3))
            .token;
        for _ in 0..5 {
            assert!(token.respond(&alice(PASSWORD, None)).is_ok());
        }
    }
}
