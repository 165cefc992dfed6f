//! Why a request was not let through, and how to say so: RFC 6750 §3 (the `Bearer`
//! challenge and its `error` codes, §3.1) and RFC 9449 §7.1 (the `DPoP` challenge with
//! `algs`, and `invalid_dpop_proof`) for token and proof problems, and a distinct 503 for
//! an issuer that cannot be asked (a bad token and an unreachable issuer never look alike).
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
    /// Presented with a DPoP proof, but not bound (`cnf.jkt`) to the proof's key: bound to
    /// another key, to none, or in a way this crate cannot check (e.g. mTLS `x5t#S256`).
    #[error("the token is not bound to the DPoP proof's key")]
    KeyBinding,
}

/// What is wrong with a DPoP proof (RFC 9449 §4.3). `Display` (for logs) names each; the
/// client is told a little more than for tokens (a proof is the client's own making, so
/// the texts help its developer and tell a forger nothing about the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofProblem {
    #[error("no DPoP header")]
    Missing,
    #[error("more than one DPoP header")]
    Multiple,
    #[error("not a well-formed JWT")]
    Malformed,
    #[error("typ is not dpop+jwt")]
    Type,
    #[error("alg is not an accepted asymmetric algorithm, or not the jwk's")]
    Algorithm,
    #[error("jwk is missing, not a public key, or unusable")]
    Key,
    #[error("the signature does not verify")]
    Signature,
    #[error("jti, htm, htu or iat is missing or malformed")]
    Claims,
    #[error("htm is not the request's method")]
    Method,
    #[error("htu is not the request's URL")]
    Url,
    #[error("iat is outside the accepted window")]
    IssuedAt,
    #[error("ath is not the hash of the access token")]
    TokenHash,
    #[error("the proof's jti was seen before")]
    Replayed,
    /// §9: a nonce is required, and the proof has none or an old one.
    #[error("the proof lacks the current nonce")]
    Nonce,
}

impl ProofProblem {
    fn description(self) -> &'static str {
        match self {
            Self::Missing | Self::Multiple => "Exactly one DPoP proof header is required",
            Self::Method | Self::Url => "The DPoP proof is for another request",
            Self::IssuedAt => "The DPoP proof is too old or too new",
            Self::TokenHash => "The DPoP proof is for another access token",
            Self::Replayed => "The DPoP proof was used before",
            Self::Nonce => "The resource server requires a nonce in the DPoP proof",
            _ => "The DPoP proof is invalid",
        }
    }
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
    /// A scheme this verifier does not take: `Authorization: DPoP` when DPoP is turned off
    /// (`VerifierBuilder::dpop(false)`), or when the request's URL is unknown (the actix
    /// extractor without `public_base_url`).
    #[error("the {0} scheme is not accepted here")]
    SchemeNotSupported(Scheme),
    /// The issuer (its metadata, JWKS or introspection endpoint) cannot be asked: 503.
    #[error("cannot check the token now: {0}")]
    IssuerUnavailable(IssuerProblem),
    /// RFC 9449 §7.1 `invalid_dpop_proof`.
    #[error("invalid DPoP proof: {0}")]
    InvalidDpopProof(ProofProblem),
    /// The DPoP replay store cannot be asked: 503, never a pass.
    #[error("{0}")]
    ReplayCacheUnavailable(crate::ReplayCacheError),
}

/// A refused request: the [`Reason`], and the realm its challenge names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    reason: Reason,
    realm: Option<Arc<str>>,
    /// The scheme the request used, whose challenge carries the error.
    scheme: Scheme,
    /// Whether DPoP is accepted too, so that both challenges are listed (RFC 9449 §7.1).
    dpop: bool,
    /// The nonce to send in `DPoP-Nonce` (RFC 9449 §9).
    dpop_nonce: Option<String>,
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
            scheme: Scheme::Bearer,
            dpop: false,
            dpop_nonce: None,
        }
    }
}

impl Rejection {
    pub(crate) fn with_realm(mut self, realm: Option<&Arc<str>>) -> Self {
        self.realm = realm.cloned();
        self
    }

    /// The challenges: the error under `scheme` (the request's), and both schemes listed
    /// when `dpop` is accepted. A DPoP-bound token shown as a bearer token gets its error
    /// under `DPoP` (RFC 9449 §7.1, §7.2): that is the scheme it can be used with, and
    /// grantd's own resources answer it so too.
    pub(crate) fn with_challenge(mut self, scheme: Scheme, dpop: bool) -> Self {
        let scheme = match self.reason {
            Reason::InvalidToken(TokenProblem::SenderConstrained) => Scheme::DPoP,
            _ => scheme,
        };
        self.scheme = if dpop { scheme } else { Scheme::Bearer };
        self.dpop = dpop;
        self
    }

    pub(crate) fn with_nonce(mut self, nonce: Option<String>) -> Self {
        self.dpop_nonce = nonce;
        self
    }

