//! The Prometheus metrics of one process: one table names every metric with its type and
//! help text, the registry keeps the counters and the latency histogram, and the renderer
//! writes the text exposition format (version 0.0.4) from the table. Nothing else names a
//! metric.
//!
//! Labels are always from small fixed sets (route patterns, RFC error codes, grant types),
//! never from what a client sent, so hostile input cannot grow the series without bound.
//! No label ever carries a token, secret, password or code.
//!
//! Why not the `prometheus-client` crate: it writes OpenMetrics, whose counter family
//! drops the `_total` suffix from `# HELP`/`# TYPE`, puts `le` before the other labels of
//! a bucket and ends with `# EOF`; the names and series that the README and the tests
//! promise are those of format 0.0.4 below.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use grantd_ports::{DomainEvent, GrantType};

/// Every metric `/metrics` shows, in the order it shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Metric {
    ClientSecretCache,
    HttpRequests,
    PasswordChecksRefused,
    RateLimited,
    ReadinessProbes,
    RefreshRaceLost,
    RefreshTokenReuse,
    TokensIssued,
    HttpRequestDuration,
    DbPoolConnections,
    DbPoolIdleConnections,
    DbPoolMaxConnections,
    BlockingInFlight,
    BlockingWaiters,
    Ready,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Histogram,
    Gauge,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Gauge => "gauge",
        }
    }
}

struct Spec {
    metric: Metric,
    name: &'static str,
    kind: Kind,
    help: &'static str,
}

const fn spec(metric: Metric, name: &'static str, kind: Kind, help: &'static str) -> Spec {
    Spec {
        metric,
        name,
        kind,
        help,
    }
}

/// The one table: each metric's name, type and help, in `Metric` order (a test checks).
#[rustfmt::skip]
const METRICS: [Spec; 15] = [
    spec(Metric::ClientSecretCache, "grantd_client_secret_cache_total", Kind::Counter,
        "Client-secret verifications answered from the cache (hit) or hashed (miss)."),
    spec(Metric::HttpRequests, "grantd_http_requests_total", Kind::Counter,
        "HTTP requests by endpoint, method, status, grant type and outcome (ok or the error code)."),
    spec(Metric::PasswordChecksRefused, "grantd_password_checks_refused_total", Kind::Counter,
        "Password and client-secret checks refused at once because every permit was taken (503)."),
    spec(Metric::RateLimited, "grantd_rate_limited_total", Kind::Counter,
        "Attempts refused by the brute-force limits (429)."),
    spec(Metric::ReadinessProbes, "grantd_readiness_probes_total", Kind::Counter,
        "Database probes run for /readyz (at most one a second, however many ask)."),
    spec(Metric::RefreshRaceLost, "grantd_refresh_race_lost_total", Kind::Counter,
        "Refreshes refused because a concurrent one consumed the token first."),
    spec(Metric::RefreshTokenReuse, "grantd_refresh_token_reuse_total", Kind::Counter,
        "Rotated refresh tokens presented again (reuse detection)."),
    spec(Metric::TokensIssued, "grantd_tokens_issued_total", Kind::Counter,
        "Token responses issued, by grant type."),
    spec(Metric::HttpRequestDuration, "grantd_http_request_duration_seconds", Kind::Histogram,
        "HTTP request latency by endpoint."),
    spec(Metric::DbPoolConnections, "grantd_db_pool_connections", Kind::Gauge,
        "Database connections open in this process."),
    spec(Metric::DbPoolIdleConnections, "grantd_db_pool_idle_connections", Kind::Gauge,
        "Open database connections idle in the pool."),
    spec(Metric::DbPoolMaxConnections, "grantd_db_pool_max_connections", Kind::Gauge,
        "The pool's ceiling (database.pool_size)."),
    spec(Metric::BlockingInFlight, "grantd_blocking_in_flight", Kind::Gauge,
        "Requests running blocking work (database, bcrypt) now."),
    spec(Metric::BlockingWaiters, "grantd_blocking_waiters", Kind::Gauge,
        "Requests waiting for a permit to run blocking work."),
    spec(Metric::Ready, "grantd_ready", Kind::Gauge,
        "1 while serving, 0 once shutdown has begun."),
];

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

/// The pool's size now, as the store reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolGauge {
    pub connections: u32,
    pub idle_connections: u32,
    pub max_size: u32,
}

/// The gauges' values at the moment of a scrape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Gauges {
    pub pool: PoolGauge,
    pub blocking_in_flight: u64,
    pub blocking_waiters: u64,
    pub ready: bool,
}

impl Gauges {
    fn value(&self, metric: Metric) -> u64 {
        match metric {
            Metric::DbPoolConnections => u64::from(self.pool.connections),
            Metric::DbPoolIdleConnections => u64::from(self.pool.idle_connections),
            Metric::DbPoolMaxConnections => u64::from(self.pool.max_size),
            Metric::BlockingInFlight => self.blocking_in_flight,
            Metric::BlockingWaiters => self.blocking_waiters,
            Metric::Ready => u64::from(self.ready),
            _ => 0,
        }
    }
}

