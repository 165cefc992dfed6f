//! The scope registry: every scope this server knows, with the one-line description shown
//! to people on the consent page and whether it is granted when a request omits `scope`
//! (RFC 6749 §3.3's "pre-defined default value"). The operator configures it; this module
//! checks it and answers questions about it. What a request gets is `scope_rules`'.

use std::collections::BTreeMap;

use grantd_ports::{Client, ScopeSet};

/// Longest description, in characters: one line on a phone's consent page.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// One registered scope, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDefinition {
    pub name: String,
    /// One line, shown to people (the consent page).
    pub description: String,
    /// Granted when a request omits `scope` (unless the client has its own defaults).
    pub default: bool,
}

/// Why a registry entry was refused; each names the scope it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeRegistryError {
    /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
    #[error(
        "{0:?} is not an RFC 6749 §3.3 scope token (1 to 128 printable ASCII characters, \
         no space, `\"` or `\\`)"
    )]
    BadName(String),
    /// Two names that differ only in case: legal tokens, but people would confuse them
    /// (and the environment layer lower-cases its keys, so one could not be set there).
    #[error("{name:?} differs from the scope {other:?} only in case")]
    Duplicate { name: String, other: String },
    #[error(
        "the description of {0:?} must be one line of 1 to {MAX_DESCRIPTION_CHARS} characters"
    )]
    BadDescription(String),
}

impl ScopeRegistryError {
    /// The scope the entry is about.
    pub fn scope(&self) -> &str {
        match self {
            ScopeRegistryError::BadName(name)
            | ScopeRegistryError::Duplicate { name, .. }
            | ScopeRegistryError::BadDescription(name) => name,
        }
    }
}

/// The registered scopes, by name. Cheap to share behind an `Arc`. The default value has
/// no scope at all, so that every request for one is `invalid_scope`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeRegistry {
    scopes: BTreeMap<String, ScopeDefinition>,
}

impl ScopeRegistry {
    /// Checks every entry: a valid §3.3 token as its name, one line of description, and no
    /// two names that differ only in case. The first broken rule is the error.
    pub fn new(
        definitions: impl IntoIterator<Item = ScopeDefinition>,
    ) -> Result<Self, ScopeRegistryError> {
        let mut scopes = BTreeMap::new();
        let mut folded: BTreeMap<String, String> = BTreeMap::new();
        for definition in definitions {
            let name = &definition.name;
            if ScopeSet::parse(name).map(|s| s.len()) != Ok(1) {
                return Err(ScopeRegistryError::BadName(name.clone()));
            }
            let description = definition.description.trim();
            if description.is_empty()
                || description.chars().any(char::is_control)
                || description.chars().count() > MAX_DESCRIPTION_CHARS
            {
                return Err(ScopeRegistryError::BadDescription(name.clone()));
            }
            if let Some(other) = folded.insert(name.to_ascii_lowercase(), name.clone()) {
                return Err(ScopeRegistryError::Duplicate {
                    name: name.clone(),
                    other,
                });
            }
            let definition = ScopeDefinition {
                description: description.to_owned(),
                ..definition
            };
            scopes.insert(definition.name.clone(), definition);
        }
        Ok(Self { scopes })
    }

