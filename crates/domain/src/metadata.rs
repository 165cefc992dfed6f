//! Authorization server metadata (RFC 8414 §2) and OpenID Provider metadata (Discovery
//! 1.0 §3): what this server supports, derived from the same constants the endpoints use
//! so that the documents cannot drift from them, and from one value, so that the two
//! documents cannot disagree (Discovery §3 and RFC 8414 §2 share their fields).

use grantd_ports::{GrantType, SigningAlgorithm, SigningKey};

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
    /// OpenID Connect's endpoints (Core §5.3, RP-Initiated Logout §2.1): only when signing
    /// keys are configured, as OpenID Connect is then on.
    pub userinfo_endpoint: Option<String>,
    pub end_session_endpoint: Option<String>,
    /// RFC 9449 §5.1 `dpop_signing_alg_values_supported`; empty = DPoP off (not listed).
    pub dpop_signing_alg_values_supported: Vec<&'static str>,
    /// RFC 8414 §2 `registration_endpoint` (RFC 7591): only with registration enabled.
    pub registration_endpoint: Option<String>,
}

/// Discovery §3 `claims_supported`: the claims grantd's id tokens and userinfo can carry.
pub const CLAIMS_SUPPORTED: [&str; 13] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "amr",
    "name",
    "preferred_username",
    "email",
    "email_verified",
];

/// What the OpenID Provider metadata adds to the RFC 8414 document (Discovery §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenIdMetadata {
    pub jwks_uri: String,
    pub userinfo_endpoint: String,
    pub end_session_endpoint: String,
    /// Discovery §3 (REQUIRED): `sub` is the user's one id, the same for every client.
    pub subject_types_supported: Vec<&'static str>,
    /// Discovery §3 (REQUIRED, "MUST include RS256"), see [`id_token_signing_algs`].
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    /// Only `query` (Core §3.1.2.1 with `response_type=code`).
    pub response_modes_supported: Vec<&'static str>,
    /// Core §5.5, §6: neither the `claims` nor the `request`/`request_uri` parameters.
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
}

