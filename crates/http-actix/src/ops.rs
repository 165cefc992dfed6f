//! Running as a service: the request-id and access-log middleware, the Prometheus counters
//! behind `GET /metrics` (also the domain's `Metrics` port), the bound on concurrent
//! blocking work, the header-size limit and the draining flag that `/readyz` reports.
//!
//! Labels are always from small fixed sets (route patterns, RFC error codes, grant types),
//! never from what a client sent, so hostile input cannot grow the series without bound.
//! No label or log field here ever carries a token, secret, password or code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _, HttpResponse};
use grantd_ports::{DomainEvent, GrantType, Metrics};
use tokio::sync::Semaphore;
use tracing::Instrument as _;

use crate::errors::OAuthError;
use crate::HttpState;

/// The response header carrying the request id (also accepted from a proxy in front).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The pool's size now, as the store reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolGauge {
    pub connections: u32,
    pub idle_connections: u32,
    pub max_size: u32,
}

type PoolProbe = Box<dyn Fn() -> PoolGauge + Send + Sync>;

/// Latency buckets in seconds: a token request is a bcrypt (tens of ms) plus a few queries.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// Operational state shared by every worker: metrics, the blocking-work permits, limits.
pub struct Operations {
    permits: Semaphore,
    max_permits: usize,
    permit_timeout: Duration,
    waiting: AtomicI64,
    draining: AtomicBool,
    max_header_bytes: usize,
    pool_probe: Option<PoolProbe>,
    /// `(metric, labels)` → count.
    counters: Mutex<BTreeMap<(&'static str, String), u64>>,
    /// endpoint → latency histogram.
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Operations {
    /// `max_blocking`: requests that may run blocking work (pool checkout, queries, bcrypt)
    /// at once, normally the pool size; the rest wait on the async side, at most
    /// `permit_timeout`, then get 503.
    pub fn new(max_blocking: usize, permit_timeout: Duration) -> Self {
        let max_permits = max_blocking.max(1);
        let ops = Self {
            permits: Semaphore::new(max_permits),
            max_permits,
            permit_timeout,
            waiting: AtomicI64::new(0),
            draining: AtomicBool::new(false),
            max_header_bytes: 8 * 1024,
            pool_probe: None,
            counters: Mutex::new(BTreeMap::new()),
            latency: Mutex::new(BTreeMap::new()),
        };
        // Domain counters exist from the start, so a dashboard sees 0 rather than nothing.
        for grant_type in GrantType::ALL {
            ops.add(
                "grantd_tokens_issued_total",
                label("grant_type", grant_type.as_str()),
                0,
            );
        }
        for name in [
            "grantd_refresh_token_reuse_total",
            "grantd_refresh_race_lost_total",
            "grantd_rate_limited_total",
        ] {
            ops.add(name, String::new(), 0);
        }
        for result in ["hit", "miss"] {
            ops.add(
                "grantd_client_secret_cache_total",
                label("result", result),
                0,
            );
        }
        ops
    }

    /// Reports the pool's size on `/metrics`.
    pub fn with_pool_probe(
        mut self,
        probe: impl Fn() -> PoolGauge + Send + Sync + 'static,
    ) -> Self {
        self.pool_probe = Some(Box::new(probe));
        self
    }

    /// Requests whose header names and values add up to more than this get 431.
    pub fn with_max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max;
        self
    }

    /// Shutdown has begun: `/readyz` answers 503 from now on, so that a load balancer stops
    /// sending new requests while the in-flight ones finish.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Runs blocking work (the one `web::block` hop of a request) once a permit is free.
    /// The wait happens here, on the async side, so a burst never piles up on the blocking
    /// threads; a request that waits longer than the permit timeout gets 503.
    pub async fn blocking<F, R>(&self, work: F) -> Result<R, OAuthError>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = tokio::time::timeout(self.permit_timeout, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let Ok(Ok(_permit)) = permit else {
            tracing::warn!("no capacity for blocking work within the timeout");
            return Err(OAuthError::unavailable());
        };
        web::block(work)
            .await
            .map_err(|_| OAuthError::unavailable())
    }

    fn add(&self, name: &'static str, labels: String, by: u64) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *counters.entry((name, labels)).or_default() += by;
    }

    fn observe(&self, endpoint: &'static str, seconds: f64) {
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = latency.entry(endpoint).or_default();
        for (bucket, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if seconds <= *bucket {
                *count += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut last = "";
        for ((name, labels), value) in &counters {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {}", help(name));
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let _ = writeln!(out, "{name}{} {value}", braces(labels));
        }
        let latency = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let name = "grantd_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} {}", help(name));
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (endpoint, h) in &latency {
            let endpoint = label("endpoint", endpoint);
            for (bucket, count) in BUCKETS.iter().zip(h.counts.iter()) {
                let _ = writeln!(out, "{name}_bucket{{{endpoint},le=\"{bucket}\"}} {count}");
            }
            let _ = writeln!(out, "{name}_bucket{{{endpoint},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "{name}_sum{{{endpoint}}} {}", h.sum);
            let _ = writeln!(out, "{name}_count{{{endpoint}}} {}", h.count);
        }
        let pool = self
            .pool_probe
            .as_ref()
            .map(|probe| probe())
            .unwrap_or_default();
        let in_flight = self.max_permits - self.permits.available_permits();
        let gauges = [
            ("grantd_db_pool_connections", u64::from(pool.connections)),
            (
                "grantd_db_pool_idle_connections",
                u64::from(pool.idle_connections),
            ),
            ("grantd_db_pool_max_connections", u64::from(pool.max_size)),
            ("grantd_blocking_in_flight", in_flight as u64),
            (
                "grantd_blocking_waiters",
                self.waiting.load(Ordering::SeqCst).max(0) as u64,
            ),
            ("grantd_ready", u64::from(!self.is_draining())),
        ];
        for (name, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {}", help(name));
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

impl Metrics for Operations {
    fn record(&self, event: DomainEvent) {
        match event {
            DomainEvent::TokensIssued(grant_type) => self.add(
                "grantd_tokens_issued_total",
                label("grant_type", grant_type.as_str()),
                1,
            ),
            DomainEvent::RefreshTokenReuse => {
                self.add("grantd_refresh_token_reuse_total", String::new(), 1)
            }
            DomainEvent::RefreshRaceLost => {
                self.add("grantd_refresh_race_lost_total", String::new(), 1)
            }
            DomainEvent::RateLimited => self.add("grantd_rate_limited_total", String::new(), 1),
            DomainEvent::ClientSecretCache { hit } => self.add(
                "grantd_client_secret_cache_total",
                label("result", if hit { "hit" } else { "miss" }),
                1,
            ),
        }
    }
}

fn help(name: &str) -> &'static str {
    match name {
        "grantd_http_requests_total" => {
            "HTTP requests by endpoint, method, status, grant type and outcome (ok or the error code)."
        }
        "grantd_http_request_duration_seconds" => "HTTP request latency by endpoint.",
        "grantd_tokens_issued_total" => "Token responses issued, by grant type.",
        "grantd_refresh_token_reuse_total" => "Rotated refresh tokens presented again (reuse detection).",
        "grantd_refresh_race_lost_total" => "Refreshes refused because a concurrent one consumed the token first.",
        "grantd_rate_limited_total" => "Attempts refused by the brute-force limits (429).",
        "grantd_client_secret_cache_total" => "Client-secret verifications answered from the cache (hit) or hashed (miss).",
        "grantd_db_pool_connections" => "Database connections open in this process.",
        "grantd_db_pool_idle_connections" => "Open database connections idle in the pool.",
        "grantd_db_pool_max_connections" => "The pool's ceiling (database.pool_size).",
        "grantd_blocking_in_flight" => "Requests running blocking work (database, bcrypt) now.",
        "grantd_blocking_waiters" => "Requests waiting for a permit to run blocking work.",
        "grantd_ready" => "1 while serving, 0 once shutdown has begun.",
        _ => "grantd metric.",
    }
}

/// `key="value"`; values come from fixed sets, so escaping is only a safety net.
fn label(key: &str, value: &str) -> String {
    let value = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("{key}=\"{value}\"")
}

fn braces(labels: &str) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    }
}

/// Set by the token handler on the request, read by the middleware for the metrics label.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GrantTypeLabel(pub &'static str);

/// Set on every error response, read by the middleware: the outcome label.
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

/// The route patterns we serve; anything else is "unmatched" (never the raw path, which a
/// client chooses and which could carry a token in a query string).
fn endpoint_label(pattern: Option<&str>) -> &'static str {
    const KNOWN: &[&str] = &[
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/authorize",
        "/.well-known/oauth-authorization-server",
        "/api/me",
        "/healthz",
        "/readyz",
        "/metrics",
    ];
    pattern
        .and_then(|p| KNOWN.iter().find(|k| **k == p).copied())
        .unwrap_or("unmatched")
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

fn header_bytes(req: &ServiceRequest) -> usize {
    req.headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
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
        .is_some_and(|s| header_bytes(&req) > s.ops.max_header_bytes);
    let result = if too_big {
        let response = OAuthError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "invalid_request",
            "the request headers are too large",
        )
        .into_response();
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
        state.ops.add(
            "grantd_http_requests_total",
            format!(
                "{},{},{},{},{}",
                label("endpoint", endpoint),
                label("method", method),
                label("status", status.as_str()),
                label("grant_type", grant_type),
                label("outcome", outcome)
            ),
            1,
        );
        state.ops.observe(endpoint, elapsed);
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

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(state: web::Data<HttpState>) -> HttpResponse {
    let ops = state.ops.clone();
    // The pool probe takes r2d2's lock briefly; cheap enough for the async side.
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(ops.render())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;

    /// Holds the only permit until `release` is sent to.
    fn occupy(ops: &Arc<Operations>) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let ops = ops.clone();
        actix_web::rt::spawn(async move {
            ops.blocking(move || held.recv_timeout(Duration::from_secs(10)))
                .await
        });
        release
    }

    async fn until(condition: impl Fn() -> bool) {
        for _ in 0..500 {
            if condition() {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("condition not reached");
    }

    #[actix_web::test]
    async fn requests_beyond_the_permits_wait_on_the_async_side() {
        let ops = Arc::new(Operations::new(1, Duration::from_secs(5)));
        let release = occupy(&ops);
        until(|| ops.permits.available_permits() == 0).await;
        let waiter = {
            let ops = ops.clone();
            actix_web::rt::spawn(async move { ops.blocking(|| 7).await })
        };
        until(|| ops.waiting.load(Ordering::SeqCst) == 1).await;
        let text = ops.render();
        assert!(text.contains("grantd_blocking_waiters 1"), "{text}");
        assert!(text.contains("grantd_blocking_in_flight 1"), "{text}");
        release.send(()).unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 7);
        assert!(ops.render().contains("grantd_blocking_waiters 0"));
    }

    #[actix_web::test]
    async fn a_request_that_waits_too_long_for_a_permit_gets_503() {
        let ops = Arc::new(Operations::new(1, Duration::from_millis(100)));
        let release = occupy(&ops);
        until(|| ops.permits.available_permits() == 0).await;
        let refused = ops.blocking(|| ()).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.code(), "temporarily_unavailable");
        release.send(()).unwrap();
        until(|| ops.permits.available_permits() == 1).await;
        assert!(ops.blocking(|| ()).await.is_ok());
    }

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(endpoint_label(Some("/oauth/token")), "/oauth/token");
        assert_eq!(endpoint_label(Some("/anything/{x}")), "unmatched");
        assert_eq!(endpoint_label(None), "unmatched");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(label("k", "a\"b\\c"), "k=\"a\\\"b\\\\c\"");
    }
}
