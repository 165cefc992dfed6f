//! Resource-owner authentication by username and password, shared by the password grant
//! (RFC 6749 §4.3) and the login page of the authorization endpoint: one set of rules and
//! one set of failure budgets (§4.3.2: "MUST protect the endpoint against brute force
//! attacks"; see `attempts`), so failures at either count against both. Each check runs
//! under a password-check permit (`check_permits`), and a password longer than bcrypt
//! reads is refused unhashed (`accounts::MAX_PASSWORD_BYTES`).

use std::net::IpAddr;

use grantd_ports::{StoreError, User, Username};

use crate::accounts::MAX_PASSWORD_BYTES;
use crate::attempts::{Guessed, Lockout};
use crate::check_permits::{self, ChecksBusy};
use crate::{AttemptLimits, PortSet};

/// Why a username and password did not log a user in.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// Wrong username or password, or a disabled user: one answer for all.
    #[error("invalid username or password")]
    BadCredentials,
    /// Too many failed guesses from this source lately; retry after this many seconds.
    #[error("too many failed attempts")]
    TooManyAttempts { retry_after: i64 },
    /// Every password-check permit is taken: refused at once, not a failed attempt, never
    /// counted.
    #[error(transparent)]
    Busy(#[from] ChecksBusy),
    /// The storage (the users or the failure counters) failed: not a failed attempt, never
    /// counted, never a refusal.
    #[error(transparent)]
    Store(StoreError),
}

/// Checks usernames and passwords. Clones share the budgets; the counters are the store's.
#[derive(Clone)]
pub(crate) struct UserAuthenticator {
    ports: PortSet,
    lockout: Lockout,
}

impl UserAuthenticator {
    pub(crate) fn new(ports: PortSet, limits: &AttemptLimits) -> Self {
        Self {
            ports,
            lockout: Lockout::new(Guessed::Password, limits),
        }
    }

