//! Why a request was not let through, and how to say so: RFC 6750 §3 (the `Bearer`
//! challenge and its `error` codes, §3.1) for token problems, and a distinct 503 for an
//! issuer that cannot be asked (a bad token and an unreachable issuer never look alike).
//! The texts here are fixed: no token, secret or upstream message reaches a challenge.

use std::fmt;
use std::sync::Arc;

use crate::credentials::Scheme;

/// What is wrong with a presented token. Only [`TokenProblem::Expired`] and
/// [`TokenProblem::NotYetValid`] are told to the client; the rest read "invalid", so that
/// the challenge is no oracle for forgers. `Display` (for logs) names each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenProblem {
    #[error("not a well-formed token")]
    Malformed,
    #[error("typ is not at+jwt")]
    Type,
    #[error("alg is not an accepted asymmetric algorithm of the key")]
    Algorithm,
    #[error("kid names no key of the issuer")]
    UnknownKey,
    #[error("the signature does not verify")]
    Signature,
    #[error("iss is not the issuer")]
    Issuer,
    #[error("aud does not name this resource server")]
    Audience,
    #[error("the token expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Introspection said `active: false` (revoked, expired, unknown), or the token is no
    /// access token (e.g. a refresh token).
    #[error("the issuer says the token is not active")]
    Inactive,
    /// Bound to a key (RFC 9449 `cnf.jkt`, or introspection's `token_type: DPoP`) yet shown
    /// as a bearer token: §7.2 forbids accepting it so.
    #[error("a sender-constrained token was presented as a bearer token")]
    SenderConstrained,
    /// An opaque token, and the verifier has no introspection credentials to ask about it.
    #[error("an opaque token, and introspection is not configured")]
    CannotIntrospect,
}

impl TokenProblem {
    fn description(self) -> &'static str {
        match self {
            Self::Expired => "The access token expired",
            Self::NotYetValid => "The access token is not valid yet",
            _ => "The access token is invalid",
        }
    }
}

/// Why the issuer could not vouch for a token now. The request may succeed later; it is
/// no statement about the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerProblem {
    #[error("the issuer is unreachable: {0}")]
    Unreachable(String),
    #[error("{what} answered HTTP {status}")]
    Status { what: &'static str, status: u16 },
    #[error("{what} is not a valid document: {detail}")]
    BadDocument { what: &'static str, detail: String },
    /// RFC 8414 §3.3: the metadata's `issuer` MUST be identical to the configured one.
    #[error("the metadata names issuer {found:?}, not {expected:?}")]
    IssuerMismatch { expected: String, found: String },
    #[error("the metadata has no {0}")]
    MissingEndpoint(&'static str),
    /// A fetch failed a moment ago; the next try waits for the refetch interval so that a
    /// failing issuer is not asked on every request.
    #[error("the last fetch from the issuer failed; retrying after the refetch interval")]
    RetryLater,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Reason {
    /// No `Authorization` header, or one of a scheme this verifier does not take (RFC 6750
    /// §3.1: such a request gets a challenge without an error code).
    #[error("the request carries no access token")]
    MissingToken,
    /// §3.1 `invalid_request`: a malformed `Authorization` header, or more than one.
    #[error("malformed request: {0}")]
    InvalidRequest(&'static str),
    /// §3.1 `invalid_token`.
    #[error("invalid access token: {0}")]
    InvalidToken(TokenProblem),
    /// §3.1 `insufficient_scope`: the token is good, but lacks these scopes.
    #[error("the access token lacks the scope {}", .0.join(" "))]
    InsufficientScope(Vec<String>),
    /// A scheme this crate knows but does not verify yet. `Authorization: DPoP` (RFC 9449 §7)
    /// is one until the DPoP work of grantd's issue 13 lands here.
    #[error("the {0} scheme is not supported yet")]
    SchemeNotSupported(Scheme),
    /// The issuer (its metadata, JWKS or introspection endpoint) cannot be asked: 503.
    #[error("cannot check the token now: {0}")]
    IssuerUnavailable(IssuerProblem),
}

/// A refused request: the [`Reason`], and the realm its challenge names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    reason: Reason,
    realm: Option<Arc<str>>,
}

impl std::error::Error for Rejection {}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.reason.fmt(f)
    }
}

impl From<Reason> for Rejection {
    fn from(reason: Reason) -> Self {
        Self {
            reason,
            realm: None,
        }
    }
}

impl Rejection {
    pub(crate) fn with_realm(mut self, realm: Option<&Arc<str>>) -> Self {
        self.realm = realm.cloned();
        self
    }

    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    /// The HTTP status (RFC 6750 §3.1): 400, 401, 403; 503 when the issuer is unavailable.
    pub fn status(&self) -> u16 {
        match &self.reason {
            Reason::InvalidRequest(_) => 400,
            Reason::MissingToken | Reason::InvalidToken(_) | Reason::SchemeNotSupported(_) => 401,
            Reason::InsufficientScope(_) => 403,
            Reason::IssuerUnavailable(_) => 503,
        }
    }

    /// The `error` code: RFC 6750 §3.1's, none for a request without a token (§3.1), and
    /// `temporarily_unavailable` (RFC 6749 §4.1.2.1's word for a 503) for the issuer.
    pub fn error_code(&self) -> Option<&'static str> {
        match &self.reason {
            Reason::MissingToken => None,
            Reason::InvalidRequest(_) => Some("invalid_request"),
            Reason::InvalidToken(_) | Reason::SchemeNotSupported(_) => Some("invalid_token"),
            Reason::InsufficientScope(_) => Some("insufficient_scope"),
            Reason::IssuerUnavailable(_) => Some("temporarily_unavailable"),
        }
    }

    /// The `error_description`: a fixed text for the client, never an upstream message.
    pub fn error_description(&self) -> Option<&'static str> {
        match &self.reason {
            Reason::MissingToken => None,
            Reason::InvalidRequest(text) => Some(text),
            Reason::InvalidToken(problem) => Some(problem.description()),
            Reason::InsufficientScope(_) => {
                Some("The access token does not grant the scope this resource requires")
            }
            Reason::SchemeNotSupported(Scheme::DPoP) => {
                Some("DPoP-bound access tokens (RFC 9449) are not accepted here yet")
            }
            Reason::SchemeNotSupported(Scheme::Bearer) => None,
            Reason::IssuerUnavailable(_) => {
                Some("The access token cannot be checked now; try again later")
            }
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3), e.g.
    /// `Bearer realm="api", error="insufficient_scope", error_description="...", scope="read"`;
    /// `None` for a 503, which is about the issuer, not the request's credentials.
    pub fn www_authenticate(&self) -> Option<String> {
        if matches!(self.reason, Reason::IssuerUnavailable(_)) {
            return None;
        }
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(realm) = &self.realm {
            params.push(("realm", realm.to_string()));
        }
        if let Some(code) = self.error_code() {
            params.push(("error", code.to_owned()));
        }
        if let Some(text) = self.error_description() {
            params.push(("error_description", text.to_owned()));
        }
        if let Reason::InsufficientScope(scopes) = &self.reason {
            params.push(("scope", scopes.join(" ")));
        }
        let params: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{name}=\"{}\"", quoted(value)))
            .collect();
        Some(if params.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", params.join(", "))
        })
    }

    /// The JSON body of an error response (`{"error": ..., "error_description": ...}`, as
    /// grantd answers); `None` for a request without a token, which gets no error code.
    pub fn body(&self) -> Option<serde_json::Value> {
        let code = self.error_code()?;
        let mut body = serde_json::json!({ "error": code });
        if let Some(text) = self.error_description() {
            body["error_description"] = text.into();
        }
        Some(body)
    }
}

