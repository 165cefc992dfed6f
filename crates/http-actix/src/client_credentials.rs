//! Which client authentication a request carries (RFC 6749 §2.3): a Basic header
//! (`client_secret_basic`), `client_id` + `client_secret` in the body (`client_secret_post`),
//! or `client_id` alone (a public client). §2.3: "MUST NOT use more than one authentication
//! method in each request": two is `invalid_request`.

use grantd_domain::{ClientCredentials, CredentialSource};
use grantd_ports::ClientId;

use crate::basic_auth::{self, AuthorizationHeader};
use crate::errors::OAuthError;
use crate::form::Form;

/// Extracts the presented credentials; `Ok(None)` when there are none at all.
pub fn extract(
    authorization: Option<&[u8]>,
    form: &Form,
) -> Result<Option<ClientCredentials>, OAuthError> {
    let header = match authorization.map(basic_auth::parse) {
        Some(Ok(AuthorizationHeader::Basic(basic))) => Some(basic),
        Some(Ok(AuthorizationHeader::OtherScheme)) | None => None,
        Some(Err(why)) => {
            return Err(OAuthError::invalid_client(
                why,
                Some(CredentialSource::BasicHeader),
            ))
        }
    };
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");

    if let Some(basic) = header {
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ));
        }
        // A client_id in the body alongside Basic is redundant; a different one is two identities.
        if body_id.is_some_and(|id| id != basic.id) {
            return Err(OAuthError::invalid_request(
                "client_id differs from the Basic credentials",
            ));
        }
        let id = parse_id(&basic.id, CredentialSource::BasicHeader)?;
        return Ok(Some(ClientCredentials {
            id,
            secret: Some(basic.secret),
            source: CredentialSource::BasicHeader,
        }));
    }
    match (body_id, body_secret) {
        (Some(id), Some(secret)) => Ok(Some(ClientCredentials {
            id: parse_id(id, CredentialSource::Body)?,
            secret: Some(secret.to_owned()),
            source: CredentialSource::Body,
        })),
        (Some(id), None) => Ok(Some(ClientCredentials {
            id: parse_id(id, CredentialSource::IdOnly)?,
            secret: None,
            source: CredentialSource::IdOnly,
        })),
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "client_secret without client_id",
        )),
        (None, None) => Ok(None),
    }
}

fn parse_id(id: &str, source: CredentialSource) -> Result<ClientId, OAuthError> {
    ClientId::parse(id)
        .map_err(|_| OAuthError::invalid_client("client authentication failed", Some(source)))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    use super::*;

    fn basic(v: &str) -> Vec<u8> {
        format!("Basic {}", STANDARD.encode(v)).into_bytes()
    }

    #[test]
    fn each_single_method_is_recognised() {
        let empty = Form::parse(b"").unwrap();
        let c = extract(Some(&basic("app:s")), &empty).unwrap().unwrap();
        assert_eq!(
            (c.id.as_str(), c.source),
            ("app", CredentialSource::BasicHeader)
        );
        let post = Form::parse(b"client_id=app&client_secret=s").unwrap();
        assert_eq!(
            extract(None, &post).unwrap().unwrap().source,
            CredentialSource::Body
        );
        let public = Form::parse(b"client_id=pub").unwrap();
        assert_eq!(
            extract(None, &public).unwrap().unwrap().source,
            CredentialSource::IdOnly
        );
        assert!(extract(None, &empty).unwrap().is_none());
    }

    #[test]
    fn two_methods_are_invalid_request() {
        let post = Form::parse(b"client_id=app&client_secret=s").unwrap();
        let e = extract(Some(&basic("app:s")), &post).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        let other_id = Form::parse(b"client_id=other").unwrap();
        assert_eq!(
            extract(Some(&basic("app:s")), &other_id)
                .unwrap_err()
                .code(),
            "invalid_request"
        );
    }

    #[test]
    fn malformed_basic_is_invalid_client() {
        let e = extract(Some(b"Basic ???"), &Form::parse(b"").unwrap()).unwrap_err();
        assert_eq!(e.code(), "invalid_client");
    }
}