    /// The enabled user behind `username` and `password`, sent from `source`. The failure
    /// budgets are checked before any user lookup or hashing, so a source or a
    /// (username, source) over its budget costs one read of the counters; every other
    /// failure but a storage one counts. Blocking: runs bcrypt.
    pub(crate) fn authenticate(
        &self,
        username: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<User, LoginError> {
        let ports = &self.ports;
        let now = ports.clock.now();
        // The account's counters are keyed by the parsed name (at most 256 bytes); one that
        // does not parse counts against its source only.
        let username = Username::parse(username).ok();
        let keys = self
            .lockout
            .keys(username.as_ref().map(Username::as_str), source);
        if let Err(retry_after) = self
            .lockout
            .check(ports.failures.as_ref(), &keys, now)
            .map_err(LoginError::Store)?
        {
            return Err(LoginError::TooManyAttempts { retry_after });
        }
        let result = self.check_password(username.as_ref(), password);
        if matches!(result, Err(LoginError::BadCredentials)) {
            self.lockout
                .record(ports.failures.as_ref(), &keys, now)
                .map_err(LoginError::Store)?;
        }
        result
    }

    /// One answer for every wrong guess, in the time a wrong password takes.
    fn check_password(
        &self,
        username: Option<&Username>,
        password: &str,
    ) -> Result<User, LoginError> {
        let ports = &self.ports;
        // bcrypt reads 72 bytes at most, and no password longer than that can be set: a
        // longer one is a wrong guess (never accepted on its first 72 bytes), refused
        // without hashing. It tells nothing about the user, so no timing to equalise.
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(LoginError::BadCredentials);
        }
        // Before the lookup: with every permit taken, refusing costs no query either.
        let _permit = check_permits::take(ports)?;
        let Some(username) = username else {
            ports.hasher.burn_password_verification();
            return Err(LoginError::BadCredentials);
        };
        let Some(user) = ports
            .users
            .find_user_by_username(username)
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use grantd_ports::{MockUserStore, StoreError};

    use super::*;
    use crate::test_support::*;
    use crate::{AuthorizeEndpoint, TokenSettings};

    fn source(n: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))
    }

    fn login_page(d: Doubles, limits: AttemptLimits) -> AuthorizeEndpoint {
        d.use_cases(TokenSettings::default())
            .with_attempt_limits(limits)
            .authorize
    }

    #[test]
    fn one_source_spending_its_budget_for_a_username_never_locks_out_another() {
        let counts = {
            let d = Doubles::new().with_user(false);
            let counts = d.counts.clone();
            let page = login_page(d, limits(3));
            for _ in 0..3 {
                assert_eq!(
                    page.log_in("alice", "guess", SOURCE),
                    Err(LoginError::BadCredentials)
                );
            }
            // The guesser's address waits, even with the right password...
            assert!(matches!(
                page.log_in("alice", PASSWORD, SOURCE),
                Err(LoginError::TooManyAttempts { retry_after: 60 })
            ));
            // ...and alice, from her own address, signs in.
            assert_eq!(
                page.log_in("alice", PASSWORD, OTHER_SOURCE)
                    .unwrap()
                    .username
                    .as_str(),
                "alice"
            );
            counts
        };
        // Three failures against (alice, source), the source and alice: 9; success adds none.
        assert_eq!(counts.total(), 9);
        assert_eq!(counts.keys().len(), 3);
    }

    #[test]
    fn a_wrong_password_counts_against_the_source_the_username_at_it_and_the_username() {
        let mut d = Doubles::new().with_user(false);
        d.failures.checkpoint();
        d.failures
            .expect_windows()
            .times(1)
            .returning(|keys, _| Ok(vec![None; keys.len()]));
        let lockout = Lockout::new(Guessed::Password, &AttemptLimits::default());
        let keys = lockout.keys(Some("alice"), SOURCE);
        let account = keys.account.clone().unwrap();
        let mut expected = vec![keys.source, account.at_source, account.across_sources];
        expected.sort();
        d.failures
            .expect_record_failure()
            .times(1)
            .withf(move |recorded, now, window| {
                let mut recorded = recorded.to_vec();
                recorded.sort();
                recorded == expected && *now == NOW && *window == 60
            })
            .returning(|_, _, _| Ok(()));
        let page = login_page(d, AttemptLimits::default());
        assert_eq!(
            page.log_in("alice", "guess", SOURCE),
            Err(LoginError::BadCredentials)
        );
    }

    #[test]
    fn a_flood_of_random_usernames_from_one_source_is_stopped_before_any_bcrypt() {
        let mut d = Doubles::new();
        // Five lookups and five dummy verifications, then nothing more from that source.
        d.users
            .expect_find_user_by_username()
            .times(5)
            .returning(|_| Ok(None));
        d.hasher
            .expect_burn_password_verification()
            .times(5)
            .return_const(());
        let page = login_page(
            d,
            AttemptLimits {
                per_source: 5,
                ..AttemptLimits::default()
            },
        );
        for i in 0..5 {
            assert_eq!(
                page.log_in(&format!("user-{i}"), "guess", SOURCE),
                Err(LoginError::BadCredentials)
            );
        }
        for i in 5..50 {
            assert!(matches!(
                page.log_in(&format!("user-{i}"), "guess", SOURCE),
                Err(LoginError::TooManyAttempts { .. })
            ));
        }
    }

    #[test]
    fn an_account_many_sources_failed_for_refuses_only_sources_that_failed_for_it() {
        let mut d = Doubles::new().with_user(false);
        d.hasher
            .expect_burn_password_verification()
            .return_const(());
        let page = login_page(
            d,
            AttemptLimits {
                per_username_and_source: 3,
                per_account: 5,
                ..AttemptLimits::default()
            },
        );
        // A distributed guesser: one failure from each of five addresses spends the account.
        for n in 1..=5 {
            assert_eq!(
                page.log_in("alice", "guess", source(n)),
                Err(LoginError::BadCredentials)
            );
        }
        // Each of those addresses waits now, though it is under its own budget of 3...
        assert!(matches!(
            page.log_in("alice", PASSWORD, source(1)),
            Err(LoginError::TooManyAttempts { .. })
        ));
        // ...while an address that never failed for alice is never refused.
        assert!(page.log_in("alice", PASSWORD, source(6)).is_ok());
        // A new guesser gets one guess, then waits too.
        assert_eq!(
            page.log_in("alice", "guess", source(7)),
            Err(LoginError::BadCredentials)
        );
        assert!(matches!(
            page.log_in("alice", "guess", source(7)),
            Err(LoginError::TooManyAttempts { .. })
        ));
        // Other accounts are untouched.
        assert_eq!(
            page.log_in("bob", "guess", source(1)),
            Err(LoginError::BadCredentials)
        );
    }

    #[test]
    fn a_name_that_does_not_parse_counts_against_its_source_only() {
        let mut d = Doubles::new();
        d.users.expect_find_user_by_username().never();
        d.hasher
            .expect_burn_password_verification()
            .return_const(());
        let counts = d.counts.clone();
        let page = login_page(d, AttemptLimits::default());
        // 16 KiB of name: one fixed-size key, the source's.
        let huge = "x".repeat(16 * 1024);
        assert_eq!(
            page.log_in(&huge, "guess", SOURCE),
            Err(LoginError::BadCredentials)
        );
        let source_key = Lockout::new(Guessed::Password, &AttemptLimits::default())
            .keys(None, SOURCE)
            .source;
        assert_eq!(counts.keys(), vec![source_key]);
    }

    #[test]
    fn an_outage_of_the_counters_is_a_storage_failure_never_a_refusal_or_a_guess() {
        // The read fails: nothing is looked up or hashed.
        let mut d = Doubles::new();
        d.failures.checkpoint();
        d.failures
            .expect_windows()
            .returning(|_, _| Err(StoreError::Unavailable("down".into())));
        d.failures.expect_record_failure().never();
        d.users = MockUserStore::new();
        d.users.expect_find_user_by_username().never();
        assert!(matches!(
            login_page(d, AttemptLimits::default()).log_in("alice", PASSWORD, SOURCE),
            Err(LoginError::Store(StoreError::Unavailable(_)))
        ));
        // The count fails after a wrong guess: a storage failure, not BadCredentials.
        let mut d = Doubles::new().with_user(false);
        d.failures.checkpoint();
        d.failures
            .expect_windows()
            .returning(|keys, _| Ok(vec![None; keys.len()]));
        d.failures
            .expect_record_failure()
            .returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
        assert!(matches!(
            login_page(d, AttemptLimits::default()).log_in("alice", "guess", SOURCE),
            Err(LoginError::Store(StoreError::Unavailable(_)))
        ));
    }

    #[test]
    fn budgets_of_zero_never_touch_the_counters() {
        let mut d = Doubles::new().with_user(false);
        d.failures.checkpoint();
        d.failures.expect_windows().never();
        d.failures.expect_record_failure().never();
        let page = login_page(
            d,
            AttemptLimits {
                per_username_and_source: 0,
                per_client_and_source: 0,
                per_source: 0,
                per_account: 0,
                window_secs: 60,
            },
        );
        for _ in 0..20 {
            assert_eq!(
                page.log_in("alice", "guess", SOURCE),
                Err(LoginError::BadCredentials)
            );
        }
        assert!(page.log_in("alice", PASSWORD, SOURCE).is_ok());
    }
}
