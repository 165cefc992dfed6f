//! `[security]`: the bcrypt work factors of passwords and client secrets.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[security]`: bcrypt work factors (4..=31; each step doubles the time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    pub password_bcrypt_cost: u32,
    pub client_secret_bcrypt_cost: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            password_bcrypt_cost: 12,
            client_secret_bcrypt_cost: 10,
        }
    }
}

impl SecurityConfig {
    /// Checks the rules that types cannot express: bcrypt's own range of costs.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, cost) in [
            ("security.password_bcrypt_cost", self.password_bcrypt_cost),
            (
                "security.client_secret_bcrypt_cost",
                self.client_secret_bcrypt_cost,
            ),
        ] {
            if !(4..=31).contains(&cost) {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be 4 to 31, got {cost}"),
                ));
            }
        }
        Ok(())
    }
}
