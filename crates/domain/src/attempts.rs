//! Brute-force protection (RFC 6749 §2.3.1 and §4.3.2: the endpoint "MUST protect ...
//! against brute force attacks"; RFC 6819 §4.3.5) that an attacker cannot turn against the
//! rightful user (the account-lockout denial of service). A failed guess counts, in the
//! shared [`FailureCounter`], against three budgets per window:
//!
//! - **per (account, source)**: an address that keeps failing for one username or client id
//!   is refused; the same account from another address is not.
//! - **per source**, across accounts: an address trying many accounts (a flood of random
//!   usernames) is refused before any password is hashed.
//! - **per account**, across sources: once many addresses have failed for one account, each
//!   address that has itself failed for it is refused; an address that has not is never
//!   refused by this budget, so a distributed guesser slows down and the owner still gets in.
//!
//! Passwords and client secrets keep separate counters. A request that made no guess, and a
//! success, count nothing. The counters live in the store, so every instance enforces the
//! same limits. Keys are hashes of parsed, length-limited values (a `Username`, a `ClientId`,
//! an IP address), so a counter costs the same whatever a request carries.

use std::net::IpAddr;

use grantd_ports::{FailureCounter, FailureKey, FailureWindow, StoreError, UnixTime};

/// The brute-force budgets, as an operator configures them. Each budget of 0 is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptLimits {
    /// Failed passwords per (username, source address) per window.
    pub per_username_and_source: u32,
    /// Failed client secrets per (client id, source address) per window.
    pub per_client_and_source: u32,
    /// Failures per source address across all accounts per window (passwords and client
    /// secrets counted apart).
    pub per_source: u32,
    /// Failures per account (a username or a client id) across all sources per window;
    /// over it, only sources that have themselves failed for the account are refused.
    pub per_account: u32,
    /// Length of every window, in seconds (positive).
    pub window_secs: i64,
}

impl Default for AttemptLimits {
    /// 10 per (account, source), 100 per source, 100 per account, per 60 s.
    fn default() -> Self {
        Self {
            per_username_and_source: 10,
            per_client_and_source: 10,
            per_source: 100,
            per_account: 100,
            window_secs: 60,
        }
    }
}

/// Which secret the guesses are about; each kind has counters of its own, so that wrong
/// passwords from an address never refuse a client's secret from it, or the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guessed {
    Password,
    ClientSecret,
}

impl Guessed {
    /// (source label, account label, account-at-source label)
    fn labels(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Guessed::Password => ("password/source", "password/user", "password/user@source"),
            Guessed::ClientSecret => ("secret/source", "secret/client", "secret/client@source"),
        }
    }
}

/// The budgets of one kind of secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    pub per_account_and_source: u32,
    pub per_source: u32,
    pub per_account: u32,
    pub window_secs: i64,
}

impl Budget {
    fn is_off(&self) -> bool {
        self.per_account_and_source == 0 && self.per_source == 0 && self.per_account == 0
    }
}

/// The counters one attempt is checked and counted against. `account` is `None` when the
/// name did not even parse: such a guess counts against its source only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    pub source: FailureKey,
    pub account: Option<AccountKeys>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AccountKeys {
    pub at_source: FailureKey,
    pub across_sources: FailureKey,
}

/// The live windows of an attempt's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Windows {
    pub source: Option<FailureWindow>,
    pub at_source: Option<FailureWindow>,
    pub across_sources: Option<FailureWindow>,
}

/// The rule, without I/O: `Err(retry_after_secs)` if an attempt with these windows must be
/// refused at `now`, else `Ok`. Several budgets may refuse at once; the wait is until the
/// last of them lifts.
pub(crate) fn decide(budget: &Budget, windows: &Windows, now: UnixTime) -> Result<(), i64> {
    let spent = |limit: u32, w: Option<FailureWindow>| {
        w.filter(|w| limit > 0 && w.failures >= limit && w.expires_at > now)
    };
    let mut lifts_at = None::<UnixTime>;
    let mut refuse = |until: UnixTime| lifts_at = Some(lifts_at.map_or(until, |t| t.max(until)));
    if let Some(w) = spent(budget.per_source, windows.source) {
        refuse(w.expires_at);
    }
    if let Some(w) = spent(budget.per_account_and_source, windows.at_source) {
        refuse(w.expires_at);
    }
    // Over the per-account budget, only a source that has itself failed for the account in
    // its current window is refused, until the first of the two windows ends.
    let failed_here = windows
        .at_source
        .filter(|w| w.failures > 0 && w.expires_at > now);
    if let (Some(account), Some(here)) = (
        spent(budget.per_account, windows.across_sources),
        failed_here,
    ) {
        refuse(account.expires_at.min(here.expires_at));
    }
    match lifts_at {
        Some(t) => Err((t - now).max(1)),
        None => Ok(()),
    }
}

