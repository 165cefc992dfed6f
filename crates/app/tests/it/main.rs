//! The app's tests through the built `grantd` binary, in one test binary (one link, not
//! one per file): the CLI and the README's flow, crash safety, several instances on one
//! Postgres (and their shared brute-force limits, signing keys and DPoP replay record), a database outage, and
//! the service's operations (signals, logs, metrics).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod crash;
mod exposure;
mod failover;
mod flood;
mod instances;
mod keys;
mod outage;
mod scopes;
mod service;
mod shared_limits;
mod two_instance_dpop;
mod two_instance_jwks;

/// The shared harness (grantd_testkit), bound to this crate's binary.
mod support {
    pub use grantd_testkit::http::*;
    pub use grantd_testkit::own_postgres::*;
    pub use grantd_testkit::process::{Env, Server};

    /// Held by the tests that run loaded servers (the flood, crash, instances, outage), so
    /// that the timed flood never shares the machine with another of them: libtest runs
    /// this binary's tests two at a time.
    pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
        static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
        HEAVY
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The `grantd` binary cargo built for these tests.
    pub const BIN: &str = env!("CARGO_BIN_EXE_grantd");

    /// A scratch folder and environment for `grantd` commands, on `database_url` or on a
    /// SQLite file of its own.
    pub fn env(database_url: Option<String>) -> grantd_testkit::process::Env {
        grantd_testkit::process::Env::new(BIN, database_url)
    }
}
