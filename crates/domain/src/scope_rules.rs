//! Scope rules of RFC 6749 §3.3 and §6: what a new grant gets for the scope it asked for
//! (or for none), and what a refresh may narrow to. Pure functions over the client and the
//! [`ScopeRegistry`].

use grantd_ports::{Client, ScopeSet};

use crate::{ScopeRegistry, TokenError};

/// Why the scope of a new grant is refused: each is `invalid_scope` (RFC 6749 §5.2 at the
/// token endpoint, §4.1.2.1 at the authorization endpoint). The messages are
/// `error_description`s: plain ASCII without quotes or backslashes (§5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeRefusal {
    /// The request names scopes the client is not registered for (space-separated).
    #[error("the client is not allowed scope {0}")]
    NotAllowed(String),
    /// The request names scopes the server does not know (any more): §5.2 "unknown".
    #[error("the scope is unknown: {0}")]
    Unregistered(String),
    /// `scope` was omitted and the client has no default scope: §3.3 "or fail the
    /// request indicating an invalid scope".
    #[error("scope is required: the client has no default scope")]
    NoDefault,
    /// The admin API's scope asked for by a client not registered with `--admin`, or by
    /// any grant but `client_credentials`: it is a credential of the admin client itself,
    /// never one a person delegates.
    #[error("the scope grantd:admin is only for admin clients through client_credentials")]
    AdminOnly,
}

/// The scope that opens the admin API (`server.admin_bind`).
pub const ADMIN_SCOPE: &str = "grantd:admin";

/// Which grant asks for a new grant's scope: only `client_credentials` may carry
/// [`ADMIN_SCOPE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantFlow {
    ClientCredentials,
    /// The password and authorization code grants: the client acts for a person.
    ForUser,
}

impl From<ScopeRefusal> for TokenError {
    fn from(refusal: ScopeRefusal) -> Self {
        TokenError::InvalidScope(refusal.to_string())
    }
}

/// Parses a requested `scope` parameter; malformed is `invalid_scope` (§5.2).
pub fn parse_requested(raw: Option<&str>) -> Result<Option<ScopeSet>, TokenError> {
    raw.map(|s| ScopeSet::parse(s).map_err(|e| TokenError::InvalidScope(e.to_string())))
        .transpose()
}

/// What a request that omits `scope` gets (§3.3's "pre-defined default value"): the
/// client's own default scopes if it has them, else those of its scopes that the registry
/// marks default; either way only registered scopes that the client may still have, so
/// that a scope dropped from the configuration is never issued.
pub fn default_for(client: &Client, registry: &ScopeRegistry) -> ScopeSet {
    let chosen = match &client.default_scopes {
        Some(own) => own.filter(|s| client.scopes.contains(s)),
        None => registry.defaults_within(&client.scopes),
    };
    registry.registered_part(&chosen)
}

/// The scope of a new grant (§3.3): omitted means [`default_for`], and an empty default
/// is refused; a requested scope must be registered and allowed to the client.
pub fn for_new_grant(
    requested: Option<ScopeSet>,
    client: &Client,
    registry: &ScopeRegistry,
    flow: GrantFlow,
) -> Result<ScopeSet, ScopeRefusal> {
    let scope = unchecked_for_new_grant(requested, client, registry)?;
    let admin_allowed = client.admin && flow == GrantFlow::ClientCredentials;
    if scope.contains(ADMIN_SCOPE) && !admin_allowed {
        return Err(ScopeRefusal::AdminOnly);
    }
    Ok(scope)
}

fn unchecked_for_new_grant(
    requested: Option<ScopeSet>,
    client: &Client,
    registry: &ScopeRegistry,
) -> Result<ScopeSet, ScopeRefusal> {
    let Some(requested) = requested else {
        let defaults = default_for(client, registry);
        if defaults.is_empty() {
            return Err(ScopeRefusal::NoDefault);
        }
        return Ok(defaults);
    };
    let excess: Vec<&str> = requested.difference(&client.scopes).collect();
    if !excess.is_empty() {
        return Err(ScopeRefusal::NotAllowed(excess.join(" ")));
    }
    let unknown = registry.unregistered(&requested);
    if !unknown.is_empty() {
        return Err(ScopeRefusal::Unregistered(unknown.join(" ")));
    }
    Ok(requested)
}

/// The scope of a refreshed access token (§6): omitted means the originally granted
/// scope; it "MUST NOT include any scope not originally granted".
pub fn for_refresh(
    requested: Option<ScopeSet>,
    granted: &ScopeSet,
) -> Result<ScopeSet, TokenError> {
    match requested {
        None => Ok(granted.clone()),
        Some(requested) => narrow(
            requested,
            granted,
            "scope exceeds the originally granted scope:",
        ),
    }
}

