//! `[server]`: where and how the HTTP server listens (and where `/metrics` does), and the
//! issuer identifier.

use std::net::SocketAddr;

use grantd_http_actix::{AddressRange, BlockingWork, ProxyHeader, TrustedProxies};
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// The forwarding header the trusted proxies write, as spelled in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ProxyHeaderSetting {
    #[default]
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    #[serde(rename = "forwarded")]
    Forwarded,
}

/// Where a request's blocking work (pool checkout, queries, bcrypt) runs, as spelled in
/// the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockingWorkSetting {
    /// On a blocking thread pool: no worker ever waits for the database.
    #[default]
    Pool,
    /// On the HTTP workers, one per pool connection: a fifth less CPU per refresh.
    Workers,
}

impl From<BlockingWorkSetting> for BlockingWork {
    fn from(setting: BlockingWorkSetting) -> Self {
        match setting {
            BlockingWorkSetting::Pool => BlockingWork::Pool,
            BlockingWorkSetting::Workers => BlockingWork::Workers,
        }
    }
}

/// `[server]`: where and how the HTTP server listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// The socket address to listen on, e.g. `127.0.0.1:8080`.
    pub bind: String,
    /// Worker threads; 0 = one per core (with `blocking_work = "workers"`, one per pool
    /// connection).
    pub workers: usize,
    /// `pool` (the default) or `workers`: see README "Performance".
    pub blocking_work: BlockingWorkSetting,
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
    /// Addresses or CIDR ranges of the reverse proxies in front; only a request whose peer
    /// is one of them has its source address taken from `proxy_header`. Empty = the peer.
    pub trusted_proxies: Vec<String>,
    /// The header those proxies write: `x-forwarded-for` or `forwarded` (RFC 7239).
    pub proxy_header: ProxyHeaderSetting,
    /// A second socket address that serves `/metrics` alone (and `bind` no longer does),
    /// so that the metrics need not be public; empty = `/metrics` on `bind`.
    pub metrics_bind: String,
    /// The socket address of the admin API (`/admin/…`), served there alone; empty = off.
    /// Keep it private (e.g. 127.0.0.1:8081): the API is for operators' tooling.
    pub admin_bind: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: 0,
            blocking_work: BlockingWorkSetting::Pool,
            issuer: String::new(),
            max_body_bytes: 16 * 1024,
            shutdown_timeout: 10,
            max_header_bytes: 8 * 1024,
            drain_delay: 0,
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeaderSetting::XForwardedFor,
            metrics_bind: String::new(),
            admin_bind: String::new(),
        }
    }
}

