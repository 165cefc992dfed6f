//! `grantd user …`: create a user, show one, change their profile, set a password,
//! disable, enable and delete. The password is read from one line of standard input,
//! never from the command line; which passwords and profile values may be set and the
//! grants a change revokes are the domain's call (`grantd_domain::accounts`,
//! `grantd_domain::user_profile`).

use std::io::{BufRead, Write};

use anyhow::{bail, Context as _};
use grantd_domain::accounts::{self, NewPassword};
use grantd_domain::admin;
use grantd_domain::user_profile::{self, Change, ProfileUpdate, UpdateProfileError};
use grantd_domain::PortSet;
use grantd_ports::{User, UserProfile, Username};
use serde::Serialize;

use super::print_json;
use crate::cli::{UserCommand, UserUpdateArgs};

/// A user as `user show` prints it: never the password hash or the session stamp.
#[derive(Debug, Serialize)]
pub struct UserView {
    pub user_id: String,
    pub username: String,
    pub disabled: bool,
    /// null = not set.
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub created_at: i64,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            user_id: u.id.to_string(),
            username: u.username.to_string(),
            disabled: u.disabled,
            name: u.profile.name.clone(),
            email: u.profile.email.clone(),
            email_verified: u.profile.email_verified,
            created_at: u.created_at,
        }
    }
}

pub fn run_user(
    ports: &PortSet,
    command: &UserCommand,
    stdin: &mut dyn BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        UserCommand::Create(args) => {
            let username = parse_username(&args.login.username)?;
            // Checked before the password is read: a bad flag fails before any prompt.
            let profile = user_profile::new_profile(
                args.name.as_deref(),
                args.email.as_deref(),
                args.email_verified,
            )
            .map_err(|e| anyhow::anyhow!("refusing the profile: {e}"))?;
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
            let user = create_user(ports, &username, &password, profile)?;
            writeln!(out, "created user {} (id {})", user.username, user.id)?;
            Ok(())
        }
        UserCommand::Update(args) => {
            let update = profile_update(args);
            if update.is_empty() {
                bail!("nothing to update: give --name, --email, --email-verified or a --no-… flag");
            }
            let user = find_user(ports, args.username())?;
            match user_profile::update_profile(ports, &user, &update) {
                Ok(Some(profile)) => print_json(out, &UserView::from(&User { profile, ..user })),
                Ok(None) => bail!("no user named {}", user.username),
                Err(UpdateProfileError::Invalid(e)) => bail!("refusing the profile: {e}"),
                Err(UpdateProfileError::Store(e)) => Err(e).context("cannot store the profile"),
            }
        }
        UserCommand::Show(args) => {
            let user = find_user(ports, &args.username)?;
            print_json(out, &UserView::from(&user))
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

/// `user update`'s flags as an update: each field kept unless a flag sets or clears it.
fn profile_update(args: &UserUpdateArgs) -> ProfileUpdate {
    let change = |set: &Option<String>, clear: bool| match (set, clear) {
        (Some(value), _) => Change::Set(value.clone()),
        (None, true) => Change::Clear,
        (None, false) => Change::Keep,
    };
    ProfileUpdate {
        name: change(&args.name, args.no_name),
        email: change(&args.email, args.no_email),
        email_verified: match (args.email_verified, args.no_email_verified) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        },
    }
}

/// Creates a user by the domain's rules (`admin::create_user`, the admin API's too).
pub fn create_user(
    ports: &PortSet,
    username: &Username,
    password: &NewPassword,
    profile: UserProfile,
) -> anyhow::Result<User> {
    Ok(admin::create_user(ports, username, password, profile)?)
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
    parse_username(username)?;
    Ok(admin::find_user(ports, username)?)
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

    use grantd_ports::{RevokedAccess, SecretHash, SessionStamp, UserId};
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

    fn create_args(username: &str) -> crate::cli::UserCreateArgs {
        crate::cli::UserCreateArgs {
            login: crate::cli::UserPasswordArgs {
                username: username.into(),
                password_stdin: true,
            },
            name: None,
            email: None,
            email_verified: false,
        }
    }

    fn update_args(edit: impl FnOnce(&mut UserUpdateArgs)) -> UserCommand {
        let mut args = UserUpdateArgs {
            user: Some("alice".into()),
            username: None,
            name: None,
            no_name: false,
            email: None,
            no_email: false,
            email_verified: false,
            no_email_verified: false,
        };
        edit(&mut args);
        UserCommand::Update(args)
    }

    #[test]
    fn creating_a_user_stores_the_checked_profile_and_a_bad_one_stores_nothing() {
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(None));
        d.minter.expect_mint_id().returning(|| "id1".into());
        d.hasher
            .expect_hash_password()
            .returning(|p| SecretHash::from_stored(format!("h:{p}")));
        d.users.expect_insert_user().times(1).returning(|user| {
            assert_eq!(user.profile.name.as_deref(), Some("Bob B."));
            assert_eq!(user.profile.email.as_deref(), Some("bob@example.com"));
            assert!(user.profile.email_verified);
            Ok(())
        });
        let ports = d.ports();
        let mut args = create_args("bob");
        args.name = Some(" Bob B. ".into());
        args.email = Some("bob@example.com".into());
        args.email_verified = true;
        run_user(
            &ports,
            &UserCommand::Create(args),
            &mut &b"pw\n"[..],
            &mut Vec::new(),
        )
        .unwrap();
        let mut bad = create_args("carol");
        bad.email = Some("carol".into());
        let err = run_user(
            &ports,
            &UserCommand::Create(bad),
            &mut &b"pw\n"[..],
            &mut Vec::new(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "refusing the profile: \"carol\" is not an email address: it has no @"
        );
    }

    #[test]
    fn updating_a_profile_changes_only_the_profile_and_prints_the_user() {
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.users
            .expect_set_user_profile()
            .times(1)
            .returning(|_, profile| {
                assert_eq!(profile.name.as_deref(), Some("Alice L."));
                assert_eq!(profile.email.as_deref(), Some("alice@example.com"));
                assert!(!profile.email_verified, "a new address is unverified");
                Ok(true)
            });
        d.users.expect_set_session_stamp().never();
        d.tokens.expect_revoke_grants_of_user().never();
        let mut out = Vec::new();
        let command = update_args(|a| {
            a.name = Some("Alice L.".into());
            a.email = Some("alice@example.com".into());
        });
        run_user(&d.ports(), &command, &mut &b""[..], &mut out).unwrap();
        let shown: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(shown["name"], "Alice L.");
        assert_eq!(shown["email_verified"], false);
        assert!(shown.get("password").is_none() && shown.get("session_stamp").is_none());
    }

    #[test]
    fn an_update_asking_nothing_or_something_invalid_is_refused_before_any_write() {
        let mut d = Doubles::new();
        d.users
            .expect_find_user_by_username()
            .returning(|_| Ok(Some(alice())));
        d.users.expect_set_user_profile().never();
        let ports = d.ports();
        let err = run_user(&ports, &update_args(|_| {}), &mut &b""[..], &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("nothing to update"), "{err}");
        let verify_nothing = update_args(|a| a.email_verified = true);
        let err = run_user(&ports, &verify_nothing, &mut &b""[..], &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "refusing the profile: email_verified needs an email address to vouch for"
        );
        let long = update_args(|a| a.name = Some("x".repeat(201)));
        let err = run_user(&ports, &long, &mut &b""[..], &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 200"), "{err}");
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
            &UserCommand::Create(create_args("alice")),
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
        let create = UserCommand::Create(create_args("bob"));
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
