//! Client authentication (RFC 6749 §2.3): confidential clients prove a secret, public
//! clients (§2.1) name themselves. The HTTP edge extracts the credentials and refuses two
//! methods in one request; [`ClientAuthenticator`] decides whether they authenticate a
//! client, for every endpoint that requires it (token, revocation, introspection).

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use grantd_ports::{Client, ClientId, ClientRowIs, DomainEvent, FailureKey, StoreError};

use crate::attempts::{Guessed, Lockout};
use crate::check_permits::{self, ChecksBusy};
use crate::client_rows::ClientRows;
use crate::secret_cache::SecretCache;
use crate::{AttemptLimits, PortSet, SecretCacheLimits};

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
    /// Too many failed guesses from this source lately (brute-force protection, `attempts`).
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

/// Authenticates clients. Clones share one verified-secret cache; the failure counters are
/// the store's, so a limit reached at one endpoint (or instance) holds at all of them.
#[derive(Clone)]
pub struct ClientAuthenticator {
    ports: PortSet,
    /// Failed client secrets (brute-force protection, RFC 6749 §2.3.1; see `attempts`).
    lockout: Lockout,
    /// Verified client secrets of this process (see `secret_cache`).
    cache: Arc<SecretCache>,
    /// Client rows read by successful authentications (see `client_rows`).
    rows: Arc<ClientRows>,
}

/// A client authenticated from memory, with what the refresh's one statement must still
/// confirm before anything commits (see [`ClientAuthenticator::authenticate_from_memory`]).
#[derive(Debug, Clone)]
pub(crate) struct Deferred {
    /// The stored row is still the held one.
    pub row: ClientRowIs,
    /// The brute-force counters of this attempt hold no live failure.
    pub no_failures: Vec<FailureKey>,
}

impl ClientAuthenticator {
    pub(crate) fn new(ports: PortSet, limits: &AttemptLimits, cache: SecretCacheLimits) -> Self {
        Self {
            ports,
            lockout: Lockout::new(Guessed::ClientSecret, limits),
            cache: Arc::new(SecretCache::new(cache)),
            rows: Arc::new(ClientRows::new(cache)),
        }
    }

    /// The same cache under other budgets.
    pub(crate) fn with_attempt_limits(&self, limits: &AttemptLimits) -> Self {
        Self {
            lockout: Lockout::new(Guessed::ClientSecret, limits),
            ..self.clone()
        }
    }

    /// The same budgets with a new (empty) cache of these limits (capacity 0 turns it off).
    pub(crate) fn with_secret_cache(&self, limits: SecretCacheLimits) -> Self {
        Self {
            cache: Arc::new(SecretCache::new(limits)),
            rows: Arc::new(ClientRows::new(limits)),
            ..self.clone()
        }
    }

    /// A confidential client authenticated with NO round trip: its row as this process
    /// last read it, and a secret the verified-secret cache remembers for exactly that row.
    /// `None` (and nothing read, nothing counted) otherwise: the caller then runs
    /// [`ClientAuthenticator::authenticate`]. Only for a caller that commits nothing
    /// unless its one statement also confirms the [`Deferred`] conditions.
    ///
    /// Why this is not weaker than `authenticate` (think like an attacker):
    /// - Not a guess: a cache hit means the secret is the one bcrypt verified for this
    ///   very row (id, `secret_version`, stored hash) within the TTL. A wrong secret never
    ///   hits, so every guess still takes `authenticate`'s path: budgets first, bcrypt, a
    ///   counted failure.
    /// - The budget answers as before: the statement commits only if none of this
    ///   attempt's counters holds a failure in a live window, in which case
    ///   `attempts::decide` would have let it through. Over a counter with failures the
    ///   statement matches nothing and `authenticate` runs the real check, so a correct
    ///   secret from a source over its budget is still refused (429): no oracle.
    /// - The row is current: every update of a client row bumps its version (a trigger)
    ///   and the statement requires the stored version and hash, so a rotated secret, a
    ///   changed grant type or a deleted client is refused at once by every process; the
    ///   choices made from the held row (grant type, lifetimes, rotation) commit only if
    ///   the row is unchanged.
    pub(crate) fn authenticate_from_memory(
        &self,
        credentials: Option<&ClientCredentials>,
        source: IpAddr,
    ) -> Option<(Client, Deferred)> {
        let credentials = credentials?;
        let secret = credentials.secret.as_deref().filter(|s| !s.is_empty())?;
        let now = self.ports.clock.now();
        let client = self.rows.get(&credentials.id, now)?;
        let stored = client.secret.clone()?;
        let minter = self.ports.minter.as_ref();
        let version = client.secret_version;
        if !self
            .cache
            .is_verified(minter, &client.id, version, &stored, secret, now)
        {
            return None;
        }
        let keys = self.lockout.keys(Some(credentials.id.as_str()), source);
        let deferred = Deferred {
            row: ClientRowIs {
                secret_version: version,
                secret: stored,
            },
            no_failures: self.lockout.clean_for(&keys),
        };
        Some((client, deferred))
    }

