//! `[oidc]`: OpenID Connect's rules at the token endpoint. OpenID Connect is on when
//! signing keys are (`[keys]`); these only shape it.

use grantd_domain::OidcSettings;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The longest id token lifetime accepted (seconds): an id token is a statement about one
/// login, read once by the relying party, not a credential to keep.
const MAX_ID_TOKEN_LIFETIME: i64 = 24 * 3600;

/// `[oidc]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// With `openid`, issue a refresh token only when `offline_access` was granted too.
    pub refresh_requires_offline_access: bool,
    /// Seconds an id token is valid.
    pub id_token_lifetime: i64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self::from(&OidcSettings::default())
    }
}

impl From<&OidcSettings> for OidcConfig {
    fn from(s: &OidcSettings) -> Self {
        Self {
            refresh_requires_offline_access: s.refresh_requires_offline_access,
            id_token_lifetime: s.id_token_lifetime,
        }
    }
}

impl OidcConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=MAX_ID_TOKEN_LIFETIME).contains(&self.id_token_lifetime) {
            return Err(ConfigError::invalid(
                "oidc.id_token_lifetime",
                format!("must be between 1 and {MAX_ID_TOKEN_LIFETIME} seconds"),
            ));
        }
        Ok(())
    }

    /// The domain's view of these settings.
    pub fn to_settings(&self) -> OidcSettings {
        OidcSettings {
            refresh_requires_offline_access: self.refresh_requires_offline_access,
            id_token_lifetime: self.id_token_lifetime,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_id_token_lifetime_is_bounded_and_the_settings_round_trip() {
        let with = |secs| OidcConfig {
            id_token_lifetime: secs,
            ..OidcConfig::default()
        };
        assert!(with(0).validate().is_err());
        assert!(with(MAX_ID_TOKEN_LIFETIME + 1).validate().is_err());
        assert_eq!(with(60).validate(), Ok(()));
        assert_eq!(
            with(0).validate().unwrap_err().to_string(),
            "invalid configuration: oidc.id_token_lifetime: must be between 1 and 86400 seconds"
        );
        let settings = OidcSettings {
            refresh_requires_offline_access: false,
            id_token_lifetime: 600,
        };
        assert_eq!(OidcConfig::from(&settings).to_settings(), settings);
    }
}
