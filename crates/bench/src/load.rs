//! The load generator (`grantd-bench load ...`), run as its own process per cell: N
//! keep-alive HTTP/1.1 connections on one tokio thread, each running one scenario in a loop
//! for a fixed time, every response checked. Prints one JSON `CellResult` on stdout.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::Barrier;

/// What one connection does in a loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Password grant (bcrypt of the user's password at production cost on every request).
    Password,
    /// Refresh with rotation, confidential client: a chain per connection.
    RefreshRotateConfidential,
    /// Refresh with rotation, public client.
    RefreshRotatePublic,
    /// Refresh without rotation (server started with rotation off), confidential client.
    /// (A public client rotates whatever the setting, RFC 9700 §2.2.2: no such scenario.)
    RefreshKeepConfidential,
    /// `GET /api/me` with a bearer access token.
    ApiMe,
    /// `POST /oauth/introspect` of an access token by a resource-server client.
    Introspect,
}

impl Scenario {
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::String(s)) => s,
            _ => format!("{self:?}"),
        }
    }

    fn public(self) -> bool {
        self == Scenario::RefreshRotatePublic
    }
}

/// Credentials provisioned by the orchestrator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    pub confidential_id: String,
    pub confidential_secret: String,
    pub public_id: String,
    pub introspector_id: String,
    pub introspector_secret: String,
    /// A user at the production password cost (the password scenario).
    pub username: String,
    pub password: String,
    /// A user at the lowest bcrypt cost, only to seed each connection's token chain.
    pub seed_username: String,
    pub seed_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadArgs {
    pub addr: SocketAddr,
    pub scenario: Scenario,
    pub concurrency: usize,
    pub duration_secs: f64,
    pub credentials: Credentials,
}

/// One cell's measurements (latencies in microseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CellResult {
    pub requests: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub seconds: f64,
    pub requests_per_sec: f64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

impl CellResult {
    /// Cells run back to back as one: counts and seconds add up, the rate is theirs over
    /// the whole time, and each percentile is the worst cell's (a bound, not a merge).
    pub fn combine(cells: &[CellResult]) -> CellResult {
        let mut all = CellResult::default();
        for cell in cells {
            all.requests += cell.requests;
            all.errors += cell.errors;
            for (kind, n) in &cell.errors_by_kind {
                *all.errors_by_kind.entry(kind.clone()).or_default() += n;
            }
            all.seconds += cell.seconds;
            all.p50_us = all.p50_us.max(cell.p50_us);
            all.p90_us = all.p90_us.max(cell.p90_us);
            all.p99_us = all.p99_us.max(cell.p99_us);
            all.max_us = all.max_us.max(cell.max_us);
        }
        if all.seconds > 0.0 {
            all.requests_per_sec = all.requests as f64 / all.seconds;
        }
        all
    }
}

struct Shared {
    histogram: Histogram<u64>,
    errors: BTreeMap<String, u64>,
}

