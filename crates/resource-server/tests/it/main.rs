//! The resource-server crate against a real grantd (`grantd_testkit::TestApp`, its issuer
//! the address it listens on): JWT access tokens through discovery and the JWKS, opaque
//! tokens through introspection, and the example API, all over real HTTP, with grantd's
//! bearer tokens and its DPoP-bound ones (`example_dpop.rs`, `dpop_caches.rs`). The number
//! of requests grantd served is read from its own `/metrics`, not from the crate. What
//! grantd cannot be made to issue comes from a test issuer (`dpop.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dpop;
mod dpop_caches;
mod example;
mod example_dpop;
mod introspection;
mod jwt;
mod support;
