//! grantd's rules and use cases: which grant may run for which client, the scope registry
//! and default scopes, scope narrowing, the rotation policy and lifetimes, client and user
//! authentication, and the resource-server check.
//!
//! The use cases are named by the endpoint they serve (`token_endpoint`,
//! `authorize_endpoint`, `revocation`, `introspection`, `bearer`, `userinfo`, `rp_logout`)
//! and bundled in [`UseCases`] for the HTTP edge. Depends on the ports only: it never
//! names diesel, actix, figment or HTTP. Everything is synchronous; the HTTP edge runs
//! each use case off the async workers.

pub mod account;
pub mod accounts;
pub mod admin;
mod attempts;
mod authorize_endpoint;
pub mod authorize_request;
mod bearer;
mod check_permits;
mod client_auth;
mod client_rows;
mod consent_rules;
pub mod dpop;
pub mod dynamic_registration;
mod errors;
pub mod id_token;
mod introspection;
pub mod jwt_access;
mod lifetimes;
mod metadata;
pub mod oidc_request;
pub mod pkce;
mod port_set;
pub mod registration;
pub mod resource_indicators;
mod response;
mod retry_seal;
mod revocation;
pub mod rotation;
pub mod rp_logout;
mod scope_registry;
pub mod scope_rules;
mod secret_cache;
mod settings;
pub mod signing_keys;
mod token_endpoint;
mod use_cases;
mod user_auth;
pub mod user_profile;
mod userinfo;

#[cfg(test)]
mod test_support;

pub use account::{AccountGrant, AccountPage};
pub use attempts::AttemptLimits;
pub use authorize_endpoint::{
    AuthorizeEndpoint, AuthorizeFailure, CodeRedirect, Interaction, SessionClaim,
};
pub use bearer::{ActiveToken, BearerCheck, BearerError, Presentation};
pub use check_permits::ChecksBusy;
pub use client_auth::{
    AuthenticateError, ClientAuthError, ClientAuthenticator, ClientCredentials, CredentialSource,
};
pub use consent_rules::ScopePrompt;
pub use errors::TokenError;
pub use introspection::{IntrospectEndpoint, IntrospectError, Introspection};
pub use jwt_access::{AccessTokenFormat, JwtAccessTokens, JwtSettings};
pub use metadata::{
    id_token_signing_algs, OpenIdMetadata, ServerMetadata, AUTH_METHODS, CLAIMS_SUPPORTED,
};
pub use port_set::PortSet;
pub use resource_indicators::{
    ResourceDefinition, ResourceRefusal, ResourceRegistry, ResourceRegistryError,
};
pub use response::TokenResponse;
pub use revocation::{RevokeEndpoint, RevokeError, TokenTypeHint};
pub use rp_logout::{LogoutEndpoint, LogoutError, LogoutOutcome, LogoutRequest, PostLogout};
pub use scope_registry::{ScopeDefinition, ScopeRegistry, ScopeRegistryError};
pub use secret_cache::{SecretCache, SecretCacheLimits};
pub use settings::{AuthorizationSettings, OidcSettings, ReusePolicy, TokenSettings};
pub use signing_keys::{KeyError, KeyRing, KeySettings};
pub use token_endpoint::{ExchangeDenied, GrantRequest, TokenEndpoint, TokenRequest};
pub use use_cases::UseCases;
pub use user_auth::LoginError;
pub use userinfo::{
    released_claims, ProfileClaims, Userinfo, UserinfoEndpoint, UserinfoError, OPENID_SCOPE,
};