/// The labels of one counted HTTP request, each from a fixed set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLabels<'a> {
    pub endpoint: &'static str,
    pub method: &'static str,
    pub status: &'a str,
    pub grant_type: &'static str,
    pub outcome: &'static str,
}

/// The counters and the latency histogram of this process.
pub(crate) struct Registry {
    /// `(metric, rendered labels)` → count.
    counters: Mutex<BTreeMap<(Metric, String), u64>>,
    /// endpoint → latency histogram.
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
}

impl Registry {
    pub(crate) fn new() -> Self {
        let registry = Self {
            counters: Mutex::new(BTreeMap::new()),
            latency: Mutex::new(BTreeMap::new()),
        };
        // Domain counters exist from the start, so a dashboard sees 0 rather than nothing.
        for grant_type in GrantType::ALL {
            registry.add(
                Metric::TokensIssued,
                label("grant_type", grant_type.as_str()),
                0,
            );
        }
        for metric in [
            Metric::RefreshTokenReuse,
            Metric::RefreshRaceLost,
            Metric::RateLimited,
            Metric::PasswordChecksRefused,
            Metric::ReadinessProbes,
        ] {
            registry.add(metric, String::new(), 0);
        }
        for result in ["hit", "miss"] {
            registry.add(Metric::ClientSecretCache, label("result", result), 0);
        }
        registry
    }

    /// The domain's events (the `Metrics` port).
    pub(crate) fn record(&self, event: DomainEvent) {
        match event {
            DomainEvent::TokensIssued(grant_type) => self.add(
                Metric::TokensIssued,
                label("grant_type", grant_type.as_str()),
                1,
            ),
            DomainEvent::RefreshTokenReuse => self.add(Metric::RefreshTokenReuse, String::new(), 1),
            DomainEvent::RefreshRaceLost => self.add(Metric::RefreshRaceLost, String::new(), 1),
            DomainEvent::RateLimited => self.add(Metric::RateLimited, String::new(), 1),
            DomainEvent::PasswordCheckRefused => {
                self.add(Metric::PasswordChecksRefused, String::new(), 1)
            }
            DomainEvent::ClientSecretCache { hit } => self.add(
                Metric::ClientSecretCache,
                label("result", if hit { "hit" } else { "miss" }),
                1,
            ),
        }
    }

    /// One database probe run for `/readyz`.
    pub(crate) fn readiness_probe(&self) {
        self.add(Metric::ReadinessProbes, String::new(), 1);
    }

