//! RFC 8707 resource indicators: the registry of resources this server issues tokens for
//! (`[resources.<name>]`), and the pure rules of what a request's `resource` parameters
//! give a grant and an access token. A refused resource is `invalid_target` (§2), at the
//! token endpoint and, by redirect, at the authorization endpoint.

use std::collections::BTreeMap;

use grantd_ports::ResourceSet;

use crate::TokenError;

/// One registered resource, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceDefinition {
    /// The configuration's name for it (`[resources.<name>]`), for messages only.
    pub name: String,
    /// What a request names it by, exactly: an absolute URI without a fragment.
    pub uri: String,
}

/// Why a registry entry was refused; each names the resource it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceRegistryError {
    /// RFC 8707 §2: an absolute URI (RFC 3986 §4.3) without a fragment.
    #[error("{reason}")]
    BadUri { name: String, reason: String },
    /// Two names for one URI: a request could not say which it means.
    #[error("the uri is also the uri of the resource {other:?}")]
    Duplicate { name: String, other: String },
}

impl ResourceRegistryError {
    /// The resource (its configuration name) the entry is about.
    pub fn resource(&self) -> &str {
        match self {
            ResourceRegistryError::BadUri { name, .. }
            | ResourceRegistryError::Duplicate { name, .. } => name,
        }
    }
}

/// The registered resources, by URI. Cheap to share behind an `Arc`. The default value
/// has none, so that every `resource` parameter is `invalid_target`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceRegistry {
    /// URI → configuration name.
    by_uri: BTreeMap<String, String>,
}

impl ResourceRegistry {
    /// Checks every entry: a valid resource URI, and no URI registered twice. The first
    /// broken rule is the error.
    pub fn new(
        definitions: impl IntoIterator<Item = ResourceDefinition>,
    ) -> Result<Self, ResourceRegistryError> {
        let mut by_uri = BTreeMap::new();
        for ResourceDefinition { name, uri } in definitions {
            if let Err(e) = ResourceSet::check_uri(&uri) {
                return Err(ResourceRegistryError::BadUri { name, reason: e.0 });
            }
            if let Some(other) = by_uri.get(&uri) {
                return Err(ResourceRegistryError::Duplicate {
                    name,
                    other: String::clone(other),
                });
            }
            by_uri.insert(uri, name);
        }
        Ok(Self { by_uri })
    }

    /// Whether a request may name `uri` (an exact match: the URI is the audience that
    /// resource servers compare against, so no normalisation).
    pub fn contains(&self, uri: &str) -> bool {
        self.by_uri.contains_key(uri)
    }

    pub fn is_empty(&self) -> bool {
        self.by_uri.is_empty()
    }

    /// The registered URIs, in order.
    pub fn uris(&self) -> impl Iterator<Item = &str> {
        self.by_uri.keys().map(String::as_str)
    }
}

/// Why a request's resources are refused: each is `invalid_target` (RFC 8707 §2: "The
/// requested resource is invalid, missing, unknown, or malformed"). The messages are
/// `error_description`s (plain ASCII, no quotes) and never repeat the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceRefusal {
    /// Not an absolute URI, a fragment, or too many values.
    #[error("{0}")]
    Malformed(String),
    #[error("resource names no resource registered at this server")]
    Unknown,
    /// A refresh or a code exchange named a resource its grant or code does not have
    /// (RFC 8707 §2.2: the access token is for resources "previously granted").
    #[error("resource was not granted")]
    NotGranted,
}

impl From<ResourceRefusal> for TokenError {
    fn from(refusal: ResourceRefusal) -> Self {
        TokenError::InvalidTarget(refusal.to_string())
    }
}

/// What a grant and its next access token are for: the grant keeps `grant`, the access
/// token's audience is `token`, a subset of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Targets {
    pub grant: ResourceSet,
    pub token: ResourceSet,
}

impl Targets {
    /// A new grant whose first access token is for everything it was given.
    pub fn all(resources: ResourceSet) -> Self {
        Self {
            grant: resources.clone(),
            token: resources,
        }
    }
}

/// The `resource` parameters of a request (§2; it may be repeated): each an absolute URI
/// without a fragment that names a registered resource. None = the empty set.
pub fn requested(
    values: &[String],
    registry: &ResourceRegistry,
) -> Result<ResourceSet, ResourceRefusal> {
    let set = ResourceSet::from_uris(values).map_err(|e| ResourceRefusal::Malformed(e.0))?;
    if set.iter().any(|uri| !registry.contains(uri)) {
        return Err(ResourceRefusal::Unknown);
    }
    Ok(set)
}

/// A refresh (§2.2): without `resource`, the access token is for every resource of the
/// grant; with it, for those named, which must all be the grant's. The grant keeps its
/// resources either way, as it keeps its scope (RFC 6749 §6).
pub fn for_refresh(
    requested: &ResourceSet,
    granted: &ResourceSet,
) -> Result<ResourceSet, ResourceRefusal> {
    if requested.is_empty() {
        return Ok(granted.clone());
    }
    if !requested.is_subset(granted) {
        return Err(ResourceRefusal::NotGranted);
    }
    Ok(requested.clone())
}

