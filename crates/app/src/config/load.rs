//! Loading the configuration: figment layers built-in defaults < a TOML file (`--config`,
//! else [`DEFAULT_CONFIG_FILE`] if present) < `GRANTD_` environment variables, then the
//! extraction into [`Config`] and its validation. Extraction errors are reworded here so
//! that each names its dotted key and where the value came from.

use std::path::Path;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;

use super::{Config, ConfigError};

/// The file read when `--config` is not given, relative to the working directory.
/// Unlike `--config`, it may be absent: the built-in defaults are complete.
pub const DEFAULT_CONFIG_FILE: &str = "config/default.toml";

/// The prefix of the environment layer; `__` separates nested keys.
pub const ENV_PREFIX: &str = "GRANTD_";

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

    use figment::Jail;

    use super::*;
    use crate::config::{BlockingWorkSetting, LogFormat};
    use grantd_domain::ReusePolicy;

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
            jail.set_env("GRANTD_RATE_LIMIT__MAX_FAILURES_PER_SOURCE", "50");
            jail.set_env("GRANTD_RATE_LIMIT__MAX_FAILURES_PER_ACCOUNT", "0");
            let config = load_in_jail().unwrap();
            let limits = config.rate_limit.to_limits();
            assert_eq!(
                (limits.per_username_and_source, limits.per_client_and_source),
                (3, 10)
            );
            assert_eq!((limits.per_source, limits.per_account), (50, 0));
            assert_eq!(limits.window_secs, 60);
            assert_eq!(
                Config::default().rate_limit.to_limits(),
                grantd_domain::AttemptLimits::default()
            );
            jail.set_env("GRANTD_RATE_LIMIT__WINDOW", "0");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(err.contains("rate_limit.window"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_layer_from_toml_and_env() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                DEFAULT_CONFIG_FILE,
                "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nproxy_header = \"forwarded\"\n",
            )?;
            let config = load_in_jail().unwrap();
            assert_eq!(config.server.trusted_proxies, ["10.0.0.0/8", "::1"]);
            assert_eq!(
                config.server.proxy_header,
                crate::config::ProxyHeaderSetting::Forwarded
            );
            jail.set_env("GRANTD_SERVER__TRUSTED_PROXIES", "[\"192.0.2.10\"]");
            assert_eq!(
                load_in_jail().unwrap().server.trusted_proxies,
                ["192.0.2.10"]
            );
            jail.set_env("GRANTD_SERVER__PROXY_HEADER", "x-real-ip");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(
                err.contains("server.proxy_header: unknown value `x-real-ip`"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn blocking_work_on_the_workers_starts_one_worker_per_pool_connection() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            let config = load_in_jail().unwrap();
            assert_eq!(config.server.blocking_work, BlockingWorkSetting::Pool);
            assert_eq!(config.http_workers(), 0, "actix's one per core");
            jail.create_file(
                DEFAULT_CONFIG_FILE,
                "[server]\nblocking_work = \"workers\"\n[database]\npool_size = 12\n",
            )?;
            let config = load_in_jail().unwrap();
            assert_eq!(config.server.blocking_work, BlockingWorkSetting::Workers);
            assert_eq!(config.http_workers(), 12);
            jail.set_env("GRANTD_SERVER__WORKERS", "3");
            assert_eq!(load_in_jail().unwrap().http_workers(), 3, "as set");
            jail.set_env("GRANTD_SERVER__BLOCKING_WORK", "threads");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(
                err.contains("server.blocking_work: unknown value `threads`"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn keys_and_the_access_token_format_layer_from_toml_and_env() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                DEFAULT_CONFIG_FILE,
                "[keys]\nalgorithm = \"ES256\"\npublish_ahead = 120\n[tokens]\naccess_token_format = \"jwt\"\n",
            )?;
            jail.set_env("GRANTD_KEYS__ALGORITHM", "EdDSA");
            jail.set_env(
                "GRANTD_KEYS__ENCRYPTION_KEY",
                "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=",
            );
            jail.set_env("GRANTD_TOKENS__DEFAULT_AUDIENCE", "https://api.example");
            let config = load_in_jail().unwrap();
            let keys = config.keys.to_settings();
            assert_eq!(keys.algorithm, grantd_ports::SigningAlgorithm::EdDsa);
            assert_eq!(keys.publish_ahead, 120);
            assert!(config.keys.encryption_key().is_some());
            assert_eq!(
                config.tokens.access_token_format.to_format(),
                grantd_domain::AccessTokenFormat::Jwt
            );
            assert_eq!(config.tokens.default_audience, "https://api.example");
            jail.set_env("GRANTD_KEYS__ALGORITHM", "HS256");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(err.contains("keys.algorithm"), "{err}");
            jail.set_env("GRANTD_KEYS__ALGORITHM", "RS256");
            jail.set_env("GRANTD_KEYS__ENCRYPTION_KEY", "too-short");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(err.contains("keys.encryption_key"), "{err}");
            assert!(!err.contains("too-short"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn resources_layer_from_toml_and_env_and_a_bad_uri_names_its_key() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                DEFAULT_CONFIG_FILE,
                "[resources.api]\nuri = \"https://api.example/\"\n",
            )?;
            jail.set_env("GRANTD_RESOURCES__FILES__URI", "https://files.example/v1");
            let config = load_in_jail().unwrap();
            let registry = config.resources.to_registry().unwrap();
            assert_eq!(
                registry.uris().collect::<Vec<_>>(),
                ["https://api.example/", "https://files.example/v1"]
            );
            jail.set_env("GRANTD_RESOURCES__FILES__URI", "files");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(err.contains("resources.files.uri"), "{err}");
            assert!(err.contains("absolute URI"), "{err}");
            jail.set_env("GRANTD_RESOURCES__FILES__URI", "https://api.example/");
            let err = load_in_jail().unwrap_err().to_string();
            assert!(err.contains("resources.files.uri"), "{err}");
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
                "GRANTD_TOKENS__REFRESH_TOKEN_REUSE_GRACE_PERIOD",
                "301",
                "tokens.refresh_token_reuse_grace_period: must be at most 300 seconds",
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
                "database.url: unsupported database URL scheme `mysql`",
            ),
            ("GRANTD_LOG__LEVEL", "loud=!", "log.level: must be a level"),
            (
                "GRANTD_SERVER__TRUSTED_PROXIES",
                "[\"10.0.0.0/33\"]",
                "server.trusted_proxies: \"10.0.0.0/33\" is not an IP address or CIDR range",
            ),
            (
                "GRANTD_RATE_LIMIT__MAX_FAILURES_PER_SOURCE",
                "5",
                "rate_limit.max_failures_per_source: must be 0 (off) or at least",
            ),
            (
                "GRANTD_RATE_LIMIT__MAX_FAILURES_PER_ACCOUNT",
                "9",
                "rate_limit.max_failures_per_account: must be 0 (off) or at least",
            ),
        ];
        for (key, value, expected) in cases {
            let err = invalid_key(&[(key, value)]);
            assert!(err.contains(expected), "{key}={value}: {err}");
            // The message must never echo a password.
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn scopes_are_added_and_changed_by_toml_and_env_but_the_shipped_ones_stay() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                DEFAULT_CONFIG_FILE,
                r#"
                [scopes.admin]
                description = "Manage this server"
                [scopes."https://api.example/orders:read"]
                description = "See your orders"
                default = true
                [scopes.write]
                description = "Change your data"
                default = false
                "#,
            )?;
            jail.set_env("GRANTD_SCOPES__READ__DESCRIPTION", "Read all of your data");
            jail.set_env("GRANTD_SCOPES__OFFLINE_ACCESS__DEFAULT", "true");
            jail.set_env("GRANTD_SCOPES__BILLING__DESCRIPTION", "See your invoices");
            let registry = load_in_jail().unwrap().scopes.to_registry().unwrap();
            let get = |name| registry.get(name).cloned().unwrap();
            assert_eq!(get("read").description, "Read all of your data");
            assert!(get("read").default, "untouched keys keep their value");
            assert!(get("offline_access").default);
            assert!(!get("write").default, "the file changed it");
            assert!(!get("admin").default, "`default` may be left out");
            assert!(get("https://api.example/orders:read").default);
            assert_eq!(get("billing").description, "See your invoices");
            // Nothing removes a shipped scope: they are all still there.
            for shipped in [
                "read",
                "write",
                "profile",
                "openid",
                "email",
                "offline_access",
            ] {
                assert!(registry.is_registered(shipped), "{shipped}");
            }
            Ok(())
        });
    }

    #[test]
    fn each_bad_scope_entry_names_its_key() {
        let long = "x".repeat(201);
        let long_name = "s".repeat(129);
        let toml_cases: Vec<(String, String)> = vec![
            (
                "[scopes.\"a b\"]\ndescription = \"x\"\n".into(),
                "invalid configuration: scopes.a b: \"a b\" is not an RFC 6749 §3.3 scope token".into(),
            ),
            (
                "[scopes.'a\"b']\ndescription = \"x\"\n".into(),
                "scopes.a\"b: \"a\\\"b\" is not an RFC 6749 §3.3 scope token".into(),
            ),
            (
                "[scopes.\"caf\u{e9}\"]\ndescription = \"x\"\n".into(),
                "scopes.caf\u{e9}: \"caf\u{e9}\" is not an RFC 6749".into(),
            ),
            (
                "[scopes.\"\"]\ndescription = \"x\"\n".into(),
                "scopes.: \"\" is not an RFC 6749".into(),
            ),
            (
                format!("[scopes.{long_name}]\ndescription = \"x\"\n"),
                format!("scopes.{long_name}: "),
            ),
            (
                "[scopes.Read]\ndescription = \"x\"\n".into(),
                "scopes.read: \"read\" differs from the scope \"Read\" only in case".into(),
            ),
            (
                "[scopes.admin]\ndescription = \"\"\n".into(),
                "scopes.admin.description: the description of \"admin\" must be one line of 1 to 200 characters".into(),
            ),
            (
                "[scopes.admin]\ndescription = \"two\\nlines\"\n".into(),
                "scopes.admin.description: ".into(),
            ),
            (
                format!("[scopes.admin]\ndescription = \"{long}\"\n"),
                "scopes.admin.description: ".into(),
            ),
            (
                "[scopes.admin]\ndefault = true\n".into(),
                "scopes.admin: missing field `description`".into(),
            ),
            (
                "[scopes.read]\ndescripton = \"x\"\n".into(),
                "scopes.read.descripton: unknown key".into(),
            ),
            (
                "[scopes.read]\ndefault = \"yes\"\n".into(),
                "scopes.read.default: invalid type".into(),
            ),
            ("[scopes]\nread = true\n".into(), "scopes.read: invalid type".into()),
        ];
        for (toml, expected) in &toml_cases {
            let mut message = String::new();
            Jail::expect_with(|jail| {
                jail.create_dir("config")?;
                jail.create_file(DEFAULT_CONFIG_FILE, toml)?;
                message = load_in_jail().unwrap_err().to_string();
                Ok(())
            });
            assert!(message.contains(expected.as_str()), "{toml}: {message}");
        }
        let env_cases: &[(&str, &str, &str)] = &[
            (
                "GRANTD_SCOPES__READ__DEFAULT",
                "maybe",
                "scopes.read.default: invalid type",
            ),
            (
                "GRANTD_SCOPES__ADMIN__DEFAULT",
                "true",
                "scopes.admin: missing field `description`",
            ),
            (
                "GRANTD_SCOPES__READ__DESCRIPTON",
                "x",
                "scopes.read.descripton: unknown key",
            ),
        ];
        for (key, value, expected) in env_cases {
            let err = invalid_key(&[(key, value)]);
            assert!(err.contains(expected), "{key}={value}: {err}");
        }
    }

    #[test]
    fn password_check_permits_and_metrics_bind_layer_from_env_and_name_their_keys() {
        Jail::expect_with(|jail| {
            let defaults = load_in_jail().unwrap();
            assert_eq!(defaults.security.password_check_permits, 0);
            assert_eq!(defaults.server.metrics_bind_addr().unwrap(), None);
            jail.set_env("GRANTD_SECURITY__PASSWORD_CHECK_PERMITS", "3");
            jail.set_env("GRANTD_SERVER__METRICS_BIND", "127.0.0.1:9090");
            let config = load_in_jail().unwrap();
            assert_eq!(config.security.password_check_permits(), 3);
            assert_eq!(
                config.server.metrics_bind_addr().unwrap(),
                Some("127.0.0.1:9090".parse().unwrap())
            );
            Ok(())
        });
        let err = invalid_key(&[("GRANTD_SECURITY__PASSWORD_CHECK_PERMITS", "5000")]);
        assert!(
            err.contains("security.password_check_permits: must be 0"),
            "{err}"
        );
        let err = invalid_key(&[("GRANTD_SERVER__METRICS_BIND", "metrics")]);
        assert!(
            err.contains("server.metrics_bind: must be empty or a socket address"),
            "{err}"
        );
        let err = invalid_key(&[
            ("GRANTD_SERVER__BIND", "127.0.0.1:9090"),
            ("GRANTD_SERVER__METRICS_BIND", "127.0.0.1:9090"),
        ]);
        assert!(
            err.contains("server.metrics_bind: must differ from server.bind"),
            "{err}"
        );
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
}
