//! `[security]`: the bcrypt work factors of passwords and client secrets, and how many
//! bcrypt checks may run at once.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The most password-check permits one may configure: far more than any host has cores.
const MAX_PASSWORD_CHECK_PERMITS: usize = 1024;

/// `[security]`: bcrypt work factors (4..=31; each step doubles the time) and the
/// password-check permit pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    pub password_bcrypt_cost: u32,
    pub client_secret_bcrypt_cost: u32,
    /// Password and client-secret checks (bcrypt) that may run at once, apart from the
    /// database work; one more is refused at once with 503. 0 = one per CPU core.
    pub password_check_permits: usize,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            password_bcrypt_cost: 12,
            client_secret_bcrypt_cost: 10,
            password_check_permits: 0,
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
        if self.password_check_permits > MAX_PASSWORD_CHECK_PERMITS {
            return Err(ConfigError::invalid(
                "security.password_check_permits",
                format!(
                    "must be 0 (one per CPU core) to {MAX_PASSWORD_CHECK_PERMITS}, got {}",
                    self.password_check_permits
                ),
            ));
        }
        Ok(())
    }

    /// The size of the password-check permit pool: as set, or one per CPU core for 0 (a
    /// bcrypt is pure CPU, so more at once only makes each slower).
    pub fn password_check_permits(&self) -> usize {
        match self.password_check_permits {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn zero_permits_means_one_per_core_and_too_many_names_the_key() {
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(SecurityConfig::default().password_check_permits(), cores);
        let three = SecurityConfig {
            password_check_permits: 3,
            ..SecurityConfig::default()
        };
        assert_eq!(three.password_check_permits(), 3);
        let err = SecurityConfig {
            password_check_permits: 1025,
            ..SecurityConfig::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("security.password_check_permits: must be 0"),
            "{err}"
        );
    }
}
