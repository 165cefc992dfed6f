//! Retiring a signing key: it signs nothing more and stays published until the
//! longest-lived access token it may have signed has expired, which depends on every
//! client's lifetime (`signing_keys::longest_access_lifetime`). Listing and rotating are
//! `KeyRing`'s own.

use super::AdminError;
use crate::signing_keys::longest_access_lifetime;
use crate::{KeyRing, PortSet, TokenSettings};

/// Retires `kid`; returns how many seconds it stays published.
pub fn retire_key(
    ring: &KeyRing,
    ports: &PortSet,
    settings: &TokenSettings,
    kid: &str,
) -> Result<i64, AdminError> {
    let clients = ports.clients.list_clients()?;
    let longest = longest_access_lifetime(settings, &clients);
    ring.retire(kid, longest)?;
    Ok(longest)
}
