//! The OpenID Connect parameters of an authorization request (Core §3.1.2.1) and what
//! they make the login and consent pages do: `nonce` (required of public clients with
//! `openid`), `prompt`, `max_age`, `login_hint`, and the request features grantd does
//! not offer, refused with the errors Core §3.1.2.6 names. Pure functions: the parameters
//! and the session in, a decision out.

use grantd_ports::{Client, ScopeSet, UnixTime};

use crate::authorize_request::AuthorizeParams;
use crate::id_token::OPENID;

/// The longest `nonce` kept: it rides on the code and in the id token.
const MAX_NONCE_LEN: usize = 512;
/// The longest `login_hint` used; a longer one is ignored (it is only a hint).
const MAX_LOGIN_HINT_LEN: usize = 256;

/// Core §3.1.2.1 `prompt`: which interactions the client asks for or forbids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Show no page: answer at once, or with `login_required` / `consent_required`.
    pub none: bool,
    /// Authenticate again even with a live session.
    pub login: bool,
    /// Ask for consent even when a remembered one covers the scope.
    pub consent: bool,
}

/// The OpenID Connect part of a valid authorization request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OidcParams {
    pub nonce: Option<String>,
    pub prompt: Prompt,
    /// Seconds a login may be old (Core §3.1.2.1 `max_age`).
    pub max_age: Option<i64>,
    /// The username to offer on the login page.
    pub login_hint: Option<String>,
}

/// A refused parameter: the error code and its description.
pub type Refusal = (&'static str, &'static str);

/// The request features grantd does not offer (Core §3.1.2.6, §5.5, §6), and the error
/// each gets; checked before anything else of the OpenID Connect part.
pub fn unsupported_feature(params: &AuthorizeParams) -> Option<Refusal> {
    if params.request.is_some() {
        return Some(("request_not_supported", "request objects are not supported"));
    }
    if params.request_uri.is_some() {
        return Some(("request_uri_not_supported", "request_uri is not supported"));
    }
    if params.registration.is_some() {
        return Some((
            "registration_not_supported",
            "the registration parameter is not supported",
        ));
    }
    if params.claims.is_some() {
        return Some((
            "invalid_request",
            "the claims parameter is not supported (claims_parameter_supported is false)",
        ));
    }
    match params.response_mode.as_deref() {
        None | Some("query") => None,
        Some(_) => Some(("invalid_request", "only response_mode=query is supported")),
    }
}

/// Parses the OpenID Connect parameters of a request for `client` whose scope is `scope`.
/// `openid_available`: the server signs id tokens (signing keys are configured).
pub fn parse(
    params: &AuthorizeParams,
    client: &Client,
    scope: &ScopeSet,
    openid_available: bool,
) -> Result<OidcParams, Refusal> {
    let openid = scope.contains(OPENID);
    if openid && !openid_available {
        return Err((
            "invalid_scope",
            "openid needs OpenID Connect, which this server has not configured (signing keys)",
        ));
    }
    let nonce = params.nonce.clone();
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_NONCE_LEN) {
        return Err(("invalid_request", "nonce is too long"));
    }
    // The rule, beyond Core's (which requires it only of implicit flows): a public
    // client cannot keep a secret, so the nonce is what binds its id token to its request.
    if openid && nonce.is_none() && client.is_public() {
        return Err((
            "invalid_request",
            "nonce is required of public clients with openid",
        ));
    }
    let prompt = parse_prompt(params.prompt.as_deref())?;
    let max_age = match params.max_age.as_deref() {
        None => None,
        Some(text) => Some(
            text.parse::<u32>()
                .map(i64::from)
                .map_err(|_| ("invalid_request", "max_age must be a number of seconds"))?,
        ),
    };
    let login_hint = params
        .login_hint
        .clone()
        .filter(|h| h.len() <= MAX_LOGIN_HINT_LEN && !h.chars().any(char::is_control));
    Ok(OidcParams {
        nonce,
        prompt,
        max_age,
        login_hint,
    })
}

fn parse_prompt(value: Option<&str>) -> Result<Prompt, Refusal> {
    let mut prompt = Prompt::default();
    let Some(value) = value else {
        return Ok(prompt);
    };
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        match word {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            // One account per session: choosing an account is choosing to sign in.
            "select_account" => prompt.login = true,
            _ => return Err(("invalid_request", "prompt has an unknown value")),
        }
    }
    // Core §3.1.2.1: "If this parameter contains none with any other value, an error is
    // returned."
    if prompt.none && (prompt.login || prompt.consent) {
        return Err((
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

/// What the endpoint does next for a request on its way to a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Show the login page.
    Login,
    /// Show the consent page.
    Consent,
    /// Issue the code.
    Approve,
    /// Redirect back with this error (Core §3.1.2.6, for `prompt=none`).
    Refuse(&'static str),
}

/// The signed-in user as the endpoint sees them when deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    /// When they logged in; `None` for a session from before this was recorded.
    pub auth_time: Option<UnixTime>,
    /// They logged in with this very request (the login form was just posted), which
    /// satisfies `prompt=login` and `max_age` whatever the clock says.
    pub just_now: bool,
}

/// Login, consent or code, by Core §3.1.2.1's rules: a session older than `max_age`, or
/// `prompt=login`, needs a new login; `prompt=consent` asks again although a remembered
/// consent covers the scope; `prompt=none` turns every page into an error.
pub fn next_step(
    oidc: &OidcParams,
    signed_in: Option<SignedIn>,
    consent_remembered: bool,
    now: UnixTime,
) -> NextStep {
    let needs_login = match signed_in {
        None => true,
        Some(s) if s.just_now => false,
        Some(s) => {
            // Core §3.1.2.1: max_age=0 is prompt=login.
            oidc.prompt.login
                || oidc.max_age.is_some_and(|max_age| {
                    max_age == 0
                        || s.auth_time
                            .is_none_or(|at| now.saturating_sub(at) > max_age)
                })
        }
    };
    if needs_login {
        return if oidc.prompt.none {
            NextStep::Refuse("login_required")
        } else {
            NextStep::Login
        };
    }
    if oidc.prompt.consent || !consent_remembered {
        return if oidc.prompt.none {
            NextStep::Refuse("consent_required")
        } else {
            NextStep::Consent
        };
    }
    NextStep::Approve
}

#[cfg(test)]
#[path = "oidc_request_tests.rs"]
mod tests;
