//! grantd's configuration as a value: figment layers built-in defaults < a TOML file <
//! `GRANTD_` environment variables, extracted into typed sections and validated. Nothing
//! here is global; the composition root passes the [`Config`] to whoever needs it.
//!
//! Every error names the key it is about, because an operator reading a failed start-up
//! must know which line (or variable) to fix. Secrets never reach a message: the one
//! setting that may hold one, `database.url`, is only ever shown redacted.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use grantd_domain::{AttemptLimit, AuthorizationSettings, ReusePolicy, TokenSettings};
use serde::{Deserialize, Serialize};

/// The file read when `--config` is not given, relative to the working directory.
/// Unlike `--config`, it may be absent: the built-in defaults are complete.
pub const DEFAULT_CONFIG_FILE: &str = "config/default.toml";

/// The prefix of the environment layer; `__` separates nested keys.
pub const ENV_PREFIX: &str = "GRANTD_";

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
}

/// `[server]`: where and how the HTTP server listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The socket address to listen on, e.g. `127.0.0.1:8080`.
    pub bind: String,
    /// Worker threads; 0 = one per core.
    pub workers: usize,
    /// The issuer identifier (RFC 8414 §2); empty = `http://<bind>`.
    pub issuer: String,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Seconds to let in-flight requests finish on shutdown.
    pub shutdown_timeout: u64,
    /// Largest accepted request head (header names and values), in bytes; more is 431.
    pub max_header_bytes: usize,
    /// Seconds between the shutdown signal (readiness turns 503) and closing the listener,
    /// so that a load balancer stops routing here first.
    pub drain_delay: u64,
}

impl ServerConfig {
    /// The issuer identifier (RFC 8414 §2): `issuer` without a trailing slash, or
    /// `http://<bound>` when it is empty. `bound` is the address actually bound, since
    /// `bind` may say port 0.
    pub fn issuer(&self, bound: SocketAddr) -> String {
        if self.issuer.is_empty() {
            format!("http://{bound}")
        } else {
            self.issuer.trim_end_matches('/').to_owned()
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            issuer: String::new(),
            max_body_bytes: 16 * 1024,
            shutdown_timeout: 10,
            max_header_bytes: 8 * 1024,
            drain_delay: 0,
        }
    }
}

/// `[database]`: the store. `Debug` is written by hand because the URL may hold a password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://…`, `postgresql://…` or `sqlite://…`: the scheme picks the backend.
    pub url: String,
    /// Most pooled connections per process.
    pub pool_size: u32,
    /// Seconds to wait for a connection (new or from the pool).
    pub connect_timeout: u64,
    /// Seconds one statement may run.
    pub statement_timeout: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://grantd.db".into(),
            pool_size: 8,
            connect_timeout: 2,
            statement_timeout: 5,
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

/// The reuse policy as spelled in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReusePolicySetting {
    #[default]
    RevokeGrant,
    ReportOnly,
}

/// `[tokens]`: lifetimes (seconds) and the rotation policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensConfig {
    pub access_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    /// Absolute cap of a grant; 0 = no cap.
    pub refresh_token_max_lifetime: i64,
    pub always_issue_new_refresh_token: bool,
    /// 0 = a rotated token is never accepted again.
    pub refresh_token_reuse_grace_period: i64,
    pub refresh_token_reuse_policy: ReusePolicySetting,
}

impl Default for TokensConfig {
    fn default() -> Self {
        // One source of truth for the token defaults: the domain's.
        let d = TokenSettings::default();
        Self {
            access_token_lifetime: d.access_token_lifetime,
            refresh_token_lifetime: d.refresh_token_lifetime,
            refresh_token_max_lifetime: d.refresh_token_max_lifetime,
            always_issue_new_refresh_token: d.always_issue_new_refresh_token,
            refresh_token_reuse_grace_period: d.refresh_token_reuse_grace_period,
            refresh_token_reuse_policy: match d.refresh_token_reuse_policy {
                ReusePolicy::RevokeGrant => ReusePolicySetting::RevokeGrant,
                ReusePolicy::ReportOnly => ReusePolicySetting::ReportOnly,
            },
        }
    }
}