    /// Authenticates the client behind `credentials` (`None` = none presented), sent from
    /// `source`. Blocking: may run bcrypt.
    ///
    /// A request that makes no guess (no secret, or a secret for a public client, which has
    /// none to guess) is answered at once and counts nothing. A guess (a secret for a
    /// confidential client, or for a client id that does not exist) is first checked
    /// against the failure budgets (refused before any hashing, and counted as rate
    /// limited), and counts as a failure when it is wrong. A secret that the cache
    /// remembers for this client's current row skips bcrypt; one that bcrypt verifies is
    /// remembered; a failure is never remembered.
    pub fn authenticate(
        &self,
        credentials: Option<&ClientCredentials>,
        source: IpAddr,
    ) -> Result<Client, AuthenticateError> {
        let credentials = credentials.ok_or(ClientAuthError::Missing)?;
        let result = self.limited(credentials, source);
        if let Err(AuthenticateError::Denied(ClientAuthError::TooManyAttempts { .. })) = result {
            self.ports.metrics.record(DomainEvent::RateLimited);
        }
        result
    }

    fn limited(
        &self,
        credentials: &ClientCredentials,
        source: IpAddr,
    ) -> Result<Client, AuthenticateError> {
        let ports = &self.ports;
        let client = ports.clients.find_client(&credentials.id)?;
        if client.is_none() {
            self.cache.forget(&credentials.id);
            self.rows.forget(&credentials.id);
        }
        let presented = credentials.secret.as_deref().filter(|s| !s.is_empty());
        let Some(secret) = presented else {
            // No secret, no guess: a public client names itself (§2.1), a confidential one
            // that forgot its secret is told so.
            return match client {
                Some(c) if c.secret.is_none() => Ok(c),
                Some(_) => Err(ClientAuthError::SecretRequired.into()),
                None => Err(ClientAuthError::UnknownClient.into()),
            };
        };
        if client.as_ref().is_some_and(|c| c.secret.is_none()) {
            // A public client has no secret to guess.
            return Err(ClientAuthError::UnexpectedSecret.into());
        }
        let now = ports.clock.now();
        let keys = self.lockout.keys(Some(credentials.id.as_str()), source);
        if let Err(retry_after) = self.lockout.check(ports.failures.as_ref(), &keys, now)? {
            return Err(ClientAuthError::TooManyAttempts { retry_after }.into());
        }
        let verified = match client {
            Some(client) => verify(ports, &self.cache, client, secret, now),
            None => Err(ClientAuthError::UnknownClient.into()),
        };
        // A wrong guess counts; a refusal for want of a password-check permit made no guess.
        match &verified {
            Err(AuthenticateError::Denied(_)) => {
                self.rows.forget(&credentials.id);
                self.lockout.record(ports.failures.as_ref(), &keys, now)?;
            }
            // The row as read now, for `authenticate_from_memory`.
            Ok(client) => self.rows.put(client, now),
            Err(_) => {}
        }
        verified
    }
}

