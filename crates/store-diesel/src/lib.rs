//! grantd's storage adapter: the store ports (`ClientStore`, `UserStore`, `TokenStore`,
//! `AuthorizationStore`, `FailureCounter`, `DpopReplayStore`, `RegistrationStore`) implemented once with diesel and r2d2 for both Postgres
//! (production, shared by any number of grantd processes) and SQLite (bundled, the embedded
//! default), with the embedded migrations of `migrations/postgres` and `migrations/sqlite`.
//!
//! The URL's scheme picks the backend ([`parse_database_url`], which the app's config also
//! validates with). Row structs stay private to this crate; callers see only the ports'
//! records and `StoreError`. No business rule lives here: the decisions made inside a
//! transaction (refresh rotation, code exchange) are the domain's, passed in as closures.
//!
//! Statements are prepared once per connection and cached, which on SQLite (in-process)
//! is most of a query's cost. Two habits keep them cached: a lookup by a unique key uses
//! `get_result`, not `first` (its `LIMIT ?` makes SQLite prepare the statement again every
//! time the limit is bound, as it may plan by the value), and an `UPDATE` on a hot path is
//! wrapped in [`cached_statement::Cached`] (diesel never caches an update by itself).

mod authorization;
mod cached_statement;
mod checkpointer;
mod clients;
mod database;
mod dpop;
mod errors;
mod failures;
mod grant_overview;
mod group_commit;
mod housekeeping;
mod issuance;
mod keys;
mod migrate;
mod pool;
mod registration;
mod rows;
mod schema;
mod tokens;
mod url;
mod users;

pub use database::{Backend, Database, DbOptions, PoolState};
pub use errors::DbError;
pub use url::{parse_database_url, DatabaseTarget};