    /// One finished HTTP request: its counter and its latency.
    pub(crate) fn request(&self, labels: RequestLabels<'_>, seconds: f64) {
        self.add(
            Metric::HttpRequests,
            [
                label("endpoint", labels.endpoint),
                label("method", labels.method),
                label("status", labels.status),
                label("grant_type", labels.grant_type),
                label("outcome", labels.outcome),
            ]
            .join(","),
            1,
        );
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = latency.entry(labels.endpoint).or_default();
        for (bucket, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if seconds <= *bucket {
                *count += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    fn add(&self, metric: Metric, labels: String, by: u64) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        *counters.entry((metric, labels)).or_default() += by;
    }

    /// The text exposition format (version 0.0.4), every metric in table order. A counter
    /// with no series yet is left out; the histogram and the gauges are always there.
    pub(crate) fn render(&self, gauges: &Gauges) -> String {
        let counters = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let latency = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut out = String::new();
        for spec in &METRICS {
            let name = spec.name;
            let header = |out: &mut String| {
                let _ = writeln!(out, "# HELP {name} {}", spec.help);
                let _ = writeln!(out, "# TYPE {name} {}", spec.kind.as_str());
            };
            match spec.kind {
                Kind::Counter => {
                    let mut series = counters
                        .range((spec.metric, String::new())..)
                        .take_while(|((metric, _), _)| *metric == spec.metric)
                        .peekable();
                    if series.peek().is_some() {
                        header(&mut out);
                    }
                    for ((_, labels), value) in series {
                        let _ = writeln!(out, "{name}{} {value}", braces(labels));
                    }
                }
                Kind::Histogram => {
                    header(&mut out);
                    for (endpoint, h) in &latency {
                        let endpoint = label("endpoint", endpoint);
                        for (bucket, count) in BUCKETS.iter().zip(h.counts.iter()) {
                            let _ = writeln!(
                                out,
                                "{name}_bucket{{{endpoint},le=\"{bucket}\"}} {count}"
                            );
                        }
                        let _ =
                            writeln!(out, "{name}_bucket{{{endpoint},le=\"+Inf\"}} {}", h.count);
                        let _ = writeln!(out, "{name}_sum{{{endpoint}}} {}", h.sum);
                        let _ = writeln!(out, "{name}_count{{{endpoint}}} {}", h.count);
                    }
                }
                Kind::Gauge => {
                    header(&mut out);
                    let _ = writeln!(out, "{name} {}", gauges.value(spec.metric));
                }
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_metric_order_with_one_name_each() {
        for (i, spec) in METRICS.iter().enumerate() {
            assert_eq!(spec.metric as usize, i, "{}", spec.name);
            assert!(spec.name.starts_with("grantd_"));
            assert!(spec.help.ends_with('.'));
        }
        let mut names: Vec<_> = METRICS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("k", "a\"b\\c"), "k=\"a\\\"b\\\\c\"");
    }

    /// The exposition as a scraper sees it: HELP and TYPE from the table, counters in
    /// label order, the histogram's `endpoint` before `le`, then the gauges.
    #[test]
    fn renders_the_0_0_4_text_format() {
        let registry = Registry::new();
        registry.record(DomainEvent::TokensIssued(GrantType::Password));
        registry.record(DomainEvent::ClientSecretCache { hit: true });
        registry.record(DomainEvent::PasswordCheckRefused);
        registry.request(
            RequestLabels {
                endpoint: "/oauth/token",
                method: "POST",
                status: "200",
                grant_type: "password",
                outcome: "ok",
            },
            0.02,
        );
        let text = registry.render(&Gauges {
            pool: PoolGauge {
                connections: 2,
                idle_connections: 1,
                max_size: 8,
            },
            blocking_in_flight: 1,
            blocking_waiters: 0,
            ready: true,
        });
        let expected_start = "\
# HELP grantd_client_secret_cache_total Client-secret verifications answered from the cache (hit) or hashed (miss).
# TYPE grantd_client_secret_cache_total counter
grantd_client_secret_cache_total{result=\"hit\"} 1
grantd_client_secret_cache_total{result=\"miss\"} 0
# HELP grantd_http_requests_total HTTP requests by endpoint, method, status, grant type and outcome (ok or the error code).
# TYPE grantd_http_requests_total counter
grantd_http_requests_total{endpoint=\"/oauth/token\",method=\"POST\",status=\"200\",grant_type=\"password\",outcome=\"ok\"} 1
# HELP grantd_password_checks_refused_total Password and client-secret checks refused at once because every permit was taken (503).
# TYPE grantd_password_checks_refused_total counter
grantd_password_checks_refused_total 1
# HELP grantd_rate_limited_total Attempts refused by the brute-force limits (429).
# TYPE grantd_rate_limited_total counter
grantd_rate_limited_total 0
# HELP grantd_readiness_probes_total Database probes run for /readyz (at most one a second, however many ask).
# TYPE grantd_readiness_probes_total counter
grantd_readiness_probes_total 0
";
        assert!(text.starts_with(expected_start), "{text}");
        for line in [
            "grantd_tokens_issued_total{grant_type=\"password\"} 1",
            "grantd_tokens_issued_total{grant_type=\"refresh_token\"} 0",
            "# TYPE grantd_http_request_duration_seconds histogram",
            "grantd_http_request_duration_seconds_bucket{endpoint=\"/oauth/token\",le=\"0.01\"} 0",
            "grantd_http_request_duration_seconds_bucket{endpoint=\"/oauth/token\",le=\"0.025\"} 1",
            "grantd_http_request_duration_seconds_bucket{endpoint=\"/oauth/token\",le=\"5\"} 1",
            "grantd_http_request_duration_seconds_bucket{endpoint=\"/oauth/token\",le=\"+Inf\"} 1",
            "grantd_http_request_duration_seconds_sum{endpoint=\"/oauth/token\"} 0.02",
            "grantd_http_request_duration_seconds_count{endpoint=\"/oauth/token\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        let expected_end = "\
# HELP grantd_db_pool_connections Database connections open in this process.
# TYPE grantd_db_pool_connections gauge
grantd_db_pool_connections 2
# HELP grantd_db_pool_idle_connections Open database connections idle in the pool.
# TYPE grantd_db_pool_idle_connections gauge
grantd_db_pool_idle_connections 1
# HELP grantd_db_pool_max_connections The pool's ceiling (database.pool_size).
# TYPE grantd_db_pool_max_connections gauge
grantd_db_pool_max_connections 8
# HELP grantd_blocking_in_flight Requests running blocking work (database, bcrypt) now.
# TYPE grantd_blocking_in_flight gauge
grantd_blocking_in_flight 1
# HELP grantd_blocking_waiters Requests waiting for a permit to run blocking work.
# TYPE grantd_blocking_waiters gauge
grantd_blocking_waiters 0
# HELP grantd_ready 1 while serving, 0 once shutdown has begun.
# TYPE grantd_ready gauge
grantd_ready 1
";
        assert!(text.ends_with(expected_end), "{text}");
    }
}
