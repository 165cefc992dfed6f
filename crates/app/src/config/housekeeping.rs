//! `[housekeeping]`: how often `serve` prunes what has expired, in what batches, and how
//! gently beside live traffic.

use grantd_ports::PrunePace;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[housekeeping]`: pruning what has expired while serving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HousekeepingConfig {
    /// Seconds between prunes in `serve`; 0 = never (run `grantd prune` instead).
    pub prune_interval: u64,
    /// Rows deleted per statement (each its own short transaction).
    pub prune_batch_size: u32,
    /// After each statement, a pause of this % of the time it took, so that a prune beside
    /// live traffic leaves it the database: 300 = the prune works at most a quarter of the
    /// time. 0 = back to back (fastest, for a quiet database).
    pub prune_pause_percent: u32,
}

/// More would make a prune of a large backlog take days.
const MAX_PAUSE_PERCENT: u32 = 10_000;

impl Default for HousekeepingConfig {
    fn default() -> Self {
        Self {
            prune_interval: 3600,
            prune_batch_size: 1000,
            prune_pause_percent: 300,
        }
    }
}

impl HousekeepingConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.prune_batch_size == 0 {
            return Err(ConfigError::invalid(
                "housekeeping.prune_batch_size",
                "must be at least 1",
            ));
        }
        if self.prune_pause_percent > MAX_PAUSE_PERCENT {
            return Err(ConfigError::invalid(
                "housekeeping.prune_pause_percent",
                format!("must be at most {MAX_PAUSE_PERCENT}"),
            ));
        }
        Ok(())
    }

    /// The pace that `grantd prune`, the periodic prune and `POST /admin/prune` keep.
    pub fn prune_pace(&self) -> PrunePace {
        PrunePace {
            batch: self.prune_batch_size,
            pause_percent: self.prune_pause_percent,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_zero_batch_is_refused_and_a_zero_interval_is_not() {
        let section = HousekeepingConfig {
            prune_batch_size: 0,
            ..HousekeepingConfig::default()
        };
        assert_eq!(
            section.validate().unwrap_err().to_string(),
            "invalid configuration: housekeeping.prune_batch_size: must be at least 1"
        );
        let section = HousekeepingConfig {
            prune_interval: 0,
            ..HousekeepingConfig::default()
        };
        assert!(section.validate().is_ok());
    }

    #[test]
    fn a_pause_past_the_cap_is_refused_and_the_pace_carries_both_settings() {
        let section = HousekeepingConfig {
            prune_pause_percent: MAX_PAUSE_PERCENT + 1,
            ..HousekeepingConfig::default()
        };
        assert_eq!(
            section.validate().unwrap_err().to_string(),
            "invalid configuration: housekeeping.prune_pause_percent: must be at most 10000"
        );
        let section = HousekeepingConfig {
            prune_batch_size: 50,
            prune_pause_percent: 0,
            ..HousekeepingConfig::default()
        };
        assert!(section.validate().is_ok());
        assert_eq!(section.prune_pace(), PrunePace::unpaced(50));
    }
}
