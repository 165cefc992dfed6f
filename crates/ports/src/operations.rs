//! Ports for running grantd as a service: domain events an operator counts ([`Metrics`]),
//! and the removal of what has expired ([`Housekeeping`]). The domain reports events
//! without naming any metrics library; the app decides where they go.

use crate::{GrantType, StoreError, UnixTime};

/// Something the domain did that an operator wants counted. Never carries a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainEvent {
    /// A token response was issued by this grant type.
    TokensIssued(GrantType),
    /// A rotated refresh token was presented again (RFC 9700 §4.14.2).
    RefreshTokenReuse,
    /// A concurrent refresh consumed the token first.
    RefreshRaceLost,
    /// An attempt was refused by the brute-force limits (429).
    RateLimited,
    /// A client-secret verification was answered from a cache (`hit`) or had to hash.
    ClientSecretCache { hit: bool },
    /// A password or client-secret check was refused because every permit was taken (503).
    PasswordCheckRefused,
}

/// Where domain events are counted (Prometheus in production). MUST NOT block or fail:
/// it runs inside use cases, sometimes inside a store transaction.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Metrics: Send + Sync + 'static {
    fn record(&self, event: DomainEvent);
}

/// Counts nothing: for tools and tests that do not care.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _event: DomainEvent) {}
}

/// What one prune removed, by table. Rows removed through a deleted grant's cascade are
/// not counted separately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    pub grants: u64,
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub authorization_codes: u64,
    /// Brute-force counters whose window had ended.
    pub auth_failures: u64,
    /// DPoP proof `jti` records whose window had ended.
    pub dpop_jtis: u64,
}

impl PruneReport {
    pub fn total(&self) -> u64 {
        self.grants
            + self.access_tokens
            + self.refresh_tokens
            + self.authorization_codes
            + self.auth_failures
            + self.dpop_jtis
    }
}

/// Removing what can no longer be used, in small batches so that it never holds a lock
/// the hot path waits on for long.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Housekeeping: Send + Sync + 'static {
    /// Deletes, at most `batch` rows per statement (each its own transaction):
    /// access tokens expired before `now`; unconsumed refresh tokens expired before `now`;
    /// grants that have ended (their absolute expiry passed, or no unconsumed refresh token
    /// and no access token of theirs is still unexpired), with every token they own;
    /// brute-force counters whose window ended at or before `now`; DPoP `jti` records that
    /// expired before `now`.
    ///
    /// A consumed refresh token is never deleted on its own: it is the reuse-detection
    /// record and MUST live until its grant ends. Returns the counts deleted.
    fn prune(&self, now: UnixTime, batch: u32) -> Result<PruneReport, StoreError>;
}