    /// Every registered name, in canonical (byte) order: `scopes_supported` (RFC 8414 §2).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.scopes.keys().map(String::as_str)
    }

    pub fn get(&self, name: &str) -> Option<&ScopeDefinition> {
        self.scopes.get(name)
    }

    pub fn is_registered(&self, name: &str) -> bool {
        self.scopes.contains_key(name)
    }

    /// The description people see for `name`; the name itself if it is not registered.
    pub fn describe<'a>(&'a self, name: &'a str) -> &'a str {
        self.get(name).map_or(name, |d| d.description.as_str())
    }

    /// The tokens of `set` that are not registered.
    pub fn unregistered<'a>(&self, set: &'a ScopeSet) -> Vec<&'a str> {
        set.iter().filter(|s| !self.is_registered(s)).collect()
    }

    /// `set` without its unregistered tokens: a scope dropped from the configuration is
    /// never issued, even to a client registered for it before.
    pub fn registered_part(&self, set: &ScopeSet) -> ScopeSet {
        set.filter(|s| self.is_registered(s))
    }

    /// The tokens of `set` that the registry marks default.
    pub fn defaults_within(&self, set: &ScopeSet) -> ScopeSet {
        set.filter(|s| self.get(s).is_some_and(|d| d.default))
    }

    /// The scopes a stored client names (as allowed or as its own defaults) that are not
    /// registered (any more): reported at start, never issued.
    pub fn unregistered_of_client(&self, client: &Client) -> Vec<String> {
        let mut names: Vec<String> = self
            .unregistered(&client.scopes)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if let Some(own) = &client.default_scopes {
            for name in self.unregistered(own) {
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, description: &str, default: bool) -> ScopeDefinition {
        ScopeDefinition {
            name: name.into(),
            description: description.into(),
            default,
        }
    }

    fn registry() -> ScopeRegistry {
        ScopeRegistry::new([
            def("write", "Change your data", true),
            def("read", "Read your data", true),
            def("profile", "See your profile", false),
        ])
        .unwrap()
    }

    #[test]
    fn names_are_listed_in_canonical_order_with_their_descriptions() {
        let r = registry();
        assert_eq!(r.names().collect::<Vec<_>>(), ["profile", "read", "write"]);
        assert_eq!(r.describe("read"), "Read your data");
        assert_eq!(r.describe("legacy"), "legacy");
        assert!(r.is_registered("profile") && !r.is_registered("Profile"));
    }

    #[test]
    fn defaults_and_the_registered_part_are_subsets_of_the_set_asked_about() {
        let r = registry();
        let set = ScopeSet::parse("read profile legacy").unwrap();
        assert_eq!(r.defaults_within(&set).to_delimited(), "read");
        assert_eq!(r.registered_part(&set).to_delimited(), "profile read");
        assert_eq!(r.unregistered(&set), ["legacy"]);
        assert!(ScopeRegistry::default().registered_part(&set).is_empty());
    }

    #[test]
    fn every_bad_entry_is_refused_naming_its_scope() {
        let long = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        let cases = [
            (
                def("a b", "d", false),
                ScopeRegistryError::BadName("a b".into()),
            ),
            (def("", "d", false), ScopeRegistryError::BadName("".into())),
            (
                def("a\"b", "d", false),
                ScopeRegistryError::BadName("a\"b".into()),
            ),
            (
                def("caf\u{e9}", "d", false),
                ScopeRegistryError::BadName("caf\u{e9}".into()),
            ),
            (
                def(&"s".repeat(129), "d", false),
                ScopeRegistryError::BadName("s".repeat(129)),
            ),
            (
                def("x", "", false),
                ScopeRegistryError::BadDescription("x".into()),
            ),
            (
                def("x", "  ", false),
                ScopeRegistryError::BadDescription("x".into()),
            ),
            (
                def("x", "two\nlines", false),
                ScopeRegistryError::BadDescription("x".into()),
            ),
            (
                def("x", &long, false),
                ScopeRegistryError::BadDescription("x".into()),
            ),
        ];
        for (entry, expected) in cases {
            let err = ScopeRegistry::new([def("ok", "fine", true), entry.clone()]).unwrap_err();
            assert_eq!(err, expected, "{entry:?}");
            assert_eq!(err.scope(), entry.name);
        }
    }

    #[test]
    fn names_that_differ_only_in_case_are_a_duplicate() {
        let err = ScopeRegistry::new([def("Read", "d", true), def("read", "d", true)]).unwrap_err();
        assert_eq!(
            err,
            ScopeRegistryError::Duplicate {
                name: "read".into(),
                other: "Read".into()
            }
        );
        assert!(err.to_string().contains("only in case"), "{err}");
    }

    #[test]
    fn a_stored_clients_unregistered_scopes_are_found_once_each() {
        let mut client = Client {
            id: grantd_ports::ClientId::parse("old").unwrap(),
            name: "old".into(),
            secret: None,
            secret_version: 1,
            grant_types: vec![],
            scopes: ScopeSet::parse("read legacy beta").unwrap(),
            access_token_format: None,
            default_scopes: Some(ScopeSet::parse("legacy gamma").unwrap()),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            can_introspect: false,
            lifetimes: Default::default(),
            created_at: 0,
            require_dpop: false,
            admin: false,
        };
        assert_eq!(
            registry().unregistered_of_client(&client),
            ["beta", "legacy", "gamma"]
        );
        client.scopes = ScopeSet::parse("read").unwrap();
        client.default_scopes = None;
        assert!(registry().unregistered_of_client(&client).is_empty());
    }

    #[test]
    fn a_description_is_kept_trimmed() {
        let r = ScopeRegistry::new([def("read", "  Read your data ", true)]).unwrap();
        assert_eq!(r.describe("read"), "Read your data");
    }
}