impl ServerConfig {
    /// Checks the rules that types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.bind.parse::<SocketAddr>().is_err() {
            return Err(ConfigError::invalid(
                "server.bind",
                format!(
                    "must be a socket address such as 127.0.0.1:8080, got {:?}",
                    self.bind
                ),
            ));
        }
        let issuer = &self.issuer;
        if !(issuer.is_empty() || issuer.starts_with("https://") || issuer.starts_with("http://")) {
            // RFC 8414 §2: the issuer is a URL (https in production) without query or fragment.
            return Err(ConfigError::invalid(
                "server.issuer",
                "must be an http(s) URL or empty",
            ));
        }
        if issuer.contains(['?', '#']) {
            return Err(ConfigError::invalid(
                "server.issuer",
                "must not have a query or fragment (RFC 8414 §2)",
            ));
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::invalid(
                "server.max_body_bytes",
                "must be at least 1",
            ));
        }
        if self.max_header_bytes < 1024 {
            return Err(ConfigError::invalid(
                "server.max_header_bytes",
                "must be at least 1024",
            ));
        }
        self.trusted_proxies()?;
        self.metrics_bind_addr()?;
        self.admin_bind_addr()?;
        Ok(())
    }

    /// The validated admin API address: `None` when the admin API is off.
    pub fn admin_bind_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.admin_bind.is_empty() {
            return Ok(None);
        }
        let Ok(address) = self.admin_bind.parse::<SocketAddr>() else {
            return Err(ConfigError::invalid(
                "server.admin_bind",
                format!(
                    "must be empty or a socket address such as 127.0.0.1:8081, got {:?}",
                    self.admin_bind
                ),
            ));
        };
        let taken = [self.bind.as_str(), self.metrics_bind.as_str()]
            .iter()
            .any(|other| other.parse::<SocketAddr>().ok() == Some(address));
        // Port 0 asks for a free port each time, so two zeros never clash.
        if taken && address.port() != 0 {
            return Err(ConfigError::invalid(
                "server.admin_bind",
                "must differ from server.bind and server.metrics_bind",
            ));
        }
        Ok(Some(address))
    }
    /// The validated metrics address: `None` when `/metrics` is served on `bind`.
    pub fn metrics_bind_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        if self.metrics_bind.is_empty() {
            return Ok(None);
        }
        let Ok(address) = self.metrics_bind.parse::<SocketAddr>() else {
            return Err(ConfigError::invalid(
                "server.metrics_bind",
                format!(
                    "must be empty or a socket address such as 127.0.0.1:9090, got {:?}",
                    self.metrics_bind
                ),
            ));
        };
        // Port 0 asks for a free port each time, so two zeros never clash.
        if self.bind.parse::<SocketAddr>().ok() == Some(address) && address.port() != 0 {
            return Err(ConfigError::invalid(
                "server.metrics_bind",
                "must differ from server.bind (leave it empty to serve /metrics there)",
            ));
        }
        Ok(Some(address))
    }

    /// The parsed `trusted_proxies` with their header; [`ServerConfig::validate`] has
    /// checked that every entry parses.
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        let ranges = self
            .trusted_proxies
            .iter()
            .map(|entry| entry.parse::<AddressRange>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| ConfigError::invalid("server.trusted_proxies", reason))?;
        let header = match self.proxy_header {
            ProxyHeaderSetting::XForwardedFor => ProxyHeader::XForwardedFor,
            ProxyHeaderSetting::Forwarded => ProxyHeader::Forwarded,
        };
        Ok(TrustedProxies::new(ranges, header))
    }

    /// The validated listen address. [`ServerConfig::validate`] has checked that it parses.
    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind
            .parse()
            .map_err(|_| ConfigError::invalid("server.bind", "must be a socket address"))
    }

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_issuer_defaults_to_the_bound_address_and_drops_a_trailing_slash() {
        let bound: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let mut server = ServerConfig {
            bind: "127.0.0.1:0".into(),
            ..ServerConfig::default()
        };
        assert_eq!(server.issuer(bound), "http://127.0.0.1:4321");
        server.issuer = "https://as.example/".into();
        assert_eq!(server.issuer(bound), "https://as.example");
    }

    #[test]
    fn validation_names_each_server_key() {
        let cases = [
            (
                ServerConfig {
                    issuer: "https://as.example/?x=1".into(),
                    ..ServerConfig::default()
                },
                "server.issuer: must not have a query or fragment",
            ),
            (
                ServerConfig {
                    max_header_bytes: 1023,
                    ..ServerConfig::default()
                },
                "server.max_header_bytes: must be at least 1024",
            ),
            (
                ServerConfig {
                    trusted_proxies: vec!["10.0.0.0/8".into(), "proxy.internal".into()],
                    ..ServerConfig::default()
                },
                "server.trusted_proxies: \"proxy.internal\" is not an IP address or CIDR range",
            ),
            (
                ServerConfig {
                    metrics_bind: "metrics.local".into(),
                    ..ServerConfig::default()
                },
                "server.metrics_bind: must be empty or a socket address",
            ),
            (
                ServerConfig {
                    metrics_bind: "127.0.0.1:8080".into(),
                    ..ServerConfig::default()
                },
                "server.metrics_bind: must differ from server.bind",
            ),
        ];
        for (server, expected) in cases {
            let err = server.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        assert!(ServerConfig::default().validate().is_ok());
    }

    #[test]
    fn metrics_bind_is_empty_or_an_address_of_its_own() {
        assert_eq!(ServerConfig::default().metrics_bind_addr().unwrap(), None);
        let apart = ServerConfig {
            metrics_bind: "127.0.0.1:9090".into(),
            ..ServerConfig::default()
        };
        assert!(apart.validate().is_ok());
        assert_eq!(
            apart.metrics_bind_addr().unwrap(),
            Some("127.0.0.1:9090".parse().unwrap())
        );
    }
}
