//! `[scopes.<name>]`: the scope registry, one table per scope with its one-line
//! `description` (shown on the consent page) and `default` (granted when a request omits
//! `scope`, RFC 6749 §3.3). figment merges tables, so a file or the environment adds scopes
//! to the built-in ones or changes them (`GRANTD_SCOPES__READ__DESCRIPTION`), but cannot
//! remove one. The rules of a valid entry are the domain's (`ScopeRegistry::new`); this
//! module names the key of a broken one.

use std::collections::BTreeMap;

use grantd_domain::{ScopeDefinition, ScopeRegistry, ScopeRegistryError};
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// One `[scopes.<name>]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeEntry {
    /// One line shown to people on the consent page.
    pub description: String,
    /// Granted when a request omits `scope` (unless the client has its own defaults).
    #[serde(default)]
    pub default: bool,
}

/// Every `[scopes.<name>]` table, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopesConfig(pub BTreeMap<String, ScopeEntry>);

/// The shipped scopes: `read` and `write` are granted by default; `profile`, and the names
/// the OpenID Connect issue needs (`openid`, `email`, `offline_access`), only when asked for;
/// `grantd:admin`, the admin API's, only to admin clients (`scope_rules::ADMIN_SCOPE`).
const BUILT_IN: [(&str, &str, bool); 7] = [
    (
        grantd_domain::scope_rules::ADMIN_SCOPE,
        "Administer this grantd server",
        false,
    ),
    ("read", "Read your data", true),
    ("write", "Change your data", true),
    ("profile", "See your profile: your username and name", false),
    ("openid", "Sign you in with your account here", false),
    ("email", "See your email address", false),
    (
        "offline_access",
        "Keep access while you are not using the application",
        false,
    ),
];

impl Default for ScopesConfig {
    fn default() -> Self {
        Self(
            BUILT_IN
                .into_iter()
                .map(|(name, description, default)| {
                    (
                        name.to_owned(),
                        ScopeEntry {
                            description: description.to_owned(),
                            default,
                        },
                    )
                })
                .collect(),
        )
    }
}

impl ScopesConfig {
    /// Checks every entry (see [`ScopesConfig::to_registry`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.to_registry().map(|_| ())
    }

    /// The domain's registry. A broken entry is an error naming its key:
    /// `scopes.<name>`, or `scopes.<name>.description` for a bad description.
    pub fn to_registry(&self) -> Result<ScopeRegistry, ConfigError> {
        ScopeRegistry::new(self.0.iter().map(|(name, entry)| ScopeDefinition {
            name: name.clone(),
            description: entry.description.clone(),
            default: entry.default,
        }))
        .map_err(|e| {
            let key = match &e {
                ScopeRegistryError::BadDescription(name) => format!("scopes.{name}.description"),
                other => format!("scopes.{}", other.scope()),
            };
            ConfigError::invalid(key, e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_built_in_registry_grants_read_and_write_by_default() {
        let registry = ScopesConfig::default().to_registry().unwrap();
        assert_eq!(
            registry.names().collect::<Vec<_>>(),
            [
                "email",
                "grantd:admin",
                "offline_access",
                "openid",
                "profile",
                "read",
                "write"
            ]
        );
        let defaults: Vec<&str> = registry
            .names()
            .filter(|n| registry.get(n).unwrap().default)
            .collect();
        assert_eq!(defaults, ["read", "write"]);
    }
}
