//! The signing key rules and the `KeyRing` use case: which key signs now, which keys are
//! published, when a new key starts signing and how long a retired one stays published.
//! Time comes from the `Clock`; key material is the `TokenSigner`'s, rows the `KeyStore`'s.
//!
//! The timing rules exist because a resource server caches the JWKS (RFC 7517) for the
//! `Cache-Control` max-age: a new key must be published `publish_ahead` seconds before it
//! signs, so that caches have it when the first token arrives; and a retired key must stay
//! published until the last token it signed has expired, or that token would stop
//! verifying early.

use std::sync::Arc;

use grantd_ports::{
    Client, Clock, KeyStore, SignerError, SigningAlgorithm, SigningKey, StoreError, TokenSigner,
    UnixTime,
};

use crate::TokenSettings;

/// The key policy an operator configures (`[keys]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySettings {
    /// The algorithm of keys that `rotate` creates.
    pub algorithm: SigningAlgorithm,
    /// Seconds a new key is published before it signs.
    pub publish_ahead: i64,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            algorithm: SigningAlgorithm::Rs256,
            publish_ahead: 600,
        }
    }
}

impl KeySettings {
    /// The JWKS `Cache-Control` max-age: half the publish-ahead time, so that a cache
    /// refreshed at the last moment still learns a new key before it signs.
    pub fn jwks_max_age(&self) -> i64 {
        self.publish_ahead / 2
    }
}

/// A key that is not retired.
fn live(key: &SigningKey) -> bool {
    key.retired_at.is_none()
}

/// The key that signs at `now`: of the live keys whose `activates_at` has come, the one
/// activated last (ties: created last). If none has activated (the signing key was retired
/// in an emergency before its successor's time), the pending key that activates first
/// signs early: a cache that misses it refetches on the unknown `kid`, which is better
/// than issuing nothing. `None` only without live keys.
pub fn signing_key(keys: &[SigningKey], now: UnixTime) -> Option<&SigningKey> {
    let rank = |k: &&SigningKey| (k.activates_at, k.created_at, k.kid.clone());
    keys.iter()
        .filter(|k| live(k) && k.activates_at <= now)
        .max_by_key(rank)
        .or_else(|| keys.iter().filter(|k| live(k)).min_by_key(rank))
}

/// The state of a key at `now`, as `keys list` shows it.
pub fn key_state(keys: &[SigningKey], key: &SigningKey, now: UnixTime) -> &'static str {
    if signing_key(keys, now).is_some_and(|k| k.kid == key.kid) {
        "signing"
    } else if live(key) && key.activates_at > now {
        "pending"
    } else if live(key) {
        "published"
    } else if is_published(key, now) {
        "retired"
    } else {
        "expired"
    }
}

/// Whether `key` belongs in the JWKS at `now`: live keys always (also those not yet
/// signing: that is what publishing ahead means), retired keys until `published_until`.
pub fn is_published(key: &SigningKey, now: UnixTime) -> bool {
    match key.published_until {
        None => live(key),
        Some(until) => now < until,
    }
}

/// When a key created at `now` may sign. The very first key signs at once (no cache can
/// hold an older set worth protecting); any later one only after `publish_ahead`.
pub fn activation_time(keys: &[SigningKey], now: UnixTime, settings: &KeySettings) -> UnixTime {
    if keys.iter().any(|k| is_published(k, now)) {
        now.saturating_add(settings.publish_ahead)
    } else {
        now
    }
}

/// The longest an access token of any client can live: the global lifetime or a longer
/// per-client override. A key retired now stays published that long.
pub fn longest_access_lifetime(settings: &TokenSettings, clients: &[Client]) -> i64 {
    clients
        .iter()
        .filter_map(|c| c.lifetimes.access_token)
        .fold(settings.access_token_lifetime, i64::max)
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no signing key {0}")]
    UnknownKey(String),
    #[error(transparent)]
    Signer(#[from] SignerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The signing keys as a use case: listing, rotating, retiring, and the published set.
#[derive(Clone)]
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    signer: Arc<dyn TokenSigner>,
    clock: Arc<dyn Clock>,
    settings: KeySettings,
}

impl KeyRing {
    pub fn new(
        store: Arc<dyn KeyStore>,
        signer: Arc<dyn TokenSigner>,
        clock: Arc<dyn Clock>,
        settings: KeySettings,
    ) -> Self {
        Self {
            store,
            signer,
            clock,
            settings,
        }
    }

    pub fn settings(&self) -> &KeySettings {
        &self.settings
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    /// Every key, retired ones included.
    pub fn list(&self) -> Result<Vec<SigningKey>, KeyError> {
        Ok(self.store.list_signing_keys()?)
    }

    /// Creates a key of the configured algorithm, published at once, signing from
    /// [`activation_time`] on.
    pub fn rotate(&self) -> Result<SigningKey, KeyError> {
        let keys = self.store.list_signing_keys()?;
        let now = self.clock.now();
        let generated = self.signer.generate(self.settings.algorithm)?;
        let key = SigningKey {
            kid: generated.kid,
            algorithm: self.settings.algorithm,
            public_jwk: generated.public_jwk,
            private_key: generated.private_key,
            created_at: now,
            activates_at: activation_time(&keys, now, &self.settings),
            retired_at: None,
            published_until: None,
        };
        self.store.insert_signing_key(&key)?;
        Ok(key)
    }

    /// Creates a key if no live one exists (a fresh installation, or every key retired);
    /// else nothing.
    pub fn ensure_key(&self) -> Result<Option<SigningKey>, KeyError> {
        if !self.store.list_signing_keys()?.iter().any(live) {
            return self.rotate().map(Some);
        }
        Ok(None)
    }

    /// Stops `kid` signing now; it stays published for `longest_lifetime` seconds, the
    /// longest any token it signed can still live.
    pub fn retire(&self, kid: &str, longest_lifetime: i64) -> Result<(), KeyError> {
        let now = self.clock.now();
        let until = now.saturating_add(longest_lifetime.max(0));
        if self.store.retire_signing_key(kid, now, until)? {
            Ok(())
        } else {
            Err(KeyError::UnknownKey(kid.to_owned()))
        }
    }

    /// The keys the JWKS publishes now.
    pub fn published(&self) -> Result<Vec<SigningKey>, KeyError> {
        let now = self.clock.now();
        let mut keys = self.store.list_signing_keys()?;
        keys.retain(|k| is_published(k, now));
        Ok(keys)
    }

    /// The key that signs now, if any.
    pub fn current(&self) -> Result<Option<SigningKey>, KeyError> {
        let keys = self.store.list_signing_keys()?;
        Ok(signing_key(&keys, self.clock.now()).cloned())
    }

    /// The first live key whose private part does not open under the configured encryption
    /// key (a wrong `keys.encryption_key`), checked at start-up. Retired keys sign nothing
    /// and need not open.
    pub fn first_sealed_shut(&self) -> Result<Option<String>, KeyError> {
        let keys = self.store.list_signing_keys()?;
        Ok(keys
            .into_iter()
            .filter(|k| k.retired_at.is_none())
            .find(|k| !self.signer.can_open(k))
            .map(|k| k.kid))
    }

    /// The signer, for the token endpoint.
    pub fn signer(&self) -> &Arc<dyn TokenSigner> {
        &self.signer
    }
}

#[cfg(test)]
#[path = "signing_keys_tests.rs"]
mod tests;
