//! `[rate_limit]`: the brute-force budgets, and their conversion to the domain's
//! `AttemptLimits`.

use grantd_domain::AttemptLimits;
use serde::{Deserialize, Serialize};

use super::error::POSITIVE;
use super::ConfigError;

/// `[rate_limit]`: brute-force protection (RFC 6749 §4.3.2, §2.3.1). Failed guesses are
/// counted in the database, so every instance shares them, per window of `window` seconds:
/// per (username, source address) and per (client id, source address), at whose limit that
/// source gets 429 with `Retry-After` for that name; per source address across all names;
/// and per name across all sources, at whose limit only sources that have themselves failed
/// for that name get 429. 0 turns a budget off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub max_failed_password_attempts: u32,
    pub max_failed_client_authentications: u32,
    pub max_failures_per_source: u32,
    pub max_failures_per_account: u32,
    pub window: i64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        // One source of truth for the defaults: the domain's.
        let d = AttemptLimits::default();
        Self {
            max_failed_password_attempts: d.per_username_and_source,
            max_failed_client_authentications: d.per_client_and_source,
            max_failures_per_source: d.per_source,
            max_failures_per_account: d.per_account,
            window: d.window_secs,
        }
    }
}

impl RateLimitConfig {
    /// Checks the rules that types cannot express. The budgets across accounts or across
    /// sources are there to catch what the per-(account, source) budgets cannot; one that
    /// is smaller would refuse first, turning a flood from elsewhere against one address.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.window <= 0 {
            return Err(ConfigError::invalid("rate_limit.window", POSITIVE));
        }
        let per_pair = self
            .max_failed_password_attempts
            .max(self.max_failed_client_authentications);
        for (key, budget) in [
            (
                "rate_limit.max_failures_per_source",
                self.max_failures_per_source,
            ),
            (
                "rate_limit.max_failures_per_account",
                self.max_failures_per_account,
            ),
        ] {
            if budget != 0 && budget < per_pair {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "must be 0 (off) or at least max_failed_password_attempts and \
                         max_failed_client_authentications ({per_pair})"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub fn to_limits(&self) -> AttemptLimits {
        AttemptLimits {
            per_username_and_source: self.max_failed_password_attempts,
            per_client_and_source: self.max_failed_client_authentications,
            per_source: self.max_failures_per_source,
            per_account: self.max_failures_per_account,
            window_secs: self.window,
        }
    }
}
