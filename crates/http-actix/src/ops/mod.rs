//! Running as a service: the one [`Operations`] value per process that every worker
//! shares. It holds the metrics registry (`metrics`), the bound on blocking work and the
//! header limit (`capacity`), the draining flag and the readiness probe (`crate::health`);
//! `middleware` observes every request with it, and `GET /metrics` renders it. It
//! implements the ports' `Metrics`, so the domain reports its events here without naming a
//! metrics library.

mod capacity;
mod metrics;
mod middleware;

use std::time::Duration;

use actix_web::{web, HttpResponse};
use grantd_ports::{DomainEvent, Metrics};

use crate::health::{Draining, ReadinessProbe};
use crate::HttpState;

pub use capacity::{BlockingWork, Busy, HeadersTooLarge};
pub use metrics::PoolGauge;
pub use middleware::REQUEST_ID_HEADER;
pub(crate) use middleware::{observe, ErrorCodeLabel, GrantTypeLabel};

use capacity::{Capacity, HeaderLimit};
use metrics::{Gauges, Registry};

type PoolProbe = Box<dyn Fn() -> PoolGauge + Send + Sync>;

/// Operational state shared by every worker: metrics, the blocking-work permits, limits.
pub struct Operations {
    capacity: Capacity,
    header_limit: HeaderLimit,
    draining: Draining,
    readiness_probe: ReadinessProbe,
    pool_probe: Option<PoolProbe>,
    registry: Registry,
}

impl Operations {
    /// `max_blocking`: requests that may run blocking work (pool checkout, queries, bcrypt)
    /// at once, normally the pool size; the rest wait on the async side, at most
    /// `permit_timeout`, then get 503.
    pub fn new(max_blocking: usize, permit_timeout: Duration) -> Self {
        Self {
            capacity: Capacity::new(max_blocking, permit_timeout),
            header_limit: HeaderLimit::default(),
            draining: Draining::default(),
            readiness_probe: ReadinessProbe::default(),
            pool_probe: None,
            registry: Registry::new(),
        }
    }

    /// Reports the pool's size on `/metrics`.
    pub fn with_pool_probe(
        mut self,
        probe: impl Fn() -> PoolGauge + Send + Sync + 'static,
    ) -> Self {
        self.pool_probe = Some(Box::new(probe));
        self
    }

    /// Where blocking work runs (the blocking pool unless set).
    pub fn with_blocking_work(mut self, mode: BlockingWork) -> Self {
        self.capacity = self.capacity.with_mode(mode);
        self
    }

    /// Requests whose header names and values add up to more than this get 431.
    pub fn with_max_header_bytes(mut self, max: usize) -> Self {
        self.header_limit = HeaderLimit(max);
        self
    }

    /// Whether shutdown has begun (`/readyz` and `grantd_ready` read it; `run` sets it).
    pub fn draining(&self) -> &Draining {
        &self.draining
    }

    /// Runs blocking work (the one `web::block` hop of a request, or on the worker with
    /// [`BlockingWork::Workers`]) once a permit is free.
    /// The wait happens on the async side, so a burst never piles up on the blocking
    /// threads; a request that waits longer than the permit timeout is [`Busy`] (503).
    pub async fn blocking<F, R>(&self, work: F) -> Result<R, Busy>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.capacity.run(work).await
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let pool = self
            .pool_probe
            .as_ref()
            .map(|probe| probe())
            .unwrap_or_default();
        self.registry.render(&Gauges {
            pool,
            blocking_in_flight: self.capacity.in_flight(),
            blocking_waiters: self.capacity.waiters(),
            ready: !self.draining.is_draining(),
        })
    }

    /// The last `/readyz` database probe (see `crate::health`).
    pub(crate) fn readiness_probe(&self) -> &ReadinessProbe {
        &self.readiness_probe
    }

    pub(crate) fn header_limit(&self) -> HeaderLimit {
        self.header_limit
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }
}

impl Metrics for Operations {
    fn record(&self, event: DomainEvent) {
        self.registry.record(event);
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn scrape(state: web::Data<HttpState>) -> HttpResponse {
    // The pool probe takes r2d2's lock briefly; cheap enough for the async side.
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.ops.render())
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
        until(|| ops.capacity.in_flight() == 1).await;
        let waiter = {
            let ops = ops.clone();
            actix_web::rt::spawn(async move { ops.blocking(|| 7).await })
        };
        until(|| ops.capacity.waiters() == 1).await;
        let text = ops.render();
        assert!(text.contains("grantd_blocking_waiters 1"), "{text}");
        assert!(text.contains("grantd_blocking_in_flight 1"), "{text}");
        release.send(()).unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 7);
        assert!(ops.render().contains("grantd_blocking_waiters 0"));
    }

    #[actix_web::test]
    async fn a_request_that_waits_too_long_for_a_permit_is_busy() {
        // Busy is a 503 temporarily_unavailable (errors::tests).
        let ops = Arc::new(Operations::new(1, Duration::from_millis(100)));
        let release = occupy(&ops);
        until(|| ops.capacity.in_flight() == 1).await;
        assert_eq!(ops.blocking(|| ()).await, Err(Busy));
        release.send(()).unwrap();
        until(|| ops.capacity.in_flight() == 0).await;
        assert!(ops.blocking(|| ()).await.is_ok());
    }

    #[test]
    fn draining_turns_the_ready_gauge_to_0() {
        let ops = Operations::new(1, Duration::from_secs(1));
        assert!(ops.render().contains("grantd_ready 1"));
        ops.draining().start();
        assert!(ops.render().contains("grantd_ready 0"));
    }
}
