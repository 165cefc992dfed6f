//! Client metadata of dynamic registration (RFC 7591 §2): what a client may ask for, the
//! defaults RFC 7591 gives to what it omits, and the one check of it, made of the CLI's
//! registration rules (`crate::registration`) and the registration policy. Pure: no port,
//! no minting; the endpoint (`super::endpoint`) mints and stores.

use grantd_ports::{GrantType, ScopeSet, TokenEndpointAuthMethod};

use crate::registration::{self, ClientScopes, RegistrationError};
use crate::ScopeRegistry;

/// The client metadata of a registration or update request, as typed values. The HTTP
/// edge has checked the JSON types (naming the field) and dropped unknown fields
/// (RFC 7591 §2: the server "MUST ignore any client metadata sent by the client that it
/// does not understand").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientMetadata {
    pub redirect_uris: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub client_name: Option<String>,
    pub scope: Option<String>,
    /// OpenID Connect RP-Initiated Logout §3.1.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// RFC 9449 §5.2.
    pub dpop_bound_access_tokens: Option<bool>,
}

/// What a dynamically registered client may be given: the operator's `[registration]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationPolicy {
    /// The grant types a client may register (RFC 9700 §2.4: not `password` unless the
    /// operator says so).
    pub grant_types: Vec<GrantType>,
    /// The scopes a client may register; `None` = every registered scope.
    pub scopes: Option<ScopeSet>,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self {
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            scopes: None,
        }
    }
}

/// RFC 7591 §3.2.2's error codes, each with a description naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// "The value of one or more redirection URIs is invalid."
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// "The value of one of the client metadata fields is invalid".
    #[error("{0}")]
    InvalidClientMetadata(String),
}

fn invalid(field: &str, why: impl std::fmt::Display) -> MetadataError {
    MetadataError::InvalidClientMetadata(format!("{field}: {why}"))
}

/// The metadata after its check: what the client is stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMetadata {
    /// `None` = no `client_name` was given (the client id is shown instead).
    pub client_name: Option<String>,
    pub auth_method: TokenEndpointAuthMethod,
    pub grant_types: Vec<GrantType>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: ScopeSet,
    pub require_dpop: bool,
}

impl CheckedMetadata {
    pub fn is_public(&self) -> bool {
        self.auth_method == TokenEndpointAuthMethod::None
    }
}

/// RFC 7591 §2.1: the response types that go with the grant types (`code` with
/// `authorization_code`; grantd has no implicit flow).
pub fn response_types(grant_types: &[GrantType]) -> Vec<&'static str> {
    if grant_types.contains(&GrantType::AuthorizationCode) {
        vec!["code"]
    } else {
        Vec::new()
    }
}