/// RFC 7230 §3.2.6 quoted-string content: `"` and `\` escaped, control characters
/// dropped (the realm is configured, the scopes are the application's: neither should
/// hold them, and none may break the header).
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm() -> Option<Arc<str>> {
        Some(Arc::from("api"))
    }

    fn rejection(reason: Reason) -> Rejection {
        Rejection::from(reason).with_realm(realm().as_ref())
    }

    #[test]
    fn a_request_without_a_token_gets_a_challenge_without_an_error_code() {
        let r = rejection(Reason::MissingToken);
        assert_eq!(r.status(), 401);
        assert_eq!(r.www_authenticate().unwrap(), r#"Bearer realm="api""#);
        assert_eq!(
            Rejection::from(Reason::MissingToken)
                .www_authenticate()
                .unwrap(),
            "Bearer"
        );
        assert_eq!(r.body(), None);
    }

    #[test]
    fn each_reason_has_its_rfc_6750_status_and_code() {
        let cases = [
            (
                Reason::InvalidRequest("two headers"),
                400,
                "invalid_request",
            ),
            (
                Reason::InvalidToken(TokenProblem::Signature),
                401,
                "invalid_token",
            ),
            (
                Reason::InsufficientScope(vec!["read".into()]),
                403,
                "insufficient_scope",
            ),
            (
                Reason::SchemeNotSupported(Scheme::DPoP),
                401,
                "invalid_token",
            ),
            (
                Reason::IssuerUnavailable(IssuerProblem::RetryLater),
                503,
                "temporarily_unavailable",
            ),
        ];
        for (reason, status, code) in cases {
            let r = rejection(reason);
            assert_eq!((r.status(), r.error_code()), (status, Some(code)), "{r}");
            assert_eq!(r.body().unwrap()["error"], code);
        }
    }

    #[test]
    fn insufficient_scope_names_the_required_scopes() {
        let r = rejection(Reason::InsufficientScope(vec![
            "read".into(),
            "write".into(),
        ]));
        assert_eq!(
            r.www_authenticate().unwrap(),
            r#"Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant the scope this resource requires", scope="read write""#
        );
    }

    #[test]
    fn only_expiry_is_told_apart_in_the_description() {
        let expired = rejection(Reason::InvalidToken(TokenProblem::Expired));
        assert!(expired.www_authenticate().unwrap().contains("expired"));
        let forged = rejection(Reason::InvalidToken(TokenProblem::Signature));
        let unknown = rejection(Reason::InvalidToken(TokenProblem::UnknownKey));
        assert_eq!(forged.www_authenticate(), unknown.www_authenticate());
        assert!(
            forged.to_string().contains("signature"),
            "the log line says why"
        );
    }

    #[test]
    fn an_unavailable_issuer_is_a_503_without_a_bearer_challenge() {
        let r = rejection(Reason::IssuerUnavailable(IssuerProblem::Unreachable(
            "connection refused".into(),
        )));
        assert_eq!(r.status(), 503);
        assert_eq!(r.www_authenticate(), None);
        assert!(
            !r.body().unwrap().to_string().contains("refused"),
            "no upstream text in the body"
        );
    }

    #[test]
    fn quotes_and_control_characters_cannot_break_the_header() {
        let r = Rejection::from(Reason::MissingToken).with_realm(Some(&Arc::from("a\"b\\c\r\nd")));
        assert_eq!(r.www_authenticate().unwrap(), r#"Bearer realm="a\"b\\cd""#);
    }
}
