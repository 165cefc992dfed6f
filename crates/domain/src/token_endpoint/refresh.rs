//! The refresh token grant (RFC 6749 §6) with rotation and reuse detection
//! (RFC 9700 §4.14.2). The decision runs inside the store's transaction, so of N
//! concurrent refreshes with one token exactly one consumes it. The common path (rotation,
//! no grace period, no narrower scope or resource, an opaque access token) first tries
//! ONE statement whose predicates are the decision's rules (`rotation::consume_if`); a
//! presentation it does not match takes the full path, whose decision tells why.

use grantd_ports::{
    AccessToken, AccessTokenFormat, Client, DomainEvent, GrantType, NewRefreshToken, OneTripWrite,
    PlainToken, RefreshIntent, RefreshTokenState, RefreshWrite, ResourceSet, RotateOutcome,
    ScopeSet, TokenKind, UnixMillis, UnixTime,
};

use crate::dpop;
use crate::id_token::Authentication;
use crate::lifetimes::Lifetimes;
use crate::rotation::{self, CommonPath, Presented, RefreshDenied, RefreshStep, RotationPolicy};
use crate::{resource_indicators, retry_seal, scope_rules, ReusePolicy, TokenError, TokenResponse};

use super::{GrantRequest, TokenEndpoint, TokenRequest};
use crate::client_auth::Deferred;

/// What happened inside the store's transaction, carried out of the decision closure.
enum Decided {
    Issued(TokenResponse),
    Replay(Vec<u8>),
    Denied(RefreshDenied),
    /// The JWT could not be signed: nothing was written.
    Failed(TokenError),
    /// The grant's DPoP binding is `bound`, not as guessed, and that changes whether to
    /// rotate: nothing was written; run again with the right intent.
    Retry {
        bound: bool,
    },
}

/// The outcome of one pass of the refresh.
enum Attempt {
    Done(Result<TokenResponse, TokenError>),
    Retry { bound: bool },
}

impl TokenEndpoint {
    /// The whole request in ONE round trip: the client authenticated from memory
    /// (`ClientAuthenticator::authenticate_from_memory`, whose comment argues why that is not weaker)
    /// and the refresh as one statement that also confirms the client row and the clean
    /// brute-force counters. `None` whenever anything is off that path (a DPoP proof, whose
    /// `jti` the full path records; a scope or resource; a client not allowed refresh or
    /// needing DPoP; a malformed token) or the statement matched nothing: nothing was read
    /// or written that the full path would not, and it then runs from the start.
    pub(super) fn refresh_from_memory(
        &self,
        request: &TokenRequest,
    ) -> Result<Option<TokenResponse>, TokenError> {
        let GrantRequest::RefreshToken {
            refresh_token,
            scope: None,
        } = &request.grant
        else {
            return Ok(None);
        };
        if request.dpop_proof.is_some() || !request.resources.is_empty() {
            return Ok(None);
        }
        if !TokenKind::Refresh.is_well_formed(refresh_token) {
            return Ok(None);
        }
        let Some((client, deferred)) = self
            .clients
            .authenticate_from_memory(request.client.as_ref(), request.source_address)
        else {
            return Ok(None);
        };
        if !client.allows(GrantType::RefreshToken) || client.require_dpop {
            return Ok(None);
        }
        let at = Presented {
            now: self.ports.clock.now(),
            arrived_at_ms: request.arrived_at_ms,
        };
        // No proof on this path: a bound grant declines in the statement.
        let policy = self.rotation_policy(&client, false);
        let response = self.refresh_in_one_trip(
            &client,
            &PlainToken::from_presented(refresh_token),
            None,
            &ResourceSet::empty(),
            at,
            policy,
            Some(deferred),
        )?;
        if response.is_some() {
            let metrics = &self.ports.metrics;
            metrics.record(DomainEvent::ClientSecretCache { hit: true });
            metrics.record(DomainEvent::TokensIssued(GrantType::RefreshToken));
        }
        Ok(response)
    }

    pub(super) fn refresh_grant(
        &self,
        client: &Client,
        presented: &str,
        scope: Option<&str>,
        resources: &ResourceSet,
        arrived_at_ms: UnixMillis,
    ) -> Result<TokenResponse, TokenError> {
        let requested = scope_rules::parse_requested(scope)?;
        // Garbage never reaches the database.
        if !TokenKind::Refresh.is_well_formed(presented) {
            return Err(RefreshDenied::Expired.into_error());
        }
        let presented = PlainToken::from_presented(presented);
        let now = self.ports.clock.now();
        let at = Presented { now, arrived_at_ms };
        // Whether to rotate may depend on the grant's DPoP binding, which only the store's
        // read shows; the intent must be declared before it. So guess from the request (a
        // proof was shown: the grant is likely bound), and when the grant says otherwise
        // the decision declines (writing nothing, consuming nothing) and the refresh runs
        // once more with the right intent. A grant's binding never changes, so once is enough.
        let mut dpop_bound = self.bound_to.is_some();
        for _ in 0..2 {
            match self.refresh_once(
                client,
                &presented,
                requested.as_ref(),
                resources,
                at,
                dpop_bound,
            )? {
                Attempt::Done(result) => return result,
                Attempt::Retry { bound } => dpop_bound = bound,
            }
        }
        Err(TokenError::Store(grantd_ports::StoreError::Other(
            "the refresh decision changed its rotation twice".to_owned(),
        )))
    }

