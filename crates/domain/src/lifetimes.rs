//! The three clocks of a grant: the access token's life, each refresh token's own life
//! (an idle timeout: a successor gets a fresh span) and the grant's absolute cap. No token
//! ever outlives the cap.

use grantd_ports::{Client, UnixTime};

use crate::TokenSettings;

/// The lifetimes that apply to one client: its overrides, else the global settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub access: i64,
    pub refresh: i64,
    /// 0 = no cap.
    pub max: i64,
}

impl Lifetimes {
    pub fn for_client(settings: &TokenSettings, client: &Client) -> Self {
        let o = client.lifetimes;
        Self {
            access: o.access_token.unwrap_or(settings.access_token_lifetime),
            refresh: o.refresh_token.unwrap_or(settings.refresh_token_lifetime),
            max: o
                .refresh_token_max
                .unwrap_or(settings.refresh_token_max_lifetime),
        }
    }

    /// When a grant created at `now` stops being refreshable.
    pub fn grant_expiry(&self, now: UnixTime) -> Option<UnixTime> {
        (self.max > 0).then(|| now.saturating_add(self.max))
    }

    /// Expiry of an access token issued at `now` under a grant capped at `cap`.
    pub fn access_expiry(&self, now: UnixTime, cap: Option<UnixTime>) -> UnixTime {
        capped(now.saturating_add(self.access), cap)
    }

    /// Expiry of a refresh token issued at `now` under a grant capped at `cap`.
    pub fn refresh_expiry(&self, now: UnixTime, cap: Option<UnixTime>) -> UnixTime {
        capped(now.saturating_add(self.refresh), cap)
    }
}

fn capped(at: UnixTime, cap: Option<UnixTime>) -> UnixTime {
    cap.map_or(at, |c| at.min(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetimes(max: i64) -> Lifetimes {
        Lifetimes {
            access: 60,
            refresh: 600,
            max,
        }
    }

    #[test]
    fn tokens_never_outlive_the_grant_cap() {
        let l = lifetimes(100);
        let cap = l.grant_expiry(1000);
        assert_eq!(cap, Some(1100));
        assert_eq!(l.access_expiry(1000, cap), 1060);
        assert_eq!(l.refresh_expiry(1000, cap), 1100);
        assert_eq!(l.access_expiry(1090, cap), 1100);
    }

    #[test]
    fn zero_max_means_no_cap() {
        let l = lifetimes(0);
        assert_eq!(l.grant_expiry(1000), None);
        assert_eq!(l.refresh_expiry(1000, None), 1600);
    }
}
