//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2). The decision runs inside the store's transaction, so of N
//! concurrent refreshes with one token exactly one consumes it.

use grantd_ports::{
    AccessToken, Client, NewRefreshToken, PlainToken, RefreshIntent, RefreshTokenState,
    RefreshWrite, RotateOutcome, TokenKind, UnixTime,
};

use crate::lifetimes::Lifetimes;
use crate::rotation::{self, RefreshDenied, RefreshStep};
use crate::{retry_seal, scope_rules, ReusePolicy, TokenError, TokenResponse};

use super::TokenEndpoint;

/// What happened inside the store's transaction, carried out of the decision closure.
enum Decided {
    Issued(TokenResponse),
    Replay(Vec<u8>),
    Denied(RefreshDenied),
}

impl TokenEndpoint {
    pub(super) fn refresh_grant(
        &self,
        client: &Client,
        presented: &str,
        scope: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let requested = scope_rules::parse_requested(scope)?;
        // Garbage never reaches the database.
        if !TokenKind::Refresh.is_well_formed(presented) {
            return Err(RefreshDenied::Expired.into_error());
        }
        let presented = PlainToken::from_presented(presented);
        let now = self.ports.clock.now();
        let policy = self.rotation_policy();

        // Declared up front so the store can find and consume a live token in one
        // statement: with rotation on, every write for a live token consumes it at `now`.
        let intent = if policy.rotate {
            RefreshIntent::Consume { at: now }
        } else {
            RefreshIntent::Keep
        };
        let mut decided = None;
        let outcome = self.ports.tokens.rotate_refresh(
            &presented.hash(),
            intent,
            &mut |state: &RefreshTokenState| match rotation::decide(
                state,
                &client.id,
                requested.as_ref(),
                now,
                policy,
            ) {
                Ok(RefreshStep::Issue { rotate, scope }) => {
                    let (write, response) =
                        self.refreshed_tokens(client, state, &presented, rotate, scope, now);
                    decided = Some(Decided::Issued(response));
                    Some(write)
                }
                Ok(RefreshStep::Replay) => {
                    decided = state.token.sealed_response.clone().map(Decided::Replay);
                    None
                }
                Err(denied) => {
                    decided = Some(Decided::Denied(denied));
                    None
                }
            },
        )?;

        match (outcome, decided) {
            (RotateOutcome::Written, Some(Decided::Issued(response))) => Ok(response),
            (RotateOutcome::Declined, Some(Decided::Replay(sealed))) => {
                retry_seal::open(&presented, &sealed)
                    .ok_or_else(|| RefreshDenied::GrantRevoked.into_error())
            }
            (RotateOutcome::Declined, Some(Decided::Denied(denied))) => {
                Err(self.on_denied(client, denied, now))
            }
            (RotateOutcome::NotFound, _) => Err(RefreshDenied::Expired.into_error()),
            (outcome, _) => Err(TokenError::Store(grantd_ports::StoreError::Other(format!(
                "rotate_refresh returned {outcome:?} against the decision"
            )))),
        }
    }

    /// Mints the refreshed access token and, when rotating, the successor, and builds the
    /// writes. The successor keeps the grant's full scope (§6) and a fresh idle lifetime,
    /// both capped by the grant's absolute expiry.
    fn refreshed_tokens(
        &self,
        client: &Client,
        state: &RefreshTokenState,
        presented: &PlainToken,
        rotate: bool,
        scope: grantd_ports::ScopeSet,
        now: UnixTime,
    ) -> (RefreshWrite, TokenResponse) {
        let lifetimes = Lifetimes::for_client(&self.settings, client);
        let cap = state.grant.expires_at;
        let access_token = self.mint(TokenKind::Access);
        let access_expires_at = lifetimes.access_expiry(now, cap);
        let successor = rotate.then(|| self.mint(TokenKind::Refresh));
        let response = TokenResponse {
            access_token: access_token.clone(),
            expires_in: access_expires_at - now,
            scope: scope.clone(),
            refresh_token: successor.clone(),
        };
        // Only a rotation can be retried: keep its response, sealed under the presented
        // token, so the database alone cannot read it.
        let sealed_response = (rotate && self.settings.refresh_token_reuse_grace_period > 0)
            .then(|| retry_seal::seal(presented, &self.ports.minter.mint_id(), &response));
        let write = RefreshWrite {
            consume: rotate,
            sealed_response,
            access: AccessToken {
                hash: access_token.hash(),
                grant_id: state.grant.id.clone(),
                scope,
                issued_at: now,
                expires_at: access_expires_at,
                revoked_at: None,
            },
            successor: successor.as_ref().map(|t| NewRefreshToken {
                hash: t.hash(),
                grant_id: state.grant.id.clone(),
                issued_at: now,
                expires_at: lifetimes.refresh_expiry(now, cap),
            }),
        };
        (write, response)
    }

