//! Client registration rules (RFC 6749 §2): what a new client must satisfy before it is
//! stored (its scopes registered, its own default scopes among them), and the grant types
//! it gets when it asks for none. Pure functions over the
//! ports' types, so that every front door (the CLI today, an admin API later) registers
//! clients by the same rules; minting the id and secret and storing stay with the caller.

use grantd_ports::{GrantType, ScopeSet};

use crate::ScopeRegistry;

/// The grant types a client gets when it asks for none: the code flow and its refresh
/// tokens, the flow RFC 9700 §2.1 recommends.
pub const DEFAULT_GRANT_TYPES: [GrantType; 2] =
    [GrantType::AuthorizationCode, GrantType::RefreshToken];

/// A registration that breaks a rule. Each message says which value is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// The name is empty or only whitespace.
    #[error("the client name must not be empty")]
    EmptyName,
    /// RFC 6749 §4.4: the client credentials grant "MUST only be used by confidential
    /// clients".
    #[error("a public client cannot use the client_credentials grant")]
    PublicClientCredentials,
    /// RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI".
    #[error("redirect URI {0:?} must be an absolute URI (RFC 6749 §3.1.2)")]
    RelativeRedirectUri(String),
    /// RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
    #[error("redirect URI {0:?} must not have a fragment (RFC 6749 §3.1.2)")]
    RedirectUriFragment(String),
    /// Whitespace or a control character: never part of a URI (RFC 3986 §2), and a way to
    /// smuggle a second line into a log or a header.
    #[error("redirect URI {0:?} has whitespace or control characters")]
    RedirectUriWhitespace(String),
    /// A client may only be registered for scopes the server knows (the `[scopes]`
    /// registry), so that every scope it can get is one people can be told about.
    #[error("scope {0:?} is not registered (see [scopes] in the configuration)")]
    UnregisteredScope(String),
    /// A client's own default scopes are among the scopes it may have.
    #[error("default scope {0:?} is not one of the client's scopes")]
    DefaultScopeNotAllowed(String),
}

/// A new client's scopes: what it may ask for, and its own defaults (`None` = the
/// registry's).
#[derive(Debug, Clone, Copy)]
pub struct ClientScopes<'a> {
    pub scopes: &'a ScopeSet,
    pub default_scopes: Option<&'a ScopeSet>,
}

/// Every rule of a registration, checked before anything is minted or hashed; the first
/// broken one is the error (name, grant types, redirect URIs, then scopes). Returns the
/// name as it is stored (trimmed).
pub fn check_registration<'a>(
    name: &'a str,
    public: bool,
    grant_types: &[GrantType],
    redirect_uris: &[String],
    scopes: ClientScopes<'_>,
    registry: &ScopeRegistry,
) -> Result<&'a str, RegistrationError> {
    let name = client_name(name)?;
    check_grant_types(public, grant_types)?;
    for uri in redirect_uris {
        check_redirect_uri(uri)?;
    }
    check_scopes(scopes, registry)?;
    Ok(name)
}

/// Every scope is registered, and the client's own defaults (if any) are among its scopes.
/// An empty set of own defaults is allowed: then every request must name its scope.
pub fn check_scopes(
    scopes: ClientScopes<'_>,
    registry: &ScopeRegistry,
) -> Result<(), RegistrationError> {
    if let Some(unknown) = registry.unregistered(scopes.scopes).first() {
        return Err(RegistrationError::UnregisteredScope((*unknown).to_owned()));
    }
    if let Some(defaults) = scopes.default_scopes {
        if let Some(extra) = defaults.difference(scopes.scopes).next() {
            return Err(RegistrationError::DefaultScopeNotAllowed(extra.to_owned()));
        }
    }
    Ok(())
}

/// The name as stored: without surrounding whitespace, and not empty.
pub fn client_name(name: &str) -> Result<&str, RegistrationError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(RegistrationError::EmptyName);
    }
    Ok(name)
}

/// The grant types as registered: each requested one once, in the order asked;
/// [`DEFAULT_GRANT_TYPES`] when none is.
pub fn grant_types(requested: impl IntoIterator<Item = GrantType>) -> Vec<GrantType> {
    let mut grant_types: Vec<GrantType> = Vec::new();
    for g in requested {
        if !grant_types.contains(&g) {
            grant_types.push(g);
        }
    }
    if grant_types.is_empty() {
        grant_types = DEFAULT_GRANT_TYPES.to_vec();
    }
    grant_types
}

/// RFC 6749 §4.4: a public client (one without a secret, §2.1) cannot use the client
/// credentials grant, which authenticates nothing but the client.
pub fn check_grant_types(public: bool, grant_types: &[GrantType]) -> Result<(), RegistrationError> {
    if public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(RegistrationError::PublicClientCredentials);
    }
    Ok(())
}

