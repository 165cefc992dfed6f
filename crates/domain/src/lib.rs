//! grantd's rules and use cases: which grant may run for which client, scope narrowing,
//! the rotation policy and lifetimes, client authentication, and the resource-server check.
//!
//! Depends on the ports only: it never names diesel, actix, figment or HTTP. Everything is
//! synchronous; the HTTP edge runs each use case off the async workers.

pub mod accounts;
mod attempts;
mod authorize_endpoint;
pub mod authorize_request;
mod bearer;
mod client_auth;
mod consent_rules;
mod errors;
mod introspection;
mod lifetimes;
mod metadata;
pub mod pkce;
mod port_set;
pub mod registration;
mod response;
mod retry_seal;
mod revocation;
pub mod rotation;
mod scope_rules;
mod secret_cache;
mod settings;
#[cfg(test)]
mod test_support;
mod token_endpoint;

pub use attempts::{AttemptLimit, FailureLimiter};
pub use authorize_endpoint::{AuthorizeFailure, CodeRedirect, LoginError};
pub use bearer::{ActiveToken, BearerError};
pub use client_auth::{AuthenticateError, ClientAuthError, ClientCredentials, CredentialSource};
pub use errors::TokenError;
pub use introspection::Introspection;
pub use metadata::{ServerMetadata, AUTH_METHODS};
pub use port_set::PortSet;
pub use response::TokenResponse;
pub use revocation::{RevokeError, TokenTypeHint};
pub use secret_cache::{SecretCache, SecretCacheLimits};
pub use settings::{AuthorizationSettings, ReusePolicy, TokenSettings};
pub use token_endpoint::{
    ExchangeDenied, GrantRequest, IntrospectError, TokenRequest, TokenService,
};
