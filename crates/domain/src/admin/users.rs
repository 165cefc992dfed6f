//! Users: create one (the password hashed here, at the password cost) and look one up by
//! username. Every other change to a user (profile, password, disabling, deleting) is
//! already a use case of `crate::accounts` or `crate::user_profile`, called as they are.

use grantd_ports::{StoreError, User, UserId, UserProfile, Username};

use super::AdminError;
use crate::accounts::{self, NewPassword};
use crate::PortSet;

/// Creates a user with a fresh id and a profile already checked
/// (`user_profile::new_profile`). A taken username is `Conflict`.
pub fn create_user(
    ports: &PortSet,
    username: &Username,
    password: &NewPassword,
    profile: UserProfile,
) -> Result<User, AdminError> {
    let id = UserId::parse(&ports.minter.mint_id())
        .map_err(|e| StoreError::Other(format!("minted an invalid user id: {e}")))?;
    let user = User {
        id,
        username: username.clone(),
        password: ports.hasher.hash_password(password.expose()),
        disabled: false,
        session_stamp: accounts::new_session_stamp(ports)?,
        profile,
        created_at: ports.clock.now(),
    };
    match ports.users.insert_user(&user) {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) => Err(AdminError::Conflict(format!(
            "username {username} is taken"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The user with this username; a malformed one names nobody.
pub fn find_user(ports: &PortSet, username: &str) -> Result<User, AdminError> {
    let not_found = || AdminError::NotFound(format!("no user named {username}"));
    let parsed = Username::parse(username).map_err(|_| not_found())?;
    ports
        .users
        .find_user_by_username(&parsed)?
        .ok_or_else(not_found)
}
