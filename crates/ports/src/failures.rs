//! The brute-force counters ([`FailureCounter`]): failed authentications counted per key in
//! fixed windows, kept by the store so that every grantd process sharing it enforces one
//! limit, not one each. Which keys a failure counts against, and what a count means, is
//! the domain's rule; this port only counts.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{StoreError, UnixTime};

/// A counter's key: the SHA-256 of what is counted (a label naming the budget, then the
/// parsed values it is about: a username, a client id, a source address). 32 bytes whatever
/// the input, so a counter costs the same for any request, and no username or address is
/// stored in clear.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FailureKey([u8; 32]);

impl FailureKey {
    /// The key of `parts` under `label`. Each part is length-prefixed, so that
    /// `["ab", "c"]` and `["a", "bc"]` are different keys.
    pub fn derive(label: &str, parts: &[&[u8]]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"grantd-failure-key\0");
        hash.update(label.as_bytes());
        for part in parts {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
        Self(hash.finalize().into())
    }

    /// A key as the store keeps it.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for FailureKey {
    /// The first bytes in hex: enough to tell keys apart in a test failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailureKey(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// One key's live window: `failures` counted since it began, until `expires_at` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureWindow {
    pub failures: u32,
    pub expires_at: UnixTime,
}

/// The shared failure counters. Every grantd process on one database sees the same counts.
///
/// A failure of this port is a storage failure like any other (`StoreError`): the caller
/// MUST NOT read it as "no failures" nor as a refusal.
#[cfg_attr(feature = "mock", mockall::automock)]
pub trait FailureCounter: Send + Sync + 'static {
    /// The live window of each of `keys` at `now`, in the order of `keys`: `None` for a key
    /// that has no window, or whose window has ended (`expires_at <= now`). MUST NOT write.
    /// `Unavailable` when the store is out of reach.
    fn windows(
        &self,
        keys: &[FailureKey],
        now: UnixTime,
    ) -> Result<Vec<Option<FailureWindow>>, StoreError>;

    /// Counts one failure against each of `keys` (a key given twice counts once). Per key
    /// and atomically, also against other processes sharing the store: a key without a live
    /// window at `now` starts a new one, `[now, now + window_secs)`, with 1 failure; a key
    /// with one gets exactly 1 more (N concurrent calls add N, none is lost). All keys or
    /// none. `window_secs` MUST be positive. `Unavailable` when the store is out of reach.
    fn record_failure(
        &self,
        keys: &[FailureKey],
        now: UnixTime,
        window_secs: i64,
    ) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_the_label_and_on_where_the_parts_split() {
        let a = FailureKey::derive("user", &[b"ab", b"c"]);
        assert_eq!(a, FailureKey::derive("user", &[b"ab", b"c"]));
        assert_ne!(a, FailureKey::derive("user", &[b"a", b"bc"]));
        assert_ne!(a, FailureKey::derive("client", &[b"ab", b"c"]));
        assert_eq!(FailureKey::from_bytes(*a.as_bytes()), a);
        assert!(format!("{a:?}").starts_with("FailureKey("));
    }
}
