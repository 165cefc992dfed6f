//! A bounded cache of answers by token, each entry with its own expiry. Keys are the
//! SHA-256 of the token: the cache never holds a token, so a memory dump of the resource
//! server does not hand them out.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};

/// The cache key of a token.
pub(crate) fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Until when an answer may be reused, seen at `now`: `ttl` seconds, never past the
/// token's `exp`; `None` = do not cache (no TTL, or the token is about to expire).
pub(crate) fn cache_until(now: i64, ttl: i64, exp: Option<i64>) -> Option<i64> {
    if ttl <= 0 {
        return None;
    }
    let until = now.saturating_add(ttl);
    let until = exp.map_or(until, |exp| until.min(exp));
    (until > now).then_some(until)
}

/// Entries by key, with an index ordered by expiry so that a full cache finds what to drop
/// in O(log n): a scan of every entry cost milliseconds per insert at 100 000 entries.
pub(crate) struct TtlCache<V> {
    max_entries: usize,
    entries: HashMap<[u8; 32], (V, i64)>,
    by_expiry: BTreeSet<(i64, [u8; 32])>,
}

impl<V: Clone> TtlCache<V> {
    pub(crate) fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            entries: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// The value under `key` if it is still good at `now`; an expired one is dropped.
    pub(crate) fn get(&mut self, key: &[u8; 32], now: i64) -> Option<V> {
        match self.entries.get(key) {
            Some((value, until)) if *until > now => Some(value.clone()),
            Some(_) => {
                self.remove(key);
                None
            }
            None => None,
        }
    }

    /// Holds `value` until `until`. A full cache first drops what expired, then the entry
    /// that would expire soonest, so it never holds more than `max_entries`.
    pub(crate) fn insert(&mut self, key: [u8; 32], value: V, until: i64, now: i64) {
        if self.max_entries == 0 || until <= now {
            return;
        }
        if self.remove(&key).is_none() {
            while self.entries.len() >= self.max_entries {
                let Some(&(_, soonest)) = self.by_expiry.first() else {
                    break;
                };
                self.remove(&soonest);
            }
        }
        self.entries.insert(key, (value, until));
        self.by_expiry.insert((until, key));
    }

    fn remove(&mut self, key: &[u8; 32]) -> Option<V> {
        let (value, until) = self.entries.remove(key)?;
        self.by_expiry.remove(&(until, *key));
        Some(value)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_never_outlives_the_tokens_exp() {
        assert_eq!(cache_until(1000, 60, None), Some(1060));
        assert_eq!(
            cache_until(1000, 60, Some(5000)),
            Some(1060),
            "the TTL is shorter"
        );
        assert_eq!(
            cache_until(1000, 60, Some(1010)),
            Some(1010),
            "exp is sooner"
        );
        assert_eq!(cache_until(1000, 60, Some(1000)), None, "expires now");
        assert_eq!(cache_until(1000, 60, Some(900)), None, "already expired");
        assert_eq!(cache_until(1000, 0, Some(5000)), None, "no TTL, no cache");
    }

    #[test]
    fn entries_expire_at_their_own_time() {
        let mut cache = TtlCache::new(10);
        cache.insert(token_key("a"), "A", 1010, 1000);
        cache.insert(token_key("b"), "B", 1060, 1000);
        assert_eq!(cache.get(&token_key("a"), 1009), Some("A"));
        assert_eq!(cache.get(&token_key("a"), 1010), None, "gone at its expiry");
        assert_eq!(cache.get(&token_key("b"), 1010), Some("B"));
        assert_eq!(cache.len(), 1, "the expired entry was dropped");
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_what_expires_soonest() {
        let mut cache = TtlCache::new(3);
        for (i, token) in ["a", "b", "c"].iter().enumerate() {
            cache.insert(token_key(token), i, 1100 + i as i64, 1000);
        }
        cache.insert(token_key("d"), 9, 1200, 1000);
        assert_eq!(cache.len(), 3);
        assert_eq!(
            cache.get(&token_key("a"), 1000),
            None,
            "the soonest to expire left"
        );
        assert_eq!(cache.get(&token_key("d"), 1000), Some(9));
        // Expired entries expire soonest, so they go first.
        cache.insert(token_key("e"), 5, 1300, 1150);
        assert_eq!(cache.len(), 3);
        assert_eq!(
            cache.get(&token_key("d"), 1150),
            Some(9),
            "d had not expired"
        );
        assert_eq!(cache.get(&token_key("e"), 1150), Some(5));
        for i in 0..100 {
            cache.insert(token_key(&format!("t{i}")), i, 5000, 1150);
        }
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_replaced_entry_keeps_one_place_in_the_expiry_order() {
        let mut cache = TtlCache::new(2);
        cache.insert(token_key("a"), 1, 1100, 1000);
        cache.insert(token_key("a"), 2, 1500, 1000);
        cache.insert(token_key("b"), 3, 1200, 1000);
        cache.insert(token_key("c"), 4, 1300, 1000);
        assert_eq!(
            cache.get(&token_key("a"), 1000),
            Some(2),
            "a now ends at 1500"
        );
        assert_eq!(cache.get(&token_key("b"), 1000), None, "b ended soonest");
        assert_eq!(cache.by_expiry.len(), cache.entries.len());
    }

    #[test]
    fn a_zero_sized_cache_holds_nothing() {
        let mut cache = TtlCache::new(0);
        cache.insert(token_key("a"), 1, 2000, 1000);
        assert_eq!(cache.get(&token_key("a"), 1000), None);
    }

    #[test]
    fn keys_are_hashes_not_tokens() {
        let key = token_key("gat_secret");
        assert_eq!(key.len(), 32);
        assert!(!key.windows(10).any(|w| w == b"gat_secret"));
    }
}
