//! Who may use the admin API: the bearer of a live access token (RFC 6750) that an admin
//! client obtained for itself through `client_credentials` with the scope `grantd:admin`,
//! while that client is still registered as admin. Anything else is refused: an unknown,
//! expired or revoked token (or a refresh token) is `invalid_token`; a live token without
//! that standing (a person's token, another scope) is `insufficient_scope`.

use grantd_ports::{ClientId, StoreError, Subject};

use crate::scope_rules::ADMIN_SCOPE;
use crate::{BearerCheck, BearerError, PortSet};

#[derive(Debug, thiserror::Error)]
pub enum AdminAuthError {
    /// RFC 6750 §3.1 `invalid_token` (401).
    #[error("invalid_token")]
    InvalidToken,
    /// RFC 6750 §3.1 `insufficient_scope` (403).
    #[error("insufficient_scope")]
    InsufficientScope,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The admin client acting, or why not. Blocking.
pub fn authenticate(
    bearer: &BearerCheck,
    ports: &PortSet,
    presented: &str,
) -> Result<ClientId, AdminAuthError> {
    let token = bearer.check_access_token(presented).map_err(|e| match e {
        BearerError::Store(e) => AdminAuthError::Store(e),
        _ => AdminAuthError::InvalidToken,
    })?;
    // The scope is only ever granted to an admin client through client_credentials
    // (scope_rules::for_new_grant); both are checked again here so that no other path
    // to such a token, present or future, opens the API.
    if token.subject != Subject::Client || !token.scope.contains(ADMIN_SCOPE) {
        return Err(AdminAuthError::InsufficientScope);
    }
    // Read fresh: a client deleted or no longer admin loses the API at once.
    match ports.clients.find_client(&token.client_id)? {
        Some(client) if client.admin => Ok(client.id),
        _ => Err(AdminAuthError::InvalidToken),
    }
}
