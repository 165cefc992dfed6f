//! `[registration]`: dynamic client registration (RFC 7591, RFC 7592), off by default;
//! which grant types and scopes a client that registers itself may have. What a valid
//! registration is stays the domain's (`grantd_domain::dynamic_registration`).

use grantd_domain::dynamic_registration::RegistrationPolicy;
use grantd_domain::ScopeRegistry;
use grantd_ports::{GrantType, ScopeSet};
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// `[registration]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Serve `POST /oauth/register` and `/oauth/register/{client_id}`, and advertise
    /// `registration_endpoint`; off, both are 404.
    pub enabled: bool,
    /// The grant types a registered client may ask for.
    pub grant_types: Vec<String>,
    /// The scopes a registered client may ask for, each registered in `[scopes]`; empty =
    /// every registered scope.
    pub scopes: Vec<String>,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            grant_types: RegistrationPolicy::default()
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scopes: Vec::new(),
        }
    }
}

impl RegistrationConfig {
    /// Checks the rules that types cannot express (the scopes against the registry are
    /// checked by [`RegistrationConfig::to_policy`], which has it).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed_grant_types()?;
        self.parsed_scopes()?;
        Ok(())
    }

    fn parsed_grant_types(&self) -> Result<Vec<GrantType>, ConfigError> {
        self.grant_types
            .iter()
            .map(|g| {
                GrantType::parse(g).ok_or_else(|| {
                    ConfigError::invalid(
                        "registration.grant_types",
                        format!("unknown grant type {g:?}"),
                    )
                })
            })
            .collect()
    }

    fn parsed_scopes(&self) -> Result<Option<ScopeSet>, ConfigError> {
        if self.scopes.is_empty() {
            return Ok(None);
        }
        let set = ScopeSet::parse(&self.scopes.join(" "))
            .map_err(|e| ConfigError::invalid("registration.scopes", e.0))?;
        if set.len() != self.scopes.len() {
            return Err(ConfigError::invalid(
                "registration.scopes",
                "each entry must be one scope, listed once",
            ));
        }
        Ok(Some(set))
    }

    /// The domain's policy; every listed scope must be in `registry`.
    pub fn to_policy(&self, registry: &ScopeRegistry) -> Result<RegistrationPolicy, ConfigError> {
        let scopes = self.parsed_scopes()?;
        if let Some(unknown) = scopes
            .as_ref()
            .and_then(|s| registry.unregistered(s).first().copied())
        {
            return Err(ConfigError::invalid(
                "registration.scopes",
                format!("{unknown:?} is not registered in [scopes]"),
            ));
        }
        Ok(RegistrationPolicy {
            grant_types: self.parsed_grant_types()?,
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    // figment::Error is large, and Jail's closures return it.
    #![allow(clippy::unwrap_used, clippy::result_large_err)]

    use figment::providers::{Env, Format, Serialized, Toml};
    use figment::{Figment, Jail};

    use super::*;
    use crate::config::{Config, ScopesConfig};

    #[test]
    fn off_by_default_and_password_is_not_offered() {
        let c = RegistrationConfig::default();
        assert!(!c.enabled);
        assert_eq!(
            c.grant_types,
            ["authorization_code", "refresh_token", "client_credentials"]
        );
        let registry = ScopesConfig::default().to_registry().unwrap();
        assert_eq!(
            c.to_policy(&registry).unwrap(),
            RegistrationPolicy::default()
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        let registry = ScopesConfig::default().to_registry().unwrap();
        let with = |grant_types: &[&str], scopes: &[&str]| RegistrationConfig {
            enabled: true,
            grant_types: grant_types.iter().map(|s| s.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        };
        let err = with(&["implicit"], &[]).validate().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid configuration: registration.grant_types: unknown grant type \"implicit\""
        );
        assert!(with(&[], &["read write"]).validate().is_err());
        assert!(with(&[], &["read", "read"]).validate().is_err());
        let err = with(&[], &["read", "admin"])
            .to_policy(&registry)
            .unwrap_err();
        assert!(err
            .to_string()
            .contains("registration.scopes: \"admin\" is not registered"));
        let policy = with(&["refresh_token"], &["read"])
            .to_policy(&registry)
            .unwrap();
        assert_eq!(policy.grant_types, [GrantType::RefreshToken]);
        assert_eq!(policy.scopes.unwrap().to_delimited(), "read");
    }

    #[test]
    fn the_section_layers_defaults_toml_and_environment() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "grantd.toml",
                "[registration]\nenabled = true\nscopes = [\"read\"]\n",
            )?;
            jail.set_env("GRANTD_REGISTRATION__GRANT_TYPES", "[authorization_code]");
            let config: Config = Figment::from(Serialized::defaults(Config::default()))
                .merge(Toml::file("grantd.toml"))
                .merge(Env::prefixed("GRANTD_").split("__"))
                .extract()?;
            assert!(config.registration.enabled);
            assert_eq!(config.registration.scopes, ["read"]);
            assert_eq!(config.registration.grant_types, ["authorization_code"]);
            Ok(())
        });
    }
}
