//! The outer middleware around every request: a span with its request id (echoed as
//! `x-request-id`), the header-size limit, one access-log line, and the request's counter
//! and latency. No log field here ever carries a token, secret, password or code.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _, HttpResponse};
use tracing::Instrument as _;

use super::metrics::RequestLabels;
use crate::routes::endpoint_label;
use crate::HttpState;

/// The response header carrying the request id (also accepted from a proxy in front).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Set by the token handler on the request, read here for the `grant_type` label.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrantTypeLabel(pub &'static str);

/// Set on every error response (by `errors.rs`), read here for the `outcome` label: always
/// one of the fixed error codes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorCodeLabel(pub &'static str);

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A request id from the proxy in front if it is short and plain, else a fresh random one.
fn request_id(req: &ServiceRequest) -> String {
    let incoming = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    match incoming {
        Some(id) => id.to_owned(),
        None => format!("{:016x}", rand::random::<u64>()),
    }
}

/// The outer middleware: a span with the request id around everything the request logs,
/// the `x-request-id` response header, one access-log line, the request counters and the
/// latency histogram, and the header-size limit.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = method_label(req.method());
    let state = req.app_data::<web::Data<HttpState>>().cloned();
    let span = tracing::info_span!("request", request_id = %id, method);

    let too_big = state
        .as_ref()
        .and_then(|s| s.ops.header_limit().check(req.headers()).err());
    let result = if let Some(too_big) = too_big {
        // Answered here, before any handler; `errors.rs` says how.
        let response = HttpResponse::from_error(too_big);
        Ok(req.into_response(response).map_into_right_body())
    } else {
        next.call(req)
            .instrument(span.clone())
            .await
            .map(ServiceResponse::map_into_left_body)
    };

    let mut response = match result {
        Ok(response) => response,
        Err(error) => {
            // Handlers answer with responses, so this is actix's own (e.g. a payload
            // error): still counted and still JSON-free of internals.
            let status = error.as_response_error().status_code();
            span.in_scope(|| tracing::info!(status = status.as_u16(), "request failed"));
            return Err(error);
        }
    };
    let endpoint = endpoint_label(response.request().match_pattern().as_deref());
    let status = response.status();
    let grant_type = response
        .request()
        .extensions()
        .get::<GrantTypeLabel>()
        .map_or("", |g| g.0);
    let outcome = response
        .response()
        .extensions()
        .get::<ErrorCodeLabel>()
        .map_or(if status.is_success() { "ok" } else { "error" }, |c| c.0);
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(state) = &state {
        state.ops.registry().request(
            RequestLabels {
                endpoint,
                method,
                status: status.as_str(),
                grant_type,
                outcome,
            },
            elapsed,
        );
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    span.in_scope(|| {
        tracing::info!(
            endpoint,
            status = status.as_u16(),
            grant_type,
            outcome,
            latency_ms = (elapsed * 1000.0).round() as u64,
            "request"
        )
    });
    Ok(response)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn methods_come_from_a_fixed_set() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
