//! The account page's use case: the applications that hold a live grant for the signed-in
//! person (client name, the scopes in words, first given, last refreshed, latest end), and
//! what the person may do about them: revoke one grant (every token of it, at once, on
//! every instance, since the grant row is shared), sign out everywhere, forget remembered
//! consents. Only the person's own grants can be revoked: a grant id from the form is
//! looked up among theirs, so a forged id names nothing.

use std::sync::Arc;

use grantd_ports::{GrantId, StoreError, UnixTime, User};

use crate::{accounts, PortSet, ScopeRegistry};

/// One application on the account page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountGrant {
    pub grant_id: GrantId,
    pub client_name: String,
    /// Each granted scope with the registry's description, in canonical order.
    pub scopes: Vec<(String, String)>,
    pub granted_at: UnixTime,
    /// When a token of the grant was last issued by a refresh; `None` if never refreshed.
    pub last_refreshed_at: Option<UnixTime>,
    /// The absolute cap (`refresh_token_max_lifetime`); `None` = no cap.
    pub ends_at: Option<UnixTime>,
}

/// The account page's use case. Cheap to clone.
#[derive(Clone)]
pub struct AccountPage {
    ports: PortSet,
    scopes: Arc<ScopeRegistry>,
}

impl AccountPage {
    pub(crate) fn new(ports: PortSet, scopes: Arc<ScopeRegistry>) -> Self {
        Self { ports, scopes }
    }

    /// The applications holding a live grant for `user`, newest first.
    pub fn applications(&self, user: &User) -> Result<Vec<AccountGrant>, StoreError> {
        let now = self.ports.clock.now();
        let grants = self.ports.tokens.live_grants_of_user(&user.id, now)?;
        Ok(grants
            .into_iter()
            .map(|g| AccountGrant {
                scopes: g
                    .grant
                    .scope
                    .iter()
                    .map(|s| (s.to_owned(), self.scopes.describe(s).to_owned()))
                    .collect(),
                grant_id: g.grant.id,
                client_name: g.client_name,
                granted_at: g.grant.created_at,
                last_refreshed_at: g.last_refreshed_at,
                ends_at: g.grant.expires_at,
            })
            .collect())
    }

    /// Revokes `grant_id` if it is one of `user`'s live grants; returns whether it was.
    pub fn revoke(&self, user: &User, grant_id: &str) -> Result<bool, StoreError> {
        let now = self.ports.clock.now();
        let owned = self
            .ports
            .tokens
            .live_grants_of_user(&user.id, now)?
            .into_iter()
            .find(|g| g.grant.id.as_str() == grant_id);
        let Some(owned) = owned else {
            return Ok(false);
        };
        let revoked = self.ports.tokens.revoke_grant(&owned.grant.id, now)?;
        if revoked {
            tracing::info!(target: "grantd::security", event = "grant_revoked_by_user", username = %user.username, grant_id = %owned.grant.id, "a user revoked an application's access");
        }
        Ok(revoked)
    }

    /// Ends every login session of `user` (a new session stamp), this one included.
    pub fn sign_out_everywhere(&self, user: &User) -> Result<bool, StoreError> {
        let stamp = accounts::new_session_stamp(&self.ports)?;
        self.ports.users.set_session_stamp(&user.id, &stamp)
    }

    /// Forgets every consent `user` gave; the next authorization asks again.
    pub fn forget_consents(&self, user: &User) -> Result<u64, StoreError> {
        self.ports.authorizations.revoke_consents(&user.id, None)
    }
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
