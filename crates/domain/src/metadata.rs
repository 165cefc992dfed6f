//! Authorization server metadata (RFC 8414 §2): what this server supports, derived from
//! the same constants the endpoints use so that the document cannot drift from them.

use grantd_ports::GrantType;

use crate::ScopeRegistry;

/// The metadata document's content; the HTTP edge serialises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub scopes_supported: Vec<String>,
    /// The JWKS (RFC 8414 §2 `jwks_uri`): only when signing keys are configured.
    pub jwks_uri: Option<String>,
}

/// Client authentication methods of the token, revocation and introspection endpoints.
pub const AUTH_METHODS: [&str; 3] = ["client_secret_basic", "client_secret_post", "none"];

impl ServerMetadata {
    /// `issuer` without a trailing slash; `scopes_supported` = every registered scope (the
    /// configuration's, so it is right from the first request, whatever the clients).
    pub fn new(
        issuer: &str,
        scopes: &ScopeRegistry,
        code_challenge_methods: Vec<&'static str>,
    ) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        Self {
            authorization_endpoint: format!("{issuer}/oauth/authorize"),
            token_endpoint: format!("{issuer}/oauth/token"),
            revocation_endpoint: format!("{issuer}/oauth/revoke"),
            introspection_endpoint: format!("{issuer}/oauth/introspect"),
            grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
            response_types_supported: vec!["code"],
            token_endpoint_auth_methods_supported: AUTH_METHODS.to_vec(),
            code_challenge_methods_supported: code_challenge_methods,
            scopes_supported: scopes.names().map(str::to_owned).collect(),
            jwks_uri: None,
            issuer,
        }
    }

    /// Advertises the JWKS at `/.well-known/jwks.json` (signing keys are configured).
    pub fn with_jwks(mut self) -> Self {
        self.jwks_uri = Some(format!("{}/.well-known/jwks.json", self.issuer));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScopeDefinition;

    #[test]
    fn jwks_uri_is_advertised_only_with_signing_keys() {
        let plain = ServerMetadata::new("https://as.example/", &ScopeRegistry::default(), vec![]);
        assert_eq!(plain.jwks_uri, None);
        assert_eq!(
            plain.with_jwks().jwks_uri.as_deref(),
            Some("https://as.example/.well-known/jwks.json")
        );
    }

    #[test]
    fn scopes_supported_lists_the_registry() {
        let registry =
            ScopeRegistry::new(["write", "read", "profile"].map(|name| ScopeDefinition {
                name: name.into(),
                description: "d".into(),
                default: false,
            }))
            .unwrap();
        let m = ServerMetadata::new("https://as.example/", &registry, vec!["S256"]);
        assert_eq!(m.scopes_supported, ["profile", "read", "write"]);
        assert_eq!(m.issuer, "https://as.example");
        let empty = ServerMetadata::new("https://as.example", &ScopeRegistry::default(), vec![]);
        assert!(empty.scopes_supported.is_empty());
    }
}