/// The algorithms id tokens may be signed with: RS256 always (Discovery §3: the list
/// "MUST include RS256"), the configured one (`keys.algorithm`, the next key's), and that
/// of every published key (a key of an earlier `keys.algorithm` may still sign until it
/// is retired). In [`SigningAlgorithm::ALL`]'s order, each once.
pub fn id_token_signing_algs(
    configured: SigningAlgorithm,
    published: &[SigningKey],
) -> Vec<&'static str> {
    SigningAlgorithm::ALL
        .into_iter()
        .filter(|a| {
            *a == SigningAlgorithm::Rs256
                || *a == configured
                || published.iter().any(|k| k.algorithm == *a)
        })
        .map(SigningAlgorithm::as_str)
        .collect()
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
            // The admin API's scope is no client's business to discover (RFC 8414 §2:
            // servers "MAY choose not to advertise some supported scope values").
            scopes_supported: scopes
                .names()
                .filter(|s| *s != crate::scope_rules::ADMIN_SCOPE)
                .map(str::to_owned)
                .collect(),
            jwks_uri: None,
            userinfo_endpoint: None,
            end_session_endpoint: None,
            dpop_signing_alg_values_supported: Vec::new(),
            registration_endpoint: None,
            issuer,
        }
    }

    /// Advertises the JWKS at `/.well-known/jwks.json` (signing keys are configured).
    pub fn with_jwks(mut self) -> Self {
        self.jwks_uri = Some(format!("{}/.well-known/jwks.json", self.issuer));
        self
    }

    /// Dynamic client registration is on (`registration.enabled`): RFC 7591's endpoint
    /// is advertised; the client configuration endpoints (RFC 7592) are below it.
    pub fn with_registration(mut self) -> Self {
        self.registration_endpoint = Some(format!("{}/oauth/register", self.issuer));
        self
    }

    /// DPoP proofs are accepted, signed with `settings.algorithms`.
    pub fn with_dpop(mut self, settings: &crate::dpop::DpopSettings) -> Self {
        self.dpop_signing_alg_values_supported =
            settings.algorithms.iter().map(|a| a.as_str()).collect();
        self
    }

    /// Signing keys are configured, so OpenID Connect is on: the JWKS, userinfo and the
    /// logout endpoint are advertised.
    pub fn with_openid_connect(self) -> Self {
        let mut m = self.with_jwks();
        m.userinfo_endpoint = Some(format!("{}/oauth/userinfo", m.issuer));
        m.end_session_endpoint = Some(format!("{}/oauth/logout", m.issuer));
        m
    }

    /// The OpenID Provider's additions, given the configured algorithm and the keys
    /// published now; `None` when OpenID Connect is off (no signing keys).
    pub fn openid(
        &self,
        configured: SigningAlgorithm,
        published: &[SigningKey],
    ) -> Option<OpenIdMetadata> {
        Some(OpenIdMetadata {
            jwks_uri: self.jwks_uri.clone()?,
            userinfo_endpoint: self.userinfo_endpoint.clone()?,
            end_session_endpoint: self.end_session_endpoint.clone()?,
            subject_types_supported: vec!["public"],
            id_token_signing_alg_values_supported: id_token_signing_algs(configured, published),
            claims_supported: CLAIMS_SUPPORTED.to_vec(),
            response_modes_supported: vec!["query"],
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
        })
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
    fn openid_connect_adds_its_endpoints_only_with_signing_keys() {
        let plain = ServerMetadata::new("https://as.example/", &ScopeRegistry::default(), vec![]);
        assert_eq!(plain.openid(SigningAlgorithm::Rs256, &[]), None);
        assert_eq!(plain.userinfo_endpoint, None);
        let oidc = plain.with_openid_connect();
        let doc = oidc.openid(SigningAlgorithm::Rs256, &[]).unwrap();
        assert_eq!(doc.jwks_uri, "https://as.example/.well-known/jwks.json");
        assert_eq!(doc.userinfo_endpoint, "https://as.example/oauth/userinfo");
        assert_eq!(doc.end_session_endpoint, "https://as.example/oauth/logout");
        assert_eq!(doc.subject_types_supported, ["public"]);
        assert_eq!(doc.response_modes_supported, ["query"]);
        assert!(doc.claims_supported.contains(&"email_verified"));
        assert!(
            !doc.claims_parameter_supported
                && !doc.request_parameter_supported
                && !doc.request_uri_parameter_supported
        );
    }

    fn published(algorithm: SigningAlgorithm) -> SigningKey {
        SigningKey {
            kid: algorithm.as_str().into(),
            algorithm,
            public_jwk: "{}".into(),
            private_key: grantd_ports::SealedPrivateKey::from_stored(vec![]),
            created_at: 0,
            activates_at: 0,
            retired_at: None,
            published_until: None,
        }
    }

    #[test]
    fn rs256_is_always_listed_with_the_configured_and_published_algorithms() {
        use SigningAlgorithm::*;
        assert_eq!(id_token_signing_algs(Rs256, &[]), ["RS256"]);
        assert_eq!(id_token_signing_algs(EdDsa, &[]), ["RS256", "EdDSA"]);
        // Configured ES256 now, but an EdDSA key of the old setting is still published.
        assert_eq!(
            id_token_signing_algs(Es256, &[published(EdDsa), published(Es256)]),
            ["RS256", "ES256", "EdDSA"]
        );
        assert_eq!(
            id_token_signing_algs(Rs256, &[published(Rs256), published(Rs256)]),
            ["RS256"],
            "each once"
        );
    }

    #[test]
    fn registration_endpoint_is_advertised_only_when_enabled() {
        let plain = ServerMetadata::new("https://as.example/", &ScopeRegistry::default(), vec![]);
        assert_eq!(plain.registration_endpoint, None);
        assert_eq!(
            plain.with_registration().registration_endpoint.as_deref(),
            Some("https://as.example/oauth/register")
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
