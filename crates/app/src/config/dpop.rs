//! `[dpop]`: how DPoP proofs (RFC 9449) are checked at the token endpoint and at grantd's
//! own resources.

use grantd_domain::dpop::DpopSettings;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The widest `iat` window accepted (seconds): every accepted proof's `jti` is kept this
/// long, and a stolen proof is usable within it (RFC 9449 §11.1).
const MAX_IAT_WINDOW: i64 = 300;

/// `[dpop]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopConfig {
    /// Seconds a proof's `iat` may be from now, either way.
    pub iat_window: i64,
    /// Every proof must carry a server nonce (RFC 9449 §8), made under a key derived from
    /// `authorization.session_key`.
    pub require_nonce: bool,
}

impl Default for DpopConfig {
    fn default() -> Self {
        Self {
            iat_window: DpopSettings::default().iat_window,
            require_nonce: false,
        }
    }
}

impl DpopConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_IAT_WINDOW).contains(&self.iat_window) {
            return Err(ConfigError::invalid(
                "dpop.iat_window",
                format!("must be between 1 and {MAX_IAT_WINDOW} seconds"),
            ));
        }
        Ok(())
    }

    /// The domain's view of these settings (every asymmetric algorithm is accepted); the
    /// nonce key, for `require_nonce`, is the wiring's to add.
    pub fn to_settings(&self) -> DpopSettings {
        DpopSettings {
            iat_window: self.iat_window,
            ..DpopSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_iat_window_is_bounded_and_reaches_the_settings() {
        let with = |secs| DpopConfig {
            iat_window: secs,
            require_nonce: false,
        };
        assert!(with(0).validate().is_err());
        assert!(with(MAX_IAT_WINDOW + 1).validate().is_err());
        assert_eq!(with(30).validate(), Ok(()));
        assert_eq!(
            with(0).validate().unwrap_err().to_string(),
            "invalid configuration: dpop.iat_window: must be between 1 and 300 seconds"
        );
        assert_eq!(with(30).to_settings().iat_window, 30);
        assert_eq!(
            DpopConfig::default().to_settings().iat_window,
            DpopSettings::default().iat_window
        );
    }
}
