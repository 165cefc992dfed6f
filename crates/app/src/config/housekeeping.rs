//! `[housekeeping]`: how often `serve` prunes what has expired, and in what batches.

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
}

impl Default for HousekeepingConfig {
    fn default() -> Self {
        Self {
            prune_interval: 3600,
            prune_batch_size: 1000,
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
        Ok(())
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
}
