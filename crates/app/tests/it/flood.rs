//! A bcrypt flood beside the hot path, through the binary on Postgres (about 15 s): while
//! 32 connections send wrong passwords for random usernames at bcrypt cost 10, refreshes,
//! introspection and `/api/me` on other connections keep answering 200, with a median
//! under 100 ms and p99 under 1 s. The bounds tell served from starved (a request queued
//! behind the flood's bcrypts would wait for seconds or time out) and leave the fine
//! figures to `cargo xtask bench`: the machine is shared, and a tail of a few requests
//! moves with whatever else runs on it. The password checks run under their own small permit pool
//! (`security.password_check_permits`, one per core) on low-priority threads; a flood
//! beyond the pool is refused at once with 503, so it takes neither the blocking work's
//! capacity nor, beyond the pool's bcrypts, the CPU. The brute-force limits are set high
//! here, so that this measures the permit pool and nothing else. The figures are printed
//! (`-- --nocapture`) for the record.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use grantd_testkit::{Backend, TestDb};
use serde_json::Value;

use crate::support::*;

const FLOODERS: usize = 32;
const FLOOD: Duration = Duration::from_secs(10);
/// Let the flood fill every queue before measuring.
const WARM_UP: Duration = Duration::from_millis(1500);
const MEDIAN_LIMIT: Duration = Duration::from_millis(100);
const P99_LIMIT: Duration = Duration::from_secs(1);

/// What one kind of measured request saw.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    ok: usize,
    failures: Vec<(u16, Value)>,
}

impl Tally {
    fn record(&mut self, started: Instant, status: u16, body: Value) {
        self.latencies.push(started.elapsed());
        if status == 200 {
            self.ok += 1;
        } else {
            self.failures.push((status, body));
        }
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    fn report(&self, name: &str) -> String {
        format!(
            "{name}: {} requests, {:.1}% 200, p50 {:?}, p99 {:?}, max {:?}",
            self.latencies.len(),
            100.0 * self.ok as f64 / self.latencies.len().max(1) as f64,
            self.percentile(50.0),
            self.percentile(99.0),
            self.percentile(100.0),
        )
    }
}

type Step<'a> = Box<dyn FnMut(&mut Tally) + Send + 'a>;

/// Runs `step` every 20 ms until `stop`, counting only what it saw while `measuring`.
fn measured<'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    stop: &'scope AtomicBool,
    measuring: &'scope AtomicBool,
    mut step: Step<'scope>,
) -> std::thread::ScopedJoinHandle<'scope, Tally> {
    s.spawn(move || {
        let mut tally = Tally::default();
        let mut warm = Tally::default();
        while !stop.load(Ordering::Relaxed) {
            if measuring.load(Ordering::Relaxed) {
                step(&mut tally);
            } else {
                step(&mut warm);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        tally
    })
}

/// One flooding connection, as an attacker's would be: a raw HTTP/1.1 keep-alive
/// connection sending wrong passwords for fresh usernames as fast as it is answered
/// (ignoring Retry-After), so that the test's own client costs little CPU.
fn flood(
    base: &str,
    client: (&str, &str),
    flooder: usize,
    stop: &AtomicBool,
    sent: &AtomicU64,
    busy: &AtomicU64,
) {
    use base64::Engine as _;
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};

    // The attacker's CPU is not the server's: a remote flooder's client costs this host
    // nothing, so the test's stand-in runs at the lowest priority.
    let _ = rustix::process::nice(19);
    let address = base.trim_start_matches("http://").to_owned();
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", client.0, client.1));
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        'connection: while !stop.load(Ordering::Relaxed) {
            n += 1;
            let body =
                format!("grant_type=password&username=guess-{flooder}-{n}&password=wrong-{n}");
            let request = format!(
                "POST /oauth/token HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {basic}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if writer.write_all(request.as_bytes()).is_err() {
                break;
            }
            let (mut status, mut length, mut close) = (0u16, 0usize, false);
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break 'connection;
                }
                let header = line.trim_end().to_ascii_lowercase();
                if header.is_empty() {
                    break;
                }
                if let Some(code) = header.strip_prefix("http/1.1 ") {
                    status = code.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                } else if let Some(v) = header.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                } else if header == "connection: close" {
                    close = true;
                }
            }
            let mut discard = vec![0; length];
            if reader.read_exact(&mut discard).is_err() {
                break;
            }
            sent.fetch_add(1, Ordering::Relaxed);
            if status == 503 {
                busy.fetch_add(1, Ordering::Relaxed);
            }
            if close {
                break;
            }
        }
    }
}

/// A client of its own: one kept-alive connection per measuring or flooding thread.
fn connection() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .build()
        .unwrap()
}

