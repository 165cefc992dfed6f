//! What a request presents: the access token and the scheme it came under, read from the
//! `Authorization` header (RFC 6750 §2.1; RFC 9449 §7.1 for `DPoP`). The form-body and
//! query methods (§2.2, §2.3; the latter "SHOULD NOT be used") are not read: a token in a
//! URL ends up in logs.

use std::fmt;

/// The longest token read. grantd's JWTs are under 1 KiB; anything near this is not one.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// An `Authorization` scheme that carries an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RFC 6750.
    Bearer,
    /// RFC 9449 §7: a sender-constrained token plus a `DPoP` proof header.
    DPoP,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bearer => "Bearer",
            Self::DPoP => "DPoP",
        })
    }
}

/// The token a request presents, with its scheme. DPoP's other inputs (the proof, method
/// and URL, RFC 9449 §4.3) come with the [`Request`](crate::Request) the verifier reads.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    Bearer(String),
    #[non_exhaustive]
    DPoP {
        token: String,
    },
}

/// Tokens never reach a log through `Debug`.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials::{}(…)", self.scheme())
    }
}

impl Credentials {
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::Bearer(_) => Scheme::Bearer,
            Self::DPoP { .. } => Scheme::DPoP,
        }
    }

    pub fn token(&self) -> &str {
        match self {
            Self::Bearer(token) | Self::DPoP { token } => token,
        }
    }

    /// Reads the values of a request's `Authorization` headers.
    ///
    /// - none, or one of another scheme (e.g. Basic): `MissingToken` (RFC 6750 §3.1: a
    ///   request without credentials gets a challenge with no error code);
    /// - more than one, not UTF-8, or a token that is empty, too long or not a `b64token`
    ///   (§2.1): `InvalidRequest`.
    pub fn from_authorization<'a>(
        values: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, crate::Reason> {
        use crate::Reason::{InvalidRequest, MissingToken};
        let mut values = values.into_iter();
        let Some(value) = values.next() else {
            return Err(MissingToken);
        };
        if values.next().is_some() {
            return Err(InvalidRequest("More than one Authorization header"));
        }
        let value = std::str::from_utf8(value)
            .map_err(|_| InvalidRequest("The Authorization header is not valid UTF-8"))?
            .trim();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        // RFC 7235 §2.1: the scheme is case-insensitive.
        let scheme = if scheme.eq_ignore_ascii_case("bearer") {
            Scheme::Bearer
        } else if scheme.eq_ignore_ascii_case("dpop") {
            Scheme::DPoP
        } else {
            return Err(MissingToken);
        };
        let token = token.trim();
        if token.is_empty() {
            return Err(InvalidRequest("The Authorization header carries no token"));
        }
        if token.len() > MAX_TOKEN_LEN || !is_b64token(token) {
            return Err(InvalidRequest("The access token is malformed"));
        }
        Ok(match scheme {
            Scheme::Bearer => Self::Bearer(token.to_owned()),
            Scheme::DPoP => Self::DPoP {
                token: token.to_owned(),
            },
        })
    }
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// Whether `token` has the shape of a compact JWS (three base64url parts), as opposed to an
/// opaque token such as grantd's `gat_…`. An empty signature (`alg: none`) still counts, so
/// that such a token is refused as a JWT rather than sent to introspection.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && parts.iter().take(2).all(|p| !p.is_empty())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reason;

    fn parse(values: &[&str]) -> Result<Credentials, Reason> {
        Credentials::from_authorization(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn a_bearer_header_yields_its_token_whatever_the_scheme_case() {
        for header in ["Bearer gat_abc", "bearer gat_abc", "BEARER   gat_abc  "] {
            assert_eq!(
                parse(&[header]).unwrap(),
                Credentials::Bearer("gat_abc".into())
            );
        }
        assert_eq!(parse(&["Bearer a.b.c=="]).unwrap().token(), "a.b.c==");
    }

    #[test]
    fn no_header_or_another_scheme_is_a_request_without_a_token() {
        assert_eq!(parse(&[]), Err(Reason::MissingToken));
        assert_eq!(parse(&["Basic dXNlcjpwdw=="]), Err(Reason::MissingToken));
    }

    #[test]
    fn malformed_or_repeated_headers_are_invalid_requests() {
        for bad in [
            &["Bearer"][..],
            &["Bearer "],
            &["Bearer a b"],
            &["Bearer a\"b"],
            &["Bearer ==="],
        ] {
            assert!(
                matches!(parse(bad), Err(Reason::InvalidRequest(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse(&["Bearer a", "Bearer b"]),
            Err(Reason::InvalidRequest(_))
        ));
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert!(matches!(parse(&[&long]), Err(Reason::InvalidRequest(_))));
        assert!(matches!(
            Credentials::from_authorization([&b"Bearer \xff"[..]]),
            Err(Reason::InvalidRequest(_))
        ));
    }

    #[test]
    fn a_dpop_header_is_read_as_the_dpop_scheme() {
        let c = parse(&["DPoP eyJh.eyJi.c2ln"]).unwrap();
        assert_eq!(c.scheme(), Scheme::DPoP);
        assert_eq!(c.token(), "eyJh.eyJi.c2ln");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = parse(&["Bearer gat_secret"]).unwrap();
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn jwts_are_told_from_opaque_tokens() {
        assert!(looks_like_jwt("eyJh.eyJi.c2ln"));
        assert!(!looks_like_jwt("gat_abc"));
        assert!(
            looks_like_jwt("eyJh.eyJi."),
            "alg none: judged (and refused) as a JWT"
        );
        assert!(!looks_like_jwt("a.b.c.d"));
    }
}
