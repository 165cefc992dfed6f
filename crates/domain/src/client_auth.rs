//! Client authentication (RFC 6749 §2.3): confidential clients prove a secret, public
//! clients (§2.1) name themselves. The HTTP edge extracts the credentials and refuses two
//! methods in one request; this module decides whether they authenticate a client.

use std::fmt;

use grantd_ports::{Client, ClientId, StoreError};

use crate::secret_cache::SecretCache;
use crate::{FailureLimiter, PortSet};

/// Where the credentials came from; the HTTP edge needs it to answer a failure
/// (§5.2: `WWW-Authenticate` matching the scheme when the header was used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// `Authorization: Basic` (`client_secret_basic`, §2.3.1).
    BasicHeader,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Body,
    /// Only `client_id` in the body: a public client (§2.1, `none`).
    IdOnly,
}

/// Credentials as presented. `Debug` never shows the secret.
#[derive(Clone)]
pub struct ClientCredentials {
    pub id: ClientId,
    /// `None` or empty = no secret presented.
    pub secret: Option<String>,
    pub source: CredentialSource,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("id", &self.id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("source", &self.source)
            .finish()
    }
}

/// Why a client did not authenticate. Each is an `invalid_client` denial (the limit is
/// answered 429), so the reason is for logs only. A storage failure is not among them: it
/// is an [`AuthenticateError::Store`], never an authentication failure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClientAuthError {
    #[error("no client credentials presented")]
    Missing,
    #[error("unknown client")]
    UnknownClient,
    #[error("wrong client secret")]
    WrongSecret,
    #[error("confidential client presented no secret")]
    SecretRequired,
    #[error("public client presented a secret")]
    UnexpectedSecret,
    /// Too many failed authentications for this client id lately (brute-force protection).
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: i64 },
}

/// Why [`authenticate_client`] produced no client: the client was denied, or the store
/// could not say (an outage is never an authentication failure).
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error("invalid_client: {0}")]
    Denied(#[from] ClientAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Authenticates the client behind `credentials` (blocking: may run bcrypt). A client id
/// at its failure limit is refused before any hashing; each wrong secret counts. A secret
/// that `cache` remembers for this client's current row skips bcrypt; one that bcrypt
/// verifies is remembered; a failure is never remembered.
pub fn authenticate_client(
    ports: &PortSet,
    limiter: &FailureLimiter,
    cache: &SecretCache,
    credentials: &ClientCredentials,
) -> Result<Client, AuthenticateError> {
    let now = ports.clock.now();
    let key = credentials.id.as_str();
    limiter
        .check(key, now)
        .map_err(|retry_after| ClientAuthError::TooManyAttempts { retry_after })?;
    let result = verify(ports, cache, credentials, now);
    if matches!(
        result,
        Err(AuthenticateError::Denied(
            ClientAuthError::WrongSecret
                | ClientAuthError::SecretRequired
                | ClientAuthError::UnexpectedSecret
        ))
    ) {
        limiter.record_failure(key, now);
    }
    result
}

fn verify(
    ports: &PortSet,
    cache: &SecretCache,
    credentials: &ClientCredentials,
    now: grantd_ports::UnixTime,
) -> Result<Client, AuthenticateError> {
    let Some(client) = ports.clients.find_client(&credentials.id)? else {
        cache.forget(&credentials.id);
        return Err(ClientAuthError::UnknownClient.into());
    };
    let presented = credentials.secret.as_deref().filter(|s| !s.is_empty());
    match (&client.secret, presented) {
        (Some(stored), Some(secret)) => {
            let minter = ports.minter.as_ref();
            let version = client.secret_version;
            let hit = cache.is_verified(minter, &client.id, version, stored, secret, now);
            // Counted for /metrics through the Metrics port (issue 6).
            ports
                .metrics
                .record(grantd_ports::DomainEvent::ClientSecretCache { hit });
            if hit {
                return Ok(client);
            }
            if ports.hasher.verify(secret, stored) {
                cache.remember(minter, &client.id, version, stored, secret, now);
                Ok(client)
            } else {
                Err(ClientAuthError::WrongSecret.into())
            }
        }
        (Some(_), None) => Err(ClientAuthError::SecretRequired.into()),
        (None, None) => Ok(client),
        (None, Some(_)) => Err(ClientAuthError::UnexpectedSecret.into()),
    }
}
