//! The admin API's one blocking hop per request: read the bearer token (RFC 6750 §2.1),
//! then, off the async workers, authenticate the admin client and only then read the
//! request's body and query ([`json`], [`query`]: an anonymous caller learns nothing from a
//! parse error) and run the use case. [`write`] adds the audit line of a write, whatever
//! its outcome once the caller is known.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::HttpRequest;
use grantd_domain::admin::{self, Administration};
use grantd_ports::ClientId;
use serde::de::DeserializeOwned;

use super::audit;
use super::problem::Problem;
use crate::HttpState;

/// What a write did: its result and the id of what it acted on.
pub(crate) struct Written<T> {
    pub value: T,
    pub target: String,
}

impl<T> Written<T> {
    pub fn new(value: T, target: impl Into<String>) -> Self {
        Self {
            value,
            target: target.into(),
        }
    }
}

/// RFC 6750 §2.1 `Authorization: Bearer <token>`. No header or another scheme is a
/// request without credentials (§3.1: a bare challenge); an empty token is invalid.
fn bearer(req: &HttpRequest) -> Result<String, Problem> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Err(Problem::unauthenticated());
    };
    let value = value.to_str().map_err(|_| Problem::invalid_token())?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Problem::unauthenticated());
    }
    match token.trim() {
        "" => Err(Problem::invalid_token()),
        token => Ok(token.to_owned()),
    }
}

fn administration(state: &HttpState) -> Result<Arc<Administration>, Problem> {
    state
        .admin
        .clone()
        .ok_or_else(|| Problem::not_found("the admin API is not enabled"))
}

/// Authenticates the caller and runs `work` in one blocking hop; returns the actor too.
async fn run<T, F>(
    state: &HttpState,
    req: &HttpRequest,
    work: F,
) -> Result<(ClientId, Result<T, Problem>), Problem>
where
    T: Send + 'static,
    F: FnOnce(&Administration) -> Result<T, Problem> + Send + 'static,
{
    let token = bearer(req)?;
    let administration = administration(state)?;
    let (actor, outcome) = state
        .ops
        .blocking(move || {
            let a = administration.as_ref();
            let actor = admin::authenticate(&a.bearer, &a.ports, &token)?;
            Ok::<_, Problem>((actor, work(a)))
        })
        .await??;
    Ok((actor, outcome))
}

/// A read: authenticated, not audited.
pub(crate) async fn read<T, F>(state: &HttpState, req: &HttpRequest, work: F) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce(&Administration) -> Result<T, Problem> + Send + 'static,
{
    let (_, outcome) = run(state, req, work).await?;
    outcome
}

/// A write: authenticated, then audited as `action` on its target (on a refusal, the
/// target the request named, `requested`).
pub(crate) async fn write<T, F>(
    state: &HttpState,
    req: &HttpRequest,
    action: &'static str,
    requested: &str,
    work: F,
) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce(&Administration) -> Result<Written<T>, Problem> + Send + 'static,
{
    let (actor, outcome) = run(state, req, work).await?;
    match outcome {
        Ok(written) => {
            audit::record(&actor, action, &written.target, "ok");
            Ok(written.value)
        }
        Err(problem) => {
            audit::record(&actor, action, requested, problem.kind_name());
            Err(problem)
        }
    }
}

/// The JSON body as `B` (read after authentication, inside the hop).
pub(crate) fn json<B: DeserializeOwned>(body: &[u8]) -> Result<B, Problem> {
    serde_json::from_slice(body)
        .map_err(|e| Problem::malformed(format!("the JSON body is not valid: {e}")))
}

/// The query string as `Q` (read after authentication, inside the hop).
pub(crate) fn query<Q: DeserializeOwned>(raw: &str) -> Result<Q, Problem> {
    serde_urlencoded::from_str(raw)
        .map_err(|e| Problem::malformed(format!("the query is not valid: {e}")))
}
