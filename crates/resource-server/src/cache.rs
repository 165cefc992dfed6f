//! A bounded cache of answers by token, each entry with its own expiry. Keys are the
//! SHA-256 of the token: the cache never holds a token, so a memory dump of the resource
//! server does not hand them out.

use std::collections::HashMap;

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

pub(crate) struct TtlCache<V> {
    max_entries: usize,
    entries: HashMap<[u8; 32], (V, i64)>,
}

impl<V: Clone> TtlCache<V> {
    pub(crate) fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            entries: HashMap::new(),
        }
    }

    /// The value under `key` if it is still good at `now`; an expired one is dropped.
    pub(crate) fn get(&mut self, key: &[u8; 32], now: i64) -> Option<V> {
        match self.entries.get(key) {
            Some((value, until)) if *until > now => Some(value.clone()),
            Some(_) => {
                self.entries.remove(key);
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
        if !self.entries.contains_key(&key) && self.entries.len() >= self.max_entries {
            self.entries.retain(|_, (_, u)| *u > now);
            if self.entries.len() >= self.max_entries {
                let soonest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, u))| *u)
                    .map(|(k, _)| *k);
                if let Some(soonest) = soonest {
                    self.entries.remove(&soonest);
                }
            }
        }
        self.entries.insert(key, (value, until));
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
        // Expired entries go first, whatever their number.
        cache.insert(token_key("e"), 5, 1300, 1150);
        assert_eq!(cache.len(), 2, "b and c had expired at 1150");
        for i in 0..100 {
            cache.insert(token_key(&format!("t{i}")), i, 5000, 1150);
        }
        assert_eq!(cache.len(), 3);
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
