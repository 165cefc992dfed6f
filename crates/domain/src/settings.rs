//! The token policy an operator configures: lifetimes, rotation and reuse handling.
//! Plain values; the app fills them from its configuration.

/// What to do when a refresh token that was already rotated is presented again after the
/// grace period (RFC 9700 §4.14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReusePolicy {
    /// Treat it as theft: revoke the whole grant (every token of the family).
    #[default]
    RevokeGrant,
    /// Refuse the token and log the detection, but revoke nothing (for a careful roll-out).
    ReportOnly,
}

/// Global token settings. Per-client overrides ([`grantd_ports::LifetimeOverrides`]) win.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// Seconds an access token lives.
    pub access_token_lifetime: i64,
    /// Seconds each refresh token lives; a rotated successor gets a fresh span (idle timeout).
    pub refresh_token_lifetime: i64,
    /// Absolute cap of a grant in seconds, however often it rotates; 0 = no cap.
    pub refresh_token_max_lifetime: i64,
    /// Rotate: issue a new refresh token on every refresh and consume the presented one.
    pub always_issue_new_refresh_token: bool,
    /// Rotate a public client's DPoP-bound refresh tokens whatever
    /// `always_issue_new_refresh_token` says. `false`: they follow that setting like a
    /// confidential client's, since RFC 9700 §2.2.2 asks a public client's refresh tokens
    /// to be sender-constrained *or* rotated. An unbound public client always rotates.
    pub rotate_dpop_bound_public_refresh_tokens: bool,
    /// Seconds after a rotation during which a retry with the rotated token gets the
    /// identical response back, while its successor is unused; 0 = strict. At most
    /// [`TokenSettings::MAX_REUSE_GRACE_PERIOD`].
    pub refresh_token_reuse_grace_period: i64,
    pub refresh_token_reuse_policy: ReusePolicy,
    /// OpenID Connect's rules at the token endpoint.
    pub oidc: OidcSettings,
}

/// OpenID Connect at the token endpoint (`[oidc]`); in force only with signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OidcSettings {
    /// With `openid`, a refresh token only when `offline_access` was granted too (Core
    /// §11), as Hydra does; without `openid` the OAuth rules stand.
    pub refresh_requires_offline_access: bool,
    /// Seconds an id token is valid (Core §2 `exp`).
    pub id_token_lifetime: i64,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            refresh_requires_offline_access: true,
            id_token_lifetime: 3600,
        }
    }
}

impl TokenSettings {
    /// The longest `refresh_token_reuse_grace_period` (seconds): the window exists for a
    /// client retrying a rotation whose response it lost, which takes seconds, not hours.
    /// Within it a stolen rotated token still replays, so it stays short.
    pub const MAX_REUSE_GRACE_PERIOD: i64 = 300;
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_lifetime: 3600,
            refresh_token_lifetime: 14 * 24 * 3600,
            refresh_token_max_lifetime: 90 * 24 * 3600,
            always_issue_new_refresh_token: true,
            rotate_dpop_bound_public_refresh_tokens: true,
            refresh_token_reuse_grace_period: 0,
            refresh_token_reuse_policy: ReusePolicy::RevokeGrant,
            oidc: OidcSettings::default(),
        }
    }
}

/// The authorization code flow's policy (RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationSettings {
    /// Seconds an authorization code may be exchanged (§4.1.2: short-lived, at most 10
    /// minutes RECOMMENDED).
    pub code_lifetime: i64,
    /// Require PKCE of every client, not only of public ones.
    pub require_pkce: bool,
    /// Accept `code_challenge_method=plain` (RFC 9700 §2.1.1 says to prefer S256).
    pub allow_plain_pkce: bool,
}

impl Default for AuthorizationSettings {
    fn default() -> Self {
        Self {
            code_lifetime: 60,
            require_pkce: false,
            allow_plain_pkce: false,
        }
    }
}

impl AuthorizationSettings {
    /// `code_challenge_methods_supported` of the metadata document (RFC 8414 §2).
    pub fn code_challenge_methods(&self) -> Vec<&'static str> {
        if self.allow_plain_pkce {
            vec!["S256", "plain"]
        } else {
            vec!["S256"]
        }
    }
}
