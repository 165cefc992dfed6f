//! Server-provided DPoP nonces (RFC 9449 §9), stateless: the nonce of a period is a hash
//! of a configured secret and the period's number, so every instance that shares the
//! secret makes and accepts the same nonces, and nothing is stored. The current and the
//! previous period's nonces are accepted, so a nonce lives one to two periods.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The shortest secret taken: 256 bits.
pub(crate) const MIN_SECRET_LEN: usize = 32;

#[derive(Clone)]
pub(crate) struct Nonces {
    secret: Vec<u8>,
    period: i64,
}

impl Nonces {
    pub(crate) fn new(secret: Vec<u8>, period: i64) -> Self {
        Self {
            secret,
            period: period.max(1),
        }
    }

    fn of(&self, bucket: i64) -> String {
        let mut hash = Sha256::new();
        hash.update(&self.secret);
        hash.update(bucket.to_be_bytes());
        URL_SAFE_NO_PAD.encode(&hash.finalize()[..18])
    }

    /// The nonce to hand out at `now`.
    pub(crate) fn current(&self, now: i64) -> String {
        self.of(now.div_euclid(self.period))
    }

    /// Whether `nonce` is this period's or the previous one's.
    pub(crate) fn accepts(&self, nonce: &str, now: i64) -> bool {
        let bucket = now.div_euclid(self.period);
        nonce == self.of(bucket) || nonce == self.of(bucket.saturating_sub(1))
    }
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces")
            .field("period", &self.period)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_one_to_two_periods() {
        let nonces = Nonces::new(vec![7; 32], 60);
        let n = nonces.current(1_000_020);
        assert!(nonces.accepts(&n, 1_000_020));
        assert!(nonces.accepts(&n, 1_000_020 + 60), "the previous period's");
        assert!(!nonces.accepts(&n, 1_000_020 + 120));
        assert!(!nonces.accepts("made-up", 1_000_020));
        assert_ne!(nonces.current(1_000_020), nonces.current(1_000_020 + 60));
    }

    #[test]
    fn instances_sharing_the_secret_agree_and_others_do_not() {
        let a = Nonces::new(vec![7; 32], 60);
        let b = Nonces::new(vec![7; 32], 60);
        let other = Nonces::new(vec![8; 32], 60);
        let n = a.current(5000);
        assert!(b.accepts(&n, 5000));
        assert!(!other.accepts(&n, 5000));
    }
}