/// Checks `m` against the CLI's rules (`registration::check_registration`: name, grant
/// types against the client type, each redirect URI, registered scopes), then the rules
/// of self-registration: the policy's grant types and scopes, the redirect URI transport
/// rule, redirect URIs for the code flow, and RFC 7591 §2.1's consistency of
/// `grant_types` and `response_types`. The first broken rule is the error.
pub fn check_metadata(
    m: &ClientMetadata,
    policy: &RegistrationPolicy,
    registry: &ScopeRegistry,
) -> Result<CheckedMetadata, MetadataError> {
    // §2: "If unspecified or omitted, the default is "client_secret_basic"".
    let auth_method = match m.token_endpoint_auth_method.as_deref() {
        None => TokenEndpointAuthMethod::ClientSecretBasic,
        Some(v) => TokenEndpointAuthMethod::parse(v).ok_or_else(|| {
            invalid(
                "token_endpoint_auth_method",
                format!("{v:?} is not supported (none, client_secret_basic, client_secret_post)"),
            )
        })?,
    };
    // §2: "If omitted, the default behavior is that the client will use only the
    // "authorization_code" Grant Type."
    let grant_types = match &m.grant_types {
        None => vec![GrantType::AuthorizationCode],
        Some(given) if given.is_empty() => {
            return Err(invalid("grant_types", "must name at least one grant type"))
        }
        Some(given) => {
            let parsed = given
                .iter()
                .map(|g| {
                    GrantType::parse(g)
                        .ok_or_else(|| invalid("grant_types", format!("{g:?} is not supported")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            registration::grant_types(parsed)
        }
    };
    if let Some(g) = grant_types.iter().find(|g| !policy.grant_types.contains(g)) {
        return Err(invalid(
            "grant_types",
            format!(
                "{:?} is not allowed for dynamically registered clients",
                g.as_str()
            ),
        ));
    }
    let expected = response_types(&grant_types);
    if let Some(given) = &m.response_types {
        if let Some(r) = given.iter().find(|r| r.as_str() != "code") {
            return Err(invalid(
                "response_types",
                format!("{r:?} is not supported (only \"code\")"),
            ));
        }
        // §2.1: "the authorization server MUST ensure [they] are consistent".
        let asks_code = given.iter().any(|r| r == "code");
        let code_flow = expected.contains(&"code");
        if asks_code != code_flow {
            return Err(invalid(
                "response_types",
                "\"code\" goes with the authorization_code grant type, and only with it (RFC 7591 §2.1)",
            ));
        }
    }
    let scopes = match &m.scope {
        Some(scope) => ScopeSet::parse(scope).map_err(|e| invalid("scope", e.0))?,
        // §2: "If omitted, an authorization server MAY register a client with a default
        // set of scopes": the registry's defaults the policy allows.
        None => {
            let all = ScopeSet::parse(&registry.names().collect::<Vec<_>>().join(" "))
                .map_err(|e| invalid("scope", e.0))?;
            let defaults = registry.defaults_within(&all);
            match &policy.scopes {
                Some(allowed) => defaults.filter(|s| allowed.contains(s)),
                None => defaults,
            }
        }
    };
    // The admin API's scope is the operator's to give (`client create --admin`): a client
    // that registers itself never holds it, whatever the policy lists.
    if scopes.contains(crate::scope_rules::ADMIN_SCOPE) {
        return Err(invalid(
            "scope",
            format!(
                "{:?} is not allowed for dynamically registered clients",
                crate::scope_rules::ADMIN_SCOPE
            ),
        ));
    }
    let redirect_uris = m.redirect_uris.clone().unwrap_or_default();
    let name = m.client_name.as_deref();
    registration::check_registration(
        // An omitted name is no empty name: the client id stands in for it.
        name.unwrap_or("-"),
        auth_method == TokenEndpointAuthMethod::None,
        &grant_types,
        &redirect_uris,
        ClientScopes {
            scopes: &scopes,
            default_scopes: None,
        },
        registry,
    )
    .map_err(|e| match e {
        RegistrationError::EmptyName => invalid("client_name", e),
        RegistrationError::PublicClientCredentials => invalid(
            "grant_types",
            "a client with token_endpoint_auth_method \"none\" cannot use client_credentials",
        ),
        RegistrationError::RelativeRedirectUri(_)
        | RegistrationError::RedirectUriFragment(_)
        | RegistrationError::RedirectUriWhitespace(_) => {
            MetadataError::InvalidRedirectUri(format!("redirect_uris: {e}"))
        }
        RegistrationError::UnregisteredScope(_) | RegistrationError::DefaultScopeNotAllowed(_) => {
            invalid("scope", e)
        }
    })?;
    if let Some(allowed) = &policy.scopes {
        if let Some(s) = scopes.difference(allowed).next() {
            return Err(invalid(
                "scope",
                format!("{s:?} is not allowed for dynamically registered clients"),
            ));
        }
    }
    for uri in &redirect_uris {
        registration::check_redirect_uri_transport(uri)
            .map_err(|e| MetadataError::InvalidRedirectUri(format!("redirect_uris: {e}")))?;
    }
    // RFC 6749 §3.1.2.2: a client of the code flow must register its redirect URIs, and
    // one that registers itself cannot add them later by other means.
    if registration::code_flow_without_redirect_uri(&grant_types, &redirect_uris) {
        return Err(MetadataError::InvalidRedirectUri(
            "redirect_uris: required for the authorization_code grant type".into(),
        ));
    }
    let post_logout_redirect_uris = m.post_logout_redirect_uris.clone().unwrap_or_default();
    registration::check_post_logout_redirect_uris(&post_logout_redirect_uris)
        .map_err(|e| invalid("post_logout_redirect_uris", e))?;
    for uri in &post_logout_redirect_uris {
        registration::check_redirect_uri_transport(uri)
            .map_err(|e| invalid("post_logout_redirect_uris", e))?;
    }
    Ok(CheckedMetadata {
        client_name: name.map(|n| n.trim().to_owned()),
        auth_method,
        grant_types,
        redirect_uris,
        post_logout_redirect_uris,
        scopes,
        require_dpop: m.dpop_bound_access_tokens.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::registry;

    fn code_client() -> ClientMetadata {
        ClientMetadata {
            redirect_uris: Some(vec!["https://app.example/cb".into()]),
            client_name: Some("  My app ".into()),
            ..Default::default()
        }
    }

    fn check(m: &ClientMetadata) -> Result<CheckedMetadata, MetadataError> {
        check_metadata(m, &RegistrationPolicy::default(), &registry())
    }

    fn field_error(m: &ClientMetadata) -> String {
        match check(m) {
            Err(MetadataError::InvalidClientMetadata(d)) => d,
            other => panic!("expected invalid_client_metadata, got {other:?}"),
        }
    }

    #[test]
    fn omitted_fields_get_rfc_7591_defaults() {
        let c = check(&code_client()).unwrap();
        assert_eq!(c.client_name.as_deref(), Some("My app"));
        assert_eq!(c.auth_method, TokenEndpointAuthMethod::ClientSecretBasic);
        assert_eq!(c.grant_types, [GrantType::AuthorizationCode]);
        assert_eq!(
            c.scopes.to_delimited(),
            "read write",
            "the registry's defaults"
        );
        assert!(!c.is_public() && !c.require_dpop);
        assert!(c.post_logout_redirect_uris.is_empty());
    }

    #[test]
    fn the_policy_limits_default_scopes_too() {
        let policy = RegistrationPolicy {
            scopes: Some(ScopeSet::parse("read profile").unwrap()),
            ..Default::default()
        };
        let c = check_metadata(&code_client(), &policy, &registry()).unwrap();
        assert_eq!(c.scopes.to_delimited(), "read");
        let mut m = code_client();
        m.scope = Some("read write".into());
        assert_eq!(
            check_metadata(&m, &policy, &registry()),
            Err(MetadataError::InvalidClientMetadata(
                "scope: \"write\" is not allowed for dynamically registered clients".into()
            ))
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let with = |f: fn(&mut ClientMetadata)| {
            let mut m = code_client();
            f(&mut m);
            field_error(&m)
        };
        type Edit = fn(&mut ClientMetadata);
        let cases: [(Edit, &str); 13] = [
            (
                |m| m.token_endpoint_auth_method = Some("private_key_jwt".into()),
                "token_endpoint_auth_method:",
            ),
            (|m| m.grant_types = Some(vec![]), "grant_types: must name"),
            (
                |m| m.grant_types = Some(vec!["implicit".into()]),
                "grant_types: \"implicit\" is not supported",
            ),
            (
                |m| m.grant_types = Some(vec!["password".into()]),
                "grant_types: \"password\" is not allowed",
            ),
            (
                |m| m.response_types = Some(vec!["token".into()]),
                "response_types: \"token\"",
            ),
            (
                |m| m.response_types = Some(vec![]),
                "response_types: \"code\" goes with",
            ),
            (
                |m| {
                    m.grant_types = Some(vec!["client_credentials".into()]);
                    m.response_types = Some(vec!["code".into()]);
                },
                "response_types: \"code\" goes with",
            ),
            (
                |m| {
                    m.token_endpoint_auth_method = Some("none".into());
                    m.grant_types = Some(vec!["client_credentials".into()]);
                },
                "grant_types: a client with token_endpoint_auth_method \"none\"",
            ),
            (
                |m| m.scope = Some("read admin".into()),
                "scope: scope \"admin\" is not registered",
            ),
            (
                |m| m.scope = Some("read grantd:admin".into()),
                "scope: \"grantd:admin\" is not allowed for dynamically registered clients",
            ),
            (|m| m.scope = Some("read\u{1}".into()), "scope:"),
            (
                |m| m.client_name = Some("  ".into()),
                "client_name: the client name must not be empty",
            ),
            (
                |m| m.post_logout_redirect_uris = Some(vec!["http://app.example/bye".into()]),
                "post_logout_redirect_uris:",
            ),
        ];
        for (edit, expected) in cases {
            let got = with(edit);
            assert!(got.starts_with(expected), "{expected:?} vs {got:?}");
        }
    }

    #[test]
    fn redirect_uri_problems_are_invalid_redirect_uri() {
        for uris in [
            vec![],
            vec!["/cb".to_owned()],
            vec!["https://app.example/cb#frag".to_owned()],
            vec![
                "https://app.example/cb".to_owned(),
                "http://app.example/cb".to_owned(),
            ],
            vec!["javascript:alert(1)".to_owned()],
        ] {
            let mut m = code_client();
            m.redirect_uris = Some(uris.clone());
            match check(&m) {
                Err(MetadataError::InvalidRedirectUri(d)) => {
                    assert!(d.starts_with("redirect_uris: "), "{d}")
                }
                other => panic!("{uris:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_public_native_client_and_a_service_client_are_accepted() {
        let native = ClientMetadata {
            redirect_uris: Some(vec![
                "http://127.0.0.1:8123/cb".into(),
                "com.example.app:/cb".into(),
            ]),
            token_endpoint_auth_method: Some("none".into()),
            grant_types: Some(vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "refresh_token".into(),
            ]),
            response_types: Some(vec!["code".into()]),
            dpop_bound_access_tokens: Some(true),
            ..Default::default()
        };
        let c = check(&native).unwrap();
        assert!(c.is_public() && c.require_dpop);
        assert_eq!(c.client_name, None);
        assert_eq!(
            c.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );
        let service = ClientMetadata {
            grant_types: Some(vec!["client_credentials".into()]),
            token_endpoint_auth_method: Some("client_secret_post".into()),
            scope: Some("read".into()),
            ..Default::default()
        };
        let c = check(&service).unwrap();
        assert_eq!(c.auth_method, TokenEndpointAuthMethod::ClientSecretPost);
        assert!(c.redirect_uris.is_empty());
        assert_eq!(response_types(&c.grant_types), Vec::<&str>::new());
    }
}
