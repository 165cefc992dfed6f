//! Grants and consents as an administrator sees them: the live grants of a user or of a
//! client (with the client's name, first given, last refreshed and absolute end, as the
//! account page reads them), revoking one grant or all of a user's or a client's, and a
//! user's remembered consents.

use grantd_ports::{Consent, GrantId, GrantOverview};

use super::{find_client, find_user, AdminError};
use crate::PortSet;

pub fn grants_of_user(ports: &PortSet, username: &str) -> Result<Vec<GrantOverview>, AdminError> {
    let user = find_user(ports, username)?;
    Ok(ports
        .tokens
        .live_grants_of_user(&user.id, ports.clock.now())?)
}

pub fn grants_of_client(
    ports: &PortSet,
    client_id: &str,
) -> Result<Vec<GrantOverview>, AdminError> {
    let client = find_client(ports, client_id)?;
    Ok(ports
        .tokens
        .live_grants_of_client(&client.id, ports.clock.now())?)
}

/// Revokes one grant and so every token of it, on every instance. An unknown or already
/// revoked grant is `NotFound`.
pub fn revoke_grant(ports: &PortSet, grant_id: &str) -> Result<(), AdminError> {
    let not_found = || AdminError::NotFound(format!("no live grant {grant_id}"));
    let id = GrantId::parse(grant_id).map_err(|_| not_found())?;
    if ports.tokens.revoke_grant(&id, ports.clock.now())? {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// Revokes every live grant of the user; returns how many.
pub fn revoke_grants_of_user(ports: &PortSet, username: &str) -> Result<u64, AdminError> {
    let user = find_user(ports, username)?;
    Ok(ports
        .tokens
        .revoke_grants_of_user(&user.id, ports.clock.now())?)
}

/// Revokes every live grant of the client; returns how many.
pub fn revoke_grants_of_client(ports: &PortSet, client_id: &str) -> Result<u64, AdminError> {
    let client = find_client(ports, client_id)?;
    Ok(ports
        .tokens
        .revoke_grants_of_client(&client.id, ports.clock.now())?)
}

pub fn consents_of_user(ports: &PortSet, username: &str) -> Result<Vec<Consent>, AdminError> {
    let user = find_user(ports, username)?;
    Ok(ports.authorizations.consents_of_user(&user.id)?)
}

/// Forgets the user's consents (to one client, or all); returns how many. Tokens already
/// issued are untouched (revoke the grants for that).
pub fn revoke_consents(
    ports: &PortSet,
    username: &str,
    client_id: Option<&str>,
) -> Result<u64, AdminError> {
    let user = find_user(ports, username)?;
    let client = client_id
        .map(|id| find_client(ports, id).map(|c| c.id))
        .transpose()?;
    Ok(ports
        .authorizations
        .revoke_consents(&user.id, client.as_ref())?)
}
