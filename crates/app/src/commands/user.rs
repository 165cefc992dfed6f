//! `grantd user …`: create a user, set a password, disable, enable and delete. The
//! password is read from one line of standard input, never from the command line; which
//! passwords may be set and the grants a change revokes are the domain's call
//! (`grantd_domain::accounts`).

use std::io::{BufRead, Write};

use anyhow::{bail, Context as _};
use grantd_domain::accounts::{self, NewPassword};
use grantd_domain::PortSet;
use grantd_ports::{StoreError, User, UserId, Username};

use crate::cli::UserCommand;

pub fn run_user(
    ports: &PortSet,
    command: &UserCommand,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(args) => {
            let username = parse_username(&args.username)?;
            // Checked before reading and hashing so that a taken name fails fast; the
            // insert's Conflict still covers a concurrent creation.
            if ports
                .users
                .find_user_by_username(&username)
                .context("cannot look up the user")?
                .is_some()
            {
                bail!("username {username} is taken");
            }
            let password = new_password(stdin)?;
            let user = create_user(ports, &username, &password)?;
            writeln!(out, "created user {} (id {})", user.username, user.id)?;
            Ok(())
        }
        UserCommand::Passwd(args) => {
            let user = find_user(ports, &args.username)?;
            let password = new_password(stdin)?;
            let changed = accounts::change_password(ports, &user, &password)
                .context("cannot change the password")?;
            let revoked = found_or_bail(changed, &user)?;
            writeln!(
                out,
                "changed the password of {} (revoked {revoked} grant(s))",
                user.username
            )?;
            Ok(())
        }
        UserCommand::Disable(args) => {
            let user = find_user(ports, &args.username)?;
            let changed =
                accounts::disable_user(ports, &user).context("cannot disable the user")?;
            let revoked = found_or_bail(changed, &user)?;
            writeln!(
                out,
                "disabled user {} (revoked {revoked} grant(s))",
                user.username
            )?;
            Ok(())
        }
        UserCommand::Enable(args) => {
            let user = find_user(ports, &args.username)?;
            let changed = accounts::enable_user(ports, &user).context("cannot enable the user")?;
            found_or_bail(changed, &user)?;
            writeln!(out, "enabled user {}", user.username)?;
            Ok(())
        }
        UserCommand::Delete(args) => {
            let user = find_user(ports, &args.username)?;
            let changed = accounts::delete_user(ports, &user).context("cannot delete the user")?;
            let revoked = found_or_bail(changed, &user)?;
            writeln!(
                out,
                "deleted user {} (revoked {revoked} grant(s))",
                user.username
            )?;
            Ok(())
        }
    }
}

/// Creates a user with a fresh id and the password hashed at the password cost.
pub fn create_user(
    ports: &PortSet,
    username: &Username,
    password: &NewPassword,
) -> anyhow::Result<User> {
    let id = UserId::parse(&ports.minter.mint_id())
        .map_err(|e| anyhow::anyhow!("minted an invalid user id: {e}"))?;
    let user = User {
        id,
        username: username.clone(),
        password: ports.hasher.hash_password(password.expose()),
        disabled: false,
        session_stamp: accounts::new_session_stamp(ports).context("cannot mint a session stamp")?,
        profile: Default::default(),
        created_at: ports.clock.now(),
    };
    match ports.users.insert_user(&user) {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => bail!("username {username} is taken"),
        Err(e) => Err(e).context("cannot store the user"),
    }
}

/// Reads one line; only the line ending is removed (a password may end in spaces).
pub fn read_password(stdin: &mut dyn BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line);
    if password.is_empty() {
        bail!("refusing an empty password (give it on standard input)");
    }
    Ok(password.to_owned())
}

/// A password from standard input that the domain lets one set (at most 72 bytes).
fn new_password(stdin: &mut dyn BufRead) -> anyhow::Result<NewPassword> {
    let password = read_password(stdin)?;
    NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("refusing the password: {e}"))
}

fn parse_username(username: &str) -> anyhow::Result<Username> {
    Username::parse(username).map_err(|e| anyhow::anyhow!("invalid username: {e}"))
}

fn find_user(ports: &PortSet, username: &str) -> anyhow::Result<User> {
    let parsed = parse_username(username)?;
    ports
        .users
        .find_user_by_username(&parsed)
        .context("cannot look up the user")?
        .ok_or_else(|| anyhow::anyhow!("no user named {username}"))
}

