//! Initial access tokens (RFC 7591 §3: "an OAuth 2.0 access token ... to restrict
//! registration"): made, listed and revoked by the operator, through the CLI today and the
//! admin API alike. A token is shown once, when it is made; only its SHA-256 is stored.

use std::sync::Arc;

use grantd_ports::{InitialAccessToken, PlainToken, RegistrationStore, StoreError, TokenKind};

use crate::PortSet;

/// The longest an initial access token may live: a year.
pub const MAX_EXPIRES_IN: i64 = 365 * 24 * 3600;
/// The most registrations one initial access token may allow.
pub const MAX_USES: i64 = 1_000_000;

/// A new token and its record; the plain token exists only here.
#[derive(Debug)]
pub struct IssuedInitialToken {
    pub token: PlainToken,
    pub record: InitialAccessToken,
}

#[derive(Debug, thiserror::Error)]
pub enum InitialTokenError {
    #[error("expires-in must be between 1 and {MAX_EXPIRES_IN} seconds")]
    BadExpiry,
    #[error("uses must be between 1 and {MAX_USES}")]
    BadUses,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The operator's use case over the initial access tokens.
#[derive(Clone)]
pub struct InitialAccessTokens {
    ports: PortSet,
    store: Arc<dyn RegistrationStore>,
}

impl InitialAccessTokens {
    pub fn new(ports: PortSet, store: Arc<dyn RegistrationStore>) -> Self {
        Self { ports, store }
    }

    /// Makes a token good for `uses` registrations within `expires_in` seconds.
    pub fn create(
        &self,
        expires_in: i64,
        uses: i64,
    ) -> Result<IssuedInitialToken, InitialTokenError> {
        if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
            return Err(InitialTokenError::BadExpiry);
        }
        if !(1..=MAX_USES).contains(&uses) {
            return Err(InitialTokenError::BadUses);
        }
        let token = self.ports.minter.mint(TokenKind::InitialAccess);
        let now = self.ports.clock.now();
        let record = InitialAccessToken {
            id: format!("it_{}", self.ports.minter.mint_id()),
            token_hash: token.hash(),
            created_at: now,
            expires_at: now + expires_in,
            uses_left: uses,
            revoked_at: None,
        };
        self.store.insert_initial_token(&record)?;
        tracing::info!(initial_token = %record.id, uses, expires_at = record.expires_at, "initial access token created");
        Ok(IssuedInitialToken { token, record })
    }

    /// Every token, spent, expired and revoked ones too.
    pub fn list(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        self.store.list_initial_tokens()
    }

    /// Revokes the token `id`; `Ok(false)` if there is none (or it was revoked already).
    /// Clients registered with it stay.
    pub fn revoke(&self, id: &str) -> Result<bool, StoreError> {
        let revoked = self
            .store
            .revoke_initial_token(id, self.ports.clock.now())?;
        if revoked {
            tracing::info!(initial_token = %id, "initial access token revoked");
        }
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use grantd_ports::MockRegistrationStore;

    use super::*;
    use crate::test_support::{Doubles, NOW};

    #[test]
    fn a_new_token_is_stored_as_its_hash_only_and_shown_once() {
        let mut store = MockRegistrationStore::new();
        store
            .expect_insert_initial_token()
            .times(1)
            .withf(|t| t.expires_at == NOW + 600 && t.uses_left == 3 && t.id.starts_with("it_"))
            .returning(|_| Ok(()));
        let tokens = InitialAccessTokens::new(Doubles::new().ports(), Arc::new(store));
        let issued = tokens.create(600, 3).unwrap();
        assert!(TokenKind::InitialAccess.is_well_formed(issued.token.expose()));
        assert_eq!(issued.record.token_hash, issued.token.hash());
        assert_eq!(issued.record.revoked_at, None);
    }

    #[test]
    fn out_of_range_lifetimes_and_uses_store_nothing() {
        let mut store = MockRegistrationStore::new();
        store.expect_insert_initial_token().never();
        let tokens = InitialAccessTokens::new(Doubles::new().ports(), Arc::new(store));
        assert!(matches!(
            tokens.create(0, 1),
            Err(InitialTokenError::BadExpiry)
        ));
        assert!(matches!(
            tokens.create(MAX_EXPIRES_IN + 1, 1),
            Err(InitialTokenError::BadExpiry)
        ));
        assert!(matches!(
            tokens.create(60, 0),
            Err(InitialTokenError::BadUses)
        ));
        assert!(matches!(
            tokens.create(60, MAX_USES + 1),
            Err(InitialTokenError::BadUses)
        ));
    }

    #[test]
    fn revoking_passes_the_clock_to_the_store() {
        let mut store = MockRegistrationStore::new();
        store
            .expect_revoke_initial_token()
            .withf(|id, now| id == "it_x" && *now == NOW)
            .times(1)
            .returning(|_, _| Ok(true));
        let tokens = InitialAccessTokens::new(Doubles::new().ports(), Arc::new(store));
        assert!(tokens.revoke("it_x").unwrap());
    }
}
