//! `[log]`: the default log filter (overridden by `RUST_LOG`) and the line format.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[log]`: the default filter (overridden by `RUST_LOG`) and the line format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Human,
        }
    }
}

impl LogConfig {
    /// Checks that `level` is a filter tracing understands.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if tracing_subscriber::EnvFilter::try_new(&self.level).is_err() {
            return Err(ConfigError::invalid(
                "log.level",
                format!(
                    "must be a level (error, warn, info, debug, trace) or a filter, got {:?}",
                    self.level
                ),
            ));
        }
        Ok(())
    }
}
