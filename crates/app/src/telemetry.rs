//! Tracing set-up: `RUST_LOG` when set, else the configured `log.level`; lines on stderr
//! (stdout carries the CLI's JSON output) in the configured format.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Targets capped below trace (see `init`).
const NOISY_DEPENDENCIES: &[&str] = &[
    "h2=info",
    "hyper=info",
    "hyper_util=info",
    "reqwest=info",
    "rustls=info",
    "actix_http=debug",
    "mio=info",
];

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(log: &LogConfig) -> anyhow::Result<()> {
    // An unset or unparsable RUST_LOG falls back to the configuration, which `validate`
    // has already checked.
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.level))
        .map_err(|e| anyhow::anyhow!("invalid configuration: log.level: {e}"))?;
    // Libraries that can log raw protocol bytes (headers, bodies) at trace level are capped
    // whatever the filter says: a token or a Basic header must never reach a log.
    let filter = NOISY_DEPENDENCIES
        .iter()
        .filter_map(|directive| directive.parse().ok())
        .fold(filter, EnvFilter::add_directive);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never in a file or a log collector.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let installed = match log.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))
}
