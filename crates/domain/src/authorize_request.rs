//! Validation of an authorization request (RFC 6749 §4.1.1, §4.1.2.1; RFC 7636 §4.3,
//! §4.4.1) as a pure function: the raw parameters, the client they name, and the settings
//! in; a valid request or the error to show. Errors come in two kinds, and which kind is
//! the point of §4.1.2.1 and §10.6: while the client or its redirect URI is in doubt, the
//! user sees an error page and is never redirected (an open redirector otherwise); once
//! both are known, every other error is reported to the client by redirect.

use grantd_ports::{Client, CodeChallenge, CodeChallengeMethod, GrantType, ResourceSet, ScopeSet};

use crate::dpop::Jkt;
use crate::oidc_request::{self, OidcParams};
use crate::{
    pkce, resource_indicators, scope_rules, AuthorizationSettings, ResourceRegistry, ScopeRegistry,
};

/// The parameters as they arrived (empty values already treated as omitted, §3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// RFC 8707 §2.1: may be repeated; empty = none.
    pub resource: Vec<String>,
    /// OpenID Connect Core §3.1.2.1.
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub response_mode: Option<String>,
    /// Offered by Core but not by grantd: refused (§3.1.2.6).
    pub request: Option<String>,
    pub request_uri: Option<String>,
    pub registration: Option<String>,
    pub claims: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is to be bound to.
    pub dpop_jkt: Option<String>,
}

/// What a request is checked against besides its client.
#[derive(Debug, Clone, Copy)]
pub struct RequestRules<'a> {
    pub settings: &'a AuthorizationSettings,
    pub scopes: &'a ScopeRegistry,
    pub resources: &'a ResourceRegistry,
    /// Id tokens can be signed (signing keys are configured): `openid` may be granted.
    pub openid_available: bool,
}

/// A request that passed every rule: what the login and consent pages act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client: Client,
    /// Where to send the user back: the `redirect_uri` parameter, or the client's only one.
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri` (then the token request must repeat it).
    pub redirect_uri_sent: bool,
    pub scope: ScopeSet,
    /// The registered resources the request named (RFC 8707), for the code to carry.
    pub resources: ResourceSet,
    pub state: Option<String>,
    pub challenge: Option<CodeChallenge>,
    /// The OpenID Connect parameters (nonce, prompt, max_age, login_hint).
    pub oidc: OidcParams,
    /// RFC 9449 §10 `dpop_jkt`: only a proof of this key may exchange the code.
    pub dpop_jkt: Option<Jkt>,
}

/// Why the request cannot be redirected back: shown to the user on a page (§4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageError {
    /// The request is malformed before the client is even known (e.g. a repeated parameter).
    Malformed,
    MissingClientId,
    UnknownClient,
    /// The client has several redirect URIs (or none) and the request named none.
    MissingRedirectUri,
    /// `redirect_uri` is not exactly one of the client's registered URIs (§3.1.2.3).
    RedirectUriMismatch,
}

impl PageError {
    /// A sentence for a person, not for a machine.
    pub fn message(self) -> &'static str {
        match self {
            PageError::Malformed => "The sign-in link is malformed.",
            PageError::MissingClientId => "The sign-in link does not say which application is asking.",
            PageError::UnknownClient => "The application that sent you here is not known to this server.",
            PageError::MissingRedirectUri => {
                "The sign-in link does not say where to send you back to."
            }
            PageError::RedirectUriMismatch => {
                "The sign-in link would send you back to an address this application has not registered."
            }
        }
    }
}

/// An error for the client, delivered by redirect to its (verified) redirect URI
/// (§4.1.2.1): `error`, `error_description` and the request's `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub error: &'static str,
    pub description: String,
    pub state: Option<String>,
}

/// What an invalid request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    Page(PageError),
    Redirect(ErrorRedirect),
}

