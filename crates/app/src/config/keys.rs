//! `[keys]`: the JWT signing keys: the key that seals their private parts at rest, the
//! algorithm of new keys, and how long a new key is published before it signs. `Debug` is
//! written by hand because `encryption_key` is a secret.

use std::fmt;

use grantd_crypto::KeyEncryptionKey;
use grantd_domain::KeySettings;
use grantd_ports::SigningAlgorithm;
use serde::{Deserialize, Serialize};

use super::error::NON_NEGATIVE;
use super::ConfigError;

/// The algorithm as spelled in the configuration (its JWA name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AlgorithmSetting {
    #[default]
    RS256,
    ES256,
    EdDSA,
}

impl AlgorithmSetting {
    pub fn to_algorithm(self) -> SigningAlgorithm {
        match self {
            Self::RS256 => SigningAlgorithm::Rs256,
            Self::ES256 => SigningAlgorithm::Es256,
            Self::EdDSA => SigningAlgorithm::EdDsa,
        }
    }
}

/// `[keys]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Base64 of 32 bytes, the same on every instance; empty = no JWT features (and
    /// `serve --demo` makes one up).
    pub encryption_key: String,
    pub algorithm: AlgorithmSetting,
    /// Seconds a new key is published before it signs.
    pub publish_ahead: i64,
}

impl Default for KeysConfig {
    fn default() -> Self {
        let settings = KeySettings::default();
        Self {
            encryption_key: String::new(),
            algorithm: AlgorithmSetting::RS256,
            publish_ahead: settings.publish_ahead,
        }
    }
}

impl fmt::Debug for KeysConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeysConfig")
            .field(
                "encryption_key",
                &if self.encryption_key.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("algorithm", &self.algorithm)
            .field("publish_ahead", &self.publish_ahead)
            .finish()
    }
}

impl KeysConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.encryption_key.trim().is_empty() && self.encryption_key().is_none() {
            return Err(ConfigError::invalid(
                "keys.encryption_key",
                "must be base64 of exactly 32 bytes",
            ));
        }
        if self.publish_ahead < 0 {
            return Err(ConfigError::invalid("keys.publish_ahead", NON_NEGATIVE));
        }
        Ok(())
    }

    /// The configured encryption key; `None` when the setting is empty (or invalid, which
    /// [`KeysConfig::validate`] refuses).
    pub fn encryption_key(&self) -> Option<KeyEncryptionKey> {
        KeyEncryptionKey::from_base64(&self.encryption_key)
    }

    /// The domain's view of these settings.
    pub fn to_settings(&self) -> KeySettings {
        KeySettings {
            algorithm: self.algorithm.to_algorithm(),
            publish_ahead: self.publish_ahead,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const KEY: &str = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=";

    #[test]
    fn bad_values_are_refused_naming_the_key_and_never_showing_it() {
        for (section, expected) in [
            (
                KeysConfig {
                    encryption_key: "c2hvcnQ=".into(),
                    ..KeysConfig::default()
                },
                "keys.encryption_key: must be base64 of exactly 32 bytes",
            ),
            (
                KeysConfig {
                    publish_ahead: -1,
                    ..KeysConfig::default()
                },
                "keys.publish_ahead",
            ),
        ] {
            let err = section.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("c2hvcnQ"), "{err}");
        }
        let good = KeysConfig {
            encryption_key: KEY.into(),
            algorithm: AlgorithmSetting::EdDSA,
            ..KeysConfig::default()
        };
        good.validate().unwrap();
        assert!(good.encryption_key().is_some());
        assert_eq!(good.to_settings().algorithm, SigningAlgorithm::EdDsa);
        assert!(!format!("{good:?}").contains(KEY));
    }
}
