//! RFC 9068 JWT access tokens: the checks a resource server MUST make (§4), in order:
//! `typ`, an accepted asymmetric `alg` that is also the key's, a known `kid`, the
//! signature, then `iss`, `aud`, `exp`/`nbf`/`iat` with leeway. A key binding (`cnf`,
//! RFC 9449 §6 / RFC 8705 §3) is read for the verifier to match against the scheme.
//! Pure: the key comes from the caller, time as an argument.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::config::is_asymmetric;
use crate::jwks::VerifyKey;
use crate::{Authenticated, Scheme, Scopes, TokenFormat, TokenProblem};

/// What the token must say about whom it is from and for.
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) leeway: i64,
}

/// The header members the key lookup needs, already checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CheckedHeader {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
}

/// Reads and checks the JOSE header before any key is looked up, so that junk never
/// causes a JWKS fetch. `alg: none` does not parse (`jsonwebtoken` has no such
/// algorithm), HMAC is not in any accepted list.
pub(crate) fn check_header(
    token: &str,
    algorithms: &[Algorithm],
) -> Result<CheckedHeader, TokenProblem> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenProblem::Malformed)?;
    // RFC 9068 §4: typ MUST be at+jwt or application/at+jwt (media types ignore case).
    match header.typ.as_deref() {
        Some(t)
            if t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt") => {
        }
        _ => return Err(TokenProblem::Type),
    }
    if !is_asymmetric(header.alg) || !algorithms.contains(&header.alg) {
        return Err(TokenProblem::Algorithm);
    }
    let kid = header.kid.ok_or(TokenProblem::UnknownKey)?;
    Ok(CheckedHeader {
        alg: header.alg,
        kid,
    })
}

/// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// The claims read (RFC 9068 §2.2: `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `jti`
/// are required there; `sub`, `client_id` and `exp` are needed here).
#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    client_id: String,
    exp: i64,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    cnf: Option<serde_json::Value>,
}

/// Verifies the signature with `key` and checks the claims at `now`.
pub(crate) fn verify(
    token: &str,
    header: &CheckedHeader,
    key: &VerifyKey,
    expect: &Expectations<'_>,
    now: i64,
) -> Result<Authenticated, TokenProblem> {
    // The key's own algorithm, not just any accepted one (RFC 8725 §3.1).
    if !key.algorithms.contains(&header.alg) {
        return Err(TokenProblem::Algorithm);
    }
    let mut validation = Validation::new(header.alg);
    // The claims are checked below, against this crate's clock and rules.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation).map_err(|e| {
        match e.kind() {
            ErrorKind::InvalidSignature => TokenProblem::Signature,
            ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                TokenProblem::Algorithm
            }
            ErrorKind::Json(_)
            | ErrorKind::Utf8(_)
            | ErrorKind::Base64(_)
            | ErrorKind::InvalidToken => TokenProblem::Malformed,
            _ => TokenProblem::Signature,
        }
    })?;
    check_claims(data.claims, expect, now)
}

fn check_claims(
    claims: Claims,
    expect: &Expectations<'_>,
    now: i64,
) -> Result<Authenticated, TokenProblem> {
    if claims.iss != expect.issuer {
        return Err(TokenProblem::Issuer);
    }
    if !claims.aud.is_some_and(|aud| aud.contains(expect.audience)) {
        return Err(TokenProblem::Audience);
    }
    // RFC 7519 §4.1.4: not accepted on or after exp; leeway for clock skew.
    if now >= claims.exp.saturating_add(expect.leeway) {
        return Err(TokenProblem::Expired);
    }
    let future = |t: Option<i64>| t.is_some_and(|t| t > now.saturating_add(expect.leeway));
    if future(claims.nbf) || future(claims.iat) {
        return Err(TokenProblem::NotYetValid);
    }
    let cnf = claims.cnf;
    Ok(Authenticated {
        sub: claims.sub,
        client_id: claims.client_id,
        scope: Scopes::from_delimited(claims.scope.as_deref().unwrap_or("")),
        exp: Some(claims.exp),
        iat: claims.iat,
        username: None,
        format: TokenFormat::Jwt,
        scheme: Scheme::Bearer,
        jkt: None,
        other_binding: false,
        realm: None,
        dpop: false,
    }
    .bind(cnf.as_ref()))
}

#[cfg(test)]
#[path = "jwt_tests.rs"]
mod tests;
