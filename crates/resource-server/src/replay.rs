//! The DPoP replay check (RFC 9449 §11.1): a proof's `jti` is accepted once per key
//! within the `iat` window. [`ReplayCache`] is the store; [`MemoryReplayCache`], the
//! default, is this process's own, so several resource-server instances each keep theirs
//! and a proof replayed to another instance is not caught unless they share one store.

use std::future::{ready, Future};
use std::pin::Pin;
use std::sync::Mutex;

use crate::cache::TtlCache;

/// A shared store could not be asked: the request gets a 503, never a pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the DPoP replay cache is unavailable: {0}")]
pub struct ReplayCacheError(pub String);

/// Where seen proofs are recorded. Implement it over a store the instances share (Redis,
/// a database) to catch a proof replayed to another instance.
pub trait ReplayCache: Send + Sync + 'static {
    /// Records `key` (the SHA-256 of the proof's key thumbprint and `jti`) until `until`
    /// (Unix seconds), atomically: `Ok(true)` if it was not recorded yet, `Ok(false)` if it
    /// was (a replay).
    fn first_use(
        &self,
        key: [u8; 32],
        until: i64,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<bool, ReplayCacheError>> + Send + '_>>;
}

/// The in-memory store, bounded: when it holds `max_entries` live proofs, the one whose
/// window ends soonest is dropped (a replay of it would be caught no more), so set the
/// bound above the proofs this instance sees per window.
pub struct MemoryReplayCache {
    seen: Mutex<TtlCache<()>>,
}

impl MemoryReplayCache {
    pub fn new(max_entries: usize) -> Self {
        Self {
            seen: Mutex::new(TtlCache::new(max_entries)),
        }
    }
}

impl ReplayCache for MemoryReplayCache {
    fn first_use(
        &self,
        key: [u8; 32],
        until: i64,
        now: i64,
    ) -> Pin<Box<dyn Future<Output = Result<bool, ReplayCacheError>> + Send + '_>> {
        let mut seen = match self.seen.lock() {
            Ok(seen) => seen,
            Err(poisoned) => poisoned.into_inner(),
        };
        let new = seen.get(&key, now).is_none();
        if new {
            seen.insert(key, (), until, now);
        }
        Box::pin(ready(Ok(new)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_new_once_until_its_window_ends() {
        let cache = MemoryReplayCache::new(10);
        assert_eq!(cache.first_use([1; 32], 160, 100).await, Ok(true));
        assert_eq!(cache.first_use([1; 32], 160, 150).await, Ok(false));
        assert_eq!(cache.first_use([2; 32], 160, 150).await, Ok(true));
        assert_eq!(
            cache.first_use([1; 32], 220, 160).await,
            Ok(true),
            "the window ended"
        );
    }

    #[tokio::test]
    async fn it_never_holds_more_than_its_bound() {
        let cache = MemoryReplayCache::new(2);
        for i in 0..5u8 {
            assert_eq!(
                cache.first_use([i; 32], 200 + i64::from(i), 100).await,
                Ok(true)
            );
        }
        let held = cache.seen.lock().unwrap().len();
        assert!(held <= 2, "{held}");
        assert_eq!(cache.first_use([4; 32], 300, 100).await, Ok(false));
    }
}
