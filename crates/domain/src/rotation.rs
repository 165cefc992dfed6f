//! The refresh decision (RFC 6749 §6, RFC 9700 §4.14.2) as a pure function: the stored
//! token and its grant, the authenticated client, the requested scope, `now` and the
//! policy in; a step or a typed denial out. No I/O, so every rule is tested by table.

use grantd_ports::{ClientId, GrantId, RefreshTokenState, ScopeSet, UnixTime};

use crate::scope_rules;
use crate::TokenError;

/// The part of the token settings that the decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// `always_issue_new_refresh_token`.
    pub rotate: bool,
    /// `refresh_token_reuse_grace_period`, seconds; 0 = strict.
    pub grace_period: i64,
}

/// What to do with a presented refresh token that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshStep {
    /// Issue an access token of `scope`; with `rotate`, consume the presented token and
    /// issue a successor that keeps the grant's full scope (§6).
    Issue { rotate: bool, scope: ScopeSet },
    /// The token was rotated moments ago (within the grace period): answer the retry with
    /// the identical response the rotation produced, minting nothing.
    Replay,
}

/// Why a presented refresh token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDenied {
    /// Issued to another client (§6, §10.4). Nothing changes: the presenter cannot prove
    /// it holds this grant, so it must not be able to revoke it either.
    WrongClient,
    /// The grant was revoked (by reuse detection, revocation, or a lifecycle event).
    GrantRevoked,
    /// Rotated in this same second by a concurrent request: the loser of a race (e.g. a
    /// client refreshing from two tabs at once). Refused, but not treated as theft, so the
    /// winner's chain lives on: a thief gains nothing from it either, since it is refused.
    LostRace,
    /// Already rotated and presented again later (after the grace period): treated as stolen.
    Reused { grant_id: GrantId },
    /// The token's own lifetime (`refresh_token_lifetime`) has passed.
    Expired,
    /// The grant's absolute cap (`refresh_token_max_lifetime`) has passed.
    GrantExpired,
    /// The requested scope exceeds the granted one (§6); the denial carries the
    /// `invalid_scope` description.
    ScopeExceeded(String),
}

impl RefreshDenied {
    /// The token endpoint's answer. Every denial but scope is `invalid_grant` with one
    /// message, so a caller learns nothing about a token that is not theirs.
    pub fn into_error(self) -> TokenError {
        match self {
            RefreshDenied::ScopeExceeded(d) => TokenError::InvalidScope(d),
            _ => TokenError::InvalidGrant("the refresh token is invalid, expired or revoked"),
        }
    }
}

