//! The refresh decision (RFC 6749 §6, RFC 9700 §4.14.2) as a pure function: the stored
//! token and its grant, the authenticated client, the requested scope, `now`, the request's
//! arrival and the policy in; a step or a typed denial out. No I/O, so every rule is tested
//! by table.

use grantd_ports::{
    ClientId, ClientRowIs, ConsumeIf, FailureKey, GrantId, RefreshTokenState, ScopeSet, TokenHash,
    UnixMillis, UnixTime,
};

use crate::scope_rules;
use crate::TokenError;

/// The part of the token settings that the decision needs, for one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate: `always_issue_new_refresh_token`, and always for a public client
    /// (RFC 9700 §2.2.2).
    pub rotate: bool,
    /// `refresh_token_reuse_grace_period`, seconds; 0 = strict.
    pub grace_period: i64,
}

/// Whether a refresh rotates, for one client and grant (RFC 9700 §2.2.2: "Refresh tokens
/// for public clients MUST be sender-constrained or use refresh token rotation"):
///
/// - `always_issue_new_refresh_token` rotates every client's;
/// - otherwise a confidential client's are kept (its authentication guards them, RFC 6749
///   §10.4);
/// - a public client's rotate, unless they are DPoP-bound (RFC 9449 §5: sender-constrained)
///   and the operator turned `rotate_dpop_bound_public_refresh_tokens` off. An unbound
///   public client's always rotate, whatever the settings say.
pub fn rotates(
    always_issue_new_refresh_token: bool,
    rotate_dpop_bound_public: bool,
    public_client: bool,
    dpop_bound: bool,
) -> bool {
    if always_issue_new_refresh_token {
        return true;
    }
    public_client && (!dpop_bound || rotate_dpop_bound_public)
}

/// When the presentation happened: `now` decides every expiry (whole seconds, as they are
/// stored); `arrived_at_ms` is the request's own arrival, stamped by the HTTP edge before
/// the request waited for anything, and orders it against a rotation within one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presented {
    pub now: UnixTime,
    pub arrived_at_ms: UnixMillis,
}

/// What to do with a presented refresh token that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshStep {
    /// Issue an access token of `scope`; with `rotate`, consume the presented token and
    /// issue a successor that keeps the grant's full scope (§6).
    Issue { rotate: bool, scope: ScopeSet },
    /// The token was rotated moments ago (within the grace period, its successor unused):
    /// answer the retry with the identical response the rotation produced, minting nothing.
    Replay,
}

