//! The wall clock, in whole seconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

use grantd_ports::{Clock, UnixTime};

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        // A clock before 1970 is a broken host; 0 makes every token look expired, which fails safe.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }
}