/// Decides what a presented refresh token may do. The order matters:
/// binding first (a token shown by another client changes nothing), then revocation,
/// then reuse (a consumed token is a theft signal whatever its age, unless it was
/// consumed by a concurrent request in this very second), then the clocks, then scope.
pub fn decide(
    state: &RefreshTokenState,
    client_id: &ClientId,
    requested_scope: Option<&ScopeSet>,
    now: UnixTime,
    policy: RotationPolicy,
) -> Result<RefreshStep, RefreshDenied> {
    let token = &state.token;
    let grant = &state.grant;

    // §10.4: "MUST maintain the binding between a refresh token and the client".
    if &grant.client_id != client_id {
        return Err(RefreshDenied::WrongClient);
    }
    if grant.revoked_at.is_some() {
        return Err(RefreshDenied::GrantRevoked);
    }
    if let Some(consumed_at) = token.consumed_at {
        // RFC 9700 §4.14.2: a replayed rotated token means one of two parties is an attacker.
        let within_grace = now < consumed_at.saturating_add(policy.grace_period);
        let alive = grant.expires_at.is_none_or(|cap| now < cap);
        if within_grace && alive && token.sealed_response.is_some() {
            return Ok(RefreshStep::Replay);
        }
        if now <= consumed_at {
            return Err(RefreshDenied::LostRace);
        }
        return Err(RefreshDenied::Reused {
            grant_id: grant.id.clone(),
        });
    }
    if now >= token.expires_at {
        return Err(RefreshDenied::Expired);
    }
    if grant.expires_at.is_some_and(|cap| now >= cap) {
        return Err(RefreshDenied::GrantExpired);
    }
    let scope = scope_rules::for_refresh(requested_scope.cloned(), &grant.scope).map_err(|e| {
        RefreshDenied::ScopeExceeded(match e {
            TokenError::InvalidScope(d) => d,
            other => other.to_string(),
        })
    })?;
    Ok(RefreshStep::Issue {
        rotate: policy.rotate,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantd_ports::{GrantRecord, RefreshToken, Subject, TokenHash, UserId, Username};

    const NOW: UnixTime = 10_000;

    fn state() -> RefreshTokenState {
        RefreshTokenState {
            token: RefreshToken {
                hash: TokenHash::of("r"),
                grant_id: GrantId::parse("g1").unwrap(),
                issued_at: NOW - 100,
                expires_at: NOW + 100,
                consumed_at: None,
                sealed_response: None,
            },
            grant: GrantRecord {
                id: GrantId::parse("g1").unwrap(),
                client_id: ClientId::parse("app").unwrap(),
                subject: Subject::User {
                    id: UserId::parse("u1").unwrap(),
                    username: Username::parse("alice").unwrap(),
                },
                scope: ScopeSet::parse("read write").unwrap(),
                created_at: NOW - 1000,
                expires_at: Some(NOW + 5000),
                revoked_at: None,
            },
        }
    }

    fn app() -> ClientId {
        ClientId::parse("app").unwrap()
    }

    const ROTATE: RotationPolicy = RotationPolicy {
        rotate: true,
        grace_period: 0,
    };

    fn scope(s: &str) -> ScopeSet {
        ScopeSet::parse(s).unwrap()
    }

    #[test]
    fn table_of_rules() {
        type Edit = fn(&mut RefreshTokenState);
        let cases: Vec<(&str, Edit, Result<RefreshStep, RefreshDenied>)> = vec![
            (
                "live token issues with full scope",
                |_| {},
                Ok(RefreshStep::Issue {
                    rotate: true,
                    scope: scope("read write"),
                }),
            ),
            (
                "other client",
                |s| s.grant.client_id = ClientId::parse("other").unwrap(),
                Err(RefreshDenied::WrongClient),
            ),
            (
                "revoked grant",
                |s| s.grant.revoked_at = Some(NOW - 1),
                Err(RefreshDenied::GrantRevoked),
            ),
            (
                "consumed token is reuse",
                |s| s.token.consumed_at = Some(NOW - 1),
                Err(RefreshDenied::Reused {
                    grant_id: GrantId::parse("g1").unwrap(),
                }),
            ),
            (
                "expired token",
                |s| s.token.expires_at = NOW,
                Err(RefreshDenied::Expired),
            ),
            (
                "grant past its cap",
                |s| s.grant.expires_at = Some(NOW),
                Err(RefreshDenied::GrantExpired),
            ),
            (
                "no cap",
                |s| s.grant.expires_at = None,
                Ok(RefreshStep::Issue {
                    rotate: true,
                    scope: scope("read write"),
                }),
            ),
            (
                "other client with a consumed token changes nothing",
                |s| {
                    s.grant.client_id = ClientId::parse("other").unwrap();
                    s.token.consumed_at = Some(NOW - 1);
                },
                Err(RefreshDenied::WrongClient),
            ),
        ];
        for (name, edit, expected) in cases {
            let mut s = state();
            edit(&mut s);
            assert_eq!(decide(&s, &app(), None, NOW, ROTATE), expected, "{name}");
        }
    }

    #[test]
    fn scope_may_narrow_but_not_widen() {
        let s = state();
        assert_eq!(
            decide(&s, &app(), Some(&scope("read")), NOW, ROTATE),
            Ok(RefreshStep::Issue {
                rotate: true,
                scope: scope("read")
            })
        );
        assert!(matches!(
            decide(&s, &app(), Some(&scope("read admin")), NOW, ROTATE),
            Err(RefreshDenied::ScopeExceeded(d)) if d.contains("admin")
        ));
    }

    #[test]
    fn rotation_off_keeps_the_token() {
        let policy = RotationPolicy {
            rotate: false,
            grace_period: 0,
        };
        assert_eq!(
            decide(&state(), &app(), None, NOW, policy),
            Ok(RefreshStep::Issue {
                rotate: false,
                scope: scope("read write")
            })
        );
    }

    #[test]
    fn retry_within_grace_replays_and_after_grace_is_reuse() {
        let policy = RotationPolicy {
            rotate: true,
            grace_period: 30,
        };
        let mut s = state();
        s.token.consumed_at = Some(NOW - 10);
        s.token.sealed_response = Some(vec![1, 2, 3]);
        assert_eq!(
            decide(&s, &app(), None, NOW, policy),
            Ok(RefreshStep::Replay)
        );
        assert_eq!(
            decide(&s, &app(), None, NOW + 20, policy),
            Err(RefreshDenied::Reused {
                grant_id: s.grant.id.clone()
            })
        );
        // Without a stored response there is nothing to replay: reuse.
        s.token.sealed_response = None;
        assert!(matches!(
            decide(&s, &app(), None, NOW, policy),
            Err(RefreshDenied::Reused { .. })
        ));
    }

    #[test]
    fn a_token_consumed_this_second_is_a_lost_race_not_reuse() {
        let mut s = state();
        s.token.consumed_at = Some(NOW);
        assert_eq!(
            decide(&s, &app(), None, NOW, ROTATE),
            Err(RefreshDenied::LostRace)
        );
    }

    #[test]
    fn denials_map_to_rfc_errors() {
        assert!(matches!(
            RefreshDenied::Expired.into_error(),
            TokenError::InvalidGrant(_)
        ));
        assert!(matches!(
            RefreshDenied::ScopeExceeded("x".into()).into_error(),
            TokenError::InvalidScope(d) if d == "x"
        ));
    }
}
