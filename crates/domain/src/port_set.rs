//! `PortSet`: every port a use case drives, bundled so the composition root wires them once
//! (named apart from the `grantd_ports` crate that defines the traits).

use std::sync::Arc;

use grantd_ports::{
    AuthorizationStore, ClientStore, Clock, FailureCounter, Metrics, PasswordCheckPermits,
    SecretHasher, TokenMinter, TokenStore, UserStore,
};

/// Every port the use cases need. Cheap to clone (all `Arc`s).
#[derive(Clone)]
pub struct PortSet {
    pub clients: Arc<dyn ClientStore>,
    pub users: Arc<dyn UserStore>,
    pub tokens: Arc<dyn TokenStore>,
    /// Authorization codes and consents (the code flow).
    pub authorizations: Arc<dyn AuthorizationStore>,
    /// The brute-force counters, shared by every instance on the store.
    pub failures: Arc<dyn FailureCounter>,
    pub hasher: Arc<dyn SecretHasher>,
    /// How many password and client-secret checks (bcrypt) may run at once.
    pub password_checks: Arc<dyn PasswordCheckPermits>,
    pub minter: Arc<dyn TokenMinter>,
    pub clock: Arc<dyn Clock>,
    /// Where domain events (tokens issued, reuse, rate limits) are counted; `NoMetrics`
    /// when nobody is counting.
    pub metrics: Arc<dyn Metrics>,
}
