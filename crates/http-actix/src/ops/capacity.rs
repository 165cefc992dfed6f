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

/// The bound on blocking work: a tokio semaphore sized to the pool, so that a burst queues
/// as futures rather than as blocking threads that hold nothing but a wait for a connection.
pub(crate) struct Capacity {
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
            permits: Semaphore::new(max_permits),
            max_permits,
            permit_timeout,
            waiting: AtomicI64::new(0),
        }
    }

    /// Runs `work` on the blocking pool once a permit is free (the one `web::block` hop of
    /// a request). The wait happens here, on the async side.
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
        web::block(work).await.map_err(|_| Busy)
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
