//! The administrative use cases, shared by both front doors: the `grantd` CLI
//! (`grantd client|user|consent|keys|prune …`) and the admin HTTP API (`server.admin_bind`).
//! Each act is one function here, so that the two are adapters over one set of rules and
//! never two implementations. They know no HTTP, no flags and no JSON: a refusal is an
//! [`AdminError`] naming the field at fault, and the caller words it for its audience.
//! [`Administration`] bundles what the admin API needs; its `authenticate` decides who
//! may use it (an admin client's `client_credentials` token with `grantd:admin`).

mod auth;
mod clients;
mod error;
mod grants;
mod keys;
mod users;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use grantd_ports::{Housekeeping, PrunePace};

use crate::dynamic_registration::InitialAccessTokens;
use crate::{BearerCheck, KeyRing, PortSet, ScopeRegistry, TokenSettings};

pub use auth::{authenticate, AdminAuthError};
pub use clients::{
    create_client, delete_client, find_client, list_clients, rotate_client_secret, update_client,
    ClientPage, ClientUpdate, IssuedClient, NewClient,
};
pub use error::AdminError;
pub use grants::{
    consents_of_user, grants_of_client, grants_of_user, revoke_consents, revoke_grant,
    revoke_grants_of_client, revoke_grants_of_user,
};
pub use keys::retire_key;
pub use users::{create_user, find_user};

/// The most clients one page of a listing holds.
pub const MAX_PAGE_SIZE: usize = 200;

/// Everything the admin API drives. Cheap to clone (`Arc`s).
#[derive(Clone)]
pub struct Administration {
    pub ports: PortSet,
    pub scopes: Arc<ScopeRegistry>,
    pub settings: TokenSettings,
    /// The signing keys; `None` without `keys.encryption_key` (the keys routes say so).
    pub keys: Option<KeyRing>,
    /// The store's prune, and its pace (`[housekeeping]`).
    pub housekeeping: Arc<dyn Housekeeping>,
    pub prune_pace: PrunePace,
    /// Registration's initial access tokens, the use case `grantd registration token` runs.
    pub initial_tokens: InitialAccessTokens,
    /// The resource check that reads the admin's bearer token.
    pub bearer: BearerCheck,
}
