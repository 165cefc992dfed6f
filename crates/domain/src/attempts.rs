//! Brute-force protection (RFC 6749 §2.3.1, §4.3.2: the endpoint "MUST protect ... against
//! brute force attacks"): failed attempts are counted per key (one username, one client id)
//! in a fixed window; at the limit, further attempts for that key are refused until the
//! window ends. Successes are never counted, and other keys are unaffected.
//!
//! Counts live in this process's memory: with N instances behind a load balancer the
//! effective limit is up to N times the configured one.

use std::collections::HashMap;
use std::sync::Mutex;

use grantd_ports::UnixTime;

/// How many failures a key may have per window; `max_failures == 0` turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimit {
    pub max_failures: u32,
    pub window_secs: i64,
}

/// Keys tracked at most; beyond it expired windows are dropped first, then the oldest.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start: UnixTime,
    failures: u32,
}

#[derive(Debug)]
pub struct FailureLimiter {
    limit: AttemptLimit,
    windows: Mutex<HashMap<String, Window>>,
}

impl FailureLimiter {
    pub fn new(limit: AttemptLimit) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after_secs)` if `key` has used up its failures in the current window.
    pub fn check(&self, key: &str, now: UnixTime) -> Result<(), i64> {
        if self.limit.max_failures == 0 {
            return Ok(());
        }
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(key) {
            Some(w)
                if now < w.start + self.limit.window_secs
                    && w.failures >= self.limit.max_failures =>
            {
                Err((w.start + self.limit.window_secs - now).max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure for `key`.
    pub fn record_failure(&self, key: &str, now: UnixTime) {
        if self.limit.max_failures == 0 {
            return;
        }
        let window_secs = self.limit.window_secs;
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_KEYS && !windows.contains_key(key) {
            windows.retain(|_, w| now < w.start + window_secs);
            if windows.len() >= MAX_KEYS {
                if let Some(oldest) = windows
                    .iter()
                    .min_by_key(|(_, w)| w.start)
                    .map(|(k, _)| k.clone())
                {
                    windows.remove(&oldest);
                }
            }
        }
        let w = windows.entry(key.to_owned()).or_insert(Window {
            start: now,
            failures: 0,
        });
        if now >= w.start + window_secs {
            *w = Window {
                start: now,
                failures: 0,
            };
        }
        w.failures = w.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_max_failures_until_the_window_ends() {
        let l = FailureLimiter::new(AttemptLimit {
            max_failures: 3,
            window_secs: 60,
        });
        for _ in 0..3 {
            assert!(l.check("u:a", 100).is_ok());
            l.record_failure("u:a", 100);
        }
        assert_eq!(l.check("u:a", 110), Err(50));
        assert!(l.check("u:b", 110).is_ok(), "other keys are unaffected");
        assert!(l.check("u:a", 160).is_ok(), "a new window starts");
    }

    #[test]
    fn zero_turns_it_off() {
        let l = FailureLimiter::new(AttemptLimit {
            max_failures: 0,
            window_secs: 60,
        });
        for _ in 0..100 {
            l.record_failure("k", 1);
        }
        assert!(l.check("k", 1).is_ok());
    }
}
