//! `[tokens]`: token lifetimes and the refresh token rotation policy, and their conversion
//! to and from the domain's `TokenSettings` (whose defaults are the only ones).

use grantd_domain::{AccessTokenFormat, ReusePolicy, TokenSettings};
use serde::{Deserialize, Serialize};

use super::error::{NON_NEGATIVE, POSITIVE};
use super::ConfigError;

/// The reuse policy as spelled in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReusePolicySetting {
    #[default]
    RevokeGrant,
    ReportOnly,
}

/// `tokens.access_token_format`: opaque tokens, or RFC 9068 JWTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenFormatSetting {
    #[default]
    Opaque,
    Jwt,
}

impl AccessTokenFormatSetting {
    pub fn to_format(self) -> AccessTokenFormat {
        match self {
            Self::Opaque => AccessTokenFormat::Opaque,
            Self::Jwt => AccessTokenFormat::Jwt,
        }
    }
}

/// `[tokens]`: lifetimes (seconds) and the rotation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    pub access_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    /// Absolute cap of a grant; 0 = no cap.
    pub refresh_token_max_lifetime: i64,
    pub always_issue_new_refresh_token: bool,
    /// `false`: a public client's DPoP-bound refresh tokens follow
    /// `always_issue_new_refresh_token` (RFC 9700 §2.2.2); unbound ones always rotate.
    pub rotate_dpop_bound_public_refresh_tokens: bool,
    /// 0 = a rotated token is never accepted again; at most
    /// `TokenSettings::MAX_REUSE_GRACE_PERIOD` (300).
    pub refresh_token_reuse_grace_period: i64,
    pub refresh_token_reuse_policy: ReusePolicySetting,
    /// "jwt": access tokens are RFC 9068 JWTs (needs `keys.encryption_key`).
    pub access_token_format: AccessTokenFormatSetting,
    /// `aud` of JWT access tokens; empty = the issuer.
    pub default_audience: String,
}

impl Default for TokensConfig {
    fn default() -> Self {
        // One source of truth for the token defaults: the domain's.
        Self::from(&TokenSettings::default())
    }
}

/// The configuration that yields these settings (a test that holds `TokenSettings` builds
/// its `Config` with this).
impl From<&TokenSettings> for TokensConfig {
    fn from(s: &TokenSettings) -> Self {
        Self {
            access_token_lifetime: s.access_token_lifetime,
            refresh_token_lifetime: s.refresh_token_lifetime,
            refresh_token_max_lifetime: s.refresh_token_max_lifetime,
            always_issue_new_refresh_token: s.always_issue_new_refresh_token,
            rotate_dpop_bound_public_refresh_tokens: s.rotate_dpop_bound_public_refresh_tokens,
            refresh_token_reuse_grace_period: s.refresh_token_reuse_grace_period,
            refresh_token_reuse_policy: match s.refresh_token_reuse_policy {
                ReusePolicy::RevokeGrant => ReusePolicySetting::RevokeGrant,
                ReusePolicy::ReportOnly => ReusePolicySetting::ReportOnly,
            },
            access_token_format: AccessTokenFormatSetting::Opaque,
            default_audience: String::new(),
        }
    }
}

impl TokensConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.access_token_lifetime <= 0 {
            return Err(ConfigError::invalid(
                "tokens.access_token_lifetime",
                POSITIVE,
            ));
        }
        if self.refresh_token_lifetime <= 0 {
            return Err(ConfigError::invalid(
                "tokens.refresh_token_lifetime",
                POSITIVE,
            ));
        }
        if self.refresh_token_max_lifetime < 0 {
            return Err(ConfigError::invalid(
                "tokens.refresh_token_max_lifetime",
                NON_NEGATIVE,
            ));
        }
        if self.refresh_token_reuse_grace_period < 0 {
            return Err(ConfigError::invalid(
                "tokens.refresh_token_reuse_grace_period",
                NON_NEGATIVE,
            ));
        }
        // Within the window a stolen rotated token still replays its rotation's response.
        if self.refresh_token_reuse_grace_period > TokenSettings::MAX_REUSE_GRACE_PERIOD {
            return Err(ConfigError::invalid(
                "tokens.refresh_token_reuse_grace_period",
                format!(
                    "must be at most {} seconds",
                    TokenSettings::MAX_REUSE_GRACE_PERIOD
                ),
            ));
        }
        Ok(())
    }

    /// The domain's view of these settings.
    pub fn to_settings(&self) -> TokenSettings {
        TokenSettings {
            access_token_lifetime: self.access_token_lifetime,
            refresh_token_lifetime: self.refresh_token_lifetime,
            refresh_token_max_lifetime: self.refresh_token_max_lifetime,
            always_issue_new_refresh_token: self.always_issue_new_refresh_token,
            rotate_dpop_bound_public_refresh_tokens: self.rotate_dpop_bound_public_refresh_tokens,
            refresh_token_reuse_grace_period: self.refresh_token_reuse_grace_period,
            refresh_token_reuse_policy: match self.refresh_token_reuse_policy {
                ReusePolicySetting::RevokeGrant => ReusePolicy::RevokeGrant,
                ReusePolicySetting::ReportOnly => ReusePolicy::ReportOnly,
            },
            // `[oidc]`'s; see `Config::token_settings`.
            oidc: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_the_configuration() {
        let settings = TokenSettings {
            access_token_lifetime: 60,
            refresh_token_reuse_policy: ReusePolicy::ReportOnly,
            ..TokenSettings::default()
        };
        assert_eq!(TokensConfig::from(&settings).to_settings(), settings);
    }

    #[test]
    fn the_reuse_grace_period_is_capped_at_300_seconds() {
        let with = |secs| TokensConfig {
            refresh_token_reuse_grace_period: secs,
            ..TokensConfig::default()
        };
        assert_eq!(with(300).validate(), Ok(()));
        assert_eq!(with(0).validate(), Ok(()));
        for secs in [301, 3600, i64::MAX] {
            let err = with(secs).validate().unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key, reason }
                    if *key == "tokens.refresh_token_reuse_grace_period"
                        && reason.contains("at most 300")),
                "{secs}: {err}"
            );
        }
    }
}
