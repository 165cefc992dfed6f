//! `[authorization]`: the authorization code flow and its login pages, including the
//! session key (a secret: never printed) and its decoding.

use std::fmt;

use grantd_domain::AuthorizationSettings;
use serde::{Deserialize, Serialize};

use super::error::POSITIVE;
use super::ConfigError;

/// `[authorization]`: the authorization code flow and its login pages. `Debug` is written
/// by hand because `session_key` is a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationConfig {
    /// Seconds an authorization code may be exchanged (RFC 6749 §4.1.2: at most 600).
    pub code_lifetime: i64,
    /// Require PKCE of every client (public clients always need it).
    pub require_pkce: bool,
    /// Accept `code_challenge_method=plain`.
    pub allow_plain_pkce: bool,
    /// Base64 of at least 32 random bytes that sign the pages' session cookies; every
    /// instance behind one load balancer needs the same. Empty = random per process.
    pub session_key: String,
    /// Seconds a login on the pages lasts.
    pub session_lifetime: i64,
}

impl Default for AuthorizationConfig {
    fn default() -> Self {
        let d = AuthorizationSettings::default();
        Self {
            code_lifetime: d.code_lifetime,
            require_pkce: d.require_pkce,
            allow_plain_pkce: d.allow_plain_pkce,
            session_key: String::new(),
            session_lifetime: 3600,
        }
    }
}

impl fmt::Debug for AuthorizationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationConfig")
            .field("code_lifetime", &self.code_lifetime)
            .field("require_pkce", &self.require_pkce)
            .field("allow_plain_pkce", &self.allow_plain_pkce)
            .field(
                "session_key",
                &if self.session_key.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("session_lifetime", &self.session_lifetime)
            .finish()
    }
}

impl AuthorizationConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=600).contains(&self.code_lifetime) {
            return Err(ConfigError::invalid(
                "authorization.code_lifetime",
                "must be 1 to 600 seconds (RFC 6749 §4.1.2)",
            ));
        }
        if self.session_lifetime <= 0 {
            return Err(ConfigError::invalid(
                "authorization.session_lifetime",
                POSITIVE,
            ));
        }
        if let Err(reason) = self.session_key_bytes() {
            return Err(ConfigError::invalid("authorization.session_key", reason));
        }
        Ok(())
    }

    /// The domain's view of these settings.
    pub fn to_settings(&self) -> AuthorizationSettings {
        AuthorizationSettings {
            code_lifetime: self.code_lifetime,
            require_pkce: self.require_pkce,
            allow_plain_pkce: self.allow_plain_pkce,
        }
    }

    /// The decoded session key; `Ok(None)` when empty. Standard or URL-safe base64.
    pub fn session_key_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine;
        let key = self.session_key.trim();
        if key.is_empty() {
            return Ok(None);
        }
        let bytes = STANDARD
            .decode(key)
            .or_else(|_| URL_SAFE_NO_PAD.decode(key.trim_end_matches('=')))
            .map_err(|_| "must be base64".to_owned())?;
        if bytes.len() < 32 {
            return Err(format!(
                "must decode to at least 32 bytes, got {}",
                bytes.len()
            ));
        }
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn validation_names_each_authorization_key() {
        let cases = [
            (
                AuthorizationConfig {
                    code_lifetime: 601,
                    ..AuthorizationConfig::default()
                },
                "authorization.code_lifetime: must be 1 to 600 seconds",
            ),
            (
                AuthorizationConfig {
                    session_lifetime: 0,
                    ..AuthorizationConfig::default()
                },
                "authorization.session_lifetime: must be a positive",
            ),
            (
                AuthorizationConfig {
                    session_key: "c2hvcnQ=".into(),
                    ..AuthorizationConfig::default()
                },
                "authorization.session_key: must decode to at least 32 bytes, got 5",
            ),
            (
                AuthorizationConfig {
                    session_key: "not base64!".into(),
                    ..AuthorizationConfig::default()
                },
                "authorization.session_key: must be base64",
            ),
        ];
        for (section, expected) in cases {
            let err = section.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            // The message must never echo the key.
            if !section.session_key.is_empty() {
                assert!(!err.contains(&section.session_key), "{err}");
            }
        }
    }

    #[test]
    fn the_session_key_is_never_in_debug_output() {
        let section = AuthorizationConfig {
            session_key: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=".into(),
            ..AuthorizationConfig::default()
        };
        assert!(section.validate().is_ok());
        assert_eq!(section.session_key_bytes().unwrap().unwrap().len(), 32);
        assert!(!format!("{section:?}").contains(&section.session_key));
    }
}