    /// One pass of the refresh with the policy for a grant that is `dpop_bound` or not.
    fn refresh_once(
        &self,
        client: &Client,
        presented: &PlainToken,
        requested: Option<&grantd_ports::ScopeSet>,
        resources: &ResourceSet,
        at: Presented,
        dpop_bound: bool,
    ) -> Result<Attempt, TokenError> {
        let now = at.now;
        let policy = self.rotation_policy(client, dpop_bound);
        // A wrong guess of the binding only costs the one trip: the statement matches a
        // bound grant only with its key, and where the binding changes the rotation the
        // guessed policy does not rotate, which is off the common path.
        if let Some(response) =
            self.refresh_in_one_trip(client, presented, requested, resources, at, policy, None)?
        {
            return Ok(Attempt::Done(Ok(response)));
        }
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
            &mut |state: &RefreshTokenState| {
                // RFC 9449 §5: a bound refresh token needs a proof with its key. Checked
                // first, so a thief without the key changes nothing (no reuse detection,
                // no consumption: declining rolls the store's transaction back).
                if !dpop::refresh_key_matches(
                    state.grant.dpop_jkt.as_deref(),
                    self.bound_to.as_ref(),
                ) {
                    decided = Some(Decided::Denied(RefreshDenied::WrongKey));
                    return None;
                }
                let bound = state.grant.dpop_jkt.is_some();
                if bound != dpop_bound
                    && self.rotation_policy(client, bound).rotate != policy.rotate
                {
                    decided = Some(Decided::Retry { bound });
                    return None;
                }
                match rotation::decide(state, &client.id, requested, at, policy) {
                    Ok(RefreshStep::Issue { rotate, scope }) => {
                        match resource_indicators::for_refresh(resources, &state.grant.resources)
                            .map_err(TokenError::from)
                            .and_then(|targets| {
                                self.refreshed_tokens(
                                    client, state, presented, rotate, scope, &targets, now,
                                )
                            }) {
                            Ok((write, response)) => {
                                decided = Some(Decided::Issued(response));
                                Some(write)
                            }
                            Err(e) => {
                                decided = Some(Decided::Failed(e));
                                None
                            }
                        }
                    }
                    Ok(RefreshStep::Replay) => {
                        decided = state.token.sealed_response.clone().map(Decided::Replay);
                        None
                    }
                    Err(denied) => {
                        decided = Some(Decided::Denied(denied));
                        None
                    }
                }
            },
        )?;