/// Why a presented refresh token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshDenied {
    /// Issued to another client (§6, §10.4). Nothing changes: the presenter cannot prove
    /// it holds this grant, so it must not be able to revoke it either.
    WrongClient,
    /// The grant's refresh tokens are bound to a DPoP key (RFC 9449 §5) and the request
    /// showed no proof of it, or one of another key. Nothing changes, as for `WrongClient`.
    WrongKey,
    /// The grant was revoked (by reuse detection, revocation, or a lifecycle event).
    GrantRevoked,
    /// Consumed by a rotation that this request arrived before: the loser of a race (e.g.
    /// a client refreshing from two tabs at once). Refused, but not treated as theft, so the
    /// winner's chain lives on: a thief gains nothing from it either, since it is refused.
    LostRace,
    /// Already rotated, and presented by a request that arrived after that rotation (and
    /// not as a retry within the grace period): treated as stolen.
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
/// then reuse (a consumed token is a theft signal whatever its age, unless this request
/// arrived before the rotation consumed it, or is a retry within the grace period while
/// the successor is unused), then the clocks, then scope.
pub fn decide(
    state: &RefreshTokenState,
    client_id: &ClientId,
    requested_scope: Option<&ScopeSet>,
    at: Presented,
    policy: RotationPolicy,
) -> Result<RefreshStep, RefreshDenied> {
    let token = &state.token;
    let grant = &state.grant;
    let now = at.now;

    // §10.4: "MUST maintain the binding between a refresh token and the client".
    if &grant.client_id != client_id {
        return Err(RefreshDenied::WrongClient);
    }
    if grant.revoked_at.is_some() {
        return Err(RefreshDenied::GrantRevoked);
    }
    if let Some(consumed_at) = token.consumed_at {
        // RFC 9700 §4.14.2: a rotated token presented again means one of two parties is an
        // attacker, and the AS cannot tell which; it revokes the family. Two exceptions.
        //
        // A retry of the rotation itself (the client never saw its response) gets that
        // response again, but only while the successor is unused: once the successor was
        // presented the client has its response, so the old token in any hand is a replay.
        let within_grace = now < consumed_at.saturating_add(policy.grace_period);
        let alive = grant.expires_at.is_none_or(|cap| now < cap);
        if within_grace && alive && !state.successor_used && token.sealed_response.is_some() {
            return Ok(RefreshStep::Replay);
        }
        // A request that arrived before the rotation consumed the token was concurrent with
        // it (it could not have known of the successor): a lost race, not a replay. Decided
        // in milliseconds from the request's own arrival; a token consumed before the
        // milliseconds were recorded counts as consumed at the start of its second.
        let consumed_at_ms = token
            .consumed_at_ms
            .unwrap_or_else(|| consumed_at.saturating_mul(1000));
        if at.arrived_at_ms <= consumed_at_ms {
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

/// What the request brings to the common path of a refresh: everything [`consume_if`]
/// turns into conditions.
#[derive(Debug, Clone)]
pub struct CommonPath<'a> {
    pub token: TokenHash,
    pub client_id: &'a ClientId,
    pub at: Presented,
    /// The DPoP key the request proved, if any.
    pub dpop_jkt: Option<&'a str>,
    /// Every scope that may be issued (the registry).
    pub registered_scopes: Vec<String>,
    /// The client row held in memory, when the request read none (see `client_auth`).
    pub client_row: Option<ClientRowIs>,
    /// The brute-force counters whose budget check was deferred to the statement.
    pub no_failures: Vec<FailureKey>,
}

/// The rules of [`decide`] that let a live token through with [`RefreshStep::Issue`] and
/// the grant's whole scope, declared as conditions that the store renders as the
/// predicates of ONE statement (`TokenStore::rotate_refresh_if`). Only for a request that
/// asks for no narrower scope: [`decide`] would answer it `Issue` with the grant's scope
/// exactly when every condition holds, which the store contract tests prove case by case
/// on both backends. A presentation that fails any condition writes nothing and goes to
/// [`decide`] (through `rotate_refresh`), which classifies it: the conditions may refuse
/// more than `decide` does (then the full path issues), never less.
pub fn consume_if(path: CommonPath<'_>) -> ConsumeIf {
    ConsumeIf {
        token: path.token,
        // §10.4: the binding between a refresh token and its client.
        client_id: path.client_id.clone(),
        // Not consumed (a consumed token is reuse, a lost race or a grace replay: all for
        // `decide`), not revoked, neither the token's lifetime nor the grant's cap passed.
        now: path.at.now,
        // RFC 9449 §5: a bound grant needs a proof of its key.
        dpop_jkt: path.dpop_jkt.map(str::to_owned),
        // A scope dropped from the registry is never issued: with every one registered, the
        // access token carries the grant's scope unchanged.
        registered_scopes: path.registered_scopes,
        // `openid` brings an id token, signed on the full path.
        excluded_scopes: vec![crate::id_token::OPENID.to_owned()],
        client_row: path.client_row,
        no_failures: path.no_failures,
    }
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
                consumed_at_ms: None,
                successor: None,
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
                resources: grantd_ports::ResourceSet::empty(),
                created_at: NOW - 1000,
                expires_at: Some(NOW + 5000),
                revoked_at: None,
                auth_time: None,
                dpop_jkt: None,
            },
            successor_used: false,
        }
    }

    /// A request that arrived half-way through the second NOW.
    const AT: Presented = at_ms(500);

    /// A request at NOW that arrived `ms` milliseconds into that second.
    const fn at_ms(ms: i64) -> Presented {
        Presented {
            now: NOW,
            arrived_at_ms: NOW * 1000 + ms,
        }
    }

    /// `s` rotated at NOW, `ms` milliseconds into that second, to a successor.
    fn rotated_at(s: &mut RefreshTokenState, ms: i64) {
        s.token.consumed_at = Some(NOW);
        s.token.consumed_at_ms = Some(NOW * 1000 + ms);
        s.token.successor = Some(TokenHash::of("r1"));
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
            assert_eq!(decide(&s, &app(), None, AT, ROTATE), expected, "{name}");
        }
    }

    #[test]
    fn only_a_dpop_bound_public_client_may_go_without_rotation() {
        // (always, rotate bound public, public, bound) -> rotates
        let cases = [
            ((true, true, true, true), true),
            ((true, false, true, true), true),
            ((true, false, false, false), true),
            ((false, true, false, false), false),
            ((false, false, false, true), false),
            ((false, true, true, false), true),
            ((false, false, true, false), true),
            ((false, true, true, true), true),
            ((false, false, true, true), false),
        ];
        for ((always, bound_public, public, bound), expected) in cases {
            assert_eq!(
                rotates(always, bound_public, public, bound),
                expected,
                "always={always} rotate_bound_public={bound_public} public={public} bound={bound}"
            );
        }
    }

    #[test]
    fn scope_may_narrow_but_not_widen() {
        let s = state();
        assert_eq!(
            decide(&s, &app(), Some(&scope("read")), AT, ROTATE),
            Ok(RefreshStep::Issue {
                rotate: true,
                scope: scope("read")
            })
        );
        assert!(matches!(
            decide(&s, &app(), Some(&scope("read admin")), AT, ROTATE),
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
            decide(&state(), &app(), None, AT, policy),
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
            decide(&s, &app(), None, AT, policy),
            Ok(RefreshStep::Replay)
        );
        let later = Presented {
            now: NOW + 20,
            arrived_at_ms: (NOW + 20) * 1000,
        };
        assert_eq!(
            decide(&s, &app(), None, later, policy),
            Err(RefreshDenied::Reused {
                grant_id: s.grant.id.clone()
            })
        );
        // Without a stored response there is nothing to replay: reuse.
        s.token.sealed_response = None;
        assert!(matches!(
            decide(&s, &app(), None, AT, policy),
            Err(RefreshDenied::Reused { .. })
        ));
    }

    /// RFC 9700 §4.14.2: the grace period covers a retry of the rotation, not a replay once
    /// the client has moved on to the successor.
    #[test]
    fn within_grace_a_used_successor_makes_the_retry_reuse() {
        let policy = RotationPolicy {
            rotate: true,
            grace_period: 30,
        };
        let mut s = state();
        rotated_at(&mut s, 100);
        s.token.sealed_response = Some(vec![1, 2, 3]);
        assert_eq!(
            decide(&s, &app(), None, at_ms(200), policy),
            Ok(RefreshStep::Replay),
            "successor unused: the retry gets the response"
        );
        s.successor_used = true;
        assert_eq!(
            decide(&s, &app(), None, at_ms(200), policy),
            Err(RefreshDenied::Reused {
                grant_id: s.grant.id.clone()
            }),
            "successor used: reuse, inside the window too"
        );
        // Still a lost race if it arrived before the rotation: it cannot have known.
        assert_eq!(
            decide(&s, &app(), None, at_ms(50), policy),
            Err(RefreshDenied::LostRace)
        );
    }

    #[test]
    fn a_rotated_token_is_a_lost_race_only_for_a_request_that_arrived_before_the_rotation() {
        type Edit = fn(&mut RefreshTokenState);
        let reused = || {
            Err(RefreshDenied::Reused {
                grant_id: GrantId::parse("g1").unwrap(),
            })
        };
        let cases: Vec<(&str, Edit, Presented, Result<RefreshStep, RefreshDenied>)> = vec![
            (
                "arrived 1 ms before the rotation: concurrent",
                |s| rotated_at(s, 500),
                at_ms(499),
                Err(RefreshDenied::LostRace),
            ),
            (
                "arrived in the rotation's millisecond: concurrent",
                |s| rotated_at(s, 500),
                at_ms(500),
                Err(RefreshDenied::LostRace),
            ),
            (
                "arrived 1 ms after the rotation, same second: a sequential replay",
                |s| rotated_at(s, 500),
                at_ms(501),
                reused(),
            ),
            (
                "arrived in an earlier second than the rotation: concurrent",
                |s| rotated_at(s, 0),
                Presented {
                    now: NOW,
                    arrived_at_ms: NOW * 1000 - 1,
                },
                Err(RefreshDenied::LostRace),
            ),
            (
                "rotated before milliseconds were recorded, presented in its second: reuse",
                |s| s.token.consumed_at = Some(NOW),
                at_ms(1),
                reused(),
            ),
            (
                "rotated before milliseconds were recorded, arrived a second earlier",
                |s| s.token.consumed_at = Some(NOW),
                Presented {
                    now: NOW,
                    arrived_at_ms: NOW * 1000 - 1,
                },
                Err(RefreshDenied::LostRace),
            ),
        ];
        for (name, edit, at, expected) in cases {
            let mut s = state();
            edit(&mut s);
            assert_eq!(decide(&s, &app(), None, at, ROTATE), expected, "{name}");
        }
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
