//! The wall clock, in whole seconds (every expiry) and milliseconds (ordering a request's
//! arrival against a rotation) since the Unix epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use grantd_ports::{Clock, UnixMillis, UnixTime};

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// Since the epoch; a clock before 1970 is a broken host, and 0 makes every token look
    /// expired, which fails safe.
    fn since_epoch() -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        i64::try_from(Self::since_epoch().as_secs()).unwrap_or(i64::MAX)
    }

    fn now_millis(&self) -> UnixMillis {
        i64::try_from(Self::since_epoch().as_millis()).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_agree_with_seconds() {
        let clock = SystemClock;
        let (before, ms, after) = (clock.now(), clock.now_millis(), clock.now());
        assert!(
            (before..=after).contains(&(ms / 1000)),
            "{before} {ms} {after}"
        );
        // Not a whole-second value stretched: two reads a few milliseconds apart differ.
        std::thread::sleep(Duration::from_millis(5));
        assert!(clock.now_millis() >= ms + 5);
    }
}
