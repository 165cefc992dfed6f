//! The HTTP adapter's tests in one binary (one link, not one per file): each talks HTTP to
//! the real app (built by the app's own wiring, `grantd_testkit::TestApp`) on a real
//! SQLite file and a real Postgres database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account_lifecycle;
mod account_page;
mod admin;
mod authorization_code;
mod bearer_challenge;
mod browser;
mod brute_force;
mod capacity;
mod concurrency;
mod discovery;
mod dpop;
mod dpop_code_flow;
mod dpop_hostile;
mod hostile_input;
mod jwks;
mod jwt_access;
mod lifecycle_endpoints;
mod long_passwords;
mod openid_connect;
mod openidconnect_rp;
mod operations;
mod registration;
mod resource_indicators;
mod reuse_detection;
mod round_trips;
mod rp_logout;
mod scopes;
mod sessions;
mod token_endpoint;
mod userinfo;

/// What every test here uses, from the shared test kit.
mod common {
    pub use grantd_testkit::app::{login, me, post_form, refresh, token_request, TestApp};
    pub use grantd_testkit::fixtures::*;
    pub use grantd_testkit::http::{http, json};
    pub use grantd_testkit::on_both_backends;
    pub use grantd_testkit::Backend;
}
