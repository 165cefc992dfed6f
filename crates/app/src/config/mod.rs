//! grantd's configuration as a value: figment layers built-in defaults < a TOML file <
//! `GRANTD_` environment variables (`load`), extracted into typed sections (one module
//! each, with its defaults, its validation and its conversion to the domain's settings).
//! Nothing here is global; the composition root passes the [`Config`] to whoever needs it.
//!
//! Every error names the key it is about, because an operator reading a failed start-up
//! must know which line (or variable) to fix. Secrets never reach a message: the settings
//! that may hold one, `database.url`, `authorization.session_key` and `keys.encryption_key`,
//! are only ever shown
//! redacted.

mod authorization;
mod database;
mod dpop;
mod error;
mod housekeeping;
mod keys;
mod load;
mod log;
mod oidc;
mod rate_limit;
mod registration;
mod resources;
mod scopes;
mod security;
mod server;
mod tokens;

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use authorization::AuthorizationConfig;
pub use database::{redact_url, DatabaseConfig};
pub use dpop::DpopConfig;
pub use error::ConfigError;
pub use housekeeping::HousekeepingConfig;
pub use keys::{AlgorithmSetting, KeysConfig};
pub use load::{DEFAULT_CONFIG_FILE, ENV_PREFIX};
pub use log::{LogConfig, LogFormat};
pub use oidc::OidcConfig;
pub use rate_limit::RateLimitConfig;
pub use registration::RegistrationConfig;
pub use resources::{ResourceEntry, ResourcesConfig};
pub use scopes::{ScopeEntry, ScopesConfig};
pub use security::SecurityConfig;
pub use server::{BlockingWorkSetting, ProxyHeaderSetting, ServerConfig};
pub use tokens::{AccessTokenFormatSetting, ReusePolicySetting, TokensConfig};

/// Everything an operator can set. Each section refuses keys it does not know, so that a
/// typo fails loudly instead of silently leaving a default in force.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub tokens: TokensConfig,
    pub security: SecurityConfig,
    pub rate_limit: RateLimitConfig,
    pub authorization: AuthorizationConfig,
    pub log: LogConfig,
    pub housekeeping: HousekeepingConfig,
    /// `[scopes.<name>]`: the scope registry.
    pub scopes: ScopesConfig,
    pub keys: KeysConfig,
    pub oidc: OidcConfig,
    /// `[resources.<name>]`: the resources (RFC 8707) tokens may be issued for.
    pub resources: ResourcesConfig,
    /// DPoP proofs (RFC 9449).
    pub dpop: DpopConfig,
    /// Dynamic client registration (RFC 7591, RFC 7592).
    pub registration: RegistrationConfig,
}

impl Config {
    /// Checks the rules that types cannot express, section by section; the first broken
    /// rule is the error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.server.validate()?;
        self.housekeeping.validate()?;
        self.database.validate()?;
        self.tokens.validate()?;
        self.security.validate()?;
        self.rate_limit.validate()?;
        self.authorization.validate()?;
        self.keys.validate()?;
        self.oidc.validate()?;
        self.dpop.validate()?;
        self.registration.validate()?;
        self.log.validate()?;
        self.scopes.validate()?;
        self.resources.validate()
    }

    /// The token endpoint's settings: `[tokens]` with `[oidc]`.
    pub fn token_settings(&self) -> grantd_domain::TokenSettings {
        grantd_domain::TokenSettings {
            oidc: self.oidc.to_settings(),
            ..self.tokens.to_settings()
        }
    }

    /// The validated listen address. [`Config::validate`] has checked that it parses.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.bind_addr()
    }

    /// The database URL safe to print.
    pub fn redacted_database_url(&self) -> String {
        self.database.redacted_url()
    }

    pub fn connect_timeout(&self) -> Duration {
        self.database.connect_timeout()
    }

    pub fn statement_timeout(&self) -> Duration {
        self.database.statement_timeout()
    }

    /// How many HTTP workers to start; 0 lets actix pick one per core. Blocking work on
    /// the workers needs one per pool connection, or the pool would sit partly idle.
    pub fn http_workers(&self) -> usize {
        match (self.server.workers, self.server.blocking_work) {
            (0, BlockingWorkSetting::Workers) => self.database.pool_size as usize,
            (workers, _) => workers,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use figment::providers::{Format, Toml};
    use figment::Figment;

    use super::*;

    #[test]
    fn shipped_default_toml_matches_built_in_defaults() {
        // config/default.toml documents every setting; it must not drift from the code.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
        let from_file: Config = Figment::from(Toml::file_exact(&path)).extract().unwrap();
        assert_eq!(from_file, Config::default());
    }
}