/// RFC 6749 §3.1.2: an absolute URI (a scheme, RFC 3986 §3.1, then something) without a
/// fragment, and without whitespace or control characters.
pub fn check_redirect_uri(uri: &str) -> Result<(), RegistrationError> {
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok {
        return Err(RegistrationError::RelativeRedirectUri(uri.to_owned()));
    }
    if uri.contains('#') {
        return Err(RegistrationError::RedirectUriFragment(uri.to_owned()));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RegistrationError::RedirectUriWhitespace(uri.to_owned()));
    }
    Ok(())
}

/// Why a redirect URI fails [`check_redirect_uri_transport`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "redirect URI {0:?} must use https, http on a loopback address (127.0.0.1, [::1], \
     localhost), or a private-use scheme with a period such as com.example.app \
     (RFC 8252 §7, §8.3)"
)]
pub struct InsecureRedirectUri(pub String);

/// The stricter rule for clients that register themselves (RFC 7591), on top of
/// [`check_redirect_uri`]: RFC 9700 §2.1 and RFC 8252 §8.3 keep codes off plain http
/// except to a native app's loopback listener, and RFC 8252 §7.1 private-use schemes are
/// reverse domain names (with a period), which also leaves out `javascript:`, `data:` and
/// `file:`. The CLI keeps the operator's freedom and does not apply it.
pub fn check_redirect_uri_transport(uri: &str) -> Result<(), InsecureRedirectUri> {
    let insecure = || InsecureRedirectUri(uri.to_owned());
    let (scheme, rest) = uri.split_once(':').ok_or_else(insecure)?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = || {
        rest.strip_prefix("//")
            .map(|r| r.split(['/', '?']).next().unwrap_or(""))
    };
    match scheme.as_str() {
        "https" => match authority() {
            Some(a) if !a.is_empty() && !a.contains('@') => Ok(()),
            _ => Err(insecure()),
        },
        "http" => {
            let authority = authority().ok_or_else(insecure)?;
            let host = match authority.strip_prefix('[') {
                Some(v6) => v6.split(']').next().map(|h| format!("[{h}]")),
                None => authority.split(':').next().map(str::to_owned),
            };
            let loopback = host.is_some_and(|h| {
                matches!(
                    h.to_ascii_lowercase().as_str(),
                    "127.0.0.1" | "[::1]" | "localhost"
                )
            });
            let port_ok = authority
                .rsplit_once(']')
                .map_or(authority, |(_, after)| after)
                .split_once(':')
                .is_none_or(|(_, port)| port.is_empty() || port.parse::<u16>().is_ok());
            if loopback && port_ok && !authority.contains('@') {
                Ok(())
            } else {
                Err(insecure())
            }
        }
        _ if scheme.contains('.') => Ok(()),
        _ => Err(insecure()),
    }
}

/// RP-Initiated Logout §3: post-logout redirect URIs are registered as redirect URIs are
/// (absolute, no fragment, no whitespace), and matched as exactly.
pub fn check_post_logout_redirect_uris(uris: &[String]) -> Result<(), RegistrationError> {
    uris.iter().try_for_each(|uri| check_redirect_uri(uri))
}

