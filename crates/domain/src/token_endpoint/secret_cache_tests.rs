//! The verified-secret cache as the token endpoint uses it: bcrypt runs once for a client
//! that keeps presenting its secret, and never stands in for a check the row must pass.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use grantd_ports::{
    Client, MockClientStore, MockClock, MockSecretHasher, MockTokenMinter, SecretHash, TokenKind,
};

use crate::test_support::{basic, client, Doubles, NOW, SECRET};
use crate::{
    AuthenticateError, ClientAuthError, PortSet, SecretCacheLimits, TokenService, TokenSettings,
};

/// A service over one mutable client row `app`, a movable clock, and a hasher whose
/// `verify` must be called exactly `verifications` times (accepting only SECRET).
struct Fixture {
    service: TokenService,
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
    let mut ports: PortSet = Doubles::new()
        .service(TokenSettings::default())
        .ports()
        .clone();
    ports.clients = Arc::new(clients);
    ports.hasher = Arc::new(hasher);
    ports.minter = Arc::new(minter);
    ports.clock = Arc::new(mock_clock);
    let service =
        TokenService::new(ports, TokenSettings::default()).with_secret_cache(SecretCacheLimits {
            capacity: 10,
            ttl_secs: 300,
        });
    Fixture {
        service,
        row,
        clock,
    }
}

impl Fixture {
    /// The denial, if any; a storage failure has no place in these tests.
    fn authenticate(&self, secret: &str) -> Result<Client, ClientAuthError> {
        self.service
            .authenticate(basic("app", secret).as_ref())
            .map_err(|e| match e {
                AuthenticateError::Denied(denied) => denied,
                AuthenticateError::Store(e) => panic!("unexpected storage failure: {e}"),
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
    f.service
        .authenticate(crate::test_support::id_only("app").as_ref())
        .unwrap();
}

#[test]
fn capacity_zero_turns_the_cache_off() {
    let f = fixture(2);
    let service = f.service.clone().with_secret_cache(SecretCacheLimits {
        capacity: 0,
        ttl_secs: 300,
    });
    service.authenticate(basic("app", SECRET).as_ref()).unwrap();
    service.authenticate(basic("app", SECRET).as_ref()).unwrap();
}