/// Checks an authorization request for `client` (`None` = no client has that id); an
/// omitted scope gets the client's default scopes by `scopes`, the registry; a `resource`
/// must be one of `resources`.
pub fn validate(
    params: &AuthorizeParams,
    client: Option<&Client>,
    rules: &RequestRules<'_>,
) -> Result<AuthorizationRequest, AuthorizeError> {
    let RequestRules {
        settings,
        scopes,
        resources,
        openid_available,
    } = *rules;
    if params.client_id.is_none() {
        return Err(AuthorizeError::Page(PageError::MissingClientId));
    }
    let client = client.ok_or(AuthorizeError::Page(PageError::UnknownClient))?;

    // §3.1.2.3: an exact match of a registered URI; without the parameter, only a client
    // with exactly one registered URI can be redirected to.
    let redirect_uri = match &params.redirect_uri {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.clone(),
        Some(_) => return Err(AuthorizeError::Page(PageError::RedirectUriMismatch)),
        None => match client.redirect_uris.as_slice() {
            [only] => only.clone(),
            _ => return Err(AuthorizeError::Page(PageError::MissingRedirectUri)),
        },
    };

    // From here on the redirect URI is trusted: errors go back to the client.
    let state = params.state.clone();
    let fail = |error: &'static str, description: &str| {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: state.clone(),
        })
    };

    match params.response_type.as_deref() {
        None => return Err(fail("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "the client is not allowed the authorization code grant",
        ));
    }
    if let Some((error, description)) = oidc_request::unsupported_feature(params) {
        return Err(fail(error, description));
    }

    let requested = match params.scope.as_deref().map(ScopeSet::parse).transpose() {
        Err(_) => return Err(fail("invalid_scope", "the scope is malformed")),
        Ok(requested) => requested,
    };
    // §3.3: omitted = the client's default scopes (none is invalid_scope); a requested
    // scope must be registered and allowed to the client.
    let scope =
        scope_rules::for_new_grant(requested, client, scopes, scope_rules::GrantFlow::ForUser)
            .map_err(|refusal| fail("invalid_scope", &refusal.to_string()))?;
    // RFC 8707 §2: a malformed or unknown resource is invalid_target, by redirect.
    let resources = resource_indicators::requested(&params.resource, resources)
        .map_err(|refusal| fail("invalid_target", &refusal.to_string()))?;
    let oidc = oidc_request::parse(params, client, &scope, openid_available)
        .map_err(|(error, description)| fail(error, description))?;

    let challenge = match (&params.code_challenge, &params.code_challenge_method) {
        (None, Some(_)) => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ))
        }
        (None, None) => {
            // RFC 9700 §2.1.1: public clients MUST use PKCE; the operator may require it of all.
            if client.is_public() || settings.require_pkce {
                return Err(fail("invalid_request", "code_challenge is required (PKCE)"));
            }
            None
        }
        (Some(challenge), method) => {
            // RFC 7636 §4.3: the method defaults to "plain".
            let method = match method
                .as_deref()
                .map_or(Some(CodeChallengeMethod::Plain), CodeChallengeMethod::parse)
            {
                Some(m) => m,
                None => {
                    return Err(fail(
                        "invalid_request",
                        "code_challenge_method must be S256",
                    ))
                }
            };
            // §4.4.1: a method the server does not support is invalid_request.
            if method == CodeChallengeMethod::Plain && !settings.allow_plain_pkce {
                return Err(fail(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            if !pkce::is_well_formed(challenge)
                || (method == CodeChallengeMethod::S256 && challenge.len() != 43)
            {
                return Err(fail("invalid_request", "code_challenge is malformed"));
            }
            Some(CodeChallenge {
                challenge: challenge.clone(),
                method,
            })
        }
    };

    // RFC 9449 §10: `dpop_jkt` is a JWK SHA-256 thumbprint (RFC 7638); anything else can
    // never match a proof, so it is refused now rather than at the exchange.
    let dpop_jkt = match params.dpop_jkt.as_deref() {
        None => None,
        Some(value) => Some(Jkt::parse(value).ok_or_else(|| {
            fail(
                "invalid_request",
                "dpop_jkt must be the base64url SHA-256 JWK thumbprint (RFC 7638) of the DPoP key",
            )
        })?),
    };

    Ok(AuthorizationRequest {
        client: client.clone(),
        redirect_uri_sent: params.redirect_uri.is_some(),
        redirect_uri,
        scope,
        resources,
        state,
        challenge,
        oidc,
        dpop_jkt,
    })
}

#[cfg(test)]
mod tests {
    use grantd_ports::{ClientId, LifetimeOverrides, SecretHash};

    use super::*;

    const CB: &str = "https://app.example/cb";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(public: bool, uris: &[&str]) -> Client {
        Client {
            id: ClientId::parse("web").unwrap(),
            name: "Web".into(),
            secret: (!public).then(|| SecretHash::from_stored("h".into())),
            secret_version: 1,
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: ScopeSet::parse("read write profile").unwrap(),
            default_scopes: None,
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            post_logout_redirect_uris: vec![],
            can_introspect: false,
            lifetimes: LifetimeOverrides::default(),
            access_token_format: None,
            created_at: 0,
            require_dpop: false,
            admin: false,
        }
    }

    /// read and write (granted by default) and profile (not).
    fn registry() -> ScopeRegistry {
        ScopeRegistry::new(
            ["read", "write", "profile"].map(|name| crate::ScopeDefinition {
                name: name.into(),
                description: format!("the {name} scope"),
                default: name != "profile",
            }),
        )
        .unwrap()
    }

    /// `validate` with the test registry.
    fn check(
        params: &AuthorizeParams,
        client: Option<&Client>,
        settings: &AuthorizationSettings,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        validate(
            params,
            client,
            &RequestRules {
                settings,
                scopes: &registry(),
                resources: &ResourceRegistry::default(),
                openid_available: true,
            },
        )
    }

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some("web".into()),
            redirect_uri: Some(CB.into()),
            scope: None,
            state: Some("xyz".into()),
            code_challenge: Some(CHALLENGE.into()),
            code_challenge_method: Some("S256".into()),
            resource: vec![],
            ..AuthorizeParams::default()
        }
    }

    /// RFC 9449 §10: a well-formed `dpop_jkt` is carried to the code; a malformed one is
    /// `invalid_request` by redirect (the client and its URI are known by then).
    #[test]
    fn dpop_jkt_is_a_thumbprint_or_invalid_request() {
        let c = client(true, &[CB]);
        let settings = AuthorizationSettings::default();
        let jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
        let with = |value: &str| AuthorizeParams {
            dpop_jkt: Some(value.into()),
            ..params()
        };
        let request = check(&with(jkt), Some(&c), &settings).unwrap();
        assert_eq!(request.dpop_jkt.as_ref().map(Jkt::as_str), Some(jkt));
        assert_eq!(
            check(&params(), Some(&c), &settings).unwrap().dpop_jkt,
            None
        );
        for bad in ["abc", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=", "x y"] {
            assert_eq!(
                redirect_error(check(&with(bad), Some(&c), &settings)),
                ("invalid_request", Some("xyz".into())),
                "{bad}"
            );
        }
    }

    fn redirect_error(
        result: Result<AuthorizationRequest, AuthorizeError>,
    ) -> (&'static str, Option<String>) {
        match result {
            Err(AuthorizeError::Redirect(r)) => {
                assert_eq!(r.redirect_uri, CB);
                (r.error, r.state)
            }
            other => panic!("expected a redirect error, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_request_defaults_scope_to_the_clients_default_scopes() {
        let c = client(true, &[CB]);
        let r = check(&params(), Some(&c), &AuthorizationSettings::default()).unwrap();
        assert_eq!(r.redirect_uri, CB);
        assert!(r.redirect_uri_sent);
        assert_eq!(r.scope.to_delimited(), "read write");
        assert_eq!(r.state.as_deref(), Some("xyz"));
        assert_eq!(r.challenge.unwrap().method, CodeChallengeMethod::S256);
    }

    #[test]
    fn an_omitted_scope_follows_the_clients_own_defaults_and_none_is_invalid_scope() {
        let s = AuthorizationSettings::default();
        let mut own = client(false, &[CB]);
        own.default_scopes = Some(ScopeSet::parse("profile").unwrap());
        assert_eq!(
            check(&params(), Some(&own), &s)
                .unwrap()
                .scope
                .to_delimited(),
            "profile"
        );
        let mut none = client(false, &[CB]);
        none.scopes = ScopeSet::parse("profile").unwrap();
        match check(&params(), Some(&none), &s) {
            Err(AuthorizeError::Redirect(r)) => {
                assert_eq!(r.error, "invalid_scope");
                assert!(r.description.contains("no default scope"), "{r:?}");
            }
            other => panic!("expected invalid_scope, got {other:?}"),
        }
        // A scope the registry no longer has is refused when asked for, dropped when not.
        let mut stale = client(false, &[CB]);
        stale.scopes = ScopeSet::parse("read legacy").unwrap();
        let asked = AuthorizeParams {
            scope: Some("legacy".into()),
            ..params()
        };
        assert_eq!(
            redirect_error(check(&asked, Some(&stale), &s)).0,
            "invalid_scope"
        );
        assert_eq!(
            check(&params(), Some(&stale), &s)
                .unwrap()
                .scope
                .to_delimited(),
            "read"
        );
    }

    #[test]
    fn client_and_redirect_uri_problems_are_pages_never_redirects() {
        let s = AuthorizationSettings::default();
        let two = client(false, &[CB, "https://app.example/other"]);
        let cases: Vec<(AuthorizeParams, Option<&Client>, PageError)> = vec![
            (
                AuthorizeParams {
                    client_id: None,
                    ..params()
                },
                Some(&two),
                PageError::MissingClientId,
            ),
            (params(), None, PageError::UnknownClient),
            (
                AuthorizeParams {
                    redirect_uri: None,
                    ..params()
                },
                Some(&two),
                PageError::MissingRedirectUri,
            ),
            (
                AuthorizeParams {
                    redirect_uri: Some("https://evil.example/cb".into()),
                    ..params()
                },
                Some(&two),
                PageError::RedirectUriMismatch,
            ),
            // Exact match only: no prefix, no case folding, no extra query.
            (
                AuthorizeParams {
                    redirect_uri: Some(format!("{CB}/x")),
                    ..params()
                },
                Some(&two),
                PageError::RedirectUriMismatch,
            ),
            (
                AuthorizeParams {
                    redirect_uri: Some(CB.to_uppercase()),
                    ..params()
                },
                Some(&two),
                PageError::RedirectUriMismatch,
            ),
            (
                AuthorizeParams {
                    redirect_uri: Some(format!("{CB}?a=1")),
                    ..params()
                },
                Some(&two),
                PageError::RedirectUriMismatch,
            ),
            // Even with a bad response_type, a bad redirect URI wins: never redirect to it.
            (
                AuthorizeParams {
                    response_type: Some("token".into()),
                    redirect_uri: Some("https://evil.example".into()),
                    ..params()
                },
                Some(&two),
                PageError::RedirectUriMismatch,
            ),
        ];
        for (p, c, expected) in cases {
            assert_eq!(
                check(&p, c, &s),
                Err(AuthorizeError::Page(expected)),
                "{p:?}"
            );
        }
    }

    #[test]
    fn a_single_registered_uri_is_used_when_none_is_sent() {
        let c = client(false, &[CB]);
        let p = AuthorizeParams {
            redirect_uri: None,
            ..params()
        };
        let r = check(&p, Some(&c), &AuthorizationSettings::default()).unwrap();
        assert_eq!(r.redirect_uri, CB);
        assert!(!r.redirect_uri_sent);
    }

    #[test]
    fn other_errors_redirect_with_error_and_state() {
        let public = client(true, &[CB]);
        let confidential = client(false, &[CB]);
        let mut no_code = client(false, &[CB]);
        no_code.grant_types = vec![GrantType::Password];
        let s = AuthorizationSettings::default();
        let cases: Vec<(AuthorizeParams, &Client, &str)> = vec![
            (
                AuthorizeParams {
                    response_type: None,
                    ..params()
                },
                &confidential,
                "invalid_request",
            ),
            (
                AuthorizeParams {
                    response_type: Some("token".into()),
                    ..params()
                },
                &confidential,
                "unsupported_response_type",
            ),
            (params(), &no_code, "unauthorized_client"),
            (
                AuthorizeParams {
                    scope: Some("read admin".into()),
                    ..params()
                },
                &confidential,
                "invalid_scope",
            ),
            (
                AuthorizeParams {
                    scope: Some("a\"b".into()),
                    ..params()
                },
                &confidential,
                "invalid_scope",
            ),
            (
                AuthorizeParams {
                    code_challenge: None,
                    code_challenge_method: None,
                    ..params()
                },
                &public,
                "invalid_request",
            ),
            (
                AuthorizeParams {
                    code_challenge_method: Some("plain".into()),
                    ..params()
                },
                &confidential,
                "invalid_request",
            ),
            // RFC 7636 §4.3: no method means plain, which is off by default.
            (
                AuthorizeParams {
                    code_challenge_method: None,
                    ..params()
                },
                &public,
                "invalid_request",
            ),
            (
                AuthorizeParams {
                    code_challenge_method: Some("s256".into()),
                    ..params()
                },
                &public,
                "invalid_request",
            ),
            (
                AuthorizeParams {
                    code_challenge: None,
                    ..params()
                },
                &public,
                "invalid_request",
            ),
            (
                AuthorizeParams {
                    code_challenge: Some("short".into()),
                    ..params()
                },
                &public,
                "invalid_request",
            ),
        ];
        for (p, c, expected) in cases {
            let (error, state) = redirect_error(check(&p, Some(c), &s));
            assert_eq!(error, expected, "{p:?}");
            assert_eq!(state.as_deref(), Some("xyz"));
        }
    }

    #[test]
    fn pkce_is_optional_for_confidential_clients_unless_required() {
        let c = client(false, &[CB]);
        let p = AuthorizeParams {
            code_challenge: None,
            code_challenge_method: None,
            state: None,
            ..params()
        };
        let r = check(&p, Some(&c), &AuthorizationSettings::default()).unwrap();
        assert_eq!(r.challenge, None);
        let strict = AuthorizationSettings {
            require_pkce: true,
            ..AuthorizationSettings::default()
        };
        let (error, state) = redirect_error(check(&p, Some(&c), &strict));
        assert_eq!((error, state), ("invalid_request", None));
    }

    #[test]
    fn plain_is_accepted_only_when_allowed() {
        let c = client(true, &[CB]);
        let verifier = "a".repeat(50);
        let p = AuthorizeParams {
            code_challenge: Some(verifier.clone()),
            code_challenge_method: Some("plain".into()),
            ..params()
        };
        let allowed = AuthorizationSettings {
            allow_plain_pkce: true,
            ..AuthorizationSettings::default()
        };
        let r = check(&p, Some(&c), &allowed).unwrap();
        assert_eq!(
            r.challenge,
            Some(CodeChallenge {
                challenge: verifier,
                method: CodeChallengeMethod::Plain
            })
        );
        assert!(check(&p, Some(&c), &AuthorizationSettings::default()).is_err());
    }
}