    /// The `DPoP-Nonce` header value to send with the refusal (RFC 9449 §9), when the
    /// verifier requires nonces and the proof lacked the current one.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop_nonce.as_deref()
    }

    pub fn reason(&self) -> &Reason {
        &self.reason
    }

    /// The HTTP status (RFC 6750 §3.1): 400, 401, 403; 503 when the issuer is unavailable.
    pub fn status(&self) -> u16 {
        match &self.reason {
            Reason::InvalidRequest(_) => 400,
            Reason::MissingToken
            | Reason::InvalidToken(_)
            | Reason::SchemeNotSupported(_)
            | Reason::InvalidDpopProof(_) => 401,
            Reason::InsufficientScope(_) => 403,
            Reason::IssuerUnavailable(_) | Reason::ReplayCacheUnavailable(_) => 503,
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
            Reason::InvalidDpopProof(ProofProblem::Nonce) => Some("use_dpop_nonce"),
            Reason::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            Reason::IssuerUnavailable(_) | Reason::ReplayCacheUnavailable(_) => {
                Some("temporarily_unavailable")
            }
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
                Some("DPoP-bound access tokens (RFC 9449) are not accepted here")
            }
            Reason::SchemeNotSupported(Scheme::Bearer) => None,
            Reason::InvalidDpopProof(problem) => Some(problem.description()),
            Reason::IssuerUnavailable(_) | Reason::ReplayCacheUnavailable(_) => {
                Some("The access token cannot be checked now; try again later")
            }
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3, RFC 9449 §7.1), e.g.
    /// `Bearer realm="api", error="insufficient_scope", error_description="...", scope="read"`,
    /// or with DPoP accepted `DPoP error="invalid_dpop_proof", …, algs="ES256 …", Bearer`:
    /// the error under the request's scheme, first, then the other scheme's bare challenge.
    /// `None` for a 503, which is about the issuer, not the request's credentials.
    pub fn www_authenticate(&self) -> Option<String> {
        if matches!(
            self.reason,
            Reason::IssuerUnavailable(_) | Reason::ReplayCacheUnavailable(_)
        ) {
            return None;
        }
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(code) = self.error_code() {
            params.push(("error", code.to_owned()));
        }
        if let Some(text) = self.error_description() {
            params.push(("error_description", text.to_owned()));
        }
        if let Reason::InsufficientScope(scopes) = &self.reason {
            params.push(("scope", scopes.join(" ")));
        }
        let mut challenges = vec![self.challenge(self.scheme, params)];
        if self.dpop {
            let other = match self.scheme {
                Scheme::Bearer => Scheme::DPoP,
                Scheme::DPoP => Scheme::Bearer,
            };
            challenges.push(self.challenge(other, Vec::new()));
        }
        Some(challenges.join(", "))
    }

    /// One challenge: the realm, `params`, and for DPoP its `algs`.
    fn challenge(&self, scheme: Scheme, params: Vec<(&str, String)>) -> String {
        let mut all: Vec<(&str, String)> = Vec::new();
        if let Some(realm) = &self.realm {
            all.push(("realm", realm.to_string()));
        }
        all.extend(params);
        if scheme == Scheme::DPoP {
            all.push(("algs", crate::dpop::ALGS.to_owned()));
        }
        let all: Vec<String> = all
            .iter()
            .map(|(name, value)| format!("{name}=\"{}\"", quoted(value)))
            .collect();
        if all.is_empty() {
            scheme.to_string()
        } else {
            format!("{scheme} {}", all.join(", "))
        }
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
    fn with_dpop_accepted_both_challenges_are_listed_the_error_under_the_requests_scheme() {
        let algs = r#"algs="ES256 EdDSA RS256 PS256""#;
        let none = rejection(Reason::MissingToken).with_challenge(Scheme::Bearer, true);
        assert_eq!(
            none.www_authenticate().unwrap(),
            format!(r#"Bearer realm="api", DPoP realm="api", {algs}"#)
        );
        let proof = Rejection::from(Reason::InvalidDpopProof(ProofProblem::Replayed))
            .with_challenge(Scheme::DPoP, true);
        assert_eq!(
            (proof.status(), proof.error_code()),
            (401, Some("invalid_dpop_proof"))
        );
        assert_eq!(
            proof.www_authenticate().unwrap(),
            format!(
                r#"DPoP error="invalid_dpop_proof", error_description="The DPoP proof was used before", {algs}, Bearer"#
            )
        );
        let binding = Rejection::from(Reason::InvalidToken(TokenProblem::KeyBinding))
            .with_challenge(Scheme::DPoP, true);
        assert_eq!(
            binding.www_authenticate().unwrap(),
            format!(
                r#"DPoP error="invalid_token", error_description="The access token is invalid", {algs}, Bearer"#
            )
        );
        let bearer = Rejection::from(Reason::InvalidToken(TokenProblem::SenderConstrained))
            .with_challenge(Scheme::Bearer, true);
        assert_eq!(
            bearer.www_authenticate().unwrap(),
            format!(
                r#"DPoP error="invalid_token", error_description="The access token is invalid", {algs}, Bearer"#
            )
        );
    }

    #[test]
    fn with_dpop_off_the_challenge_is_bearer_only() {
        let r = Rejection::from(Reason::SchemeNotSupported(Scheme::DPoP))
            .with_challenge(Scheme::DPoP, false);
        assert!(r
            .www_authenticate()
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\""));
        assert!(!r.www_authenticate().unwrap().contains("DPoP "));
    }

    #[test]
    fn a_failing_replay_cache_is_a_503_without_a_challenge() {
        let r = Rejection::from(Reason::ReplayCacheUnavailable(crate::ReplayCacheError(
            "redis down".into(),
        )))
        .with_challenge(Scheme::DPoP, true);
        assert_eq!((r.status(), r.www_authenticate()), (503, None));
        assert!(!r.body().unwrap().to_string().contains("redis"));
    }

    #[test]
    fn quotes_and_control_characters_cannot_break_the_header() {
        let r = Rejection::from(Reason::MissingToken).with_realm(Some(&Arc::from("a\"b\\c\r\nd")));
        assert_eq!(r.www_authenticate().unwrap(), r#"Bearer realm="a\"b\\cd""#);
    }
}
