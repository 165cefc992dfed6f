//! Account lifecycle rules (RFC 9700 §4.14.2: the AS "MAY revoke refresh tokens
//! automatically in case of a security event, such as: password change"). A password
//! change or a disabling ends, in ONE store transaction, everything the old standing
//! allowed: the user's grants (and so their tokens), their unredeemed authorization codes,
//! and their login sessions (a new session stamp). Deleting a user or a client revokes the
//! affected grants FIRST, so no token outlives the change even if the delete fails.
//! Rotating a client's secret revokes nothing: the grants belong to the client, not to its
//! secret.
//! A password to be set must be one that bcrypt reads whole ([`NewPassword`]).

use std::fmt;

use grantd_ports::{Client, PlainToken, RevokedAccess, SessionStamp, StoreError, TokenKind, User};

use crate::PortSet;

/// The longest password, in bytes (UTF-8): bcrypt reads no further, so a longer one would
/// be checked on its first 72 bytes alone and every password sharing them would pass.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Why a password cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error(
        "the password is {0} bytes long; at most {MAX_PASSWORD_BYTES} bytes (UTF-8) are allowed, \
         since bcrypt ignores everything after byte {MAX_PASSWORD_BYTES}"
    )]
    TooLong(usize),
}

/// A password that may be set: 1 to [`MAX_PASSWORD_BYTES`] bytes, every one of them
/// significant. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(password: &str) -> Result<Self, PasswordError> {
        match password.len() {
            0 => Err(PasswordError::Empty),
            n if n > MAX_PASSWORD_BYTES => Err(PasswordError::TooLong(n)),
            _ => Ok(Self(password.to_owned())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// The outcome of a lifecycle change: whether the record still existed, and how many
/// grants were revoked on its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    pub found: bool,
    pub revoked_grants: u64,
}

impl From<Option<RevokedAccess>> for Changed {
    fn from(ended: Option<RevokedAccess>) -> Self {
        Changed {
            found: ended.is_some(),
            revoked_grants: ended.map_or(0, |e| e.grants),
        }
    }
}

/// A fresh random session stamp (128 bits from the minter): a new user's first one, or the
/// replacement that ends every login session of a user.
pub fn new_session_stamp(ports: &PortSet) -> Result<SessionStamp, StoreError> {
    SessionStamp::parse(&ports.minter.mint_id())
        .map_err(|e| StoreError::Other(format!("minted an invalid session stamp: {e}")))
}

/// Sets a new password (hashed here, at the password cost); the same transaction revokes
/// every grant and unredeemed code of the user and ends their login sessions.
pub fn change_password(
    ports: &PortSet,
    user: &User,
    new_password: &NewPassword,
) -> Result<Changed, StoreError> {
    let hash = ports.hasher.hash_password(new_password.expose());
    let stamp = new_session_stamp(ports)?;
    let ended = ports
        .users
        .change_password(&user.id, &hash, &stamp, ports.clock.now())?;
    Ok(ended.into())
}

/// Disables a user; the same transaction revokes every grant and unredeemed code of theirs
/// and ends their login sessions (so that enabling them again revives none).
pub fn disable_user(ports: &PortSet, user: &User) -> Result<Changed, StoreError> {
    let stamp = new_session_stamp(ports)?;
    let ended = ports
        .users
        .disable_user(&user.id, &stamp, ports.clock.now())?;
    Ok(ended.into())
}

/// Enables a user. Nothing to revoke: disabling revoked every grant and ended every
/// session, and a disabled user could not obtain new ones.
pub fn enable_user(ports: &PortSet, user: &User) -> Result<Changed, StoreError> {
    let found = ports.users.enable_user(&user.id)?;
    Ok(Changed {
        found,
        revoked_grants: 0,
    })
}

/// Deletes a user after revoking every grant (the delete then removes them).
pub fn delete_user(ports: &PortSet, user: &User) -> Result<Changed, StoreError> {
    let revoked_grants = ports
        .tokens
        .revoke_grants_of_user(&user.id, ports.clock.now())?;
    let found = ports.users.delete_user(&user.id)?;
    Ok(Changed {
        found,
        revoked_grants,
    })
}

/// Deletes a client after revoking every grant it holds.
pub fn delete_client(ports: &PortSet, client: &Client) -> Result<Changed, StoreError> {
    let revoked_grants = ports
        .tokens
        .revoke_grants_of_client(&client.id, ports.clock.now())?;
    let found = ports.clients.delete_client(&client.id)?;
    Ok(Changed {
        found,
        revoked_grants,
    })
}

/// Mints and stores a new secret for a confidential client; returns it (the only time it
/// exists in plain) or `None` if the client vanished. Grants are kept.
pub fn rotate_client_secret(
    ports: &PortSet,
    client: &Client,
) -> Result<Option<PlainToken>, StoreError> {
    let secret = ports.minter.mint(TokenKind::ClientSecret);
    let hash = ports.hasher.hash_client_secret(secret.expose());
    Ok(ports
        .clients
        .set_client_secret(&client.id, &hash)?
        .then_some(secret))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use grantd_ports::{SecretHash, UserId, Username};

    use super::*;
    use crate::test_support::{client, Doubles, NOW};

    fn alice() -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: SecretHash::from_stored("old".into()),
            disabled: false,
            session_stamp: SessionStamp::parse("stamp0").unwrap(),
            profile: Default::default(),
            created_at: 0,
        }
    }

    /// Records the stamps the store was given.
    fn journal() -> Arc<Mutex<Vec<String>>> {
        Arc::new(Mutex::new(Vec::new()))
    }

    #[test]
    fn password_change_is_one_store_transaction_with_a_new_session_stamp() {
        let stamps = journal();
        let mut d = Doubles::new();
        d.hasher
            .expect_hash_password()
            .returning(|p| SecretHash::from_stored(format!("hash:{p}")));
        // Never a revocation of its own beside the transaction: a failure between the
        // two would leave the old password's tokens alive or the new password unset.
        d.tokens.expect_revoke_grants_of_user().never();
        let s = stamps.clone();
        d.users
            .expect_change_password()
            .times(1)
            .returning(move |id, hash, stamp, now| {
                assert_eq!((id.as_str(), hash.as_str(), now), ("u1", "hash:new", NOW));
                s.lock().unwrap().push(stamp.as_str().to_owned());
                Ok(Some(RevokedAccess {
                    grants: 2,
                    codes: 1,
                }))
            });
        let ports = d.ports();
        assert_eq!(
            change_password(&ports, &alice(), &NewPassword::parse("new").unwrap()).unwrap(),
            Changed {
                found: true,
                revoked_grants: 2
            }
        );
        let stamps = stamps.lock().unwrap();
        assert_ne!(stamps[0], "stamp0", "the stamp is replaced");
    }

    #[test]
    fn a_password_is_1_to_72_bytes_of_utf8() {
        assert_eq!(NewPassword::parse(""), Err(PasswordError::Empty));
        let longest = "é".repeat(36);
        assert_eq!(NewPassword::parse(&longest).unwrap().expose(), longest);
        // 37 two-byte characters are 74 bytes: counted in bytes, not characters.
        assert_eq!(
            NewPassword::parse(&"é".repeat(37)),
            Err(PasswordError::TooLong(74))
        );
        let err = NewPassword::parse(&"p".repeat(73)).unwrap_err().to_string();
        assert!(err.contains("at most 72 bytes"), "{err}");
        assert_eq!(
            format!("{:?}", NewPassword::parse("hunter2").unwrap()),
            "NewPassword(<redacted>)"
        );
    }

    #[test]
    fn a_password_change_for_a_vanished_user_reports_it_and_a_failure_is_an_error() {
        let mut d = Doubles::new();
        d.hasher
            .expect_hash_password()
            .returning(|p| SecretHash::from_stored(format!("hash:{p}")));
        let mut calls = 0;
        d.users
            .expect_change_password()
            .times(2)
            .returning(move |_, _, _, _| {
                calls += 1;
                if calls == 1 {
                    Ok(None)
                } else {
                    Err(StoreError::Unavailable("down".into()))
                }
            });
        let ports = d.ports();
        assert_eq!(
            change_password(&ports, &alice(), &NewPassword::parse("new").unwrap()).unwrap(),
            Changed {
                found: false,
                revoked_grants: 0
            }
        );
        assert!(matches!(
            change_password(&ports, &alice(), &NewPassword::parse("new").unwrap()),
            Err(StoreError::Unavailable(_))
        ));
    }

    #[test]
    fn disabling_replaces_the_stamp_in_its_transaction_and_enabling_revokes_nothing() {
        let stamps = journal();
        let mut d = Doubles::new();
        d.tokens.expect_revoke_grants_of_user().never();
        let s = stamps.clone();
        d.users
            .expect_disable_user()
            .times(2)
            .returning(move |id, stamp, now| {
                assert_eq!((id.as_str(), now), ("u1", NOW));
                s.lock().unwrap().push(stamp.as_str().to_owned());
                Ok(Some(RevokedAccess {
                    grants: 1,
                    codes: 0,
                }))
            });
        d.users
            .expect_enable_user()
            .times(1)
            .returning(|_| Ok(true));
        let ports = d.ports();
        assert_eq!(disable_user(&ports, &alice()).unwrap().revoked_grants, 1);
        assert_eq!(disable_user(&ports, &alice()).unwrap().revoked_grants, 1);
        assert_eq!(enable_user(&ports, &alice()).unwrap().revoked_grants, 0);
        let stamps = stamps.lock().unwrap();
        assert_ne!(stamps[0], stamps[1], "every stamp is fresh");
        assert!(!stamps.contains(&"stamp0".to_owned()));
    }

    #[test]
    fn deleting_revokes_grants_first_and_a_failed_revocation_deletes_nothing() {
        let mut d = Doubles::new();
        let mut calls = 0;
        d.tokens
            .expect_revoke_grants_of_user()
            .times(2)
            .returning(move |_, _| {
                calls += 1;
                if calls == 1 {
                    Ok(1)
                } else {
                    Err(StoreError::Unavailable("down".into()))
                }
            });
        d.users
            .expect_delete_user()
            .times(1)
            .returning(|_| Ok(true));
        let ports = d.ports();
        assert_eq!(delete_user(&ports, &alice()).unwrap().revoked_grants, 1);
        assert!(delete_user(&ports, &alice()).is_err());
    }

    #[test]
    fn deleting_a_client_revokes_its_grants_but_rotating_its_secret_does_not() {
        let mut d = Doubles::new();
        d.tokens
            .expect_revoke_grants_of_client()
            .times(1)
            .returning(|_, _| Ok(3));
        d.clients
            .expect_delete_client()
            .times(1)
            .returning(|_| Ok(true));
        d.hasher
            .expect_hash_client_secret()
            .returning(|s| SecretHash::from_stored(format!("hash:{s}")));
        d.clients
            .expect_set_client_secret()
            .times(1)
            .returning(|_, _| Ok(true));
        let ports = d.ports();
        let app = client("app", true);
        assert_eq!(
            delete_client(&ports, &app).unwrap(),
            Changed {
                found: true,
                revoked_grants: 3
            }
        );
        let secret = rotate_client_secret(&ports, &app).unwrap().unwrap();
        assert!(TokenKind::ClientSecret.is_well_formed(secret.expose()));
    }
}
