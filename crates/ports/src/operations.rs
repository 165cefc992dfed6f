//! Ports for running grantd as a service: domain events an operator counts ([`Metrics`]),
//! and the removal of what has expired ([`Housekeeping`]). The domain reports events
//! without naming any metrics library; the app decides where they go.

use std::time::Duration;

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

/// How a prune paces itself beside live traffic: `batch` rows per statement (each its own
/// transaction), and after each statement a pause of `pause_percent` % of the time the
/// statement took. At 100 the prune holds its connection, and the database's CPU, at most
/// half of its run: it takes twice as long and leaves the rest to token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunePace {
    pub batch: u32,
    pub pause_percent: u32,
}

impl PrunePace {
    /// Back to back, for tests and one-off tools.
    pub fn unpaced(batch: u32) -> Self {
        Self {
            batch,
            pause_percent: 0,
        }
    }

    /// The pause after a statement that took `took`.
    pub fn pause_after(&self, took: Duration) -> Duration {
        took.saturating_mul(self.pause_percent) / 100
    }
}

/// Removing what can no longer be used, in small batches so that it never holds a lock
/// the hot path waits on for long.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Housekeeping: Send + Sync + 'static {
    /// Deletes, at most `pace.batch` rows per statement (each its own transaction, followed
    /// by the pace's pause):
    /// access tokens expired before `now`; unconsumed refresh tokens expired before `now`;
    /// grants that have ended (their absolute expiry passed, or no unconsumed refresh token
    /// and no access token of theirs is still unexpired), with every token they own;
    /// brute-force counters whose window ended at or before `now`; DPoP `jti` records that
    /// expired before `now`.
    ///
    /// A consumed refresh token is never deleted on its own: it is the reuse-detection
    /// record and MUST live until its grant ends. Returns the counts deleted.
    fn prune(&self, now: UnixTime, pace: PrunePace) -> Result<PruneReport, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_is_a_percentage_of_the_statement_time() {
        let took = Duration::from_millis(8);
        let pace = |pause_percent| PrunePace {
            batch: 1000,
            pause_percent,
        };
        assert_eq!(pace(0).pause_after(took), Duration::ZERO);
        assert_eq!(pace(100).pause_after(took), took);
        assert_eq!(pace(250).pause_after(took), Duration::from_millis(20));
        assert_eq!(PrunePace::unpaced(5).pause_after(took), Duration::ZERO);
    }
}
