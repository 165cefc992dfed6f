//! The refresh rules as data, for the common path of a refresh in one round trip: the
//! conditions a live refresh token must meet (declared by the domain, next to
//! `rotation::decide`) and the tokens to write when it does (minted by the domain), which
//! the store renders as the predicates and inserts of ONE statement. The store decides
//! nothing: a presentation that fails any condition matches nothing, writes nothing, and
//! the domain falls back to the full decision (`TokenStore::rotate_refresh`).

use crate::{ClientId, FailureKey, GrantId, ScopeSet, SecretHash, TokenHash, UnixMillis, UnixTime};

/// What a presented refresh token and its grant must be for the one-statement path. Every
/// field is a condition the store MUST render (all of them, conjoined); each mirrors a
/// rule of the domain's decision, which says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumeIf {
    /// The presented token (`refresh_tokens.token_hash`).
    pub token: TokenHash,
    /// The grant belongs to this client (`grants.client_id`).
    pub client_id: ClientId,
    /// The token is not consumed (`consumed_at IS NULL`), its own expiry is after `now`
    /// (`refresh_tokens.expires_at > now`), the grant is not revoked
    /// (`grants.revoked_at IS NULL`) and its cap, if any, is after `now`.
    pub now: UnixTime,
    /// The grant's refresh tokens are bound to no DPoP key, or to this one
    /// (`grants.dpop_jkt IS NULL OR grants.dpop_jkt = key`); `None` = no proof shown.
    pub dpop_jkt: Option<String>,
    /// Every scope token of the grant is one of these (so the access token may carry the
    /// grant's whole scope), and none is one of `excluded_scopes`.
    pub registered_scopes: Vec<String>,
    /// Scopes that send the request down the full path (e.g. `openid`: an id token).
    pub excluded_scopes: Vec<String>,
    /// The authenticating client's row is still the one this process holds in memory;
    /// `None` when the row was read in this request.
    pub client_row: Option<ClientRowIs>,
    /// None of these brute-force counters holds a failure in a live window
    /// (`auth_failures`: `failures > 0 AND expires_at > now`); empty = no condition.
    pub no_failures: Vec<FailureKey>,
}

/// A client row as held in memory: the stored row still has this `secret_version` (bumped
/// on every change to the row) and secret hash (a re-created client has a new salt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRowIs {
    pub secret_version: i64,
    pub secret: SecretHash,
}

/// The writes of the one-statement path, minted before the statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTripWrite {
    /// The rotation's instant, stored on the consumed row (`consumed_at_ms`); the token's
    /// `consumed_at` is [`ConsumeIf::now`].
    pub consumed_at_ms: UnixMillis,
    /// The new access token: issued at `now` with the grant's scope and its resources as
    /// audience, expiring at `access_expires_at` or the grant's cap, whichever is first.
    pub access: TokenHash,
    pub access_expires_at: UnixTime,
    /// The DPoP key the access token is bound to (`access_tokens.dpop_jkt`).
    pub access_dpop_jkt: Option<String>,
    /// The successor: issued at `now`, expiring at `successor_expires_at` or the grant's
    /// cap, whichever is first; recorded as the consumed row's `successor_hash`.
    pub successor: TokenHash,
    pub successor_expires_at: UnixTime,
}

/// What the one statement wrote, as the domain needs it for the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTripIssued {
    pub grant_id: GrantId,
    /// The grant's scope, which the access token carries.
    pub scope: ScopeSet,
    /// The access token's expiry as stored (capped by the grant).
    pub access_expires_at: UnixTime,
}
