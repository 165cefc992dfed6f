//! The store's tests in one binary (one link, not one per file), against a real Postgres
//! (a fresh database per test on 127.0.0.1:5432) and a real SQLite file: the port
//! contracts run on both backends through `grantd_testkit::contract!`, plus each backend's
//! own connection, pool and migration behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod authorization_contract;
mod connect;
mod contract;
mod dpop_contract;
mod failures_contract;
mod housekeeping;
mod keys_contract;
mod migrations;
mod one_trip_contract;
mod postgres;
mod registration_contract;
mod resources_contract;
mod sqlite;
mod user_lifecycle_contract;
