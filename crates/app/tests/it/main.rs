//! The app's tests through the built `grantd` binary, in one test binary (one link, not
//! one per file): the CLI and the README's flow, crash safety, several instances on one
//! Postgres, a database outage, and the service's operations (signals, logs, metrics).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod crash;
mod exposure;
mod flood;
mod instances;
mod outage;
mod service;

/// The shared harness (grantd_testkit), bound to this crate's binary.
mod support {
    pub use grantd_testkit::http::*;
    pub use grantd_testkit::own_postgres::*;
    pub use grantd_testkit::process::{Env, Server};

    /// The `grantd` binary cargo built for these tests.
    pub const BIN: &str = env!("CARGO_BIN_EXE_grantd");

    /// A scratch folder and environment for `grantd` commands, on `database_url` or on a
    /// SQLite file of its own.
    pub fn env(database_url: Option<String>) -> grantd_testkit::process::Env {
        grantd_testkit::process::Env::new(BIN, database_url)
    }
}
