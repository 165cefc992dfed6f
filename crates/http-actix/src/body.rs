//! Reading a form body: the content type must be `application/x-www-form-urlencoded`
//! (RFC 6749 §3.2) and the body at most the configured size.

use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

use crate::errors::OAuthError;
use crate::form::Form;

/// Checks the content type, reads at most `limit` bytes and parses the form.
pub async fn read_form(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Form, OAuthError> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| OAuthError::invalid_request("the body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(OAuthError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("the body is larger than {limit} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Form::parse(&body)?)
}
