//! The embedded migrations (one folder per backend, with the same migration names) and how
//! each backend runs them safely when several grantd processes start at once.

use diesel::connection::Connection;
use diesel::sql_types::BigInt;
use diesel::{PgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::group_commit::GroupCommit;
use crate::DbError;

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// The key of the Postgres advisory lock that serialises migrations: a constant no other
/// application is likely to use (the bytes of "grantdmi").
const MIGRATION_LOCK_KEY: i64 = i64::from_be_bytes(*b"grantdmi");

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the pending Postgres migrations on a connection of its own, not a pooled one: it
/// must not be cut short by the pool's `statement_timeout` (a migration, or the wait for
/// another process's, may take longer than a request may) and must not leave a changed
/// session behind in the pool.
///
/// Several processes may start at once: a session-level advisory lock makes them take turns,
/// and each one after the first finds nothing pending. Without it two of them would both
/// try to create diesel's bookkeeping table and the same tables, and one would fail.
pub(crate) fn postgres(url: &str) -> Result<(), DbError> {
    let mut conn =
        PgConnection::establish(url).map_err(|error| DbError::Unavailable(error.to_string()))?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn)
        .map_err(|error| DbError::Unavailable(format!("taking the migration lock: {error}")))?;
    let outcome = conn.run_pending_migrations(POSTGRES).map(log_applied);
    // The lock would also go with the session when `conn` is dropped just below; unlocking
    // explicitly keeps that from depending on the drop.
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut conn);
    if let Err(error) = unlocked {
        tracing::warn!(%error, "releasing the migration lock failed; closing the session releases it");
    }
    outcome.map_err(|error| DbError::Migration(error.to_string()))
}

/// Runs the pending SQLite migrations inside one immediate transaction: it takes the
/// database's write lock first, so a second process waits (`busy_timeout`) and then finds
/// nothing pending. diesel's per-migration transactions become savepoints inside it.
/// It runs on the writer alone, outside its group commits.
pub(crate) fn sqlite(writer: &GroupCommit) -> Result<(), DbError> {
    writer
        .exclusive(|conn| {
            conn.immediate_transaction(|conn| {
                conn.run_pending_migrations(SQLITE)
                    .map(log_applied)
                    .map_err(Step::Migration)
            })
        })
        .map_err(|error| DbError::Unavailable(error.to_string()))?
        .map_err(|step| match step {
            Step::Database(error) => DbError::Migration(error.to_string()),
            Step::Migration(error) => DbError::Migration(error.to_string()),
        })
}

/// The two ways the SQLite migration transaction can fail (the transaction API needs an
/// error type that diesel's own converts into).
enum Step {
    Database(diesel::result::Error),
    Migration(BoxError),
}

impl From<diesel::result::Error> for Step {
    fn from(error: diesel::result::Error) -> Self {
        Step::Database(error)
    }
}

fn log_applied(applied: Vec<diesel::migration::MigrationVersion<'_>>) {
    for version in &applied {
        tracing::info!(%version, "applied database migration");
    }
}