impl TokensConfig {
    /// The domain's view of these settings.
    pub fn to_settings(&self) -> TokenSettings {
        TokenSettings {
            access_token_lifetime: self.access_token_lifetime,
            refresh_token_lifetime: self.refresh_token_lifetime,
            refresh_token_max_lifetime: self.refresh_token_max_lifetime,
            always_issue_new_refresh_token: self.always_issue_new_refresh_token,
            refresh_token_reuse_grace_period: self.refresh_token_reuse_grace_period,
            refresh_token_reuse_policy: match self.refresh_token_reuse_policy {
                ReusePolicySetting::RevokeGrant => ReusePolicy::RevokeGrant,
                ReusePolicySetting::ReportOnly => ReusePolicy::ReportOnly,
            },
        }
    }
}

/// `[security]`: bcrypt work factors (4..=31; each step doubles the time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    pub password_bcrypt_cost: u32,
    pub client_secret_bcrypt_cost: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            password_bcrypt_cost: 12,
            client_secret_bcrypt_cost: 10,
        }
    }
}

/// `[authorization]`: the authorization code flow and its login pages. `Debug` is written
/// by hand because `session_key` is a secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationConfig {
    /// Seconds an authorization code may be exchanged (RFC 6749 §4.1.2: at most 600).
    pub code_lifetime: i64,
    /// Require PKCE of every client (public clients always need it).
    pub require_pkce: bool,
    /// Accept `code_challenge_method=plain`.
    pub allow_plain_pkce: bool,
    /// Base64 of at least 32 random bytes that sign the pages' session cookies; every
    /// instance behind one load balancer needs the same. Empty = random per process.
    pub session_key: String,
    /// Seconds a login on the pages lasts.
    pub session_lifetime: i64,
}

impl Default for AuthorizationConfig {
    fn default() -> Self {
        let d = AuthorizationSettings::default();
        Self {
            code_lifetime: d.code_lifetime,
            require_pkce: d.require_pkce,
            allow_plain_pkce: d.allow_plain_pkce,
            session_key: String::new(),
            session_lifetime: 3600,
        }
    }
}

impl fmt::Debug for AuthorizationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationConfig")
            .field("code_lifetime", &self.code_lifetime)
            .field("require_pkce", &self.require_pkce)
            .field("allow_plain_pkce", &self.allow_plain_pkce)
            .field(
                "session_key",
                &if self.session_key.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("session_lifetime", &self.session_lifetime)
            .finish()
    }
}

impl AuthorizationConfig {
    /// The domain's view of these settings.
    pub fn to_settings(&self) -> AuthorizationSettings {
        AuthorizationSettings {
            code_lifetime: self.code_lifetime,
            require_pkce: self.require_pkce,
            allow_plain_pkce: self.allow_plain_pkce,
        }
    }

    /// The decoded session key; `Ok(None)` when empty. Standard or URL-safe base64.
    pub fn session_key_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine;
        let key = self.session_key.trim();
        if key.is_empty() {
            return Ok(None);
        }
        let bytes = STANDARD
            .decode(key)
            .or_else(|_| URL_SAFE_NO_PAD.decode(key.trim_end_matches('=')))
            .map_err(|_| "must be base64".to_owned())?;
        if bytes.len() < 32 {
            return Err(format!(
                "must decode to at least 32 bytes, got {}",
                bytes.len()
            ));
        }
        Ok(Some(bytes))
    }
}

/// `[rate_limit]`: brute-force protection (RFC 6749 §4.3.2, §2.3.1). Failed attempts are
/// counted per username and per client id in each process; at the limit, further attempts
/// for that name get 429 with `Retry-After` until the window ends. 0 turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub max_failed_password_attempts: u32,
    pub max_failed_client_authentications: u32,
    pub window: i64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            max_failed_password_attempts: 10,
            max_failed_client_authentications: 10,
            window: 60,
        }
    }
}

