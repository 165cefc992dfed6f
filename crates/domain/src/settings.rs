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
    /// Seconds after a rotation during which a retry with the rotated token gets the
    /// identical response back; 0 = strict.
    pub refresh_token_reuse_grace_period: i64,
    pub refresh_token_reuse_policy: ReusePolicy,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_lifetime: 3600,
            refresh_token_lifetime: 14 * 24 * 3600,
            refresh_token_max_lifetime: 90 * 24 * 3600,
            always_issue_new_refresh_token: true,
            refresh_token_reuse_grace_period: 0,
            refresh_token_reuse_policy: ReusePolicy::RevokeGrant,
        }
    }
}
