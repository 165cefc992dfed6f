//! Why a configuration could not be loaded. Every message names the key it is about,
//! because an operator reading a failed start-up must know which line (or variable) to fix.

use std::path::PathBuf;

/// Why the configuration could not be loaded. Each message names the key it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `--config FILE` names a file that is not there.
    #[error("config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    /// Extraction failed (wrong type, unknown key, bad enum value); one line per problem.
    #[error("invalid configuration: {}", .0.join("; "))]
    Extract(Vec<String>),
    /// A value of the right type that breaks a rule.
    #[error("invalid configuration: {key}: {reason}")]
    /// `key` is owned: some keys are built from the configuration (`scopes.<name>`).
    Invalid { key: String, reason: String },
}

impl ConfigError {
    /// A broken rule of `key`, the dotted key as written in the TOML file.
    pub(super) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}

/// The reasons several sections share, worded once.
pub(super) const POSITIVE: &str = "must be a positive number of seconds";
pub(super) const NON_NEGATIVE: &str = "must be zero or a positive number of seconds";
