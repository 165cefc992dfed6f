//! Building the adapters from the configuration: the database, and the ports bundle the
//! domain drives. The only place that knows which concrete adapter fills which port.

use std::sync::Arc;

use anyhow::Context as _;
use grantd_crypto::{BcryptHasher, HasherCosts, OsTokenMinter, SystemClock};
use grantd_domain::Ports;
use grantd_ports::NoMetrics;
use grantd_store_diesel::{Database, DbOptions};

use crate::config::Config;

/// Opens the connection pool. The error names the database only in redacted form: the
/// URL may hold a password.
pub fn connect(config: &Config) -> anyhow::Result<Database> {
    let options = DbOptions {
        pool_size: config.database.pool_size,
        connect_timeout: config.connect_timeout(),
        statement_timeout: config.statement_timeout(),
    };
    // DbError messages never contain the URL; ours shows it redacted.
    Database::connect(&config.database.url, &options).with_context(|| {
        format!(
            "cannot open the database {}",
            config.redacted_database_url()
        )
    })
}

/// Applies pending migrations (embedded in the binary; idempotent).
pub fn migrate(db: &Database) -> anyhow::Result<()> {
    Ok(db.migrate()?)
}

/// The ports over one shared database handle, bcrypt at the configured costs, the OS
/// CSPRNG and the system clock.
pub fn build_ports(config: &Config, db: Database) -> anyhow::Result<Ports> {
    let hasher = BcryptHasher::new(HasherCosts {
        password: config.security.password_bcrypt_cost,
        client_secret: config.security.client_secret_bcrypt_cost,
    })
    .map_err(anyhow::Error::msg)
    .context("invalid configuration: security")?;
    let db = Arc::new(db);
    Ok(Ports {
        clients: db.clone(),
        users: db.clone(),
        tokens: db.clone(),
        authorizations: db,
        hasher: Arc::new(hasher),
        minter: Arc::new(OsTokenMinter),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(NoMetrics),
    })
}
