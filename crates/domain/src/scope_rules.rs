//! Scope rules of RFC 6749 §3.3 and §6.

use grantd_ports::ScopeSet;

use crate::TokenError;

/// Parses a requested `scope` parameter; malformed is `invalid_scope` (§5.2).
pub fn parse_requested(raw: Option<&str>) -> Result<Option<ScopeSet>, TokenError> {
    raw.map(|s| ScopeSet::parse(s).map_err(|e| TokenError::InvalidScope(e.to_string())))
        .transpose()
}

/// The scope of a new grant (§3.3): omitted means the client's registered scopes; a
/// request for anything the client may not have is `invalid_scope`.
pub fn for_new_grant(
    requested: Option<ScopeSet>,
    allowed: &ScopeSet,
) -> Result<ScopeSet, TokenError> {
    match requested {
        None => Ok(allowed.clone()),
        Some(requested) => narrow(requested, allowed, "the client is not allowed scope"),
    }
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
    use super::*;

    fn s(v: &str) -> ScopeSet {
        ScopeSet::parse(v).unwrap()
    }

    #[test]
    fn new_grant_defaults_to_registered_scopes() {
        assert_eq!(
            for_new_grant(None, &s("read write")).unwrap(),
            s("read write")
        );
    }

    #[test]
    fn new_grant_refuses_unregistered_scope() {
        let err = for_new_grant(Some(s("read admin")), &s("read write")).unwrap_err();
        assert!(matches!(err, TokenError::InvalidScope(ref d) if d.contains("admin")));
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