/// One kind of secret's budgets over the shared counters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lockout {
    guessed: Guessed,
    budget: Budget,
}

impl Lockout {
    pub(crate) fn new(guessed: Guessed, limits: &AttemptLimits) -> Self {
        let per_account_and_source = match guessed {
            Guessed::Password => limits.per_username_and_source,
            Guessed::ClientSecret => limits.per_client_and_source,
        };
        Self {
            guessed,
            budget: Budget {
                per_account_and_source,
                per_source: limits.per_source,
                per_account: limits.per_account,
                window_secs: limits.window_secs.max(1),
            },
        }
    }

    /// The counters of a guess for `account` (a parsed username or client id; `None` if it
    /// did not parse) from `source`.
    pub(crate) fn keys(&self, account: Option<&str>, source: IpAddr) -> Keys {
        let (source_label, account_label, at_source_label) = self.guessed.labels();
        let source = source_bytes(source);
        Keys {
            source: FailureKey::derive(source_label, &[&source]),
            account: account.map(|name| AccountKeys {
                at_source: FailureKey::derive(at_source_label, &[name.as_bytes(), &source]),
                across_sources: FailureKey::derive(account_label, &[name.as_bytes()]),
            }),
        }
    }

    /// `Ok(Err(retry_after_secs))` if the attempt must be refused before it is checked. One
    /// read of the counters; none when every budget is off. A storage failure is an error,
    /// never "no failures" and never a refusal.
    pub(crate) fn check(
        &self,
        counter: &dyn FailureCounter,
        keys: &Keys,
        now: UnixTime,
    ) -> Result<Result<(), i64>, StoreError> {
        let counted = self.counted(keys);
        if counted.is_empty() {
            return Ok(Ok(()));
        }
        let found = counter.windows(&counted, now)?;
        let window = |key: &FailureKey| {
            counted
                .iter()
                .position(|k| k == key)
                .and_then(|i| found.get(i).copied().flatten())
        };
        let windows = Windows {
            source: window(&keys.source),
            at_source: keys.account.as_ref().and_then(|a| window(&a.at_source)),
            across_sources: keys
                .account
                .as_ref()
                .and_then(|a| window(&a.across_sources)),
        };
        Ok(decide(&self.budget, &windows, now))
    }

    /// Counts one failed guess against the attempt's counters (none when every budget is off).
    pub(crate) fn record(
        &self,
        counter: &dyn FailureCounter,
        keys: &Keys,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let counted = self.counted(keys);
        if counted.is_empty() {
            return Ok(());
        }
        counter.record_failure(&counted, now, self.budget.window_secs)
    }

    /// The counters an attempt must find clean (no failure in a live window) to pass
    /// [`decide`] without reading them: `decide` refuses only over a counter with failures,
    /// so with none anywhere among these it lets the attempt through. Empty when every
    /// budget is off. The refresh's one statement checks them instead of a separate read.
    pub(crate) fn clean_for(&self, keys: &Keys) -> Vec<FailureKey> {
        self.counted(keys)
    }

    /// The keys whose budget is on. The per-(account, source) counter is also kept when
    /// only the per-account budget is on: that budget asks whether this source has failed.
    fn counted(&self, keys: &Keys) -> Vec<FailureKey> {
        let b = &self.budget;
        if b.is_off() {
            return Vec::new();
        }
        let mut counted = Vec::with_capacity(3);
        if b.per_source > 0 {
            counted.push(keys.source);
        }
        if let Some(account) = &keys.account {
            if b.per_account_and_source > 0 || b.per_account > 0 {
                counted.push(account.at_source);
            }
            if b.per_account > 0 {
                counted.push(account.across_sources);
            }
        }
        counted
    }
}

