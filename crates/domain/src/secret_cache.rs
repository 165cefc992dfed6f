//! The verified-secret cache: client authentication without a bcrypt verification on every
//! request, and without weakening storage (bcrypt stays the only stored form).
//!
//! After a client secret verifies against its bcrypt hash, the process remembers an
//! HMAC-SHA256 tag of (client id, `secret_version`, stored hash, secret) under a random
//! per-process key. A later request whose secret yields the same tag, for a client row that
//! still has the same `secret_version` and hash, is authenticated without bcrypt. The row is
//! read on every request anyway, so a rotated secret (its version bumps) or a deleted client
//! is refused at once by every process. The tag is useless outside this process: the key
//! never leaves memory and dies with it. Failures are never remembered; entries expire after
//! a TTL measured on the [`Clock`](grantd_ports::Clock) port; the map is bounded.
//!
//! Knows nothing of HTTP or storage; the key comes from the `TokenMinter` port (256 random
//! bits), so tests control it.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use grantd_ports::{ClientId, SecretHash, TokenKind, TokenMinter, UnixTime};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How many clients and for how long a process remembers a verified secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretCacheLimits {
    /// Most clients remembered at once; 0 disables the cache (bcrypt on every request).
    pub capacity: usize,
    /// Seconds an entry is trusted after the bcrypt verification that made it.
    pub ttl_secs: i64,
}

impl Default for SecretCacheLimits {
    /// 10,000 clients, 5 minutes.
    fn default() -> Self {
        Self {
            capacity: 10_000,
            ttl_secs: 300,
        }
    }
}

struct Entry {
    secret_version: i64,
    tag: [u8; 32],
    verified_at: UnixTime,
}

/// See the module documentation. Shared by every worker of a process (`Arc`).
pub struct SecretCache {
    limits: SecretCacheLimits,
    /// Drawn from the minter on first use, so that building a service costs nothing.
    key: OnceLock<Vec<u8>>,
    entries: RwLock<HashMap<String, Entry>>,
}

impl SecretCache {
    pub fn new(limits: SecretCacheLimits) -> Self {
        Self {
            limits,
            key: OnceLock::new(),
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// Whether `secret` is the one that last verified for this client, with the client row
    /// as read now (same `secret_version`, same stored hash) and within the TTL. Constant
    /// time in the comparison of tags.
    pub fn is_verified(
        &self,
        minter: &dyn TokenMinter,
        client: &ClientId,
        secret_version: i64,
        stored: &SecretHash,
        secret: &str,
        now: UnixTime,
    ) -> bool {
        if self.limits.capacity == 0 {
            return false;
        }
        let Ok(entries) = self.entries.read() else {
            return false;
        };
        let Some(entry) = entries.get(client.as_str()) else {
            return false;
        };
        if entry.secret_version != secret_version || !self.is_fresh(entry, now) {
            return false;
        }
        let expected = entry.tag;
        drop(entries);
        let tag = self.tag(minter, client, secret_version, stored, secret);
        bool::from(tag.ct_eq(&expected))
    }

    /// Remembers a secret that bcrypt has just verified. Call only on success.
    pub fn remember(
        &self,
        minter: &dyn TokenMinter,
        client: &ClientId,
        secret_version: i64,
        stored: &SecretHash,
        secret: &str,
        now: UnixTime,
    ) {
        if self.limits.capacity == 0 {
            return;
        }
        let tag = self.tag(minter, client, secret_version, stored, secret);
        let Ok(mut entries) = self.entries.write() else {
            return;
        };
        if entries.len() >= self.limits.capacity && !entries.contains_key(client.as_str()) {
            // Make room: first whatever has expired, then (all live) an arbitrary entry,
            // which only costs that client one bcrypt verification.
            entries.retain(|_, e| self.is_fresh(e, now));
            if entries.len() >= self.limits.capacity {
                if let Some(victim) = entries.keys().next().cloned() {
                    entries.remove(&victim);
                }
            }
        }
        entries.insert(
            client.as_str().to_owned(),
            Entry {
                secret_version,
                tag,
                verified_at: now,
            },
        );
    }

    /// Forgets a client (unknown now, or its secret failed): the next success re-verifies.
    pub fn forget(&self, client: &ClientId) {
        if let Ok(mut entries) = self.entries.write() {
            entries.remove(client.as_str());
        }
    }

    fn is_fresh(&self, entry: &Entry, now: UnixTime) -> bool {
        now >= entry.verified_at && now - entry.verified_at < self.limits.ttl_secs
    }

    /// HMAC-SHA256 over every part, each length-prefixed so no two inputs collide.
    fn tag(
        &self,
        minter: &dyn TokenMinter,
        client: &ClientId,
        secret_version: i64,
        stored: &SecretHash,
        secret: &str,
    ) -> [u8; 32] {
        let key = self.key.get_or_init(|| {
            minter
                .mint(TokenKind::ClientSecret)
                .expose()
                .as_bytes()
                .to_vec()
        });
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac_key());
        for part in [
            client.as_str().as_bytes(),
            &secret_version.to_be_bytes(),
            stored.as_str().as_bytes(),
            secret.as_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// HMAC accepts keys of any length, so `new_from_slice` cannot fail.
#[cold]
fn unreachable_hmac_key() -> HmacSha256 {
    unreachable!("HMAC-SHA256 accepts a key of any length")
}