pub fn run(args: LoadArgs) -> Result<CellResult, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: LoadArgs) -> Result<CellResult, String> {
    let histogram =
        Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| format!("histogram: {e}"))?;
    let shared = Arc::new(Mutex::new(Shared {
        histogram,
        errors: BTreeMap::new(),
    }));
    let args = Arc::new(args);
    // Everyone connects and seeds first; the clock starts when the last one is ready.
    let barrier = Arc::new(Barrier::new(args.concurrency + 1));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (args, shared, barrier) = (args.clone(), shared.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            connection(&args, &shared, &barrier).await
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    for task in tasks {
        task.await.map_err(|e| format!("task: {e}"))??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let shared = shared.lock().map_err(|_| "poisoned")?;
    let h = &shared.histogram;
    let errors: u64 = shared.errors.values().sum();
    let requests = h.len() + errors;
    Ok(CellResult {
        requests,
        errors,
        errors_by_kind: shared.errors.clone(),
        seconds,
        requests_per_sec: h.len() as f64 / seconds,
        p50_us: h.value_at_quantile(0.50),
        p90_us: h.value_at_quantile(0.90),
        p99_us: h.value_at_quantile(0.99),
        max_us: h.max(),
    })
}

/// The state one connection carries from request to request.
struct Chain {
    access: String,
    refresh: String,
}

async fn connection(
    args: &LoadArgs,
    shared: &Mutex<Shared>,
    barrier: &Barrier,
) -> Result<(), String> {
    let mut sender = connect(args.addr).await;
    let creds = &args.credentials;
    let public = args.scenario.public();
    // Seed (not timed): a token chain from the low-cost seed user.
    let mut chain = match &mut sender {
        Ok(s) => seed(s, args, public).await,
        Err(e) => Err(e.clone()),
    };
    barrier.wait().await;
    let mut sender = sender?;
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration_secs);
    let basic_conf = basic(&creds.confidential_id, &creds.confidential_secret);
    let basic_intro = basic(&creds.introspector_id, &creds.introspector_secret);
    while Instant::now() < deadline {
        let current = match &chain {
            Ok(c) => c,
            Err(_) => {
                chain = seed(&mut sender, args, public).await;
                continue;
            }
        };
        let request = match args.scenario {
            Scenario::Password => token_request(
                Some(&basic_conf),
                &form(&[
                    ("grant_type", "password"),
                    ("username", &creds.username),
                    ("password", &creds.password),
                ]),
            ),
            Scenario::RefreshRotateConfidential | Scenario::RefreshKeepConfidential => {
                token_request(
                    Some(&basic_conf),
                    &form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", &current.refresh),
                    ]),
                )
            }
            Scenario::RefreshRotatePublic => token_request(
                None,
                &form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &current.refresh),
                    ("client_id", &creds.public_id),
                ]),
            ),
            Scenario::ApiMe => Request::get("/api/me")
                .header("host", "127.0.0.1")
                .header("authorization", format!("Bearer {}", current.access))
                .body(Full::new(Bytes::new())),
            Scenario::Introspect => Request::post("/oauth/introspect")
                .header("host", "127.0.0.1")
                .header("authorization", &basic_intro)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Full::new(Bytes::from(form(&[("token", &current.access)])))),
        }
        .map_err(|e| format!("request: {e}"))?;
        let t0 = Instant::now();
        let answer = send(&mut sender, request).await;
        let elapsed = t0.elapsed().as_micros().max(1) as u64;
        let checked = answer.and_then(|(status, body)| check(args.scenario, status, &body));
        let failed = {
            let mut s = shared.lock().map_err(|_| "poisoned")?;
            match checked {
                Ok(next) => {
                    // The deadline may pass mid-request; count it anyway (it was served).
                    let _ = s.histogram.record(elapsed);
                    if let Some(next) = next {
                        chain = Ok(next);
                    }
                    None
                }
                Err(kind) => {
                    *s.errors.entry(kind.clone()).or_default() += 1;
                    Some(kind)
                }
            }
        };
        if let Some(kind) = failed {
            if kind.starts_with("io") {
                sender = connect(args.addr).await?;
            }
            if matches!(
                args.scenario,
                Scenario::RefreshRotateConfidential | Scenario::RefreshRotatePublic
            ) {
                chain = Err(kind);
            }
        }
    }
    Ok(())
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(conn);
    Ok(sender)
}

async fn send(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> Result<(u16, Bytes), String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("io: {}", short(&e)))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("io: {}", short(&e)))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("io: {}", short(&e)))?
        .to_bytes();
    Ok((status, body))
}

fn short(e: &hyper::Error) -> String {
    let s = e.to_string();
    s.chars().take(60).collect()
}

async fn seed(
    sender: &mut SendRequest<Full<Bytes>>,
    args: &LoadArgs,
    public: bool,
) -> Result<Chain, String> {
    let c = &args.credentials;
    let request = if public {
        token_request(
            None,
            &form(&[
                ("grant_type", "password"),
                ("username", &c.seed_username),
                ("password", &c.seed_password),
                ("client_id", &c.public_id),
            ]),
        )
    } else {
        token_request(
            Some(&basic(&c.confidential_id, &c.confidential_secret)),
            &form(&[
                ("grant_type", "password"),
                ("username", &c.seed_username),
                ("password", &c.seed_password),
            ]),
        )
    }
    .map_err(|e| format!("request: {e}"))?;
    let (status, body) = send(sender, request).await?;
    match check(Scenario::Password, status, &body)? {
        Some(chain) => Ok(chain),
        None => Err("seed: no tokens".into()),
    }
}

