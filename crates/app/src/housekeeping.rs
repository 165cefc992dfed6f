//! `grantd prune` and the periodic prune of `serve`: delete what has expired through the
//! store's `Housekeeping` port, and report the counts. [`Housekeeper`] is the thread that
//! runs the periodic prune while serving.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use grantd_crypto::SystemClock;
use grantd_ports::{Clock, Housekeeping, PrunePace, PruneReport};
use serde::Serialize;

use crate::config::HousekeepingConfig;

/// What a prune deleted, as printed by `grantd prune`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PruneCounts {
    pub grants: u64,
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub authorization_codes: u64,
    /// Brute-force counters whose window had ended.
    pub auth_failures: u64,
    /// DPoP proof `jti` records whose window had ended.
    pub dpop_jtis: u64,
}

impl From<PruneReport> for PruneCounts {
    fn from(r: PruneReport) -> Self {
        Self {
            grants: r.grants,
            access_tokens: r.access_tokens,
            refresh_tokens: r.refresh_tokens,
            authorization_codes: r.authorization_codes,
            auth_failures: r.auth_failures,
            dpop_jtis: r.dpop_jtis,
        }
    }
}

/// One prune at the clock's `now`, at `pace`.
pub fn prune(
    store: &dyn Housekeeping,
    clock: &dyn Clock,
    pace: PrunePace,
) -> anyhow::Result<PruneCounts> {
    let report = store.prune(clock.now(), pace)?;
    tracing::info!(
        grants = report.grants,
        access_tokens = report.access_tokens,
        refresh_tokens = report.refresh_tokens,
        authorization_codes = report.authorization_codes,
        auth_failures = report.auth_failures,
        dpop_jtis = report.dpop_jtis,
        "pruned expired rows"
    );
    Ok(report.into())
}

/// One periodic prune: a failure (the database is down) is logged and retried next time.
pub fn prune_once(store: &dyn Housekeeping, clock: &dyn Clock, pace: PrunePace) {
    if let Err(error) = prune(store, clock, pace) {
        tracing::warn!(error = %error, "prune failed; retrying at the next interval");
    }
}

/// The periodic prune of `[housekeeping]`, on a thread of its own so that it never holds
/// an HTTP worker; each batch is a short transaction on one pooled connection. Dropping it
/// stops the thread at once (not at the next interval) and drops the store with it.
pub struct Housekeeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Housekeeper {
    /// Starts the thread, or nothing when `prune_interval` is 0.
    pub fn start(config: &HousekeepingConfig, store: impl Housekeeping) -> Self {
        let interval = config.prune_interval;
        if interval == 0 {
            return Self {
                stop: None,
                thread: None,
            };
        }
        let pace = config.prune_pace();
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("grantd-prune".into())
            .spawn(move || {
                // Ends when `stop` is dropped (Disconnected) or sent to.
                while let Err(RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Duration::from_secs(interval))
                {
                    prune_once(&store, &SystemClock, pace);
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Housekeeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use grantd_ports::{MockClock, MockHousekeeping, StoreError};

    use super::*;

    #[test]
    fn prune_passes_now_and_the_pace_and_reports_counts() {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(42_i64);
        let mut store = MockHousekeeping::new();
        store
            .expect_prune()
            .withf(|now, pace| {
                *now == 42
                    && *pace
                        == PrunePace {
                            batch: 7,
                            pause_percent: 100,
                        }
            })
            .times(1)
            .returning(|_, _| {
                Ok(PruneReport {
                    grants: 1,
                    access_tokens: 2,
                    refresh_tokens: 3,
                    authorization_codes: 4,
                    auth_failures: 5,
                    dpop_jtis: 6,
                })
            });
        let pace = PrunePace {
            batch: 7,
            pause_percent: 100,
        };
        let counts = prune(&store, &clock, pace).unwrap();
        assert_eq!(
            serde_json::to_value(counts).unwrap(),
            serde_json::json!({"grants": 1, "access_tokens": 2, "refresh_tokens": 3, "authorization_codes": 4, "auth_failures": 5, "dpop_jtis": 6})
        );
    }

    #[test]
    fn a_failed_periodic_prune_is_not_fatal() {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(0_i64);
        let mut store = MockHousekeeping::new();
        store
            .expect_prune()
            .returning(|_, _| Err(StoreError::Unavailable("down".into())));
        prune_once(&store, &clock, PrunePace::unpaced(10));
    }

    #[test]
    fn a_zero_interval_starts_no_thread() {
        let mut store = MockHousekeeping::new();
        store.expect_prune().never();
        let config = HousekeepingConfig {
            prune_interval: 0,
            ..HousekeepingConfig::default()
        };
        let housekeeper = Housekeeper::start(&config, store);
        assert!(housekeeper.thread.is_none());
    }

    #[test]
    fn dropping_the_housekeeper_stops_it_without_waiting_an_interval() {
        let mut store = MockHousekeeping::new();
        store.expect_prune().never();
        let config = HousekeepingConfig {
            prune_interval: 3600,
            ..HousekeepingConfig::default()
        };
        let started = std::time::Instant::now();
        drop(Housekeeper::start(&config, store));
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}
