//! grantd's resource-server crate: what a Rust API puts in front of its handlers to accept
//! grantd's access tokens. It knows grantd only over HTTP (RFC 8414 discovery, the JWKS,
//! RFC 7662 introspection), never its storage or code.
//!
//! - [`Verifier`], framework-free and async: RFC 9068 JWT access tokens checked against the
//!   issuer's JWKS (cached; an unknown `kid` triggers at most one refetch per interval),
//!   opaque tokens by introspection (a bounded cache, never past `exp`), required scopes.
//! - [`Rejection`]: RFC 6750 §3 statuses, codes and `WWW-Authenticate: Bearer` challenges,
//!   and a distinct 503 when the issuer cannot be asked.
//! - With the `actix` feature (default): [`Authenticated`] as an extractor and the
//!   [`RequireScope`] middleware.
//! - DPoP (RFC 9449 §7): `Authorization: DPoP` with one `DPoP` proof header, checked for
//!   the request's method and URL ([`Verifier::verify_request`]), the token bound to the
//!   proof's key (`cnf.jkt`), each proof accepted once ([`ReplayCache`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use grantd_resource_server::Verifier;
//!
//! let verifier = Verifier::builder("http://127.0.0.1:8080", "http://127.0.0.1:8080")
//!     .introspection("rs-client", "rs-secret") // for opaque tokens
//!     .build()?;
//! let header = b"Bearer eyJ0eXAiOiJhdCtqd3Qi...";
//! match verifier.verify_authorization([&header[..]], &["read"]).await {
//!     Ok(who) => println!("{} via {}", who.sub, who.client_id),
//!     Err(no) => println!("{} {:?}", no.status(), no.www_authenticate()),
//! }
//! # Ok(()) }
//! ```

mod authenticated;
mod cache;
mod clock;
mod config;
mod credentials;
mod discovery;
mod dpop;
mod fetch;
mod htu;
mod introspection;
mod jwks;
mod jwt;
mod nonce;
mod rejection;
mod replay;
mod request;
mod scope;
mod thumbprint;
mod verifier;

#[cfg(feature = "actix")]
mod actix;

#[cfg(test)]
mod test_keys;

pub use authenticated::{Authenticated, TokenFormat};
pub use clock::{Clock, SystemClock};
pub use config::{ConfigError, VerifierBuilder};
pub use credentials::{Credentials, Scheme};
pub use rejection::{IssuerProblem, ProofProblem, Reason, Rejection, TokenProblem};
pub use replay::{MemoryReplayCache, ReplayCache, ReplayCacheError};
pub use request::Request;
pub use scope::Scopes;
pub use thumbprint::jwk_thumbprint;
pub use verifier::{Stats, Verifier};

#[cfg(feature = "actix")]
pub use actix::{RequireScope, RequireScopeService};

/// The JWS algorithms, to restrict them with [`VerifierBuilder::algorithms`].
pub use jsonwebtoken::Algorithm;
