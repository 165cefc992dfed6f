//! The contract of grantd: the vocabulary that crosses the hexagon's boundary (validated
//! value types and records) and the port traits the domain drives.
//!
//! This crate knows nothing of diesel, actix, figment or HTTP, and does no I/O. Every trait
//! carries `#[cfg_attr(feature = "mock", mockall::automock)]` so that other crates' tests can
//! use the doubles (`#[cfg(test)]` is never on for a dependency).

mod authorization;
mod dpop;
mod error;
mod failures;
mod ids;
mod keys;
mod one_trip;
mod operations;
mod records;
mod registration;
mod resource;
mod scope;
mod services;
mod stores;
mod token;

pub use authorization::{
    AuthorizationCodeRecord, AuthorizationStore, CodeChallenge, CodeChallengeMethod, CodeDecision,
    CodeWrite, Consent, RedeemOutcome,
};
pub use dpop::{
    DpopReplayStore, ProofAlgorithm, ProofClaims, ProofRejected, ProofVerifier, VerifiedProof,
};
pub use error::StoreError;
pub use failures::{FailureCounter, FailureKey, FailureWindow};
pub use ids::{ClientId, GrantId, InvalidValue, SessionStamp, UserId, Username};
pub use keys::{
    AccessTokenClaims, GeneratedKey, IdTokenClaims, JwtExpectations, JwtRejected, JwtVerifier,
    KeyStore, SealedPrivateKey, SignerError, SigningAlgorithm, SigningKey, TokenSigner,
};
pub use one_trip::{ClientRowIs, ConsumeIf, OneTripIssued, OneTripWrite};
pub use operations::{DomainEvent, Housekeeping, Metrics, NoMetrics, PrunePace, PruneReport};
pub use records::{
    AccessToken, AccessTokenFormat, AccessTokenState, Client, GrantOverview, GrantRecord,
    GrantType, Issuance, LifetimeOverrides, NewRefreshToken, RefreshToken, RefreshTokenState,
    RefreshWrite, RotateOutcome, Subject, User, UserProfile,
};
pub use registration::{
    ClientRegistration, InitialAccessToken, RegistrationStore, TokenEndpointAuthMethod,
};
pub use resource::ResourceSet;
pub use scope::ScopeSet;
pub use services::{
    CheckPermit, Clock, PasswordCheckPermits, SecretHash, SecretHasher, TokenMinter,
    UnboundedChecks,
};
pub use stores::{
    ClientStore, RefreshDecision, RefreshIntent, RevokedAccess, TokenStore, UserStore,
};
pub use token::{PlainToken, TokenHash, TokenKind};

#[cfg(feature = "mock")]
pub use authorization::MockAuthorizationStore;
#[cfg(feature = "mock")]
pub use dpop::{MockDpopReplayStore, MockProofVerifier};
#[cfg(feature = "mock")]
pub use failures::MockFailureCounter;
#[cfg(feature = "mock")]
pub use keys::{MockJwtVerifier, MockKeyStore, MockTokenSigner};
#[cfg(feature = "mock")]
pub use operations::{MockHousekeeping, MockMetrics};
#[cfg(feature = "mock")]
pub use registration::MockRegistrationStore;
#[cfg(feature = "mock")]
pub use services::{MockClock, MockPasswordCheckPermits, MockSecretHasher, MockTokenMinter};
#[cfg(feature = "mock")]
pub use stores::{MockClientStore, MockTokenStore, MockUserStore};

/// Seconds since the Unix epoch. One time source (the app's [`Clock`]) decides every expiry.
pub type UnixTime = i64;

/// Milliseconds since the Unix epoch: for ordering events within one second (a request's
/// arrival against the rotation that consumed its refresh token), never for an expiry.
pub type UnixMillis = i64;
