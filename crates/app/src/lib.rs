//! The `grantd` binary's library half: configuration, CLI, wiring and commands. A library
//! so that its parts are unit-tested; `main.rs` only parses, loads and calls [`run`].
//!
//! This is the one crate that knows every adapter; domain and ports know none of it.

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod housekeeping;
pub mod serve;
pub mod telemetry;
pub mod wiring;

use std::io;

use cli::Command;
use config::Config;

/// Runs one command with a loaded configuration.
pub fn run(command: &Command, config: &Config) -> anyhow::Result<()> {
    telemetry::init(&config.log)?;
    match command {
        Command::Serve(args) => serve::serve(config, args.demo),
        Command::Migrate => {
            let db = wiring::connect(config)?;
            wiring::migrate(&db)?;
            tracing::info!(database = %config.redacted_database_url(), "migrations applied");
            Ok(())
        }
        Command::Prune => {
            let db = wiring::connect(config)?;
            let report = housekeeping::prune(
                &db,
                &grantd_crypto::SystemClock,
                config.housekeeping.prune_pace(),
            )?;
            serde_json::to_writer(io::stdout().lock(), &report)?;
            println!();
            Ok(())
        }
        Command::Client(client) => {
            let ports = wiring::build_ports(config, wiring::connect(config)?)?;
            let scopes = config.scopes.to_registry()?;
            commands::run_client(&ports, &scopes, client, &mut io::stdout().lock())
        }
        Command::Consent(consent) => {
            let ports = wiring::build_ports(config, wiring::connect(config)?)?;
            commands::run_consent(&ports, consent, &mut io::stdout().lock())
        }
        Command::Keys(keys) => {
            let db = wiring::connect(config)?;
            let ports = wiring::build_ports(config, db.clone())?;
            let ring = wiring::key_ring(config, &db, ports.clock.clone(), false)?.ok_or_else(
                || anyhow::anyhow!("keys.encryption_key is empty: set it (base64 of 32 random bytes) to manage signing keys"),
            )?;
            commands::run_keys(
                &ring,
                &ports,
                &config.token_settings(),
                keys,
                &mut io::stdout().lock(),
            )
        }
        Command::Registration(registration) => {
            let db = wiring::connect(config)?;
            let ports = wiring::build_ports(config, db.clone())?;
            let tokens = grantd_domain::dynamic_registration::InitialAccessTokens::new(
                ports,
                std::sync::Arc::new(db),
            );
            commands::run_registration(&tokens, registration, &mut io::stdout().lock())
        }
        Command::User(user) => {
            let ports = wiring::build_ports(config, wiring::connect(config)?)?;
            commands::run_user(
                &ports,
                user,
                &mut io::stdin().lock(),
                &mut io::stdout().lock(),
            )
        }
    }
}
