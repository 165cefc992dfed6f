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

use super::TokenService;

/// What happened inside the store's transaction, carried out of the decision closure.
enum Decided {
    Issued(TokenResponse),
    Replay(Vec<u8>),
    Denied(RefreshDenied),
}

impl TokenService {
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
