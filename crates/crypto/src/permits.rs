//! The password-check permit pool: a counter of free slots, taken without waiting and
//! given back when the permit drops. Sized by `security.password_check_permits`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use grantd_ports::{CheckPermit, PasswordCheckPermits};

/// At most `size` password checks at once; one more is refused at once (never queued).
#[derive(Debug, Clone)]
pub struct PermitPool {
    free: Arc<AtomicUsize>,
    size: usize,
}

impl PermitPool {
    /// A pool of `size` permits (at least one: a pool of none would refuse every login).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        Self {
            free: Arc::new(AtomicUsize::new(size)),
            size,
        }
    }

    /// Permits taken now.
    pub fn in_use(&self) -> usize {
        self.size - self.free.load(Ordering::SeqCst)
    }
}

/// Gives its slot back to the pool when the permit drops.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl PasswordCheckPermits for PermitPool {
    fn try_acquire(&self) -> Option<CheckPermit> {
        self.free
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |free| {
                free.checked_sub(1)
            })
            .ok()
            .map(|_| CheckPermit::new(Slot(self.free.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_pool_refuses_at_once_and_a_dropped_permit_frees_its_slot() {
        let pool = PermitPool::new(2);
        let a = pool.try_acquire();
        let b = pool.try_acquire();
        assert!(a.is_some() && b.is_some());
        assert_eq!(pool.in_use(), 2);
        assert!(pool.try_acquire().is_none(), "full: refused, not queued");
        drop(a);
        assert_eq!(pool.in_use(), 1);
        assert!(pool.try_acquire().is_some());
    }

    #[test]
    fn a_pool_has_at_least_one_permit() {
        let pool = PermitPool::new(0);
        let only = pool.try_acquire();
        assert!(only.is_some());
        assert!(pool.try_acquire().is_none());
    }

    #[test]
    fn clones_share_one_pool() {
        let pool = PermitPool::new(1);
        let clone = pool.clone();
        let held = pool.try_acquire();
        assert!(held.is_some());
        assert!(clone.try_acquire().is_none());
    }
}