#[test]
fn a_password_flood_leaves_refreshes_introspection_and_the_resource_fast() {
    // Timed: no other process test of this binary runs beside it.
    let _alone = crate::support::heavy();
    let db = TestDb::empty(Backend::Postgres);
    let mut env = env(Some(db.url().to_owned()));
    env.set("GRANTD_SECURITY__PASSWORD_BCRYPT_COST", "10")
        .set("GRANTD_SECURITY__CLIENT_SECRET_BCRYPT_COST", "10")
        .set("GRANTD_RATE_LIMIT__MAX_FAILED_PASSWORD_ATTEMPTS", "1000000")
        .set(
            "GRANTD_RATE_LIMIT__MAX_FAILED_CLIENT_AUTHENTICATIONS",
            "1000000",
        )
        // The per-source and per-account budgets would answer the flood with 429 before
        // any bcrypt: off, so that this measures the password-check permits.
        .set("GRANTD_RATE_LIMIT__MAX_FAILURES_PER_SOURCE", "0")
        .set("GRANTD_RATE_LIMIT__MAX_FAILURES_PER_ACCOUNT", "0")
        // One access line per request would measure the logger too.
        .set("GRANTD_LOG__LEVEL", "warn");
    env.run_ok(&["migrate"]);
    let (id, secret) = env.create_client();
    env.create_user("alice", "wonderland");
    let server = env.serve("flood");
    let client = (id.as_str(), secret.as_str());
    let base = server.base.as_str();

    // The measured sessions start before the flood (their logins are not measured).
    let http = connection();
    let grant = || {
        let (status, body) = login(&http, base, client, ("alice", "wonderland"));
        assert_eq!(status, 200, "{body}");
        body
    };
    let first = grant();
    let second = grant();
    let access = first["access_token"].as_str().unwrap().to_owned();

    let stop = AtomicBool::new(false);
    let measuring = AtomicBool::new(false);
    let flood_sent = AtomicU64::new(0);
    let flood_busy = AtomicU64::new(0);
    let started = Instant::now();
    let (refreshes, introspections, resources) = std::thread::scope(|s| {
        for flooder in 0..FLOODERS {
            let (stop, sent, busy) = (&stop, &flood_sent, &flood_busy);
            s.spawn(move || flood(base, client, flooder, stop, sent, busy));
        }
        let measure = |step| measured(s, &stop, &measuring, step);
        let refreshers: Vec<_> = [first.clone(), second]
            .into_iter()
            .map(|grant| {
                let http = connection();
                let mut current = grant["refresh_token"].as_str().unwrap().to_owned();
                measure(Box::new(move |tally: &mut Tally| {
                    let at = Instant::now();
                    let (status, body) = refresh(&http, base, client, &current);
                    if let Some(next) = body["refresh_token"].as_str() {
                        current = next.to_owned();
                    }
                    tally.record(at, status, body);
                }))
            })
            .collect();
        let introspector = {
            let http = connection();
            let access = access.clone();
            measure(Box::new(move |tally: &mut Tally| {
                let at = Instant::now();
                let (status, body) = json(post_form(
                    &http,
                    &format!("{base}/oauth/introspect"),
                    client,
                    &format!("token={access}"),
                ));
                let active = body["active"] == true;
                tally.record(at, if active { status } else { 599 }, body);
            }))
        };
        let resource = {
            let http = connection();
            let access = access.clone();
            measure(Box::new(move |tally: &mut Tally| {
                let at = Instant::now();
                let response = http
                    .get(format!("{base}/api/me"))
                    .bearer_auth(&access)
                    .send()
                    .unwrap();
                let (status, body) = json(response);
                tally.record(at, status, body);
            }))
        };
        std::thread::sleep(WARM_UP);
        measuring.store(true, Ordering::Relaxed);
        std::thread::sleep(FLOOD);
        stop.store(true, Ordering::Relaxed);
        let mut refreshes = Tally::default();
        for r in refreshers {
            let t = r.join().unwrap();
            refreshes.latencies.extend(t.latencies);
            refreshes.ok += t.ok;
            refreshes.failures.extend(t.failures);
        }
        (
            refreshes,
            introspector.join().unwrap(),
            resource.join().unwrap(),
        )
    });
    let elapsed = started.elapsed().as_secs_f64();
    let sent = flood_sent.load(Ordering::Relaxed);
    let busy = flood_busy.load(Ordering::Relaxed);
    let figures = [
        refreshes.report("refresh"),
        introspections.report("introspection"),
        resources.report("/api/me"),
        format!(
            "flood: {sent} wrong passwords in {elapsed:.1} s ({:.0}/s), {busy} answered 503",
            sent as f64 / elapsed
        ),
    ]
    .join("\n");
    eprintln!("{figures}");

    for (name, tally) in [
        ("refresh", &refreshes),
        ("introspection", &introspections),
        ("/api/me", &resources),
    ] {
        assert!(
            tally.latencies.len() >= 20,
            "{name}: too few requests\n{figures}"
        );
        assert!(
            tally.failures.is_empty(),
            "{name}: every request must answer 200: {:?}\n{figures}",
            &tally.failures[..tally.failures.len().min(5)]
        );
        assert!(
            tally.percentile(50.0) < MEDIAN_LIMIT,
            "{name}: median over {MEDIAN_LIMIT:?}\n{figures}"
        );
        assert!(
            tally.percentile(99.0) < P99_LIMIT,
            "{name}: p99 over {P99_LIMIT:?}\n{figures}"
        );
    }
}