        let result = match (outcome, decided) {
            (RotateOutcome::Declined, Some(Decided::Retry { bound })) => {
                return Ok(Attempt::Retry { bound })
            }
            (RotateOutcome::Written, Some(Decided::Issued(response))) => Ok(response),
            (RotateOutcome::Declined, Some(Decided::Replay(sealed))) => {
                retry_seal::open(presented, &sealed)
                    .ok_or_else(|| RefreshDenied::GrantRevoked.into_error())
            }
            (RotateOutcome::Declined, Some(Decided::Denied(denied))) => {
                Err(self.on_denied(client, denied, now))
            }
            (RotateOutcome::Declined, Some(Decided::Failed(e))) => Err(e),
            (RotateOutcome::NotFound, _) => Err(RefreshDenied::Expired.into_error()),
            (outcome, _) => Err(TokenError::Store(grantd_ports::StoreError::Other(format!(
                "rotate_refresh returned {outcome:?} against the decision"
            )))),
        };
        Ok(Attempt::Done(result))
    }

    /// The common path in one round trip: the tokens minted first, the decision's rules
    /// rendered by the store as one statement's predicates. `None` (nothing written) when
    /// the request is not on the common path or the statement matched nothing: the full
    /// path then decides, with every rule of `rotation::decide`.
    #[allow(clippy::too_many_arguments)]
    fn refresh_in_one_trip(
        &self,
        client: &Client,
        presented: &PlainToken,
        requested: Option<&ScopeSet>,
        resources: &ResourceSet,
        at: Presented,
        policy: RotationPolicy,
        deferred: Option<Deferred>,
    ) -> Result<Option<TokenResponse>, TokenError> {
        let opaque = self
            .jwt
            .as_ref()
            .is_none_or(|jwt| jwt.format_for(client) == AccessTokenFormat::Opaque);
        // A grace period keeps a sealed copy of the response, a narrower scope or resource
        // needs the grant's, a JWT its claims: all on the full path.
        let common = policy.rotate
            && policy.grace_period == 0
            && requested.is_none()
            && resources.is_empty()
            && opaque;
        if !common {
            return Ok(None);
        }
        let now = at.now;
        let rules = rotation::consume_if(CommonPath {
            token: presented.hash(),
            client_id: &client.id,
            at,
            dpop_jkt: self.bound_to.as_ref().map(|k| k.as_str()),
            registered_scopes: self.scopes.names().map(str::to_owned).collect(),
            client_row: deferred.as_ref().map(|d| d.row.clone()),
            no_failures: deferred.map(|d| d.no_failures).unwrap_or_default(),
        });
        let lifetimes = Lifetimes::for_client(&self.settings, client);
        let access = self.mint(TokenKind::Access);
        let successor = self.mint(TokenKind::Refresh);
        let write = OneTripWrite {
            // Read just before the statement that consumes the token: a request that
            // arrived before this instant raced this rotation (a narrower window than the
            // full path's, whose commit comes three round trips after its clock read).
            consumed_at_ms: self.ports.clock.now_millis(),
            access: access.hash(),
            // Both capped by the grant's absolute expiry in the statement.
            access_expires_at: lifetimes.access_expiry(now, None),
            access_dpop_jkt: self.bound_jkt(),
            successor: successor.hash(),
            successor_expires_at: lifetimes.refresh_expiry(now, None),
        };
        let Some(issued) = self.ports.tokens.rotate_refresh_if(&rules, &write)? else {
            return Ok(None);
        };
        Ok(Some(TokenResponse {
            access_token: access,
            expires_in: issued.access_expires_at - now,
            scope: issued.scope,
            refresh_token: Some(successor),
            id_token: None,
            dpop_bound: self.bound_to.is_some(),
        }))
    }

    /// Mints the refreshed access token, for `scope` and the resources `targets` (RFC 8707
    /// §2.2, within the grant's), and, when rotating, the successor, and builds the
    /// writes. The successor keeps the grant's full scope (§6) and a fresh idle lifetime,
    /// both capped by the grant's absolute expiry.
    #[allow(clippy::too_many_arguments)]
    fn refreshed_tokens(
        &self,
        client: &Client,
        state: &RefreshTokenState,
        presented: &PlainToken,
        rotate: bool,
        scope: grantd_ports::ScopeSet,
        targets: &ResourceSet,
        now: UnixTime,
    ) -> Result<(RefreshWrite, TokenResponse), TokenError> {
        // A scope dropped from the registry is never issued, not even by a refresh: the
        // access token narrows (§6 allows it) while the grant keeps its scope.
        let scope = self.scopes.registered_part(&scope);
        let lifetimes = Lifetimes::for_client(&self.settings, client);
        let cap = state.grant.expires_at;
        let access_token = self.mint(TokenKind::Access);
        let access_expires_at = lifetimes.access_expiry(now, cap);
        // The user authenticated when the grant began: auth_time is that login's (Core
        // §12.2), and the nonce belonged to the first id token only.
        let authentication = Authentication {
            auth_time: state.grant.auth_time,
            nonce: None,
        };
        let (handed_out, audience) = self.handed_out(
            client,
            &state.grant.subject,
            &scope,
            targets,
            &access_token,
            now,
            access_expires_at,
            authentication.auth_time,
        )?;
        let id_token = self.id_token(
            client,
            &state.grant.subject,
            &scope,
            &authentication,
            &handed_out,
            now,
        )?;
        let successor = rotate.then(|| self.mint(TokenKind::Refresh));
        let response = TokenResponse {
            access_token: handed_out,
            expires_in: access_expires_at - now,
            scope: scope.clone(),
            refresh_token: successor.clone(),
            id_token,
            dpop_bound: self.bound_to.is_some(),
        };
        // Only a rotation can be retried: keep its response, sealed under the presented
        // token, so the database alone cannot read it.
        let sealed_response = (rotate && self.settings.refresh_token_reuse_grace_period > 0)
            .then(|| retry_seal::seal(presented, &self.ports.minter.mint_id(), &response));
        let write = RefreshWrite {
            consume: rotate,
            // Read last, inside the store's transaction after its consuming update took the
            // token: a request that arrived before this instant raced this rotation.
            consumed_at_ms: self.ports.clock.now_millis(),
            sealed_response,
            access: AccessToken {
                hash: access_token.hash(),
                grant_id: state.grant.id.clone(),
                scope,
                audience,
                issued_at: now,
                expires_at: access_expires_at,
                revoked_at: None,
                dpop_jkt: self.bound_jkt(),
            },
            successor: successor.as_ref().map(|t| NewRefreshToken {
                hash: t.hash(),
                grant_id: state.grant.id.clone(),
                issued_at: now,
                expires_at: lifetimes.refresh_expiry(now, cap),
            }),
        };
        Ok((write, response))
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
        DomainEvent, GrantId, OneTripIssued, RefreshIntent, RefreshTokenState, RefreshWrite,
        RotateOutcome, ScopeSet, StoreError, TokenHash,
    };

    use crate::test_support::*;
    use crate::{ReusePolicy, TokenError, TokenRequest, TokenSettings};

    /// A token store whose rotate_refresh runs the decision against `state` and records
    /// writes, checking each against the declared intent as the real store does.
    fn rotating_store(d: &mut Doubles, state: RefreshTokenState) -> Arc<Mutex<Vec<RefreshWrite>>> {
        let writes = Arc::new(Mutex::new(Vec::new()));
        let w = writes.clone();
        falls_back(d);
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

    /// A store whose one-statement path matches nothing (as for every state but a live
    /// token on the common path): the full path decides.
    fn falls_back(d: &mut Doubles) {
        d.tokens
            .expect_rotate_refresh_if()
            .returning(|_, _| Ok(None));
    }

    fn presented_refresh_hash() -> TokenHash {
        TokenHash::of(&presented_refresh())
    }

    /// `app` refreshing the well-formed token with no scope.
    fn app_refresh() -> TokenRequest {
        refresh_request(basic("app", SECRET), &presented_refresh(), None)
    }

    /// `app`'s refresh with a DPoP proof of the test key `x` (see `dpop_proofs`).
    fn with_proof(x: &str) -> TokenRequest {
        TokenRequest {
            dpop_proof: Some(x.to_owned()),
            ..app_refresh()
        }
    }

    fn bound_state(x: &str) -> RefreshTokenState {
        let mut state = refresh_state("app");
        state.grant.dpop_jkt = Some(test_jkt(x));
        state
    }

    /// The common path: one store call, the statement's conditions being the decision's
    /// rules, and the response built from what it wrote; the full path is never taken.
    #[test]
    fn the_common_path_is_one_statement_with_the_decisions_rules() {
        let mut d = Doubles::new();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        d.tokens
            .expect_rotate_refresh_if()
            .times(1)
            .returning(move |rules, write| {
                *s.lock().unwrap() = Some((rules.clone(), write.clone()));
                Ok(Some(OneTripIssued {
                    grant_id: GrantId::parse("g1").unwrap(),
                    scope: ScopeSet::parse("read write").unwrap(),
                    access_expires_at: NOW + 100,
                }))
            });
        d.tokens.expect_rotate_refresh().never();
        let r = d.token().respond(&app_refresh()).unwrap();
        let (rules, write) = seen.lock().unwrap().clone().unwrap();
        assert_eq!(rules.token, presented_refresh_hash());
        assert_eq!(rules.client_id.as_str(), "app");
        assert_eq!(rules.now, NOW);
        assert_eq!(rules.dpop_jkt, None);
        assert_eq!(rules.excluded_scopes, vec!["openid".to_owned()]);
        assert!(rules.registered_scopes.iter().any(|s| s == "read"));
        assert_eq!(write.consumed_at_ms, NOW_MS);
        let defaults = TokenSettings::default();
        assert_eq!(
            write.access_expires_at,
            NOW + defaults.access_token_lifetime
        );
        assert_eq!(
            write.successor_expires_at,
            NOW + defaults.refresh_token_lifetime
        );
        // The response carries what the statement wrote: the minted tokens, the grant's
        // scope and the capped expiry.
        assert_eq!(r.access_token.hash(), write.access);
        assert_eq!(
            r.refresh_token.as_ref().map(|t| t.hash()),
            Some(write.successor)
        );
        assert_eq!(r.expires_in, 100);
        assert_eq!(r.scope.to_delimited(), "read write");
        assert_eq!(r.id_token, None);
    }

    /// What one refresh on the store asked for: the one statement's conditions.
    type Seen = Arc<Mutex<Vec<grantd_ports::ConsumeIf>>>;

    /// A store whose one statement answers `issues` in turn (Some = wrote) and records the
    /// conditions; when it answers None the full path finds the token unknown.
    fn one_trip_store(d: &mut Doubles, issues: Vec<bool>) -> Seen {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        let answers = Mutex::new(issues.into_iter());
        d.tokens
            .expect_rotate_refresh_if()
            .returning(move |rules, _| {
                s.lock().unwrap().push(rules.clone());
                let issue = answers.lock().unwrap().next().expect("no more statements");
                Ok(issue.then(|| OneTripIssued {
                    grant_id: GrantId::parse("g1").unwrap(),
                    scope: ScopeSet::parse("read write").unwrap(),
                    access_expires_at: NOW + 100,
                }))
            });
        d.tokens
            .expect_rotate_refresh()
            .returning(|_, _, _| Ok(RotateOutcome::NotFound));
        seen
    }

    /// Counts the client-row reads and the counter reads.
    fn counting_reads(d: &mut Doubles) -> (Arc<Mutex<u32>>, Arc<Mutex<u32>>) {
        let rows = Arc::new(Mutex::new(0));
        let counters = Arc::new(Mutex::new(0));
        let r = rows.clone();
        d.clients.checkpoint();
        d.clients.expect_find_client().returning(move |id| {
            *r.lock().unwrap() += 1;
            Ok((id.as_str() == "app").then(|| client("app", true)))
        });
        let c = counters.clone();
        d.failures.checkpoint();
        d.failures.expect_windows().returning(move |keys, _| {
            *c.lock().unwrap() += 1;
            Ok(vec![None; keys.len()])
        });
        d.failures
            .expect_record_failure()
            .returning(|_, _, _| Ok(()));
        (rows, counters)
    }

    /// Once a client authenticated, its next refresh reads neither its row nor the
    /// counters: one statement, which confirms the row's version and hash and the clean
    /// counters. The first request took the ordinary path and left the row in memory.
    #[test]
    fn a_known_clients_next_refresh_is_one_statement_that_confirms_the_client() {
        let mut d = Doubles::new();
        let (rows, counters) = counting_reads(&mut d);
        let seen = one_trip_store(&mut d, vec![true, true]);
        let token = d.token();
        token.respond(&app_refresh()).unwrap();
        assert_eq!((*rows.lock().unwrap(), *counters.lock().unwrap()), (1, 1));
        token.respond(&app_refresh()).unwrap();
        assert_eq!(
            (*rows.lock().unwrap(), *counters.lock().unwrap()),
            (1, 1),
            "no read on the second request"
        );
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].client_row, None, "read in this request");
        let held = seen[1]
            .client_row
            .as_ref()
            .expect("the held row is confirmed");
        let stored = client("app", true);
        assert_eq!(held.secret_version, stored.secret_version);
        assert_eq!(Some(&held.secret), stored.secret.as_ref());
        assert_eq!(
            seen[1].no_failures.len(),
            3,
            "source, (client, source), client"
        );
    }

    /// A wrong secret is a guess: it never takes the memory path, so the budgets are read
    /// and the failure counted, however recently the right secret was seen.
    #[test]
    fn a_wrong_secret_after_a_right_one_is_checked_and_counted() {
        let mut d = Doubles::new();
        let (rows, counters) = counting_reads(&mut d);
        let recorded = Arc::new(Mutex::new(0));
        let r = recorded.clone();
        d.failures.checkpoint();
        let c = counters.clone();
        d.failures.expect_windows().returning(move |keys, _| {
            *c.lock().unwrap() += 1;
            Ok(vec![None; keys.len()])
        });
        d.failures
            .expect_record_failure()
            .returning(move |_, _, _| {
                *r.lock().unwrap() += 1;
                Ok(())
            });
        let _seen = one_trip_store(&mut d, vec![true]);
        let token = d.token();
        token.respond(&app_refresh()).unwrap();
        let wrong = refresh_request(basic("app", "not-the-secret"), &presented_refresh(), None);
        let err = token.respond(&wrong).unwrap_err();
        assert!(matches!(err, TokenError::InvalidClient(_)), "{err:?}");
        assert_eq!(*rows.lock().unwrap(), 2);
        assert_eq!(*counters.lock().unwrap(), 2, "the budget is read");
        assert_eq!(*recorded.lock().unwrap(), 1, "the failure is counted");
    }

    /// When the statement refuses the memory path (a changed row, a counter with failures,
    /// or a token off the common path), the request starts over: the row and the counters
    /// are read as on any request, and the full decision runs.
    #[test]
    fn a_refused_memory_path_starts_over_with_the_ordinary_checks() {
        let mut d = Doubles::new();
        let (rows, counters) = counting_reads(&mut d);
        let seen = one_trip_store(&mut d, vec![true, false, false]);
        let token = d.token();
        token.respond(&app_refresh()).unwrap();
        let err = token.respond(&app_refresh()).unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)), "{err:?}");
        assert_eq!((*rows.lock().unwrap(), *counters.lock().unwrap()), (2, 2));
        let seen = seen.lock().unwrap();
        assert!(seen[1].client_row.is_some());
        assert_eq!(seen[2].client_row, None, "the ordinary path read the row");
    }

    /// Off the common path the statement is not even tried: the full path decides alone.
    #[test]
    fn off_the_common_path_only_the_decision_runs() {
        let grace = TokenSettings {
            refresh_token_reuse_grace_period: 30,
            ..TokenSettings::default()
        };
        let no_rotation = TokenSettings {
            always_issue_new_refresh_token: false,
            ..TokenSettings::default()
        };
        let narrower = refresh_request(basic("app", SECRET), &presented_refresh(), Some("read"));
        let cases = [
            ("a grace period", grace, app_refresh()),
            ("no rotation", no_rotation, app_refresh()),
            ("a narrower scope", TokenSettings::default(), narrower),
        ];
        for (name, settings, request) in cases {
            let mut d = Doubles::new();
            d.tokens.expect_rotate_refresh_if().never();
            d.tokens
                .expect_rotate_refresh()
                .times(1)
                .returning(|_, _, _| Ok(RotateOutcome::NotFound));
            let err = d.use_cases(settings).token.respond(&request).unwrap_err();
            assert!(
                matches!(err, TokenError::InvalidGrant(_)),
                "{name}: {err:?}"
            );
        }
    }

    /// A statement that matches nothing writes nothing; the decision then classifies the
    /// token (here: reuse, which revokes the grant).
    #[test]
    fn when_the_statement_matches_nothing_the_decision_classifies() {
        let mut d = Doubles::new();
        let mut state = refresh_state("app");
        state.token.consumed_at = Some(NOW - 1);
        let writes = rotating_store(&mut d, state);
        d.tokens
            .expect_revoke_grant()
            .times(1)
            .returning(|_, _| Ok(true));
        let err = d.token().respond(&app_refresh()).unwrap_err();
        assert!(matches!(err, TokenError::InvalidGrant(_)), "{err:?}");
        assert!(writes.lock().unwrap().is_empty());
    }

    #[test]
    fn a_bound_refresh_without_the_key_is_invalid_grant_and_changes_nothing() {
        for (name, request) in [
            ("no proof", app_refresh()),
            ("another key", with_proof("eB")),
        ] {
            for consumed in [false, true] {
                let mut d = Doubles::new();
                let mut state = bound_state("eA");
                if consumed {
                    // A stolen, already rotated token: without the key it is not even reuse.
                    state.token.consumed_at = Some(NOW - 50);
                    state.token.consumed_at_ms = Some((NOW - 50) * 1000);
                }
                let writes = rotating_store(&mut d, state);
                d.tokens.expect_revoke_grant().never();
                let token = d
                    .use_cases(TokenSettings::default())
                    .with_dpop(dpop_proofs())
                    .token;
                let err = token.respond(&request).unwrap_err();
                assert!(
                    matches!(err, TokenError::InvalidGrant(_)),
                    "{name}, consumed {consumed}: {err:?}"
                );
                assert!(writes.lock().unwrap().is_empty(), "{name}: nothing written");
            }
        }
    }

    #[test]
    fn a_bound_refresh_with_the_key_issues_tokens_bound_to_it() {
        let mut d = Doubles::new();
        let writes = rotating_store(&mut d, bound_state("eA"));
        let token = d
            .use_cases(TokenSettings::default())
            .with_dpop(dpop_proofs())
            .token;
        let r = token.respond(&with_proof("eA")).unwrap();
        assert_eq!(r.token_type(), "DPoP");
        let writes = writes.lock().unwrap();
        assert_eq!(writes[0].access.dpop_jkt, Some(test_jkt("eA")));
    }

    #[test]
    fn an_unbound_refresh_with_a_proof_binds_the_access_token_only() {
        let mut d = Doubles::new();
        let writes = rotating_store(&mut d, refresh_state("app"));
        let token = d
            .use_cases(TokenSettings::default())
            .with_dpop(dpop_proofs())
            .token;
        let r = token.respond(&with_proof("eA")).unwrap();
        assert_eq!(r.token_type(), "DPoP");
        assert_eq!(
            writes.lock().unwrap()[0].access.dpop_jkt,
            Some(test_jkt("eA"))
        );
        let plain = Doubles::new();
        let mut plain = plain;
        let writes = rotating_store(&mut plain, refresh_state("app"));
        let r = plain.token().respond(&app_refresh()).unwrap();
        assert_eq!(r.token_type(), "Bearer");
        assert_eq!(writes.lock().unwrap()[0].access.dpop_jkt, None);
    }

    #[test]
    fn a_proof_where_dpop_is_not_configured_is_invalid_dpop_proof() {
        let mut d = Doubles::new();
        d.tokens.expect_rotate_refresh().never();
        let err = d.token().respond(&with_proof("eA")).unwrap_err();
        assert!(matches!(err, TokenError::InvalidDpopProof(_)), "{err:?}");
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
        // The rotation's instant, to the millisecond, from the clock as it decides.
        assert_eq!(w.consumed_at_ms, NOW_MS);
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
    fn a_scope_dropped_from_the_registry_is_not_issued_by_a_refresh() {
        let mut d = Doubles::new();
        let mut state = refresh_state("app");
        state.grant.scope = grantd_ports::ScopeSet::parse("read legacy").unwrap();
        let writes = rotating_store(&mut d, state);
        let r = d.token().respond(&app_refresh()).unwrap();
        assert_eq!(r.scope.to_delimited(), "read");
        let writes = writes.lock().unwrap();
        assert_eq!(writes[0].access.scope.to_delimited(), "read");
        assert!(writes[0].successor.is_some(), "the grant itself lives on");
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

    /// Rotation off for everyone, DPoP-bound public clients included.
    fn no_rotation_for_bound_public_clients() -> TokenSettings {
        TokenSettings {
            always_issue_new_refresh_token: false,
            rotate_dpop_bound_public_refresh_tokens: false,
            ..TokenSettings::default()
        }
    }

    fn public_refresh_with_proof(x: &str) -> TokenRequest {
        TokenRequest {
            dpop_proof: Some(x.to_owned()),
            ..refresh_request(id_only("public"), &presented_refresh(), None)
        }
    }

    /// RFC 9700 §2.2.2 "sender-constrained or rotated": with the setting off, a public
    /// client's DPoP-bound refresh token is kept, declared so up front (`Keep`).
    #[test]
    fn a_bound_public_refresh_may_keep_its_token() {
        let mut d = Doubles::new();
        let mut state = refresh_state("public");
        state.grant.dpop_jkt = Some(test_jkt("eA"));
        let writes = rotating_store(&mut d, state);
        let token = d
            .use_cases(no_rotation_for_bound_public_clients())
            .with_dpop(dpop_proofs())
            .token;
        let r = token.respond(&public_refresh_with_proof("eA")).unwrap();
        let writes = writes.lock().unwrap();
        assert!(!writes[0].consume, "the presented token is kept");
        assert!(writes[0].successor.is_none());
        assert!(r.refresh_token.is_none());
        assert_eq!(r.token_type(), "DPoP");
    }

    /// The same settings, but the grant is not bound (its tokens were issued without a
    /// proof): the guess `Keep` is declined, and the refresh runs again and rotates.
    #[test]
    fn an_unbound_public_refresh_rotates_even_with_a_proof() {
        let mut d = Doubles::new();
        let intents = Arc::new(Mutex::new(Vec::new()));
        let writes = Arc::new(Mutex::new(Vec::new()));
        let (i, w) = (intents.clone(), writes.clone());
        let state = refresh_state("public");
        // The second pass rotates, so it tries the one trip first: declined here, so that
        // this follows the full path's two passes.
        d.tokens
            .expect_rotate_refresh_if()
            .times(1)
            .returning(|_, _| Ok(None));
        d.tokens
            .expect_rotate_refresh()
            .times(2)
            .returning(move |_, intent, decide| {
                i.lock().unwrap().push(intent);
                Ok(match decide.decide(&state) {
                    Some(write) => {
                        w.lock().unwrap().push(write);
                        RotateOutcome::Written
                    }
                    None => RotateOutcome::Declined,
                })
            });
        let token = d
            .use_cases(no_rotation_for_bound_public_clients())
            .with_dpop(dpop_proofs())
            .token;
        let r = token.respond(&public_refresh_with_proof("eA")).unwrap();
        assert_eq!(
            *intents.lock().unwrap(),
            vec![RefreshIntent::Keep, RefreshIntent::Consume { at: NOW }]
        );
        let writes = writes.lock().unwrap();
        assert_eq!(writes.len(), 1, "the first pass wrote nothing");
        assert!(writes[0].consume);
        assert!(r.refresh_token.is_some(), "a successor");
    }

    /// Without a proof, a public client rotates with those settings too.
    #[test]
    fn an_unbound_public_refresh_without_a_proof_rotates() {
        let mut d = Doubles::new();
        let writes = rotating_store(&mut d, refresh_state("public"));
        let request = refresh_request(id_only("public"), &presented_refresh(), None);
        let r = d
            .use_cases(no_rotation_for_bound_public_clients())
            .token
            .respond(&request)
            .unwrap();
        assert!(writes.lock().unwrap()[0].consume);
        assert!(r.refresh_token.is_some());
    }

    /// RFC 9700 §2.2.2: a public client's refresh tokens rotate, whatever the setting.
    #[test]
    fn public_clients_always_rotate() {
        let mut d = Doubles::new();
        let writes = rotating_store(&mut d, refresh_state("public"));
        let settings = TokenSettings {
            always_issue_new_refresh_token: false,
            ..TokenSettings::default()
        };
        let request = refresh_request(id_only("public"), &presented_refresh(), None);
        let r = d.use_cases(settings).token.respond(&request).unwrap();
        let writes = writes.lock().unwrap();
        // `rotating_store` checks that the declared intent was `Consume` too.
        assert!(writes[0].consume, "the presented token is consumed");
        let successor = writes[0].successor.as_ref().expect("a successor is stored");
        assert_eq!(
            r.refresh_token.as_ref().map(|t| t.hash()),
            Some(successor.hash)
        );
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

    /// What the token store holds for the presented token.
    enum Stored {
        /// This row: the store runs the decision against it.
        Token(Box<RefreshTokenState>),
        /// No token has this hash.
        Nothing,
        /// The store is down.
        Outage,
    }

    /// A live token of `client`.
    fn live(client: &str) -> Stored {
        Stored::Token(Box::new(refresh_state(client)))
    }

    /// `app`'s live token, changed by `edit`.
    fn app_token(edit: impl FnOnce(&mut RefreshTokenState)) -> Stored {
        let mut state = refresh_state("app");
        edit(&mut state);
        Stored::Token(Box::new(state))
    }

    /// The refusal expected, by `TokenError` variant.
    #[derive(Debug)]
    enum Refused {
        InvalidGrant,
        InvalidScope,
        UnauthorizedClient,
        /// `TokenError::Store(StoreError::Unavailable(_))`: never a denial.
        Unavailable,
    }

    impl Refused {
        fn matches(&self, e: &TokenError) -> bool {
            match self {
                Refused::InvalidGrant => matches!(e, TokenError::InvalidGrant(_)),
                Refused::InvalidScope => matches!(e, TokenError::InvalidScope(_)),
                Refused::UnauthorizedClient => matches!(e, TokenError::UnauthorizedClient(_)),
                Refused::Unavailable => {
                    matches!(e, TokenError::Store(StoreError::Unavailable(_)))
                }
            }
        }
    }

    /// What happens to the grant `g1`.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Revokes {
        Nothing,
        /// Revoked once, at NOW.
        Grant,
        /// Revoked once, at NOW, and the store fails.
        GrantButFails,
    }

    /// One refused refresh: the stored token, the request (`app_refresh` unless set), the
    /// refusal, and the interactions expected. Nothing is ever written.
    struct Denial {
        name: &'static str,
        stored: Stored,
        settings: TokenSettings,
        request: TokenRequest,
        refused: Refused,
        /// Whether the store is asked at all (garbage and unauthorized clients never reach it).
        reads_store: bool,
        revokes: Revokes,
        /// Domain events counted, client-secret cache events aside.
        events: &'static [DomainEvent],
    }

    /// A denial with the defaults: `app_refresh`, default settings, the store read, nothing
    /// revoked, nothing counted.
    fn denial(name: &'static str, stored: Stored, refused: Refused) -> Denial {
        Denial {
            name,
            stored,
            settings: TokenSettings::default(),
            request: app_refresh(),
            refused,
            reads_store: true,
            revokes: Revokes::Nothing,
            events: &[],
        }
    }

    impl Denial {
        fn request(self, client: &str, token: &str, scope: Option<&str>) -> Self {
            let request = refresh_request(basic(client, SECRET), token, scope);
            Self { request, ..self }
        }
        fn settings(self, settings: TokenSettings) -> Self {
            Self { settings, ..self }
        }
        fn store_unread(self) -> Self {
            let reads_store = false;
            Self {
                reads_store,
                ..self
            }
        }
        fn revokes(self, revokes: Revokes) -> Self {
            Self { revokes, ..self }
        }
        fn events(self, events: &'static [DomainEvent]) -> Self {
            Self { events, ..self }
        }
    }

    #[test]
    fn refresh_denials_table() {
        use Refused::*;
        let report_only = TokenSettings {
            refresh_token_reuse_policy: ReusePolicy::ReportOnly,
            ..TokenSettings::default()
        };
        let rotated = |at| app_token(move |s| s.token.consumed_at = Some(at));
        // Rotated at this millisecond; the request arrived at NOW_MS.
        let rotated_ms = |ms: i64| {
            app_token(move |s| {
                s.token.consumed_at = Some(ms / 1000);
                s.token.consumed_at_ms = Some(ms);
                s.token.successor = Some(TokenHash::of("r1"));
            })
        };
        let grace = TokenSettings {
            refresh_token_reuse_grace_period: 30,
            ..TokenSettings::default()
        };
        let successor_used = || {
            app_token(|s| {
                s.token.consumed_at = Some(NOW - 1);
                s.token.consumed_at_ms = Some(NOW_MS - 1000);
                s.token.successor = Some(TokenHash::of("r1"));
                s.token.sealed_response = Some(vec![1, 2, 3]);
                s.successor_used = true;
            })
        };
        let reuse = &[DomainEvent::RefreshTokenReuse];
        let race_lost = &[DomainEvent::RefreshRaceLost];
        let token = presented_refresh();
        let cases = [
            denial(
                "a rotated token presented again",
                rotated(NOW - 1),
                InvalidGrant,
            )
            .revokes(Revokes::Grant)
            .events(reuse),
            denial("reuse, and revoking fails", rotated(NOW - 1), Unavailable)
                .revokes(Revokes::GrantButFails)
                .events(reuse),
            denial(
                "losing a concurrent race: arrived 1 ms before the rotation",
                rotated_ms(NOW_MS + 1),
                InvalidGrant,
            )
            .events(race_lost),
            denial(
                "losing a concurrent race: arrived in the rotation's millisecond",
                rotated_ms(NOW_MS),
                InvalidGrant,
            )
            .events(race_lost),
            denial(
                "a sequential replay 1 ms after the rotation, in its second",
                rotated_ms(NOW_MS - 1),
                InvalidGrant,
            )
            .revokes(Revokes::Grant)
            .events(reuse),
            denial(
                "rotated in this second before milliseconds were recorded",
                rotated(NOW),
                InvalidGrant,
            )
            .revokes(Revokes::Grant)
            .events(reuse),
            denial(
                "a retry within the grace period after the successor was used",
                successor_used(),
                InvalidGrant,
            )
            .settings(grace)
            .revokes(Revokes::Grant)
            .events(reuse),
            denial("reuse under report-only", rotated(NOW - 1), InvalidGrant)
                .settings(report_only)
                .events(reuse),
            denial("another client's token", live("public"), InvalidGrant),
            denial(
                "an expired token",
                app_token(|s| s.token.expires_at = NOW),
                InvalidGrant,
            ),
            denial("a scope beyond the grant", live("app"), InvalidScope).request(
                "app",
                &token,
                Some("read admin"),
            ),
            denial("an unknown token", Stored::Nothing, InvalidGrant),
            denial("a malformed token", Stored::Nothing, InvalidGrant)
                .request("app", "not-a-token", None)
                .store_unread(),
            denial(
                "a client not allowed refresh",
                live("narrow"),
                UnauthorizedClient,
            )
            .request("narrow", &token, None)
            .store_unread(),
            denial("a storage outage", Stored::Outage, Unavailable),
        ];
        for case in cases {
            let name = case.name;
            let mut d = Doubles::new();
            let events = d.events.clone();
            let mut writes = Arc::default();
            match case.stored {
                _ if !case.reads_store => {
                    d.tokens.expect_rotate_refresh().never();
                }
                Stored::Token(state) => writes = rotating_store(&mut d, *state),
                Stored::Nothing => {
                    falls_back(&mut d);
                    d.tokens
                        .expect_rotate_refresh()
                        .times(1)
                        .returning(|_, _, _| Ok(RotateOutcome::NotFound));
                }
                Stored::Outage => {
                    falls_back(&mut d);
                    d.tokens
                        .expect_rotate_refresh()
                        .times(1)
                        .returning(|_, _, _| Err(StoreError::Unavailable("pool timeout".into())));
                }
            }
            let revoke = d.tokens.expect_revoke_grant();
            match case.revokes {
                Revokes::Nothing => {
                    revoke.never();
                }
                Revokes::Grant | Revokes::GrantButFails => {
                    let fails = case.revokes == Revokes::GrantButFails;
                    revoke
                        .withf(|id, now| id.as_str() == "g1" && *now == NOW)
                        .times(1)
                        .returning(move |_, _| {
                            if fails {
                                Err(StoreError::Unavailable("down".into()))
                            } else {
                                Ok(true)
                            }
                        });
                }
            }

            let err = d
                .use_cases(case.settings)
                .token
                .respond(&case.request)
                .unwrap_err();

            assert!(case.refused.matches(&err), "{name}: {err:?}");
            assert!(writes.lock().unwrap().is_empty(), "{name}: nothing written");
            let counted: Vec<_> = events
                .recorded()
                .into_iter()
                .filter(|e| !matches!(e, DomainEvent::ClientSecretCache { .. }))
                .collect();
            assert_eq!(counted, case.events, "{name}");
        }
    }
}