fn token_request(
    authorization: Option<&str>,
    body: &str,
) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
    let mut builder = Request::post("/oauth/token")
        .header("host", "127.0.0.1")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Full::new(Bytes::from(body.to_owned())))
}

fn basic(id: &str, secret: &str) -> String {
    // RFC 6749 §2.3.1: form-urlencode each part before Base64 (ours are URL-safe already).
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// Our values are tokens, ids and plain words: only `+`, `/`, `=` and space need escaping.
fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .chars()
                .map(|c| match c {
                    '+' => "%2B".to_owned(),
                    '/' => "%2F".to_owned(),
                    '=' => "%3D".to_owned(),
                    '&' => "%26".to_owned(),
                    ' ' => "+".to_owned(),
                    c => c.to_string(),
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Checks one response. `Ok(Some(chain))` = a token response to continue with; `Ok(None)`
/// = a good answer that carries no tokens; `Err(kind)` = an error, by kind.
fn check(scenario: Scenario, status: u16, body: &[u8]) -> Result<Option<Chain>, String> {
    let json: Value =
        serde_json::from_slice(body).map_err(|_| format!("http {status} non-json"))?;
    if status != 200 {
        let error = json.get("error").and_then(Value::as_str).unwrap_or("?");
        return Err(format!("http {status} {error}"));
    }
    match scenario {
        Scenario::ApiMe => {
            if json.get("sub").and_then(Value::as_str).is_some() {
                Ok(None)
            } else {
                Err("bad /api/me body".into())
            }
        }
        Scenario::Introspect => {
            if json.get("active") == Some(&Value::Bool(true)) {
                Ok(None)
            } else {
                Err("introspection not active".into())
            }
        }
        _ => {
            let access = json.get("access_token").and_then(Value::as_str);
            let kind = json.get("token_type").and_then(Value::as_str);
            let expires = json.get("expires_in").and_then(Value::as_i64);
            let refresh = json.get("refresh_token").and_then(Value::as_str);
            let (Some(access), Some("Bearer"), Some(1..)) = (access, kind, expires) else {
                return Err("malformed token response".into());
            };
            if !access.starts_with("gat_") {
                return Err("malformed access token".into());
            }
            let keep = scenario == Scenario::RefreshKeepConfidential;
            match (keep, refresh) {
                (false, Some(r)) if r.starts_with("grt_") => Ok(Some(Chain {
                    access: access.to_owned(),
                    refresh: r.to_owned(),
                })),
                (false, _) => Err("no refresh token with rotation on".into()),
                (true, None) => Ok(None),
                (true, Some(_)) => Err("a refresh token with rotation off".into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(requests: u64, seconds: f64, p99_us: u64, errors: &[(&str, u64)]) -> CellResult {
        CellResult {
            requests,
            errors: errors.iter().map(|(_, n)| n).sum(),
            errors_by_kind: errors.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
            seconds,
            requests_per_sec: requests as f64 / seconds,
            p50_us: p99_us / 4,
            p90_us: p99_us / 2,
            p99_us,
            max_us: p99_us * 2,
        }
    }

    #[test]
    fn combined_cells_add_up_and_keep_the_worst_percentiles() {
        let all = CellResult::combine(&[
            cell(4_000, 2.0, 9_000, &[("503", 1)]),
            cell(1_000, 1.0, 20_000, &[("503", 2), ("timeout", 1)]),
        ]);
        assert_eq!((all.requests, all.errors), (5_000, 4));
        assert_eq!(all.errors_by_kind["503"], 3);
        assert!((all.requests_per_sec - 5_000.0 / 3.0).abs() < 1e-9);
        assert_eq!((all.p99_us, all.max_us), (20_000, 40_000));
        assert_eq!(CellResult::combine(&[]).requests_per_sec, 0.0);
    }
}
