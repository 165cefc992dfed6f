//! Health: `/healthz` (the process is alive), `/readyz` (it can reach its database and is
//! not shutting down), and the draining flag that shutdown sets first.
//!
//! `/readyz` answers from a database probe at most [`PROBE_MAX_AGE`] old. However many
//! ask, at most one probe runs at a time (single flight), started by the first request
//! that finds the last result too old; the others wait for that one. So a burst of
//! readiness checks (every load balancer, every few hundred milliseconds) costs at most
//! one blocking ping a second, never a blocking hop per request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, HttpResponse};
use serde_json::json;
use tokio::sync::watch;

use crate::errors::OAuthError;
use crate::ops::Operations;
use crate::HttpState;

/// The oldest probe result `/readyz` answers from.
pub(crate) const PROBE_MAX_AGE: Duration = Duration::from_secs(1);

/// How long a request waits for the probe in flight before it answers "not ready": a
/// database that takes longer to answer a ping is not one to route traffic to.
const PROBE_WAIT: Duration = Duration::from_secs(5);

/// Set once shutdown has begun: `/readyz` answers 503 from then on, so that a load
/// balancer stops sending new requests while the in-flight ones finish.
#[derive(Debug, Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// One probe's answer and when it came.
#[derive(Debug, Clone, Copy)]
struct Probed {
    at: Instant,
    ready: bool,
}

impl Probed {
    fn fresh(self) -> bool {
        self.at.elapsed() < PROBE_MAX_AGE
    }
}

/// The last probe's result (published to every waiting request) and whether a probe is
/// running; one per process, in [`Operations`].
#[derive(Debug)]
pub(crate) struct ReadinessProbe {
    results: watch::Sender<Option<Probed>>,
    /// Taken together with the freshness check, so that two requests never both start.
    running: Mutex<bool>,
}

impl Default for ReadinessProbe {
    fn default() -> Self {
        Self {
            results: watch::Sender::new(None),
            running: Mutex::new(false),
        }
    }
}

impl ReadinessProbe {
    /// Whether to start a probe now: no fresh result and none running. Marks it running.
    fn claim(&self) -> bool {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = self.results.borrow().is_some_and(Probed::fresh);
        if fresh || *running {
            return false;
        }
        *running = true;
        true
    }

    /// Publishes a probe's result and lets the next one start.
    fn finish(&self, ready: bool) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        self.results.send_replace(Some(Probed {
            at: Instant::now(),
            ready,
        }));
        *running = false;
    }
}

/// Ends the probe as "not ready" if its task is dropped before it finished (the runtime
/// stopping), so that no later request waits on a probe that will never come.
struct Unfinished(Option<Arc<Operations>>);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if let Some(ops) = self.0.take() {
            ops.readiness_probe().finish(false);
        }
    }
}

/// Whether the database answered a probe at most [`PROBE_MAX_AGE`] ago, starting the one
/// probe if needed. The probe is a task of its own, so that a client hanging up cannot
/// leave it half done.
async fn database_ready(state: &HttpState) -> bool {
    let asked = Instant::now();
    let probe = state.ops.readiness_probe();
    let mut results = probe.results.subscribe();
    if probe.claim() {
        let ops = state.ops.clone();
        let check = state.readiness.clone();
        actix_web::rt::spawn(async move {
            let mut unfinished = Unfinished(Some(ops.clone()));
            // The ping blocks, but takes no permit: readiness must answer even when every
            // permit is taken.
            let ready = web::block(move || check()).await.unwrap_or(false);
            ops.registry().readiness_probe();
            unfinished.0 = None;
            ops.readiness_probe().finish(ready);
        });
    }
    // A result published since this request asked will do, even if a busy worker only
    // sees it after it has aged past the limit.
    let fresh = results.wait_for(|r| r.is_some_and(|r| r.fresh() || r.at >= asked));
    let ready = match tokio::time::timeout(PROBE_WAIT, fresh).await {
        Ok(Ok(result)) => result.is_some_and(|r| r.ready),
        _ => false,
    };
    ready
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

pub async fn readyz(state: web::Data<HttpState>) -> Result<HttpResponse, OAuthError> {
    // Shutting down: not ready, whatever the database says.
    if state.ops.draining().is_draining() {
        return Err(OAuthError::unavailable());
    }
    if database_ready(&state).await {
        Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
    } else {
        Err(OAuthError::unavailable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_probe_starts_until_it_finishes_and_a_fresh_result_needs_none() {
        let probe = ReadinessProbe::default();
        assert!(probe.claim());
        assert!(!probe.claim(), "one probe at a time");
        probe.finish(true);
        assert!(!probe.claim(), "a fresh result needs no probe");
        assert!(probe.results.borrow().is_some_and(|r| r.ready));
    }

    #[test]
    fn a_result_older_than_the_max_age_is_probed_again() {
        let probe = ReadinessProbe::default();
        probe.results.send_replace(Some(Probed {
            at: Instant::now() - PROBE_MAX_AGE,
            ready: true,
        }));
        assert!(probe.claim());
    }
}
