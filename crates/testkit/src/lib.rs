//! grantd's test kit (dev-only): the one home of the test harnesses every crate's tests
//! share, so that each fact about "how a test gets a database, a server or a client" is
//! written once.
//!
//! - [`database`]: a fresh Postgres database (on the shared server, dropped after) or a
//!   SQLite file per test, and the [`contract!`] macro that runs a suite on both.
//! - [`own_postgres`]: a PostgreSQL server of the test's own, to stop and start.
//! - [`clock`]: a clock the test moves.
//! - [`dpop`]: a DPoP client key that signs proofs.
//! - [`http`]: blocking HTTP helpers (forms, Basic auth, JSON bodies).
//! - [`race`]: requests that truly arrive together at the server (the refresh races).
//! - [`keys`]: the test signing-key encryption key and sealed key rows.
//! - [`process`]: the built `grantd` binary run as a process.
//! - [`app`]: the real app in-process (built by the app's own wiring) on either backend,
//!   with the [`fixtures`] seeded.
//!
//! Tests fail, never skip, when Postgres or its binaries are missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod app;
pub mod clock;
pub mod database;
pub mod dpop;
pub mod fixtures;
pub mod http;
pub mod keys;
pub mod own_postgres;
pub mod process;
pub mod race;

/// The domain's refresh decision and its rules as data, for the store contract tests that
/// prove the store's rendered predicates agree with the decision case by case.
pub use grantd_domain::dpop::{refresh_key_matches, Jkt};
pub use grantd_domain::rotation;

pub use app::TestApp;
pub use clock::TestClock;
pub use database::{Backend, TestDb};
