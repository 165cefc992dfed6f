//! When a user must be asked again: a remembered consent covers a request only for the
//! same user and client and a scope it already includes; and what the consent page lists.
//! Pure functions.

use grantd_ports::{Consent, ScopeSet};

use crate::ScopeRegistry;

/// One line of the consent page: a requested scope, what it means to a person, and
/// whether the user already allowed it to this client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePrompt {
    pub scope: String,
    /// The registry's one-line description (the name itself if it has none).
    pub description: String,
    pub already_granted: bool,
}

/// Whether `consent` (the user's, to this client) already allows `scope`.
pub fn covers(consent: Option<&Consent>, scope: &ScopeSet) -> bool {
    consent.is_some_and(|c| scope.is_subset(&c.scope))
}

/// The consent page's list for `scope`, in canonical order: each scope with its
/// description, marked when `consent` (the user's, to this client) already allows it.
pub fn prompt(
    consent: Option<&Consent>,
    scope: &ScopeSet,
    registry: &ScopeRegistry,
) -> Vec<ScopePrompt> {
    scope
        .iter()
        .map(|name| ScopePrompt {
            scope: name.to_owned(),
            description: registry.describe(name).to_owned(),
            already_granted: consent.is_some_and(|c| c.scope.contains(name)),
        })
        .collect()
}

/// The scope to remember after the user allowed `scope`: what they allowed before plus
/// what they allowed now.
pub fn remembered_scope(previous: Option<&Consent>, scope: &ScopeSet) -> ScopeSet {
    let Some(previous) = previous else {
        return scope.clone();
    };
    let joined = previous
        .scope
        .iter()
        .chain(scope.iter())
        .collect::<Vec<_>>()
        .join(" ");
    // Both inputs are valid scope sets, so their union is one; fall back to the new scope
    // rather than fail (asking again is the safe side) if the union grew past the bound.
    ScopeSet::parse(&joined).unwrap_or_else(|_| scope.clone())
}

#[cfg(test)]
mod tests {
    use grantd_ports::{ClientId, UserId};

    use super::*;

    fn s(v: &str) -> ScopeSet {
        ScopeSet::parse(v).unwrap()
    }

    fn consent(scope: &str) -> Consent {
        Consent {
            user_id: UserId::parse("u1").unwrap(),
            client_id: ClientId::parse("web").unwrap(),
            scope: s(scope),
            created_at: 0,
        }
    }

    #[test]
    fn a_consent_covers_its_scope_and_its_subsets_only() {
        let c = consent("read write");
        let cases = [
            (Some(&c), "read write", true),
            (Some(&c), "read", true),
            (Some(&c), "", true),
            (Some(&c), "read admin", false),
            (None, "read", false),
        ];
        for (consent, scope, expected) in cases {
            assert_eq!(covers(consent, &s(scope)), expected, "{scope}");
        }
    }

    #[test]
    fn the_prompt_describes_each_scope_and_marks_what_was_allowed_before() {
        let registry =
            crate::ScopeRegistry::new(["read", "write"].map(|name| crate::ScopeDefinition {
                name: name.into(),
                description: format!("{name} your data"),
                default: true,
            }))
            .unwrap();
        let lines = prompt(Some(&consent("read")), &s("write read"), &registry);
        let shown: Vec<(&str, &str, bool)> = lines
            .iter()
            .map(|p| (p.scope.as_str(), p.description.as_str(), p.already_granted))
            .collect();
        assert_eq!(
            shown,
            [
                ("read", "read your data", true),
                ("write", "write your data", false)
            ]
        );
        assert!(prompt(None, &s("read"), &registry)
            .iter()
            .all(|p| !p.already_granted));
    }

    #[test]
    fn remembering_adds_to_what_was_allowed_before() {
        assert_eq!(remembered_scope(None, &s("read")), s("read"));
        assert_eq!(
            remembered_scope(Some(&consent("read")), &s("write")),
            s("read write")
        );
    }
}
