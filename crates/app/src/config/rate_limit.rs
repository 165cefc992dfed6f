//! `[rate_limit]`: the failed-attempt limits per username and per client id, and their
//! conversion to the domain's `AttemptLimit`s.

use grantd_domain::AttemptLimit;
use serde::{Deserialize, Serialize};

use super::error::POSITIVE;
use super::ConfigError;

/// `[rate_limit]`: brute-force protection (RFC 6749 §4.3.2, §2.3.1). Failed attempts are
/// counted per username and per client id in each process; at the limit, further attempts
/// for that name get 429 with `Retry-After` until the window ends. 0 turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub max_failed_password_attempts: u32,
    pub max_failed_client_authentications: u32,
    pub window: i64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            max_failed_password_attempts: 10,
            max_failed_client_authentications: 10,
            window: 60,
        }
    }
}

impl RateLimitConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.window <= 0 {
            return Err(ConfigError::invalid("rate_limit.window", POSITIVE));
        }
        Ok(())
    }

    /// (per username, per client id)
    pub fn to_limits(&self) -> (AttemptLimit, AttemptLimit) {
        (
            AttemptLimit {
                max_failures: self.max_failed_password_attempts,
                window_secs: self.window,
            },
            AttemptLimit {
                max_failures: self.max_failed_client_authentications,
                window_secs: self.window,
            },
        )
    }
}