    /// Turns a denial into the endpoint's error, revoking the grant first on reuse.
    fn on_denied(&self, client: &Client, denied: RefreshDenied, now: UnixTime) -> TokenError {
        if let RefreshDenied::Reused { grant_id } = &denied {
            self.ports
                .metrics
                .record(grantd_ports::DomainEvent::RefreshTokenReuse);
            let policy = self.settings.refresh_token_reuse_policy;
            tracing::warn!(
                target: "grantd::security",
                event = "refresh_token_reuse",
                client_id = %client.id,
                grant_id = %grant_id,
                ?policy,
                "a rotated refresh token was presented again"
            );
            if policy == ReusePolicy::RevokeGrant {
                if let Err(e) = self.ports.tokens.revoke_grant(grant_id, now) {
                    // The caller must not think the family is dead: retry later.
                    return TokenError::Store(e);
                }
            }
        }
        if denied == RefreshDenied::LostRace {
            self.ports
                .metrics
                .record(grantd_ports::DomainEvent::RefreshRaceLost);
            tracing::info!(target: "grantd::security", event = "refresh_race_lost", client_id = %client.id, "a concurrent refresh consumed this token first");
        }
        denied.into_error()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use grantd_ports::{
        GrantId, RefreshIntent, RefreshTokenState, RefreshWrite, RotateOutcome, StoreError,
    };

    use crate::test_support::*;
    use crate::{ReusePolicy, TokenError, TokenRequest, TokenSettings};

    /// A token store whose rotate_refresh runs the decision against `state` and records
    /// writes, checking each against the declared intent as the real store does.
    fn rotating_store(d: &mut Doubles, state: RefreshTokenState) -> Arc<Mutex<Vec<RefreshWrite>>> {
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

    /// `app` refreshing the well-formed token with no scope.
    fn app_refresh() -> TokenRequest {
        refresh_request(basic("app", SECRET), &presented_refresh(), None)
    }

    #[test]
    fn rotation_consumes_the_token_and_issues_a_successor_with_the_full_scope() {
        let mut d = Doubles::new();
        let writes = rotating_store(&mut d, refresh_state("app"));
        let r = d
            .token()
            .respond(&refresh_request(
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
        let r = d.use_cases(settings).token.respond(&app_refresh()).unwrap();
        let writes = writes.lock().unwrap();
        assert!(!writes[0].consume);
        assert!(writes[0].successor.is_none());
        assert!(r.refresh_token.is_none());
    }

    #[test]
    fn refreshed_tokens_never_outlive_the_grant_cap() {
        let mut d = Doubles::new();
        let mut state = refresh_state("app");
        state.grant.expires_at = Some(NOW + 100);
        let writes = rotating_store(&mut d, state);
        let r = d.token().respond(&app_refresh()).unwrap();
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
            .use_cases(settings.clone())
            .token
            .respond(&app_refresh())
            .unwrap();
        let sealed = writes.lock().unwrap()[0]
            .sealed_response
            .clone()
            .expect("sealed retry record");

        // The retry sees the token consumed, with that record: same response, nothing
        // minted or written.
        let mut d = Doubles::new();
        let mut state = refresh_state("app");
        state.token.consumed_at = Some(NOW - 5);
        state.token.sealed_response = Some(sealed);
        let writes = rotating_store(&mut d, state);
        d.tokens.expect_revoke_grant().never();
        let retry = d.use_cases(settings).token.respond(&app_refresh()).unwrap();
        assert_eq!(retry, first);
        assert!(writes.lock().unwrap().is_empty());
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
            .token()
            .respond(&refresh_request(
                basic("app", SECRET),
                &presented_refresh(),
                None,
            ))
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
            .token()
            .respond(&refresh_request(
                basic("app", SECRET),
                &presented_refresh(),
                None,
            ))
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
            .use_cases(settings)
            .token
            .respond(&refresh_request(
                basic("app", SECRET),
                &presented_refresh(),
                None,
            ))
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
    }

    #[test]
    fn refresh_token_of_another_client_is_invalid_grant_and_changes_nothing() {
        let mut d = Doubles::new();
        let writes = rotating_store(&mut d, refresh_state("public"));
        d.tokens.expect_revoke_grant().never();
        let err = d
            .token()
            .respond(&refresh_request(
                basic("app", SECRET),
                &presented_refresh(),
                None,
            ))
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
            .token()
            .respond(&refresh_request(
                basic("app", SECRET),
                &presented_refresh(),
                None,
            ))
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
    }

    #[test]
    fn scope_beyond_the_grant_on_refresh_is_invalid_scope_and_writes_nothing() {
        let mut d = Doubles::new();
        let writes = rotating_store(&mut d, refresh_state("app"));
        let err = d
            .token()
            .respond(&refresh_request(
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
        let token = d.token();
        let err = token
            .respond(&refresh_request(
                basic("app", SECRET),
                &presented_refresh(),
                None,
            ))
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
        // Malformed: the store is never asked (times(1) above would fail otherwise).
        let err = token
            .respond(&refresh_request(basic("app", SECRET), "not-a-token", None))
            .unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)));
    }

    #[test]
    fn client_not_allowed_refresh_is_unauthorized_client_without_touching_tokens() {
        let mut d = Doubles::new();
        d.tokens.expect_rotate_refresh().never();
        let err = d
            .token()
            .respond(&refresh_request(
                basic("narrow", SECRET),
                &presented_refresh(),
                None,
            ))
            .unwrap_err();
        assert!(matches!(err, TokenError::UnauthorizedClient(_)));
    }

    #[test]
    fn storage_outage_is_a_store_error_not_invalid_grant() {
        let mut d = Doubles::new();
        d.tokens
            .expect_rotate_refresh()
            .returning(|_, _, _| Err(StoreError::Unavailable("pool timeout".into())));
        let err = d
            .token()
            .respond(&refresh_request(
                basic("app", SECRET),
                &presented_refresh(),
                None,
            ))
            .unwrap_err();
        assert!(matches!(err, TokenError::Store(StoreError::Unavailable(_))));
    }
}
