//! What revocation and introspection share: a form body, client authentication, and
//! one blocking hop that authenticates and then runs the endpoint's use case.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest};
use grantd_domain::UseCases;
use grantd_ports::Client;

use crate::body::read_form;
use crate::client_credentials;
use crate::errors::OAuthError;
use crate::form::Form;
use crate::{source_address, HttpState};

/// Reads the form, authenticates the client and runs `use_case` with it, off the async
/// workers. Client authentication is required (RFC 7009 §2.1, RFC 7662 §2.1).
pub async fn authenticated<T, F>(
    req: &HttpRequest,
    payload: web::Payload,
    state: &HttpState,
    use_case: F,
) -> Result<T, OAuthError>
where
    T: Send + 'static,
    F: FnOnce(&UseCases, &Client, &Form) -> Result<T, OAuthError> + Send + 'static,
{
    let form = read_form(req, payload, state.max_body_bytes).await?;
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let credentials = client_credentials::extract(authorization, &form)?;
    let source = credentials.as_ref().map(|c| c.source);
    let address = source_address::of(req, &state.trusted_proxies);
    let use_cases = state.use_cases.clone();
    state
        .ops
        .blocking(move || {
            let client = use_cases
                .clients
                .authenticate(credentials.as_ref(), address)
                .map_err(|e| OAuthError::from(e).for_credentials(source))?;
            use_case(&use_cases, &client, &form)
        })
        .await?
}
