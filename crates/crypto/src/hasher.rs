//! bcrypt for the low-entropy secrets: user passwords and client secrets. Never for
//! tokens, which need an exact indexed lookup (they are SHA-256, see ports::TokenHash).
//! With a [`SlowLane`], every bcrypt runs on the lane's low-priority threads while the
//! caller waits (the caller is a blocking thread, never an async worker).

use grantd_ports::{SecretHash, SecretHasher};

use crate::SlowLane;

/// The most bytes of a secret bcrypt reads; every byte after them would be ignored.
const MAX_SECRET_BYTES: usize = 72;

/// bcrypt work factors (4..=31); each step doubles the time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HasherCosts {
    pub password: u32,
    pub client_secret: u32,
}

impl Default for HasherCosts {
    fn default() -> Self {
        Self {
            password: 12,
            client_secret: 10,
        }
    }
}

#[derive(Debug, Clone)]
pub struct BcryptHasher {
    costs: HasherCosts,
    /// A hash at the password cost, verified against when the user does not exist.
    dummy: String,
    /// Where bcrypt runs; `None` = on the calling thread.
    lane: Option<SlowLane>,
}

impl BcryptHasher {
    /// Fails on a cost outside bcrypt's 4..=31.
    pub fn new(costs: HasherCosts) -> Result<Self, String> {
        for (name, cost) in [
            ("password", costs.password),
            ("client_secret", costs.client_secret),
        ] {
            if !(4..=31).contains(&cost) {
                return Err(format!("{name} bcrypt cost must be 4 to 31, got {cost}"));
            }
        }
        let dummy =
            bcrypt::hash("grantd-dummy-password", costs.password).map_err(|e| e.to_string())?;
        Ok(Self {
            costs,
            dummy,
            lane: None,
        })
    }

    /// Runs every bcrypt on `lane` (lower CPU priority) instead of the calling thread.
    pub fn with_lane(mut self, lane: SlowLane) -> Self {
        self.lane = Some(lane);
        self
    }

    /// `work` on the lane if there is one, else here; a lane that failed it gives `failed`.
    fn on_lane<R: Send + 'static>(
        &self,
        failed: R,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> R {
        match &self.lane {
            Some(lane) => lane.run(work).unwrap_or(failed),
            None => work(),
        }
    }

    fn hash_at(&self, secret: &str, cost: u32) -> SecretHash {
        // bcrypt reads 72 bytes at most. The domain refuses longer passwords before they
        // get here; should one slip through, the empty hash stored verifies nothing,
        // rather than a hash of the first 72 bytes that would accept any password sharing
        // them. (bcrypt's own `non_truncating_hash` counts the C string's NUL and so stops
        // at 71.) bcrypt::hash fails only for a cost outside 4..=31, which `new` refused.
        if secret.len() > MAX_SECRET_BYTES {
            return SecretHash::from_stored(String::new());
        }
        let secret = secret.to_owned();
        let hash = self.on_lane(String::new(), move || {
            bcrypt::hash(secret, cost).unwrap_or_default()
        });
        SecretHash::from_stored(hash)
    }
}

impl SecretHasher for BcryptHasher {
    fn hash_password(&self, password: &str) -> SecretHash {
        self.hash_at(password, self.costs.password)
    }

    fn hash_client_secret(&self, secret: &str) -> SecretHash {
        self.hash_at(secret, self.costs.client_secret)
    }

    fn verify(&self, secret: &str, hash: &SecretHash) -> bool {
        // Never a match on the first 72 bytes alone.
        if secret.len() > MAX_SECRET_BYTES {
            return false;
        }
        let (secret, hash) = (secret.to_owned(), hash.as_str().to_owned());
        self.on_lane(false, move || {
            bcrypt::verify(secret, &hash).unwrap_or(false)
        })
    }

    fn burn_password_verification(&self) {
        let dummy = self.dummy.clone();
        self.on_lane((), move || {
            let _ = bcrypt::verify("not-the-password", &dummy);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_malformed_hashes_are_false() {
        let h = BcryptHasher::new(HasherCosts {
            password: 4,
            client_secret: 4,
        })
        .unwrap();
        let stored = h.hash_password("pw");
        assert!(stored.as_str().starts_with("$2"));
        assert!(h.verify("pw", &stored));
        assert!(!h.verify("nope", &stored));
        assert!(!h.verify("pw", &SecretHash::from_stored("garbage".into())));
        assert!(h.verify("cs", &h.hash_client_secret("cs")));
    }

    #[test]
    fn a_secret_over_72_bytes_never_verifies_on_its_first_72() {
        let h = BcryptHasher::new(HasherCosts {
            password: 4,
            client_secret: 4,
        })
        .unwrap();
        let first_72 = "p".repeat(72);
        let stored = h.hash_password(&first_72);
        assert!(h.verify(&first_72, &stored));
        assert!(!h.verify(&format!("{first_72}-and-more"), &stored));
        // Hashing one is refused too: the stored value verifies nothing at all.
        let long = format!("{first_72}x");
        let stored = h.hash_password(&long);
        assert!(!h.verify(&long, &stored));
        assert!(!h.verify(&first_72, &stored));
    }

    #[test]
    fn on_a_lane_hashes_and_verifies_the_same() {
        let h = BcryptHasher::new(HasherCosts {
            password: 4,
            client_secret: 4,
        })
        .unwrap()
        .with_lane(SlowLane::start(1, 10).unwrap());
        let stored = h.hash_password("pw");
        assert!(h.verify("pw", &stored));
        assert!(!h.verify("nope", &stored));
        assert!(!h.verify(&"p".repeat(73), &stored));
        h.burn_password_verification();
    }

    #[test]
    fn refuses_costs_outside_bcrypt_range() {
        assert!(BcryptHasher::new(HasherCosts {
            password: 3,
            client_secret: 10
        })
        .is_err());
        assert!(BcryptHasher::new(HasherCosts {
            password: 12,
            client_secret: 32
        })
        .is_err());
    }
}
