//! `[resources.<name>]`: the resources (RFC 8707) a `resource` parameter may name, one
//! table per resource with its `uri`, which becomes the `aud` of the access tokens issued
//! for it. None are shipped: without any, every `resource` parameter is `invalid_target`
//! and tokens keep `tokens.default_audience`. The rules of a valid entry are the domain's
//! (`ResourceRegistry::new`); this module names the key of a broken one.

use std::collections::BTreeMap;

use grantd_domain::{ResourceDefinition, ResourceRegistry, ResourceRegistryError};
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// One `[resources.<name>]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceEntry {
    /// An absolute URI without a fragment, matched exactly against `resource`.
    pub uri: String,
}

/// Every `[resources.<name>]` table, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourcesConfig(pub BTreeMap<String, ResourceEntry>);

impl ResourcesConfig {
    /// Checks every entry (see [`ResourcesConfig::to_registry`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.to_registry().map(|_| ())
    }

    /// The domain's registry. A broken entry is an error naming its key,
    /// `resources.<name>.uri`.
    pub fn to_registry(&self) -> Result<ResourceRegistry, ConfigError> {
        ResourceRegistry::new(self.0.iter().map(|(name, entry)| ResourceDefinition {
            name: name.clone(),
            uri: entry.uri.clone(),
        }))
        .map_err(|e: ResourceRegistryError| {
            ConfigError::invalid(format!("resources.{}.uri", e.resource()), e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn config(entries: &[(&str, &str)]) -> ResourcesConfig {
        ResourcesConfig(
            entries
                .iter()
                .map(|(name, uri)| {
                    (
                        (*name).to_owned(),
                        ResourceEntry {
                            uri: (*uri).to_owned(),
                        },
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn registered_uris_become_the_registry() {
        let registry = config(&[("api", "https://api.example/"), ("files", "urn:files")])
            .to_registry()
            .unwrap();
        assert_eq!(
            registry.uris().collect::<Vec<_>>(),
            ["https://api.example/", "urn:files"]
        );
        assert!(ResourcesConfig::default().to_registry().unwrap().is_empty());
    }

    #[test]
    fn a_broken_entry_names_its_key() {
        for (entries, key, says) in [
            (
                vec![("api", "/relative")],
                "resources.api.uri",
                "absolute URI",
            ),
            (
                vec![("api", "https://api.example/#part")],
                "resources.api.uri",
                "fragment",
            ),
            (
                vec![("a", "https://api.example/"), ("b", "https://api.example/")],
                "resources.b.uri",
                "\"a\"",
            ),
        ] {
            let err = config(&entries).validate().unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key: k, reason } if k == key && reason.contains(says)),
                "{entries:?}: {err}"
            );
        }
    }
}