fn narrow(requested: ScopeSet, limit: &ScopeSet, why: &str) -> Result<ScopeSet, TokenError> {
    let excess: Vec<&str> = requested.difference(limit).collect();
    if excess.is_empty() {
        Ok(requested)
    } else {
        Err(TokenError::InvalidScope(format!(
            "{why} {}",
            excess.join(" ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use grantd_ports::{ClientId, GrantType, LifetimeOverrides};

    use super::*;
    use crate::ScopeDefinition;

    fn s(v: &str) -> ScopeSet {
        ScopeSet::parse(v).unwrap()
    }

    fn registry() -> ScopeRegistry {
        let def = |name: &str, default| ScopeDefinition {
            name: name.into(),
            description: format!("the {name} scope"),
            default,
        };
        ScopeRegistry::new([def("read", true), def("write", true), def("profile", false)]).unwrap()
    }

    fn client(scopes: &str, own_defaults: Option<&str>) -> Client {
        Client {
            id: ClientId::parse("app").unwrap(),
            name: "app".into(),
            secret: None,
            secret_version: 1,
            grant_types: vec![GrantType::Password],
            scopes: s(scopes),
            access_token_format: None,
            default_scopes: own_defaults.map(s),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            created_at: 0,
            require_dpop: false,
            admin: false,
        }
    }

    #[test]
    fn the_admin_scope_goes_only_to_admin_clients_through_client_credentials() {
        let def = |name: &str| ScopeDefinition {
            name: name.into(),
            description: format!("the {name} scope"),
            default: false,
        };
        let r = ScopeRegistry::new([def("read"), def(ADMIN_SCOPE)]).unwrap();
        let mut c = client("read grantd:admin", Some("grantd:admin"));
        let admin = Some(s(ADMIN_SCOPE));
        // (admin client, flow, requested, outcome)
        for (is_admin, flow, requested, ok) in [
            (true, GrantFlow::ClientCredentials, admin.clone(), true),
            // The client's own defaults are checked as a request would be.
            (true, GrantFlow::ClientCredentials, None, true),
            (true, GrantFlow::ForUser, admin.clone(), false),
            (true, GrantFlow::ForUser, None, false),
            (false, GrantFlow::ClientCredentials, admin.clone(), false),
            (false, GrantFlow::ClientCredentials, None, false),
            (false, GrantFlow::ForUser, Some(s("read")), true),
        ] {
            c.admin = is_admin;
            let got = for_new_grant(requested.clone(), &c, &r, flow);
            if ok {
                assert!(got.is_ok(), "{is_admin} {flow:?} {requested:?}: {got:?}");
            } else {
                assert_eq!(got, Err(ScopeRefusal::AdminOnly), "{is_admin} {flow:?}");
            }
        }
    }

    #[test]
    fn an_omitted_scope_gets_the_clients_default_scopes() {
        let r = registry();
        // (client scopes, its own defaults, what an omitted scope gets)
        let cases: [(&str, Option<&str>, Result<&str, ScopeRefusal>); 7] = [
            // The registry's defaults within the client's scopes: profile is not one.
            ("read write profile", None, Ok("read write")),
            ("read profile", None, Ok("read")),
            // The client's own defaults win over the registry's, even a non-default scope.
            ("read write profile", Some("profile"), Ok("profile")),
            // A scope no longer registered is never issued, from either source.
            ("read legacy", Some("read legacy"), Ok("read")),
            ("profile", None, Err(ScopeRefusal::NoDefault)),
            ("", None, Err(ScopeRefusal::NoDefault)),
            // Own defaults that are empty (or all unregistered) are no default at all.
            ("read write", Some(""), Err(ScopeRefusal::NoDefault)),
        ];
        for (scopes, own, expected) in cases {
            let got = for_new_grant(None, &client(scopes, own), &r, GrantFlow::ForUser);
            assert_eq!(got, expected.map(s), "{scopes:?} {own:?}");
        }
    }

    #[test]
    fn own_defaults_beyond_the_clients_scopes_are_not_issued() {
        // A stored row cannot break the registration rule and widen a grant.
        let c = client("read", Some("read write"));
        assert_eq!(default_for(&c, &registry()), s("read"));
    }

    #[test]
    fn a_requested_scope_must_be_allowed_to_the_client_and_registered() {
        let r = registry();
        let c = client("read write legacy", None);
        let ask = |v: &str| for_new_grant(Some(s(v)), &c, &r, GrantFlow::ForUser);
        assert_eq!(ask("write"), Ok(s("write")));
        // Narrower than the defaults, or beyond them, as long as the client may have it.
        assert_eq!(
            ask("read admin"),
            Err(ScopeRefusal::NotAllowed("admin".into()))
        );
        assert_eq!(
            ask("read legacy"),
            Err(ScopeRefusal::Unregistered("legacy".into()))
        );
    }

    #[test]
    fn refusals_are_invalid_scope_with_a_plain_ascii_description() {
        for refusal in [
            ScopeRefusal::NotAllowed("admin".into()),
            ScopeRefusal::Unregistered("legacy".into()),
            ScopeRefusal::NoDefault,
        ] {
            let TokenError::InvalidScope(d) = TokenError::from(refusal) else {
                panic!("not invalid_scope");
            };
            // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E.
            assert!(
                d.bytes().all(|b| b == 0x20
                    || b == 0x21
                    || (0x23..=0x5b).contains(&b)
                    || (0x5d..=0x7e).contains(&b)),
                "{d}"
            );
        }
    }

    #[test]
    fn refresh_defaults_to_granted_and_allows_subsets() {
        assert_eq!(for_refresh(None, &s("a b")).unwrap(), s("a b"));
        assert_eq!(for_refresh(Some(s("a")), &s("a b")).unwrap(), s("a"));
        assert!(for_refresh(Some(s("a c")), &s("a b")).is_err());
    }

    #[test]
    fn malformed_scope_is_invalid_scope() {
        assert!(matches!(
            parse_requested(Some("a\"b")),
            Err(TokenError::InvalidScope(_))
        ));
        assert_eq!(parse_requested(None).unwrap(), None);
    }
}
