//! The `Authorization: Basic` header of `client_secret_basic` (RFC 6749 §2.3.1, RFC 7617):
//! base64 of `id:secret`, where id and secret were form-urlencoded *before* encoding.
//! Pure: no actix types, so it is fuzzable.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use percent_encoding::percent_decode;

/// A client id and secret from a Basic header. `Debug` never shows the secret.
#[derive(PartialEq, Eq)]
pub struct BasicCredentials {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for BasicCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What an `Authorization` header holds, as far as client authentication is concerned.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthorizationHeader {
    Basic(BasicCredentials),
    /// Some other scheme (e.g. Bearer): not a client authentication method here.
    OtherScheme,
}

/// Parses an `Authorization` header value. `Err` = a Basic header that is malformed.
pub fn parse(value: &[u8]) -> Result<AuthorizationHeader, &'static str> {
    let value =
        std::str::from_utf8(value).map_err(|_| "the Authorization header is not valid UTF-8")?;
    let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    // RFC 7235 §2.1: the scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(AuthorizationHeader::OtherScheme);
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .map_err(|_| "the Basic credentials are not valid base64")?;
    let decoded =
        String::from_utf8(decoded).map_err(|_| "the Basic credentials are not valid UTF-8")?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or("the Basic credentials have no colon")?;
    Ok(AuthorizationHeader::Basic(BasicCredentials {
        id: form_decode(id)?,
        secret: form_decode(secret)?,
    }))
}

/// §2.3.1: undo the application/x-www-form-urlencoded step ('+' is a space).
fn form_decode(raw: &str) -> Result<String, &'static str> {
    percent_decode(raw.replace('+', " ").as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| "the Basic credentials are not valid UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> AuthorizationHeader {
        AuthorizationHeader::Basic(BasicCredentials {
            id: id.into(),
            secret: secret.into(),
        })
    }

    #[test]
    fn parses_plain_credentials() {
        let h = format!("Basic {}", STANDARD.encode("app:s3cret"));
        assert_eq!(parse(h.as_bytes()).unwrap(), basic("app", "s3cret"));
    }

    #[test]
    fn form_url_decodes_id_and_secret() {
        // id "a b" and secret "p:w%" form-urlencoded, then base64 (§2.3.1).
        let h = format!("basic {}", STANDARD.encode("a+b:p%3Aw%25"));
        assert_eq!(parse(h.as_bytes()).unwrap(), basic("a b", "p:w%"));
    }

    #[test]
    fn other_schemes_are_not_client_authentication() {
        assert_eq!(
            parse(b"Bearer abc").unwrap(),
            AuthorizationHeader::OtherScheme
        );
    }

    #[test]
    fn malformed_basic_is_an_error() {
        assert!(parse(b"Basic !!!").is_err());
        assert!(parse(format!("Basic {}", STANDARD.encode("nocolon")).as_bytes()).is_err());
        assert!(parse(b"Basic \xff").is_err());
    }
}