/// What one source is, as a budget counts it: an IPv4 address (an IPv4-mapped IPv6 address
/// is the IPv4 one), or an IPv6 address's /64 prefix, since a single host commonly holds a
/// whole /64 (RFC 6177) and could otherwise take a fresh budget per address.
fn source_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.octets().to_vec(),
            None => v6.octets()[..8].to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1000;

    const BUDGET: Budget = Budget {
        per_account_and_source: 3,
        per_source: 10,
        per_account: 5,
        window_secs: 60,
    };

    fn w(failures: u32, expires_at: UnixTime) -> Option<FailureWindow> {
        Some(FailureWindow {
            failures,
            expires_at,
        })
    }

    #[test]
    fn each_budget_refuses_as_the_rule_says() {
        let cases: [(&str, Budget, Windows, Result<(), i64>); 11] = [
            ("nothing counted", BUDGET, Windows::default(), Ok(())),
            (
                "under every budget",
                BUDGET,
                Windows {
                    source: w(9, NOW + 10),
                    at_source: w(2, NOW + 10),
                    across_sources: w(4, NOW + 10),
                },
                Ok(()),
            ),
            (
                "(account, source) spent",
                BUDGET,
                Windows {
                    at_source: w(3, NOW + 20),
                    ..Windows::default()
                },
                Err(20),
            ),
            (
                "source spent, whatever the account",
                BUDGET,
                Windows {
                    source: w(10, NOW + 30),
                    ..Windows::default()
                },
                Err(30),
            ),
            (
                "account spent, this source failed for it: refused until the first window ends",
                BUDGET,
                Windows {
                    at_source: w(1, NOW + 15),
                    across_sources: w(5, NOW + 40),
                    ..Windows::default()
                },
                Err(15),
            ),
            (
                "account spent, this source never failed for it: let through",
                BUDGET,
                Windows {
                    across_sources: w(500, NOW + 40),
                    ..Windows::default()
                },
                Ok(()),
            ),
            (
                "several budgets spent: until the last lifts",
                BUDGET,
                Windows {
                    source: w(10, NOW + 5),
                    at_source: w(3, NOW + 50),
                    across_sources: w(5, NOW + 40),
                },
                Err(50),
            ),
            (
                "an ended window counts nothing",
                BUDGET,
                Windows {
                    source: w(99, NOW),
                    at_source: w(99, NOW - 1),
                    across_sources: w(99, NOW),
                },
                Ok(()),
            ),
            (
                "0 turns a budget off",
                Budget {
                    per_account_and_source: 0,
                    per_source: 0,
                    per_account: 0,
                    window_secs: 60,
                },
                Windows {
                    source: w(99, NOW + 5),
                    at_source: w(99, NOW + 5),
                    across_sources: w(99, NOW + 5),
                },
                Ok(()),
            ),
            (
                "the per-account budget alone still asks whether this source failed",
                Budget {
                    per_account_and_source: 0,
                    per_source: 0,
                    ..BUDGET
                },
                Windows {
                    at_source: w(1, NOW + 7),
                    across_sources: w(5, NOW + 9),
                    ..Windows::default()
                },
                Err(7),
            ),
            (
                "a wait is at least a second",
                BUDGET,
                Windows {
                    at_source: w(3, NOW + 1),
                    ..Windows::default()
                },
                Err(1),
            ),
        ];
        for (name, budget, windows, expected) in cases {
            assert_eq!(decide(&budget, &windows, NOW), expected, "{name}");
        }
    }

    #[test]
    fn keys_follow_the_account_the_source_and_the_kind_of_secret() {
        let passwords = Lockout::new(Guessed::Password, &AttemptLimits::default());
        let secrets = Lockout::new(Guessed::ClientSecret, &AttemptLimits::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let alice_a = passwords.keys(Some("alice"), a);
        let alice_b = passwords.keys(Some("alice"), b);
        let bob_a = passwords.keys(Some("bob"), a);
        let (aa, ab, ba) = (
            alice_a.account.clone().unwrap(),
            alice_b.account.clone().unwrap(),
            bob_a.account.clone().unwrap(),
        );
        assert_eq!(alice_a.source, bob_a.source, "one source across accounts");
        assert_ne!(alice_a.source, alice_b.source);
        assert_eq!(
            aa.across_sources, ab.across_sources,
            "one account across sources"
        );
        assert_ne!(aa.across_sources, ba.across_sources);
        assert_ne!(aa.at_source, ab.at_source);
        assert_ne!(aa.at_source, ba.at_source);
        // A client id named like a username has counters of its own.
        let app = secrets.keys(Some("alice"), a);
        assert_ne!(app.source, alice_a.source);
        assert_ne!(app.account.unwrap().across_sources, aa.across_sources);
        // A name that did not parse counts against the source only.
        assert_eq!(passwords.keys(None, a).account, None);
        assert_eq!(passwords.keys(None, a).source, alice_a.source);
    }

    #[test]
    fn an_ipv6_source_is_its_slash_64_and_a_mapped_ipv4_is_the_ipv4() {
        let l = Lockout::new(Guessed::Password, &AttemptLimits::default());
        let key = |ip: &str| l.keys(None, ip.parse().unwrap()).source;
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_ne!(key("192.0.2.7"), key("192.0.2.8"));
    }

    #[test]
    fn only_the_keys_of_budgets_that_are_on_are_counted() {
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let limits = |per_username_and_source, per_source, per_account| AttemptLimits {
            per_username_and_source,
            per_source,
            per_account,
            ..AttemptLimits::default()
        };
        let count = |limits: AttemptLimits, account: Option<&str>| {
            let l = Lockout::new(Guessed::Password, &limits);
            l.counted(&l.keys(account, ip)).len()
        };
        assert_eq!(count(limits(10, 100, 100), Some("alice")), 3);
        assert_eq!(count(limits(10, 100, 100), None), 1);
        assert_eq!(count(limits(10, 0, 0), Some("alice")), 1);
        assert_eq!(count(limits(0, 0, 100), Some("alice")), 2);
        assert_eq!(count(limits(0, 0, 0), Some("alice")), 0);
    }
}
