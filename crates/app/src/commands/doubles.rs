//! Test doubles of every port the commands drive, with a clock fixed at 1000.

use std::sync::Arc;

use grantd_domain::PortSet;
use grantd_ports::{
    MockAuthorizationStore, MockClientStore, MockClock, MockFailureCounter, MockSecretHasher,
    MockTokenMinter, MockTokenStore, MockUserStore, NoMetrics, UnboundedChecks,
};

pub(crate) struct Doubles {
    pub clients: MockClientStore,
    pub users: MockUserStore,
    pub tokens: MockTokenStore,
    pub hasher: MockSecretHasher,
    pub minter: MockTokenMinter,
}

impl Doubles {
    pub fn new() -> Self {
        Self {
            clients: MockClientStore::new(),
            users: MockUserStore::new(),
            tokens: MockTokenStore::new(),
            hasher: MockSecretHasher::new(),
            minter: MockTokenMinter::new(),
        }
    }

    pub fn ports(self) -> PortSet {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(1_000_i64);
        PortSet {
            clients: Arc::new(self.clients),
            users: Arc::new(self.users),
            tokens: Arc::new(self.tokens),
            authorizations: Arc::new(MockAuthorizationStore::new()),
            failures: Arc::new(MockFailureCounter::new()),
            hasher: Arc::new(self.hasher),
            password_checks: Arc::new(UnboundedChecks),
            minter: Arc::new(self.minter),
            clock: Arc::new(clock),
            metrics: Arc::new(NoMetrics),
        }
    }
}