/// The number of revoked grants, or an error if the user vanished meanwhile.
fn found_or_bail(changed: accounts::Changed, user: &User) -> anyhow::Result<u64> {
    if !changed.found {
        bail!("no user named {}", user.username);
    }
    Ok(changed.revoked_grants)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use grantd_ports::{RevokedAccess, SecretHash, SessionStamp};
    use mockall::Sequence;

    use super::*;
    use crate::cli::UserArgs;
    use crate::commands::doubles::Doubles;

    fn alice() -> User {
        User {
            id: UserId::parse("u1").unwrap(),
            username: Username::parse("alice").unwrap(),
            password: SecretHash::from_stored("$2b$hash".into()),
            disabled: false,
            session_stamp: SessionStamp::parse("stamp0").unwrap(),
            profile: Default::default(),
            created_at: 0,
        }
    }

    fn user_args() -> UserArgs {
        UserArgs {
            username: "alice".into(),
        }
    }

    #[test]
    fn deleting_a_user_revokes_grants_before_deleting() {
        let mut d = Doubles::new();
        let mut seq = Sequence::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.tokens
            .expect_revoke_grants_of_user()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _| Ok(2));
        d.users
            .expect_delete_user()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(true));
        let mut out = Vec::new();
        run_user(
            &d.ports(),
            &UserCommand::Delete(user_args()),
            &mut &b""[..],
            &mut out,
        )
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("revoked 2 grant(s)"));
    }

    #[test]
    fn disabling_a_user_is_one_transaction_that_revokes_its_grants() {
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.tokens.expect_revoke_grants_of_user().never();
        d.minter.expect_mint_id().returning(|| "stamp9".into());
        d.users.expect_disable_user().times(1).returning(|_, _, _| {
            Ok(Some(RevokedAccess {
                grants: 3,
                codes: 1,
            }))
        });
        let mut out = Vec::new();
        run_user(
            &d.ports(),
            &UserCommand::Disable(user_args()),
            &mut &b""[..],
            &mut out,
        )
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("revoked 3 grant(s)"));
    }

    #[test]
    fn changing_a_password_uses_the_one_transactional_store_method() {
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.tokens.expect_revoke_grants_of_user().never();
        d.minter.expect_mint_id().returning(|| "stamp9".into());
        d.hasher
            .expect_hash_password()
            .returning(|p| SecretHash::from_stored(format!("h:{p}")));
        d.users
            .expect_change_password()
            .times(1)
            .returning(|_, _, stamp, _| {
                assert_ne!(stamp.as_str(), "stamp0");
                Ok(Some(RevokedAccess {
                    grants: 2,
                    codes: 0,
                }))
            });
        let mut out = Vec::new();
        run_user(
            &d.ports(),
            &UserCommand::Passwd(crate::cli::UserPasswordArgs {
                username: "alice".into(),
                password_stdin: true,
            }),
            &mut &b"new password\n"[..],
            &mut out,
        )
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("revoked 2 grant(s)"));
    }

    #[test]
    fn a_taken_username_is_a_clear_error() {
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.users.expect_insert_user().never();
        let err = run_user(
            &d.ports(),
            &UserCommand::Create(crate::cli::UserPasswordArgs {
                username: "alice".into(),
                password_stdin: true,
            }),
            &mut &b"pw\n"[..],
            &mut Vec::new(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "username alice is taken");
    }

    #[test]
    fn a_password_over_72_bytes_is_refused_at_creation_and_change_and_nothing_is_stored() {
        let long = format!("{}\n", "p".repeat(73));
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|name| Ok((name.as_str() == "alice").then(alice)));
        d.hasher.expect_hash_password().never();
        d.users.expect_insert_user().never();
        d.users.expect_change_password().never();
        d.tokens.expect_revoke_grants_of_user().never();
        let ports = d.ports();
        let create = UserCommand::Create(crate::cli::UserPasswordArgs {
            username: "bob".into(),
            password_stdin: true,
        });
        let passwd = UserCommand::Passwd(crate::cli::UserPasswordArgs {
            username: "alice".into(),
            password_stdin: true,
        });
        for command in [create, passwd] {
            let err = run_user(&ports, &command, &mut long.as_bytes(), &mut Vec::new())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("refusing the password") && err.contains("at most 72 bytes"),
                "{err}"
            );
        }
    }

    #[test]
    fn passwords_keep_everything_but_the_line_ending() {
        assert_eq!(read_password(&mut &b"pw \r\n"[..]).unwrap(), "pw ");
        assert_eq!(read_password(&mut &b"pw"[..]).unwrap(), "pw");
        assert!(read_password(&mut &b"\n"[..]).is_err());
        assert!(read_password(&mut &b""[..]).is_err());
    }
}