/// Whether `secret` is the confidential `client`'s: from the cache, else by bcrypt.
fn verify(
    ports: &PortSet,
    cache: &SecretCache,
    client: Client,
    secret: &str,
    now: grantd_ports::UnixTime,
) -> Result<Client, AuthenticateError> {
    let Some(stored) = &client.secret else {
        return Err(ClientAuthError::UnexpectedSecret.into());
    };
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Mutex;

    use grantd_ports::{
        MockClientStore, MockClock, MockSecretHasher, MockTokenMinter, SecretHash, TokenKind,
    };

    use super::*;
    use crate::test_support::*;
    use crate::{TokenError, TokenSettings};

    #[test]
    fn failed_client_secrets_per_client_id_and_source_hit_the_limit() {
        let mut d = Doubles::new().with_user(false);
        d.tokens.expect_issue().times(1).returning(|_| Ok(()));
        let token = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(3))
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
        // So is the same client from another address: its guesser's failures are not its.
        token
            .respond(&from(OTHER_SOURCE, request(basic("app", SECRET))))
            .unwrap();
    }

    #[test]
    fn a_request_that_makes_no_guess_is_answered_at_once_and_counts_nothing() {
        let mut d = Doubles::new();
        d.failures.checkpoint();
        d.failures.expect_windows().never();
        d.failures.expect_record_failure().never();
        d.hasher.checkpoint();
        d.hasher.expect_verify().never();
        let use_cases = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(1));
        let cases = [
            (
                "a confidential client's id without its secret",
                id_only("app"),
                Err(ClientAuthError::SecretRequired),
            ),
            (
                "a secret for a public client",
                basic("public", "anything"),
                Err(ClientAuthError::UnexpectedSecret),
            ),
            ("a public client's id", id_only("public"), Ok(())),
            (
                "an unknown id without a secret",
                id_only("ghost"),
                Err(ClientAuthError::UnknownClient),
            ),
        ];
        for (name, credentials, expected) in cases {
            // However often: never the limit's 429.
            for _ in 0..5 {
                let got = use_cases
                    .clients
                    .authenticate(credentials.as_ref(), SOURCE)
                    .map(|_| ())
                    .map_err(|e| match e {
                        AuthenticateError::Denied(e) => e,
                        AuthenticateError::Store(e) => panic!("{name}: {e}"),
                        AuthenticateError::Busy(e) => panic!("{name}: {e}"),
                    });
                assert_eq!(got, expected, "{name}");
            }
        }
    }

    #[test]
    fn a_guess_for_an_unknown_client_id_counts_like_a_wrong_secret() {
        let d = Doubles::new();
        let counts = d.counts.clone();
        let clients = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(limits(2))
            .clients;
        let denied = |r: Result<Client, AuthenticateError>| match r {
            Err(AuthenticateError::Denied(e)) => e,
            other => panic!("{other:?}"),
        };
        for _ in 0..2 {
            assert_eq!(
                denied(clients.authenticate(basic("ghost", "guess").as_ref(), SOURCE)),
                ClientAuthError::UnknownClient
            );
        }
        assert!(matches!(
            denied(clients.authenticate(basic("ghost", "guess").as_ref(), SOURCE)),
            ClientAuthError::TooManyAttempts { .. }
        ));
        assert_eq!(counts.keys().len(), 3, "source, (id, source), id");
    }

    #[test]
    fn one_source_spending_its_secret_budget_is_refused_for_every_client_before_bcrypt() {
        let mut d = Doubles::new();
        // Three wrong secrets are hashed; nothing after them from that source.
        d.hasher.checkpoint();
        d.hasher
            .expect_verify()
            .times(4)
            .returning(|secret, hash| secret == hash.as_str().trim_start_matches("hash:"));
        let clients = d
            .use_cases(TokenSettings::default())
            .with_attempt_limits(crate::AttemptLimits {
                per_source: 3,
                ..crate::AttemptLimits::default()
            })
            .clients;
        for id in ["app", "narrow", "app"] {
            assert!(matches!(
                clients.authenticate(basic(id, "guess").as_ref(), SOURCE),
                Err(AuthenticateError::Denied(ClientAuthError::WrongSecret))
            ));
        }
        assert!(matches!(
            clients.authenticate(basic("narrow", SECRET).as_ref(), SOURCE),
            Err(AuthenticateError::Denied(
                ClientAuthError::TooManyAttempts { .. }
            ))
        ));
        // Another address is not that source (the fourth verification).
        clients
            .authenticate(basic("app", SECRET).as_ref(), OTHER_SOURCE)
            .unwrap();
    }

    #[test]
    fn a_counter_outage_is_a_storage_failure_never_invalid_client() {
        // The read fails: no hashing, no count, and a Store error (503), not a denial.
        let mut d = Doubles::new();
        d.failures.checkpoint();
        d.failures
            .expect_windows()
            .returning(|_, _| Err(StoreError::Unavailable("down".into())));
        d.failures.expect_record_failure().never();
        d.hasher.checkpoint();
        d.hasher.expect_verify().never();
        let use_cases = d.use_cases(TokenSettings::default());
        assert!(matches!(
            use_cases
                .clients
                .authenticate(basic("app", SECRET).as_ref(), SOURCE),
            Err(AuthenticateError::Store(StoreError::Unavailable(_)))
        ));
        let err = use_cases
            .token
            .respond(&password_request(
                basic("app", SECRET),
                "alice",
                PASSWORD,
                None,
            ))
            .unwrap_err();
        assert!(matches!(err, TokenError::Store(_)), "{err:?}");
        // The count fails after a wrong secret: a storage failure too.
        let mut d = Doubles::new();
        d.failures.checkpoint();
        d.failures
            .expect_windows()
            .returning(|keys, _| Ok(vec![None; keys.len()]));
        d.failures
            .expect_record_failure()
            .returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
        assert!(matches!(
            d.use_cases(TokenSettings::default())
                .clients
                .authenticate(basic("app", "guess").as_ref(), SOURCE),
            Err(AuthenticateError::Store(StoreError::Unavailable(_)))
        ));
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
            &AttemptLimits::default(),
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
                .authenticate(basic("app", secret).as_ref(), SOURCE)
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
        f.clients
            .authenticate(id_only("app").as_ref(), SOURCE)
            .unwrap();
    }

    #[test]
    fn capacity_zero_turns_the_cache_off() {
        let f = fixture(2);
        let clients = f.clients.with_secret_cache(SecretCacheLimits {
            capacity: 0,
            ttl_secs: 300,
        });
        clients
            .authenticate(basic("app", SECRET).as_ref(), SOURCE)
            .unwrap();
        clients
            .authenticate(basic("app", SECRET).as_ref(), SOURCE)
            .unwrap();
    }
}
