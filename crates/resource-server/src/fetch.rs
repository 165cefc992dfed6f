//! Reading the issuer's answers: a status check and a size cap, so that a misbehaving
//! issuer costs a bounded amount of memory, and its failures become [`IssuerProblem`]s.

use crate::IssuerProblem;

/// The most bytes read of any answer (metadata, JWKS, introspection).
const MAX_BODY: usize = 256 * 1024;

/// Sends `request` and reads a 200 answer's body; `what` names the endpoint in errors.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    what: &'static str,
) -> Result<Vec<u8>, IssuerProblem> {
    let mut response = request
        .send()
        .await
        .map_err(|e| IssuerProblem::Unreachable(e.to_string()))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(IssuerProblem::Status { what, status });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| IssuerProblem::Unreachable(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(IssuerProblem::BadDocument {
                what,
                detail: format!("larger than {MAX_BODY} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a JSON answer.
pub(crate) fn json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &'static str,
) -> Result<T, IssuerProblem> {
    serde_json::from_slice(body).map_err(|e| IssuerProblem::BadDocument {
        what,
        detail: e.to_string(),
    })
}
