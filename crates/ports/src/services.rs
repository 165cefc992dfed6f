//! Ports for time, randomness and slow hashing (and the permits that bound it), so that
//! tests control all of them.

use std::fmt;

use crate::{PlainToken, TokenKind, UnixMillis, UnixTime};

/// The one time source for every expiry decision.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the Unix epoch.
    fn now(&self) -> UnixTime;

    /// Milliseconds since the Unix epoch, to order a request's arrival against a rotation
    /// within one second. MUST agree with [`Clock::now`] (`now_millis() / 1000 == now()` at
    /// one instant). The default has only whole-second precision, which makes every
    /// presentation in the rotation's own second look concurrent: a real clock overrides it.
    fn now_millis(&self) -> UnixMillis {
        self.now().saturating_mul(1000)
    }
}

/// Mints fresh random tokens (at least 256 bits from a CSPRNG).
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait TokenMinter: Send + Sync + 'static {
    fn mint(&self, kind: TokenKind) -> PlainToken;
    /// A random opaque id (grant and user ids): 128 bits, base64url.
    fn mint_id(&self) -> String;
}

/// A slow, salted hash of a low-entropy secret (a bcrypt string). `Debug` is redacted:
/// even a hash is not for logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// Hashes and verifies user passwords and client secrets (bcrypt in production).
/// Blocking and slow by design: callers run it off the async workers.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait SecretHasher: Send + Sync + 'static {
    /// Hashes a user password at the configured password cost.
    fn hash_password(&self, password: &str) -> SecretHash;
    /// Hashes a client secret at the configured client-secret cost.
    fn hash_client_secret(&self, secret: &str) -> SecretHash;
    /// Whether `secret` matches `hash`. MUST return false (never panic) for a malformed hash.
    fn verify(&self, secret: &str, hash: &SecretHash) -> bool;
    /// Spends the time of one password verification, so that an unknown username takes
    /// as long to refuse as a wrong password (no user enumeration by timing).
    fn burn_password_verification(&self);
}

/// Leave to run one slow hash check (bcrypt) now; the slot is released when it is dropped.
/// Whatever the adapter keeps to release it is hidden behind this type.
pub struct CheckPermit {
    _slot: Box<dyn Send>,
}

impl CheckPermit {
    /// A permit that releases `slot` (a guard of the adapter's own) when dropped.
    pub fn new(slot: impl Send + 'static) -> Self {
        Self {
            _slot: Box::new(slot),
        }
    }
}

impl fmt::Debug for CheckPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckPermit")
    }
}

/// A small pool of permits for password and client-secret checks, apart from the database
/// work, so that a flood of guesses (each a bcrypt, tens of milliseconds of CPU) cannot
/// take the capacity every other request needs. The domain asks before each check.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait PasswordCheckPermits: Send + Sync + 'static {
    /// A permit if one is free now, else `None`. MUST NOT wait: a full pool is answered
    /// at once (the caller refuses the request as "retry later"), never queued.
    fn try_acquire(&self) -> Option<CheckPermit>;
}

/// No bound at all: for tools and tests that check no passwords under load.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnboundedChecks;

impl PasswordCheckPermits for UnboundedChecks {
    fn try_acquire(&self) -> Option<CheckPermit> {
        Some(CheckPermit::new(()))
    }
}
