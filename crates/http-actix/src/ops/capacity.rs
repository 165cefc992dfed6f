//! How much one request may take of the process: a permit to run blocking work (pool
//! checkout, queries, bcrypt), waited for on the async side, and the size of its headers.
//! It answers with [`Busy`] or [`HeadersTooLarge`], never with an HTTP response:
//! `errors.rs` maps both.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use actix_web::web;
use tokio::sync::Semaphore;

/// No permit for blocking work within the timeout, or the blocking pool failed the work:
/// the request may be retried (503).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no capacity for blocking work")]
pub struct Busy;

/// Where a request's blocking work runs once it has a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockingWork {
    /// On tokio's blocking pool (`web::block`): a worker never blocks, so a hung database
    /// or a bcrypt check stalls only the request that waits for it.
    #[default]
    Pool,
    /// On the actix worker itself: no hand-off to another thread and back, which was a
    /// fifth of the CPU of a refresh. The worker blocks meanwhile, so the process should
    /// have as many workers as pool connections, and a request queued on the same worker
    /// (keep-alive connections stay on theirs) waits for the one that blocks.
    Workers,
}

/// The bound on blocking work: a tokio semaphore sized to the pool, so that a burst queues
/// as futures rather than as blocking threads that hold nothing but a wait for a connection.
pub(crate) struct Capacity {
    mode: BlockingWork,
    permits: Semaphore,
    max_permits: usize,
    permit_timeout: Duration,
    waiting: AtomicI64,
}

impl Capacity {
    /// `max_blocking` permits (at least one); a request waits at most `permit_timeout`.
    pub(crate) fn new(max_blocking: usize, permit_timeout: Duration) -> Self {
        let max_permits = max_blocking.max(1);
        Self {
            mode: BlockingWork::Pool,
            permits: Semaphore::new(max_permits),
            max_permits,
            permit_timeout,
            waiting: AtomicI64::new(0),
        }
    }

    /// Runs the blocking work where `mode` says.
    pub(crate) fn with_mode(mut self, mode: BlockingWork) -> Self {
        self.mode = mode;
        self
    }

    /// Runs `work` once a permit is free: on the blocking pool (the one `web::block` hop
    /// of a request) or, with [`BlockingWork::Workers`], right here on the worker. The
    /// wait for the permit happens on the async side either way.
    pub(crate) async fn run<F, R>(&self, work: F) -> Result<R, Busy>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let permit = tokio::time::timeout(self.permit_timeout, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let Ok(Ok(_permit)) = permit else {
            tracing::warn!("no capacity for blocking work within the timeout");
            return Err(Busy);
        };
        match self.mode {
            BlockingWork::Pool => web::block(work).await.map_err(|_| Busy),
            // A panic ends as the pool's does (`Busy`, a 503), not as the worker's death.
            BlockingWork::Workers => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).map_err(|_| Busy)
            }
        }
    }

    /// Requests running blocking work now.
    pub(crate) fn in_flight(&self) -> u64 {
        (self.max_permits - self.permits.available_permits()) as u64
    }

    /// Requests waiting for a permit now.
    pub(crate) fn waiters(&self) -> u64 {
        self.waiting.load(Ordering::SeqCst).max(0) as u64
    }
}

/// The request's header names and values add up to more than the limit (431).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request headers are too large")]
pub struct HeadersTooLarge;

/// Requests whose header names and values add up to more than this many bytes get 431.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderLimit(pub usize);

impl Default for HeaderLimit {
    fn default() -> Self {
        Self(8 * 1024)
    }
}

impl HeaderLimit {
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), HeadersTooLarge> {
        let bytes: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        if bytes <= self.0 {
            Ok(())
        } else {
            Err(HeadersTooLarge)
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    #[actix_web::test]
    async fn blocking_work_runs_on_the_pool_or_on_the_worker_as_configured() {
        let here = std::thread::current().id();
        let on = |mode| async move {
            Capacity::new(1, Duration::from_secs(1))
                .with_mode(mode)
                .run(|| std::thread::current().id())
                .await
                .unwrap()
        };
        assert_ne!(on(BlockingWork::Pool).await, here);
        assert_eq!(on(BlockingWork::Workers).await, here);
    }

    #[actix_web::test]
    async fn a_panic_in_the_work_is_busy_in_either_mode() {
        for mode in [BlockingWork::Pool, BlockingWork::Workers] {
            let capacity = Capacity::new(1, Duration::from_secs(1)).with_mode(mode);
            let outcome = capacity.run(|| -> () { panic!("a bug in the work") }).await;
            assert_eq!(outcome, Err(Busy), "{mode:?}");
            assert_eq!(capacity.in_flight(), 0, "{mode:?}: the permit is back");
        }
    }

    #[actix_web::test]
    async fn a_request_without_a_permit_is_busy_in_either_mode() {
        for mode in [BlockingWork::Pool, BlockingWork::Workers] {
            let capacity = Capacity::new(1, Duration::from_millis(50)).with_mode(mode);
            let _held = capacity.permits.acquire().await.unwrap();
            assert_eq!(capacity.run(|| ()).await, Err(Busy), "{mode:?}");
        }
    }

    #[test]
    fn the_header_limit_counts_names_and_values() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-a"),
            HeaderValue::from_static("12345"),
        );
        assert_eq!(HeaderLimit(8).check(&headers), Ok(()));
        assert_eq!(HeaderLimit(7).check(&headers), Err(HeadersTooLarge));
    }
}