/// A client that may use the code flow but has no redirect URI can never complete it
/// (RFC 6749 §3.1.2.2: the URI must be registered). Allowed, since URIs may be added
/// later, but worth a warning.
pub fn code_flow_without_redirect_uri(grant_types: &[GrantType], redirect_uris: &[String]) -> bool {
    grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_trimmed_and_must_not_be_empty() {
        assert_eq!(client_name("  web app \n"), Ok("web app"));
        assert_eq!(client_name(""), Err(RegistrationError::EmptyName));
        assert_eq!(client_name(" \t"), Err(RegistrationError::EmptyName));
    }

    #[test]
    fn grant_types_are_deduplicated_in_order_and_default_to_the_code_flow() {
        use GrantType::*;
        assert_eq!(grant_types([]), DEFAULT_GRANT_TYPES.to_vec());
        assert_eq!(
            grant_types([Password, RefreshToken, Password]),
            vec![Password, RefreshToken]
        );
        assert_eq!(grant_types([ClientCredentials]), vec![ClientCredentials]);
    }

    #[test]
    fn public_clients_cannot_use_client_credentials() {
        use GrantType::*;
        assert_eq!(
            check_grant_types(true, &[RefreshToken, ClientCredentials]),
            Err(RegistrationError::PublicClientCredentials)
        );
        assert_eq!(check_grant_types(false, &[ClientCredentials]), Ok(()));
        assert_eq!(check_grant_types(true, &DEFAULT_GRANT_TYPES), Ok(()));
    }

    #[test]
    fn post_logout_redirect_uris_follow_the_redirect_uri_rules() {
        assert!(check_post_logout_redirect_uris(&[]).is_ok());
        assert!(check_post_logout_redirect_uris(&["https://app.example/bye?x=1".into()]).is_ok());
        assert_eq!(
            check_post_logout_redirect_uris(&[
                "https://app.example/bye".into(),
                "https://app.example/bye#top".into()
            ]),
            Err(RegistrationError::RedirectUriFragment(
                "https://app.example/bye#top".into()
            ))
        );
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9/cb?x=1").is_ok());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_redirect_uri("https://app.example/cb#x").is_err());
        let cases = [
            ("/cb", "must be an absolute URI"),
            ("https:", "must be an absolute URI"),
            ("1http://x/cb", "must be an absolute URI"),
            ("ht tp://x/cb", "must be an absolute URI"),
            ("https://app.example/cb#x", "must not have a fragment"),
            (
                "https://app.example/c b",
                "has whitespace or control characters",
            ),
            (
                "https://app.example/cb\r\n",
                "has whitespace or control characters",
            ),
        ];
        for (uri, expected) in cases {
            let err = check_redirect_uri(uri).unwrap_err().to_string();
            assert!(err.contains(expected), "{uri:?}: {err}");
            assert!(err.starts_with(&format!("redirect URI {uri:?}")), "{err}");
        }
    }

    fn registry() -> ScopeRegistry {
        ScopeRegistry::new(
            ["read", "write", "profile"].map(|name| crate::ScopeDefinition {
                name: name.into(),
                description: "d".into(),
                default: name != "profile",
            }),
        )
        .unwrap()
    }

    fn s(v: &str) -> ScopeSet {
        ScopeSet::parse(v).unwrap()
    }

    #[test]
    fn a_registration_is_checked_name_first_then_grants_then_each_uri_then_scopes() {
        use GrantType::*;
        let good = vec!["https://app.example/cb".to_owned()];
        let bad = vec!["https://app.example/cb".to_owned(), "/cb".to_owned()];
        let (read, unknown) = (s("read"), s("read admin"));
        let fine = ClientScopes {
            scopes: &read,
            default_scopes: None,
        };
        let wrong = ClientScopes {
            scopes: &unknown,
            default_scopes: None,
        };
        let r = registry();
        assert_eq!(
            check_registration(" spa ", true, &DEFAULT_GRANT_TYPES, &good, fine, &r),
            Ok("spa")
        );
        assert_eq!(
            check_registration("", true, &[ClientCredentials], &bad, wrong, &r),
            Err(RegistrationError::EmptyName)
        );
        assert_eq!(
            check_registration("spa", true, &[ClientCredentials], &bad, wrong, &r),
            Err(RegistrationError::PublicClientCredentials)
        );
        assert_eq!(
            check_registration("spa", false, &[ClientCredentials], &bad, wrong, &r),
            Err(RegistrationError::RelativeRedirectUri("/cb".into()))
        );
        assert_eq!(
            check_registration("spa", false, &[ClientCredentials], &good, wrong, &r),
            Err(RegistrationError::UnregisteredScope("admin".into()))
        );
    }

    #[test]
    fn only_registered_scopes_and_defaults_among_them_are_accepted() {
        let r = registry();
        let check = |scopes: &str, defaults: Option<&str>| {
            let (scopes, defaults) = (s(scopes), defaults.map(s));
            check_scopes(
                ClientScopes {
                    scopes: &scopes,
                    default_scopes: defaults.as_ref(),
                },
                &r,
            )
        };
        assert_eq!(check("read write profile", None), Ok(()));
        assert_eq!(check("read write profile", Some("profile")), Ok(()));
        assert_eq!(check("read", Some("")), Ok(()), "no default at all");
        assert_eq!(check("", None), Ok(()));
        assert_eq!(
            check("read Write", None),
            Err(RegistrationError::UnregisteredScope("Write".into())),
            "scope tokens are case-sensitive (RFC 6749 §3.3)"
        );
        assert_eq!(
            check("read", Some("read write")),
            Err(RegistrationError::DefaultScopeNotAllowed("write".into()))
        );
        let err = check("read legacy", None).unwrap_err().to_string();
        assert_eq!(
            err,
            "scope \"legacy\" is not registered (see [scopes] in the configuration)"
        );
    }

    #[test]
    fn a_code_flow_client_without_redirect_uri_is_flagged() {
        let uris = vec!["https://app.example/cb".to_owned()];
        assert!(code_flow_without_redirect_uri(&DEFAULT_GRANT_TYPES, &[]));
        assert!(!code_flow_without_redirect_uri(&DEFAULT_GRANT_TYPES, &uris));
        assert!(!code_flow_without_redirect_uri(&[GrantType::Password], &[]));
    }

    #[test]
    fn self_registered_redirect_uris_need_https_loopback_http_or_a_private_scheme() {
        for good in [
            "https://app.example/cb",
            "https://app.example:8443/cb?x=1",
            "http://127.0.0.1:9000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/cb",
        ] {
            assert_eq!(check_redirect_uri_transport(good), Ok(()), "{good}");
        }
        for bad in [
            "http://app.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost.evil.example/cb",
            "http://evil@127.0.0.1/cb",
            "http://127.0.0.1:99999/cb",
            "https://user@app.example/cb",
            "https:/app.example/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "myapp:/cb",
        ] {
            assert!(check_redirect_uri_transport(bad).is_err(), "{bad}");
        }
    }
}
