//! The rule that keeps bcrypt from starving everything else: every check of a presented
//! password or client secret (the dummy check for an unknown user included) first takes a
//! permit from its own small pool ([`PasswordCheckPermits`], apart from the database
//! work), without waiting. With every permit taken the request is refused at once as
//! "retry later": not a failed guess, never counted against anyone, never queued, so that
//! a flood of guesses costs the server at most the pool's bcrypts at a time.
//!
//! The same rule may be asked early ([`free`]): a request that will surely check a
//! password (a password grant, a login form) is refused before the edge's blocking hop
//! when no permit is free, so that a flood beyond the pool queues for no database work
//! and runs no query either. The check under the real permit still follows.

use grantd_ports::{CheckPermit, DomainEvent};

use crate::PortSet;

/// Every password-check permit is taken now: the request may be retried shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("every password-check permit is taken; retry later")]
pub struct ChecksBusy;

/// A permit for one bcrypt check, held until the returned value drops; counted for
/// `/metrics` when refused.
pub(crate) fn take(ports: &PortSet) -> Result<CheckPermit, ChecksBusy> {
    ports.password_checks.try_acquire().ok_or_else(|| {
        ports.metrics.record(DomainEvent::PasswordCheckRefused);
        ChecksBusy
    })
}

/// Whether a permit is free now (taken and given back at once); refused and counted as
/// [`take`] does when none is.
pub(crate) fn free(ports: &PortSet) -> Result<(), ChecksBusy> {
    take(ports).map(drop)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use grantd_ports::{DomainEvent, MockPasswordCheckPermits, PasswordCheckPermits};

    use super::*;
    use crate::test_support::*;
    use crate::{AuthenticateError, LoginError, TokenError, TokenSettings, UseCases};

    /// A pool of one permit whose state the hasher double can see.
    #[derive(Clone, Default)]
    struct OnePermit(Arc<AtomicBool>);

    struct Release(Arc<AtomicBool>);

    impl Drop for Release {
        fn drop(&mut self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }

    impl PasswordCheckPermits for OnePermit {
        fn try_acquire(&self) -> Option<CheckPermit> {
            (!self.0.swap(true, Ordering::SeqCst))
                .then(|| CheckPermit::new(Release(self.0.clone())))
        }
    }

    /// A pool with no permit free: asked exactly `times` times.
    fn full(times: usize) -> Arc<MockPasswordCheckPermits> {
        let mut permits = MockPasswordCheckPermits::new();
        permits.expect_try_acquire().times(times).returning(|| None);
        Arc::new(permits)
    }

    /// The use cases over doubles with `alice`, no bcrypt allowed, secrets cache off.
    fn no_bcrypt(mut d: Doubles) -> Doubles {
        d.hasher = grantd_ports::MockSecretHasher::new();
        d.hasher.expect_verify().never();
        d.hasher.expect_burn_password_verification().never();
        d
    }

    fn use_cases(d: Doubles) -> UseCases {
        d.use_cases(TokenSettings::default())
            .with_attempt_limits(limits(1))
            .with_secret_cache(crate::SecretCacheLimits {
                capacity: 0,
                ttl_secs: 300,
            })
    }

    #[test]
    fn a_full_pool_refuses_a_password_at_once_without_bcrypt_or_a_lookup_and_counts_nothing() {
        // A public client (no secret, so no bcrypt) asks for the password grant, so that
        // the only check that wants a permit is the password's.
        let mut d = no_bcrypt(Doubles::new());
        d.users.expect_find_user_by_username().never();
        d.tokens.expect_issue().never();
        d.password_checks = full(3);
        let events = d.events.clone();
        let cases = use_cases(d);
        for _ in 0..2 {
            let err = cases
                .token
                .respond(&password_request(
                    id_only("public"),
                    "alice",
                    PASSWORD,
                    None,
                ))
                .unwrap_err();
            assert!(matches!(err, TokenError::Busy(ChecksBusy)), "{err:?}");
        }
        assert_eq!(
            cases.authorize.log_in("alice", "wrong", SOURCE),
            Err(LoginError::Busy(ChecksBusy))
        );
        let refused = events
            .recorded()
            .into_iter()
            .filter(|e| *e == DomainEvent::PasswordCheckRefused)
            .count();
        assert_eq!(refused, 3);
        assert!(
            !events.recorded().contains(&DomainEvent::RateLimited),
            "a refusal for capacity is not a failed guess"
        );
    }

    #[test]
    fn refusals_for_capacity_never_count_against_the_username() {
        // One failure allowed: had the refusals counted, the right password would be 429.
        let mut d = Doubles::new().with_user(false);
        d.password_checks = Arc::new(OnePermit::default());
        let held = d.password_checks.try_acquire();
        let cases = use_cases(d);
        for _ in 0..3 {
            assert_eq!(
                cases.authorize.log_in("alice", "wrong", SOURCE),
                Err(LoginError::Busy(ChecksBusy))
            );
        }
        drop(held);
        assert_eq!(
            cases
                .authorize
                .log_in("alice", PASSWORD, SOURCE)
                .unwrap()
                .username
                .as_str(),
            "alice"
        );
    }

    #[test]
    fn the_dummy_check_for_an_unknown_user_runs_under_a_permit_too() {
        let pool = OnePermit::default();
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .times(1)
            .returning(|_| Ok(None));
        let taken = pool.0.clone();
        d.hasher
            .expect_burn_password_verification()
            .times(1)
            .returning(move || assert!(taken.load(Ordering::SeqCst), "bcrypt without a permit"));
        d.password_checks = Arc::new(pool.clone());
        let cases = d.use_cases(TokenSettings::default());
        assert_eq!(
            cases.authorize.log_in("nobody", "guess", SOURCE),
            Err(LoginError::BadCredentials)
        );
        assert!(!pool.0.load(Ordering::SeqCst), "the permit is given back");
        // With the permit held elsewhere, the same guess is refused before the lookup.
        let _held = pool.try_acquire();
        assert_eq!(
            cases.authorize.log_in("nobody", "guess", SOURCE),
            Err(LoginError::Busy(ChecksBusy))
        );
    }

    #[test]
    fn a_client_secret_that_needs_bcrypt_takes_a_permit_and_a_full_pool_refuses_it() {
        let pool = OnePermit::default();
        let mut d = Doubles::new();
        let taken = pool.0.clone();
        d.hasher = grantd_ports::MockSecretHasher::new();
        d.hasher
            .expect_verify()
            .times(2)
            .returning(move |secret, hash| {
                assert!(taken.load(Ordering::SeqCst), "bcrypt without a permit");
                secret == hash.as_str().trim_start_matches("hash:")
            });
        d.password_checks = Arc::new(pool.clone());
        let cases = use_cases(d);
        assert!(cases
            .clients
            .authenticate(basic("app", SECRET).as_ref(), SOURCE)
            .is_ok());
        let held = pool.try_acquire();
        for _ in 0..3 {
            assert!(matches!(
                cases
                    .clients
                    .authenticate(basic("app", "guess").as_ref(), SOURCE),
                Err(AuthenticateError::Busy(ChecksBusy))
            ));
        }
        // Not counted as failures (limit 1): the right secret still authenticates.
        drop(held);
        assert!(cases
            .clients
            .authenticate(basic("app", SECRET).as_ref(), SOURCE)
            .is_ok());
    }

    #[test]
    fn with_no_permit_free_a_password_grant_or_login_is_refused_before_any_blocking_work() {
        // `admit` runs on the async side: it asks the pool and touches no store.
        let mut d = no_bcrypt(Doubles::new());
        d.users.expect_find_user_by_username().never();
        d.password_checks = full(2);
        let cases = d.use_cases(TokenSettings::default());
        let password = password_request(basic("app", SECRET), "alice", PASSWORD, None);
        assert!(matches!(
            cases.token.admit(&password),
            Err(TokenError::Busy(ChecksBusy))
        ));
        assert_eq!(
            cases.authorize.admit_login(),
            Err(LoginError::Busy(ChecksBusy))
        );
        // Other grants never check a password: admitted without asking the pool.
        let refresh = refresh_request(basic("app", SECRET), &presented_refresh(), None);
        assert!(cases.token.admit(&refresh).is_ok());
    }

    #[test]
    fn admitting_gives_the_permit_back() {
        let pool = OnePermit::default();
        let mut d = Doubles::new();
        d.password_checks = Arc::new(pool.clone());
        let cases = d.use_cases(TokenSettings::default());
        assert!(cases.authorize.admit_login().is_ok());
        assert!(!pool.0.load(Ordering::SeqCst));
    }

    #[test]
    fn checks_without_bcrypt_need_no_permit() {
        // A public client presents no secret; a remembered secret skips bcrypt.
        let mut d = no_bcrypt(Doubles::new());
        d.password_checks = full(0);
        let cases = d.use_cases(TokenSettings::default());
        assert!(cases
            .clients
            .authenticate(id_only("public").as_ref(), SOURCE)
            .is_ok());

        let mut d = Doubles::new();
        let mut permits = MockPasswordCheckPermits::new();
        permits
            .expect_try_acquire()
            .times(1)
            .returning(|| Some(CheckPermit::new(())));
        d.password_checks = Arc::new(permits);
        let cases = d.use_cases(TokenSettings::default());
        for _ in 0..3 {
            assert!(cases
                .clients
                .authenticate(basic("app", SECRET).as_ref(), SOURCE)
                .is_ok());
        }
    }
}
