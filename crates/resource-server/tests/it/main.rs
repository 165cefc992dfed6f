//! The resource-server crate against a real grantd (`grantd_testkit::TestApp`, its issuer
//! the address it listens on): JWT access tokens through discovery and the JWKS, opaque
//! tokens through introspection, and the example API, all over real HTTP. The number of
//! requests grantd served is read from its own `/metrics`, not from the crate. DPoP-bound
//! tokens, which grantd does not issue yet, come from a test issuer (`dpop.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod dpop;
mod example;
mod introspection;
mod jwt;
mod support;
