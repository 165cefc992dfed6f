//! `TestClock`: a `Clock` the test moves forward; it starts at the real time, so that
//! tokens it stamps also make sense to the database's own `now()`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use grantd_ports::{Clock, UnixMillis, UnixTime};

/// Cheap to clone: every clone shows (and moves) the same time, kept in milliseconds.
///
/// The seconds stand still until the test moves them, but every read of the milliseconds
/// moves the clock on by one, as a real clock would have moved between two events: two
/// requests in sequence are ordered in time (a replay after a rotation is later than it),
/// while [`Clock::now`] only changes after a thousand such reads in one second.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    /// A clock at the real time now (at the start of its second).
    pub fn now_real() -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        Self(Arc::new(AtomicI64::new(now * 1000)))
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs * 1000, Ordering::SeqCst);
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::now_real()
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst).div_euclid(1000)
    }

    fn now_millis(&self) -> UnixMillis {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_order_reads_and_agree_with_the_seconds() {
        let clock = TestClock::now_real();
        let second = clock.now();
        let (a, b) = (clock.now_millis(), clock.now_millis());
        assert!(a < b);
        assert_eq!((a / 1000, b / 1000), (second, second));
        clock.advance(2);
        assert_eq!(clock.now(), second + 2);
        assert!(clock.now_millis() > b + 2000);
    }
}
