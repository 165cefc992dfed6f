//! Resource-owner authentication by username and password, shared by the password grant
//! (RFC 6749 §4.3) and the login page of the authorization endpoint: one set of rules and
//! one per-username failure limit (§4.3.2: "MUST protect the endpoint against brute force
//! attacks"), so failures at either count against both. Each check runs under a
//! password-check permit (`check_permits`), and a password longer than bcrypt reads is
//! refused unhashed (`accounts::MAX_PASSWORD_BYTES`).

use std::sync::Arc;

use grantd_ports::{StoreError, User, Username};

use crate::accounts::MAX_PASSWORD_BYTES;
use crate::check_permits::{self, ChecksBusy};
use crate::{AttemptLimit, FailureLimiter, PortSet};

/// Why a username and password did not log a user in.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong username or password, or a disabled user: one answer for all.
    #[error("invalid username or password")]
    BadCredentials,
    /// Too many failures for this username lately; retry after this many seconds.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: i64 },
    /// Every password-check permit is taken: refused at once, not a failed attempt, never
    /// counted.
    #[error(transparent)]
    Busy(#[from] ChecksBusy),
    /// The storage failed: not a failed attempt, never counted.
    #[error(transparent)]
    Store(StoreError),
}

/// Checks usernames and passwords. Clones share one failure limiter.
#[derive(Clone)]
pub(crate) struct UserAuthenticator {
    ports: PortSet,
    failures: Arc<FailureLimiter>,
}

impl UserAuthenticator {
    pub(crate) fn new(ports: PortSet, limit: AttemptLimit) -> Self {
        Self {
            ports,
            failures: Arc::new(FailureLimiter::new(limit)),
        }
    }

    /// The enabled user behind `username` and `password`. A username at its failure limit
    /// is refused before any hashing; every other failure but a storage one counts.
    /// Blocking: runs bcrypt.
    pub(crate) fn authenticate(&self, username: &str, password: &str) -> Result<User, LoginError> {
        let now = self.ports.clock.now();
        if let Err(retry_after) = self.failures.check(username, now) {
            return Err(LoginError::TooManyAttempts { retry_after });
        }
        let result = self.check_password(username, password);
        if matches!(result, Err(LoginError::BadCredentials)) {
            self.failures.record_failure(username, now);
        }
        result
    }

    /// One answer for every wrong guess, in the time a wrong password takes.
    fn check_password(&self, username: &str, password: &str) -> Result<User, LoginError> {
        let ports = &self.ports;
        // bcrypt reads 72 bytes at most, and no password longer than that can be set: a
        // longer one is a wrong guess (never accepted on its first 72 bytes), refused
        // without hashing. It tells nothing about the user, so no timing to equalise.
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(LoginError::BadCredentials);
        }
        // Before the lookup: with every permit taken, refusing costs no query either.
        let _permit = check_permits::take(ports)?;
        let Ok(username) = Username::parse(username) else {
            ports.hasher.burn_password_verification();
            return Err(LoginError::BadCredentials);
        };
        let Some(user) = ports
            .users
            .find_user_by_username(&username)
            .map_err(LoginError::Store)?
        else {
            // Same time as a wrong password: no user enumeration by timing.
            ports.hasher.burn_password_verification();
            return Err(LoginError::BadCredentials);
        };
        // The password is checked before `disabled`, so a wrong guess learns nothing.
        if !ports.hasher.verify(password, &user.password) || user.disabled {
            return Err(LoginError::BadCredentials);
        }
        Ok(user)
    }
}