/// A code exchange (§2.2): a code authorized for resources creates a grant for them, and
/// the token request's `resource` may only narrow its first access token to some of them.
/// A code authorized for none takes the token request's resources as the grant's.
pub fn for_exchange(
    requested: &ResourceSet,
    authorized: &ResourceSet,
) -> Result<Targets, ResourceRefusal> {
    if authorized.is_empty() {
        return Ok(Targets::all(requested.clone()));
    }
    Ok(Targets {
        grant: authorized.clone(),
        token: for_refresh(requested, authorized)?,
    })
}

/// An access token's `aud` (RFC 9068 §2.2, RFC 8707 §2): the resources it is for, else the
/// default audience (none for an opaque token, which carries no claims).
pub fn audience(resources: &ResourceSet, default: Option<&str>) -> Vec<String> {
    if resources.is_empty() {
        default.map(str::to_owned).into_iter().collect()
    } else {
        resources.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const API: &str = "https://api.example/";
    const FILES: &str = "https://files.example/v1";

    fn registry() -> ResourceRegistry {
        ResourceRegistry::new([("api", API), ("files", FILES)].map(|(name, uri)| {
            ResourceDefinition {
                name: name.into(),
                uri: uri.into(),
            }
        }))
        .unwrap()
    }

    fn set(uris: &[&str]) -> ResourceSet {
        ResourceSet::from_uris(uris).unwrap()
    }

    fn values(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|u| (*u).to_owned()).collect()
    }

    #[test]
    fn the_registry_refuses_bad_and_duplicate_uris_naming_the_resource() {
        let def = |name: &str, uri: &str| ResourceDefinition {
            name: name.into(),
            uri: uri.into(),
        };
        for (defs, name, says) in [
            (vec![def("api", "/relative")], "api", "absolute URI"),
            (vec![def("api", "https://a.example/#x")], "api", "fragment"),
            (vec![def("api", API), def("again", API)], "again", "\"api\""),
        ] {
            let err = ResourceRegistry::new(defs).unwrap_err();
            assert_eq!(err.resource(), name);
            assert!(err.to_string().contains(says), "{err}");
        }
        let r = registry();
        assert!(r.contains(API) && r.contains(FILES));
        assert!(
            !r.contains("https://api.example"),
            "an exact match, no normalisation"
        );
        assert_eq!(r.uris().collect::<Vec<_>>(), [API, FILES]);
        assert!(ResourceRegistry::default().is_empty());
    }

    #[test]
    fn requested_resources_must_be_well_formed_and_registered() {
        let r = registry();
        assert!(requested(&[], &r).unwrap().is_empty());
        assert_eq!(
            requested(&values(&[FILES, API, API]), &r).unwrap(),
            set(&[API, FILES])
        );
        let cases: [(&[&str], ResourceRefusal); 4] = [
            (&["https://other.example/"], ResourceRefusal::Unknown),
            (&[API, "https://other.example/"], ResourceRefusal::Unknown),
            (
                &["/api"],
                ResourceRefusal::Malformed("resource must be an absolute URI".into()),
            ),
            (
                &["https://api.example/#frag"],
                ResourceRefusal::Malformed("resource must not include a fragment".into()),
            ),
        ];
        for (asked, refusal) in cases {
            assert_eq!(requested(&values(asked), &r), Err(refusal), "{asked:?}");
        }
        assert_eq!(
            requested(&values(&[API]), &ResourceRegistry::default()),
            Err(ResourceRefusal::Unknown),
            "no registry: every resource is unknown"
        );
    }

    #[test]
    fn a_refresh_narrows_to_granted_resources_and_never_widens() {
        let granted = set(&[API, FILES]);
        assert_eq!(for_refresh(&set(&[]), &granted).unwrap(), granted);
        assert_eq!(for_refresh(&set(&[API]), &granted).unwrap(), set(&[API]));
        assert_eq!(
            for_refresh(&set(&[API]), &set(&[FILES])),
            Err(ResourceRefusal::NotGranted)
        );
        assert_eq!(
            for_refresh(&set(&[API]), &set(&[])),
            Err(ResourceRefusal::NotGranted),
            "a grant without resources cannot gain one"
        );
    }

    #[test]
    fn an_exchange_keeps_the_codes_resources_and_may_narrow_its_token() {
        let code = set(&[API, FILES]);
        assert_eq!(
            for_exchange(&set(&[]), &code).unwrap(),
            Targets::all(code.clone())
        );
        assert_eq!(
            for_exchange(&set(&[FILES]), &code).unwrap(),
            Targets {
                grant: code.clone(),
                token: set(&[FILES]),
            }
        );
        assert_eq!(
            for_exchange(&set(&[API]), &set(&[FILES])),
            Err(ResourceRefusal::NotGranted)
        );
        // A code authorized for no resource: the token request names the grant's.
        assert_eq!(
            for_exchange(&set(&[API]), &set(&[])).unwrap(),
            Targets::all(set(&[API]))
        );
    }

    #[test]
    fn the_audience_is_the_resources_else_the_default() {
        assert_eq!(audience(&set(&[FILES, API]), Some("d")), [API, FILES]);
        assert_eq!(audience(&set(&[]), Some("d")), ["d"]);
        assert!(audience(&set(&[]), None).is_empty());
    }

    #[test]
    fn refusals_are_invalid_target() {
        assert!(matches!(
            TokenError::from(ResourceRefusal::Unknown),
            TokenError::InvalidTarget(d) if d.contains("registered")
        ));
    }
}

#[cfg(test)]
#[path = "resource_indicators_tests.rs"]
mod endpoint_tests;