impl RateLimitConfig {
    /// (per username, per client id)
    pub fn to_limits(&self) -> (AttemptLimit, AttemptLimit) {
        (
            AttemptLimit {
                max_failures: self.max_failed_password_attempts,
                window_secs: self.window,
            },
            AttemptLimit {
                max_failures: self.max_failed_client_authentications,
                window_secs: self.window,
            },
        )
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[housekeeping]`: pruning what has expired while serving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HousekeepingConfig {
    /// Seconds between prunes in `serve`; 0 = never (run `grantd prune` instead).
    pub prune_interval: u64,
    /// Rows deleted per statement (each its own short transaction).
    pub prune_batch_size: u32,
}

impl Default for HousekeepingConfig {
    fn default() -> Self {
        Self {
            prune_interval: 3600,
            prune_batch_size: 1000,
        }
    }
}

/// `[log]`: the default filter (overridden by `RUST_LOG`) and the line format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Human,
        }
    }
}

/// Why the configuration could not be loaded. Each message names the key it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `--config FILE` names a file that is not there.
    MissingFile(PathBuf),
    /// Extraction failed (wrong type, unknown key, bad enum value); one line per problem.
    Extract(Vec<String>),
    /// A value of the right type that breaks a rule.
    Invalid { key: &'static str, reason: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingFile(path) => {
                write!(f, "config file {} does not exist", path.display())
            }
            ConfigError::Extract(lines) => {
                write!(f, "invalid configuration: {}", lines.join("; "))
            }
            ConfigError::Invalid { key, reason } => {
                write!(f, "invalid configuration: {key}: {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads the layers and validates the result. `file` is `--config`; it must exist.
    /// Without it, [`DEFAULT_CONFIG_FILE`] is read if it is there.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let config: Config = Self::figment(file)?
            .extract()
            .map_err(|e| ConfigError::Extract(describe_figment_error(e)))?;
        config.validate()?;
        Ok(config)
    }

    /// The layered provider, later layers winning: defaults < TOML < environment.
    pub fn figment(file: Option<&Path>) -> Result<Figment, ConfigError> {
        let toml = match file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError::MissingFile(path.to_path_buf()))
            }
            Some(path) => Toml::file_exact(path),
            // A missing default file is fine: the built-in defaults are complete.
            None => Toml::file_exact(DEFAULT_CONFIG_FILE),
        };
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if file.is_some() || Path::new(DEFAULT_CONFIG_FILE).is_file() {
            figment = figment.merge(toml);
        }
        Ok(figment.merge(Env::prefixed(ENV_PREFIX).split("__")))
    }

    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                key,
                reason: reason.into(),
            }
        }
        const POSITIVE: &str = "must be a positive number of seconds";
        const NON_NEGATIVE: &str = "must be zero or a positive number of seconds";

        if self.server.bind.parse::<SocketAddr>().is_err() {
            return Err(invalid(
                "server.bind",
                format!(
                    "must be a socket address such as 127.0.0.1:8080, got {:?}",
                    self.server.bind
                ),
            ));
        }
        let issuer = &self.server.issuer;
        if !(issuer.is_empty() || issuer.starts_with("https://") || issuer.starts_with("http://")) {
            // RFC 8414 §2: the issuer is a URL (https in production) without query or fragment.
            return Err(invalid("server.issuer", "must be an http(s) URL or empty"));
        }
        if self.server.issuer.contains(['?', '#']) {
            return Err(invalid(
                "server.issuer",
                "must not have a query or fragment (RFC 8414 §2)",
            ));
        }
        if self.server.max_body_bytes == 0 {
            return Err(invalid("server.max_body_bytes", "must be at least 1"));
        }
        if self.server.max_header_bytes < 1024 {
            return Err(invalid("server.max_header_bytes", "must be at least 1024"));
        }
        if self.housekeeping.prune_batch_size == 0 {
            return Err(invalid(
                "housekeeping.prune_batch_size",
                "must be at least 1",
            ));
        }

        if database_scheme(&self.database.url).is_none() {
            return Err(invalid(
                "database.url",
                "the scheme must be postgres://, postgresql:// or sqlite://",
            ));
        }
        if self.database.pool_size < 1 {
            return Err(invalid("database.pool_size", "must be at least 1"));
        }
        if self.database.connect_timeout == 0 {
            return Err(invalid("database.connect_timeout", POSITIVE));
        }
        if self.database.statement_timeout == 0 {
            return Err(invalid("database.statement_timeout", POSITIVE));
        }

        let t = &self.tokens;
        if t.access_token_lifetime <= 0 {
            return Err(invalid("tokens.access_token_lifetime", POSITIVE));
        }
        if t.refresh_token_lifetime <= 0 {
            return Err(invalid("tokens.refresh_token_lifetime", POSITIVE));
        }
        if t.refresh_token_max_lifetime < 0 {
            return Err(invalid("tokens.refresh_token_max_lifetime", NON_NEGATIVE));
        }
        if t.refresh_token_reuse_grace_period < 0 {
            return Err(invalid(
                "tokens.refresh_token_reuse_grace_period",
                NON_NEGATIVE,
            ));
        }

        for (key, cost) in [
            (
                "security.password_bcrypt_cost",
                self.security.password_bcrypt_cost,
            ),
            (
                "security.client_secret_bcrypt_cost",
                self.security.client_secret_bcrypt_cost,
            ),
        ] {
            if !(4..=31).contains(&cost) {
                return Err(invalid(key, format!("must be 4 to 31, got {cost}")));
            }
        }

        if self.rate_limit.window <= 0 {
            return Err(invalid("rate_limit.window", POSITIVE));
        }

        let a = &self.authorization;
        if !(1..=600).contains(&a.code_lifetime) {
            return Err(invalid(
                "authorization.code_lifetime",
                "must be 1 to 600 seconds (RFC 6749 §4.1.2)",
            ));
        }
        if a.session_lifetime <= 0 {
            return Err(invalid("authorization.session_lifetime", POSITIVE));
        }
        if let Err(reason) = a.session_key_bytes() {
            return Err(invalid("authorization.session_key", reason));
        }

        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return Err(invalid(
                "log.level",
                format!(
                    "must be a level (error, warn, info, debug, trace) or a filter, got {:?}",
                    self.log.level
                ),
            ));
        }
        Ok(())
    }

    /// The validated listen address. [`Config::validate`] has checked that it parses.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.bind.parse().map_err(|_| ConfigError::Invalid {
            key: "server.bind",
            reason: "must be a socket address".into(),
        })
    }

    /// The database URL safe to print.
    pub fn redacted_database_url(&self) -> String {
        redact_url(&self.database.url)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.database.connect_timeout)
    }

    pub fn statement_timeout(&self) -> Duration {
        Duration::from_secs(self.database.statement_timeout)
    }
}

/// The backend a URL names, by scheme alone (never by trying to connect: SQLite would
/// accept almost any string as a file name).
pub fn database_scheme(url: &str) -> Option<&'static str> {
    let scheme = url.split_once("://")?.0.to_ascii_lowercase();
    match scheme.as_str() {
        "postgres" | "postgresql" => Some("postgres"),
        "sqlite" => Some("sqlite"),
        _ => None,
    }
}

/// The URL with any password replaced by `***`: the userinfo password
/// (`postgres://user:pw@host`) and query parameters such as `?password=`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL we understand: it could be anything, so show nothing of it.
        return "<redacted>".into();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.to_ascii_lowercase().contains("pass") => {
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// One line per problem, each starting with the dotted key (`tokens.access_token_lifetime:`)
/// and ending with where the value came from.
fn describe_figment_error(error: figment::Error) -> Vec<String> {
    error
        .into_iter()
        .map(|e| {
            let key = if e.path.is_empty() {
                "<root>".to_owned()
            } else {
                e.path.join(".")
            };
            let what = match &e.kind {
                // figment's own wording of these two nests backticks; say it plainly.
                figment::error::Kind::UnknownField(_, expected) => {
                    format!("unknown key (known keys here: {})", expected.join(", "))
                }
                figment::error::Kind::UnknownVariant(found, expected) => {
                    format!(
                        "unknown value `{found}` (expected one of: {})",
                        expected.join(", ")
                    )
                }
                kind => kind.to_string(),
            };
            let origin = e.metadata.as_ref().map(|md| match &md.source {
                Some(source) => format!(" (in {source})"),
                None => format!(" (in {})", md.name),
            });
            format!("{key}: {what}{}", origin.unwrap_or_default())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    // Jail's closures must return figment's own (large) error type; not ours to shrink.
    #![allow(clippy::result_large_err)]

    use super::*;
    use figment::Jail;

    fn load_in_jail() -> Result<Config, ConfigError> {
        Config::load(None)
    }

    fn invalid_key(jail_env: &[(&str, &str)]) -> String {
        let mut message = String::new();
        Jail::expect_with(|jail| {
            for (k, v) in jail_env {
                jail.set_env(k, v);
            }
            message = load_in_jail().unwrap_err().to_string();
            Ok(())
        });
        message
    }

    #[test]
    fn defaults_are_complete_and_valid() {
        Jail::expect_with(|_| {
            let config = load_in_jail().unwrap();
            assert_eq!(config, Config::default());
            assert_eq!(config.server.bind, "127.0.0.1:8080");
            assert_eq!(config.database.url, "sqlite://grantd.db");
            assert_eq!(config.tokens.access_token_lifetime, 3600);
            assert_eq!(config.tokens.refresh_token_lifetime, 1_209_600);
            assert_eq!(config.tokens.refresh_token_max_lifetime, 7_776_000);
            assert_eq!(config.security.password_bcrypt_cost, 12);
            assert_eq!(config.log.format, LogFormat::Human);
            assert_eq!(
                config.server.issuer(config.bind_addr().unwrap()),
                "http://127.0.0.1:8080"
            );
            Ok(())
        });
    }

    #[test]
    fn toml_overrides_defaults_and_env_overrides_toml() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                DEFAULT_CONFIG_FILE,
                r#"
                [server]
                bind = "0.0.0.0:9000"
                [tokens]
                access_token_lifetime = 600
                refresh_token_lifetime = 7200
                "#,
            )?;
            jail.set_env("GRANTD_TOKENS__ACCESS_TOKEN_LIFETIME", "60");
            let config = load_in_jail().unwrap();
            // env beats TOML
            assert_eq!(config.tokens.access_token_lifetime, 60);
            // TOML beats defaults
            assert_eq!(config.tokens.refresh_token_lifetime, 7200);
            assert_eq!(config.server.bind, "0.0.0.0:9000");
            // untouched keys keep their defaults
            assert_eq!(config.database.pool_size, 8);
            Ok(())
        });
    }

    #[test]
    fn double_underscore_nests_env_keys() {
        Jail::expect_with(|jail| {
            jail.set_env("GRANTD_DATABASE__URL", "postgres://u:pw@127.0.0.1/grantd");
            jail.set_env("GRANTD_TOKENS__ALWAYS_ISSUE_NEW_REFRESH_TOKEN", "false");
            jail.set_env("GRANTD_TOKENS__REFRESH_TOKEN_REUSE_POLICY", "report_only");
            jail.set_env("GRANTD_LOG__FORMAT", "json");
            jail.set_env("GRANTD_SERVER__BIND", "127.0.0.1:1234");
            let config = load_in_jail().unwrap();
            assert_eq!(config.database.url, "postgres://u:pw@127.0.0.1/grantd");
            assert!(!config.tokens.always_issue_new_refresh_token);
            assert_eq!(
                config.tokens.to_settings().refresh_token_reuse_policy,
                ReusePolicy::ReportOnly
            );
            assert_eq!(config.log.format, LogFormat::Json);
            assert_eq!(config.bind_addr().unwrap().port(), 1234);
            Ok(())
        });
    }

    #[test]
    fn rate_limits_layer_from_env_and_validate_their_window() {
        Jail::expect_with(|jail| {
            jail.set_env("GRANTD_RATE_LIMIT__MAX_FAILED_PASSWORD_ATTEMPTS", "3");
            let config = load_in_jail().unwrap();
            let (per_username, per_client) = config.rate_limit.to_limits();
            assert_eq!(
                (per_username.max_failures, per_client.max_failures),
                (3, 10)
            );
            assert_eq!(per_username.window_secs, 60);
            jail.set_env("GRANTD_RATE_LIMIT__WINDOW", "0");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(err.contains("rate_limit.window"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn explicit_config_file_is_used_and_must_exist() {
        Jail::expect_with(|jail| {
            jail.create_file("custom.toml", "[security]\npassword_bcrypt_cost = 5\n")?;
            let config = Config::load(Some(Path::new("custom.toml"))).unwrap();
            assert_eq!(config.security.password_bcrypt_cost, 5);
            let err = Config::load(Some(Path::new("absent.toml"))).unwrap_err();
            assert_eq!(err.to_string(), "config file absent.toml does not exist");
            Ok(())
        });
    }

    #[test]
    fn unknown_key_in_toml_is_rejected_with_its_name() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(DEFAULT_CONFIG_FILE, "[tokens]\naccess_token_lifetme = 60\n")?;
            let err = load_in_jail().unwrap_err().to_string();
            assert!(
                err.contains("tokens.access_token_lifetme: unknown key"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_key_in_env_is_rejected_with_its_name() {
        // A single underscore is a classic typo: it makes a top-level key.
        let err = invalid_key(&[("GRANTD_DATABASE_URL", "sqlite://x.db")]);
        assert!(err.contains("database_url: unknown key"), "{err}");
        let err = invalid_key(&[("GRANTD_SERVER__PORT", "80")]);
        assert!(err.contains("server.port: unknown key"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = invalid_key(&[("GRANTD_TOKENS__ACCESS_TOKEN_LIFETIME", "soon")]);
        assert!(
            err.contains("tokens.access_token_lifetime: invalid type"),
            "{err}"
        );
        let err = invalid_key(&[("GRANTD_TOKENS__REFRESH_TOKEN_REUSE_POLICY", "ignore")]);
        assert!(
            err.contains("tokens.refresh_token_reuse_policy: unknown value `ignore`"),
            "{err}"
        );
    }

    #[test]
    fn each_validation_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "GRANTD_TOKENS__ACCESS_TOKEN_LIFETIME",
                "0",
                "invalid configuration: tokens.access_token_lifetime: must be a positive number of seconds",
            ),
            (
                "GRANTD_TOKENS__ACCESS_TOKEN_LIFETIME",
                "-5",
                "tokens.access_token_lifetime: must be a positive",
            ),
            (
                "GRANTD_TOKENS__REFRESH_TOKEN_LIFETIME",
                "0",
                "tokens.refresh_token_lifetime: must be a positive",
            ),
            (
                "GRANTD_TOKENS__REFRESH_TOKEN_MAX_LIFETIME",
                "-1",
                "tokens.refresh_token_max_lifetime: must be zero or",
            ),
            (
                "GRANTD_TOKENS__REFRESH_TOKEN_REUSE_GRACE_PERIOD",
                "-1",
                "tokens.refresh_token_reuse_grace_period: must be zero or",
            ),
            (
                "GRANTD_SECURITY__PASSWORD_BCRYPT_COST",
                "3",
                "security.password_bcrypt_cost: must be 4 to 31",
            ),
            (
                "GRANTD_SECURITY__CLIENT_SECRET_BCRYPT_COST",
                "32",
                "security.client_secret_bcrypt_cost: must be 4 to 31",
            ),
            (
                "GRANTD_DATABASE__POOL_SIZE",
                "0",
                "database.pool_size: must be at least 1",
            ),
            (
                "GRANTD_DATABASE__CONNECT_TIMEOUT",
                "0",
                "database.connect_timeout: must be a positive",
            ),
            (
                "GRANTD_DATABASE__STATEMENT_TIMEOUT",
                "0",
                "database.statement_timeout: must be a positive",
            ),
            (
                "GRANTD_SERVER__BIND",
                "localhost",
                "server.bind: must be a socket address",
            ),
            (
                "GRANTD_SERVER__ISSUER",
                "ftp://x",
                "server.issuer: must be an http(s) URL",
            ),
            (
                "GRANTD_SERVER__MAX_BODY_BYTES",
                "0",
                "server.max_body_bytes: must be at least 1",
            ),
            (
                "GRANTD_DATABASE__URL",
                "mysql://root:hunter2@db/x",
                "database.url: the scheme must be",
            ),
            ("GRANTD_LOG__LEVEL", "loud=!", "log.level: must be a level"),
        ];
        for (key, value, expected) in cases {
            let err = invalid_key(&[(key, value)]);
            assert!(err.contains(expected), "{key}={value}: {err}");
            // The message must never echo a password.
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn zero_max_lifetime_and_grace_are_allowed() {
        Jail::expect_with(|jail| {
            jail.set_env("GRANTD_TOKENS__REFRESH_TOKEN_MAX_LIFETIME", "0");
            jail.set_env("GRANTD_TOKENS__REFRESH_TOKEN_REUSE_GRACE_PERIOD", "0");
            assert!(load_in_jail().is_ok());
            Ok(())
        });
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://grantd:s3cret@db:5432/grantd"),
            "postgres://grantd:***@db:5432/grantd"
        );
        assert_eq!(
            redact_url("postgresql://db/grantd?user=a&password=s3cret"),
            "postgresql://db/grantd?user=a&password=***"
        );
        assert_eq!(
            redact_url("postgres://grantd@db/grantd"),
            "postgres://grantd@db/grantd"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
        assert_eq!(redact_url("garbage"), "<redacted>");
        let config = Config {
            database: DatabaseConfig {
                url: "postgres://u:s3cret@h/d".into(),
                ..DatabaseConfig::default()
            },
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!config.redacted_database_url().contains("s3cret"));
    }

    #[test]
    fn scheme_picks_the_backend() {
        assert_eq!(database_scheme("postgres://h/d"), Some("postgres"));
        assert_eq!(database_scheme("postgresql://h/d"), Some("postgres"));
        assert_eq!(database_scheme("sqlite://grantd.db"), Some("sqlite"));
        assert_eq!(database_scheme("grantd.db"), None);
        assert_eq!(database_scheme("mysql://h/d"), None);
    }

    #[test]
    fn shipped_default_toml_matches_built_in_defaults() {
        // config/default.toml documents every setting; it must not drift from the code.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.toml");
        let from_file: Config = Figment::from(Toml::file_exact(&path)).extract().unwrap();
        assert_eq!(from_file, Config::default());
    }
}
