//! Server nonces for DPoP proofs (RFC 9449 §8), stateless: a nonce is a time step and an
//! HMAC of it under a key every instance shares, so any instance accepts any instance's
//! nonce, and nothing is stored. A nonce is good for its step and the next one.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use grantd_ports::UnixTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Seconds per step: a nonce lives between one and two steps.
pub const NONCE_STEP: i64 = 60;
const MAC_LEN: usize = 16;

/// The key nonces are made under; `Debug` is redacted.
#[derive(Clone)]
pub struct NonceKey([u8; 32]);

impl NonceKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The nonce key derived from a secret every instance shares (the app uses
    /// `authorization.session_key`), under a label of its own so it is no other key.
    pub fn derive(shared_secret: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(shared_secret)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(b"grantd dpop nonce key v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, step: i64) -> [u8; MAC_LEN] {
        // HMAC takes a key of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(b"grantd-dpop-nonce\0");
        mac.update(&step.to_be_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The nonce to hand out at `now` (the `DPoP-Nonce` header).
    pub fn issue(&self, now: UnixTime) -> String {
        let step = now.div_euclid(NONCE_STEP);
        let mut bytes = step.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.mac(step));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` was issued under this key in this step or the one before.
    pub fn accepts(&self, nonce: &str, now: UnixTime) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else {
            return false;
        };
        if bytes.len() != 8 + MAC_LEN {
            return false;
        }
        let (step, mac) = bytes.split_at(8);
        let Ok(step) = <[u8; 8]>::try_from(step).map(i64::from_be_bytes) else {
            return false;
        };
        let current = now.div_euclid(NONCE_STEP);
        (step == current || step == current - 1) && bool::from(self.mac(step).ct_eq(mac))
    }
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_020;

    #[test]
    fn a_nonce_is_good_for_its_step_and_the_next_only() {
        let key = NonceKey::new([7; 32]);
        let nonce = key.issue(NOW);
        assert!(key.accepts(&nonce, NOW));
        assert!(key.accepts(&nonce, NOW + NONCE_STEP));
        assert!(!key.accepts(&nonce, NOW + 2 * NONCE_STEP));
        assert!(
            !key.accepts(&nonce, NOW - NONCE_STEP),
            "not before its step"
        );
    }

    #[test]
    fn another_keys_or_a_forged_nonce_is_refused() {
        let key = NonceKey::new([7; 32]);
        let nonce = key.issue(NOW);
        assert!(!NonceKey::new([8; 32]).accepts(&nonce, NOW));
        let mut forged = URL_SAFE_NO_PAD.decode(&nonce).unwrap();
        forged[10] ^= 1;
        assert!(!key.accepts(&URL_SAFE_NO_PAD.encode(forged), NOW));
        for junk in ["", "abc", "!!!!", &"A".repeat(32)] {
            assert!(!key.accepts(junk, NOW), "{junk}");
        }
    }
}
