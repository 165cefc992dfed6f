//! Client authentication (RFC 6749 §2.3): confidential clients prove a secret, public
//! clients (§2.1) name themselves. The HTTP edge extracts the credentials and refuses two
//! methods in one request; [`ClientAuthenticator`] decides whether they authenticate a
//! client, for every endpoint that requires it (token, revocation, introspection).

use std::fmt;
use std::sync::Arc;

use grantd_ports::{Client, ClientId, DomainEvent, StoreError};

use crate::check_permits::{self, ChecksBusy};
use crate::secret_cache::SecretCache;
use crate::{AttemptLimit, FailureLimiter, PortSet, SecretCacheLimits};

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

/// Why [`ClientAuthenticator::authenticate`] produced no client: the client was denied, or the store
/// could not say (an outage is never an authentication failure).
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    #[error("invalid_client: {0}")]
    Denied(#[from] ClientAuthError),
    /// A secret needed bcrypt and every password-check permit was taken: retry later.
    #[error(transparent)]
    Busy(#[from] ChecksBusy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Authenticates clients. Clones share one per-client-id failure limiter and one
/// verified-secret cache, so a limit reached at one endpoint holds at all of them.
#[derive(Clone)]
pub struct ClientAuthenticator {
    ports: PortSet,
    /// Failed authentications per client id (brute-force protection, RFC 6749 §2.3.1).
    failures: Arc<FailureLimiter>,
    /// Verified client secrets of this process (see `secret_cache`).
    cache: Arc<SecretCache>,
}

impl ClientAuthenticator {
    pub(crate) fn new(ports: PortSet, limit: AttemptLimit, cache: SecretCacheLimits) -> Self {
        Self {
            ports,
            failures: Arc::new(FailureLimiter::new(limit)),
            cache: Arc::new(SecretCache::new(cache)),
        }
    }

    /// The same cache under a new (empty) failure limiter.
    pub(crate) fn with_attempt_limit(&self, limit: AttemptLimit) -> Self {
        Self {
            failures: Arc::new(FailureLimiter::new(limit)),
            ..self.clone()
        }
    }

    /// The same limiter with a new (empty) cache of these limits (capacity 0 turns it off).
    pub(crate) fn with_secret_cache(&self, limits: SecretCacheLimits) -> Self {
        Self {
            cache: Arc::new(SecretCache::new(limits)),
            ..self.clone()
        }
    }

    /// Authenticates the client behind `credentials` (`None` = none presented). Blocking:
    /// may run bcrypt. A client id at its failure limit is refused before any hashing (and
    /// counted as rate limited); each wrong secret counts. A secret that the cache
    /// remembers for this client's current row skips bcrypt; one that bcrypt verifies is
    /// remembered; a failure is never remembered.
    pub fn authenticate(
        &self,
        credentials: Option<&ClientCredentials>,
    ) -> Result<Client, AuthenticateError> {
        let credentials = credentials.ok_or(ClientAuthError::Missing)?;
        let result = self.limited(credentials);
        if let Err(AuthenticateError::Denied(ClientAuthError::TooManyAttempts { .. })) = result {
            self.ports.metrics.record(DomainEvent::RateLimited);
        }
        result
    }

    fn limited(&self, credentials: &ClientCredentials) -> Result<Client, AuthenticateError> {
        let now = self.ports.clock.now();
        let key = credentials.id.as_str();
        self.failures
            .check(key, now)
            .map_err(|retry_after| ClientAuthError::TooManyAttempts { retry_after })?;
        let result = verify(&self.ports, &self.cache, credentials, now);
        if matches!(
            result,
            Err(AuthenticateError::Denied(
                ClientAuthError::WrongSecret
                    | ClientAuthError::SecretRequired
                    | ClientAuthError::UnexpectedSecret
            ))
        ) {
            self.failures.record_failure(key, now);
        }
        result
    }
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
            ports.metrics.record(DomainEvent::ClientSecretCache { hit });
            if hit {
                return Ok(client);
            }
            // A guessed secret costs a bcrypt as a guessed password does: the same pool.
            let _permit = check_permits::take(ports)?;
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Mutex;

    use grantd_ports::{
        MockClientStore, MockClock, MockSecretHasher, MockTokenMinter, SecretHash, TokenKind,
    };

    use super::*;
    use crate::test_support::*;
    use crate::use_cases::DEFAULT_LIMIT;
    use crate::{TokenError, TokenSettings};

    #[test]
    fn failed_client_secrets_per_client_id_hit_the_limit() {
        let limit = AttemptLimit {
            max_failures: 3,
            window_secs: 60,
        };
        let token = Doubles::new()
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limit, limit)
            .token;
        let request = |creds| password_request(creds, "alice", PASSWORD, None);
        for _ in 0..3 {
            assert!(matches!(
                token.respond(&request(basic("app", "bad"))).unwrap_err(),
                TokenError::InvalidClient(ClientAuthError::WrongSecret)
            ));
        }
        let err = token.respond(&request(basic("app", SECRET))).unwrap_err();
        assert!(
            matches!(
                err,
                TokenError::InvalidClient(ClientAuthError::TooManyAttempts { .. })
            ),
            "{err:?}"
        );
        // Another client id is unaffected.
        let err = token
            .respond(&request(basic("narrow", SECRET)))
            .unwrap_err();
        assert!(matches!(err, TokenError::UnauthorizedClient(_)));
    }

    // The verified-secret cache as authentication uses it: bcrypt runs once for a client
    // that keeps presenting its secret, and never stands in for a check the row must pass.

    /// An authenticator over one mutable client row `app`, a movable clock, and a hasher
    /// whose `verify` must be called exactly `verifications` times (accepting only SECRET).
    struct Fixture {
        clients: ClientAuthenticator,
        row: Arc<Mutex<Option<Client>>>,
        clock: Arc<AtomicI64>,
    }

    fn fixture(verifications: usize) -> Fixture {
        let row = Arc::new(Mutex::new(Some(client("app", true))));
        let r = row.clone();
        let mut clients = MockClientStore::new();
        clients
            .expect_find_client()
            .returning(move |_| Ok(r.lock().unwrap().clone()));
        let mut hasher = MockSecretHasher::new();
        hasher
            .expect_verify()
            .times(verifications)
            .returning(|secret, hash| secret == hash.as_str().trim_start_matches("hash:"));
        let clock = Arc::new(AtomicI64::new(NOW));
        let c = clock.clone();
        let mut mock_clock = MockClock::new();
        mock_clock
            .expect_now()
            .returning(move || c.load(Ordering::Relaxed));
        let mut minter = MockTokenMinter::new();
        minter
            .expect_mint()
            .returning(|kind| kind.encode(&[42; TokenKind::RANDOM_BYTES]));
        // Start from the shared doubles (whatever ports they hold) and swap in ours.
        let mut ports = Doubles::new().ports();
        ports.clients = Arc::new(clients);
        ports.hasher = Arc::new(hasher);
        ports.minter = Arc::new(minter);
        ports.clock = Arc::new(mock_clock);
        let clients = ClientAuthenticator::new(
            ports,
            DEFAULT_LIMIT,
            SecretCacheLimits {
                capacity: 10,
                ttl_secs: 300,
            },
        );
        Fixture {
            clients,
            row,
            clock,
        }
    }

    impl Fixture {
        /// The denial, if any; a storage failure has no place in these tests.
        fn authenticate(&self, secret: &str) -> Result<Client, ClientAuthError> {
            self.clients
                .authenticate(basic("app", secret).as_ref())
                .map_err(|e| match e {
                    AuthenticateError::Denied(denied) => denied,
                    AuthenticateError::Store(e) => panic!("unexpected storage failure: {e}"),
                    AuthenticateError::Busy(e) => panic!("unexpected: {e}"),
                })
        }
    }

    #[test]
    fn a_cache_hit_skips_bcrypt() {
        let f = fixture(1);
        f.authenticate(SECRET).unwrap();
        f.authenticate(SECRET).unwrap();
        f.authenticate(SECRET).unwrap();
    }

    #[test]
    fn a_rotated_secret_is_refused_at_once_and_the_new_one_verifies() {
        // old secret (bcrypt), old again (cache), after rotation: old (bcrypt, refused),
        // new (bcrypt), new again (cache).
        let f = fixture(3);
        f.authenticate(SECRET).unwrap();
        f.authenticate(SECRET).unwrap();
        {
            let mut row = f.row.lock().unwrap();
            let c = row.as_mut().unwrap();
            c.secret = Some(SecretHash::from_stored("hash:new-secret".into()));
            c.secret_version += 1;
        }
        assert!(matches!(
            f.authenticate(SECRET),
            Err(ClientAuthError::WrongSecret)
        ));
        f.authenticate("new-secret").unwrap();
        f.authenticate("new-secret").unwrap();
    }

    #[test]
    fn a_version_bump_alone_forces_a_new_verification() {
        // Even with the same stored hash, a new secret_version means the cached tag is stale.
        let f = fixture(2);
        f.authenticate(SECRET).unwrap();
        f.row.lock().unwrap().as_mut().unwrap().secret_version += 1;
        f.authenticate(SECRET).unwrap();
        f.authenticate(SECRET).unwrap();
    }

    #[test]
    fn a_deleted_client_is_refused_even_with_a_cached_secret() {
        let f = fixture(1);
        f.authenticate(SECRET).unwrap();
        *f.row.lock().unwrap() = None;
        assert!(matches!(
            f.authenticate(SECRET),
            Err(ClientAuthError::UnknownClient)
        ));
    }

    #[test]
    fn a_wrong_secret_is_refused_and_never_cached() {
        // Each wrong attempt runs bcrypt (nothing remembered it); then the right one verifies
        // once and is remembered; a wrong one after that is still refused by bcrypt.
        let f = fixture(4);
        assert!(matches!(
            f.authenticate("guess"),
            Err(ClientAuthError::WrongSecret)
        ));
        assert!(matches!(
            f.authenticate("guess"),
            Err(ClientAuthError::WrongSecret)
        ));
        f.authenticate(SECRET).unwrap();
        f.authenticate(SECRET).unwrap();
        assert!(matches!(
            f.authenticate("guess"),
            Err(ClientAuthError::WrongSecret)
        ));
    }

    #[test]
    fn an_expired_entry_is_verified_again() {
        let f = fixture(2);
        f.authenticate(SECRET).unwrap();
        f.clock.store(NOW + 299, Ordering::Relaxed);
        f.authenticate(SECRET).unwrap();
        f.clock.store(NOW + 300, Ordering::Relaxed);
        f.authenticate(SECRET).unwrap();
        f.authenticate(SECRET).unwrap();
    }

    #[test]
    fn a_public_client_never_touches_bcrypt() {
        let f = fixture(0);
        *f.row.lock().unwrap() = Some(client("app", false));
        f.clients.authenticate(id_only("app").as_ref()).unwrap();
    }

    #[test]
    fn capacity_zero_turns_the_cache_off() {
        let f = fixture(2);
        let clients = f.clients.with_secret_cache(SecretCacheLimits {
            capacity: 0,
            ttl_secs: 300,
        });
        clients.authenticate(basic("app", SECRET).as_ref()).unwrap();
        clients.authenticate(basic("app", SECRET).as_ref()).unwrap();
    }
}
