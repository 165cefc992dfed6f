//! `grantd serve`: the composition root of the running server, wiring only. Connect and
//! migrate the database, build the ports, bind (and the metrics and admin listeners if asked),
//! seed the demo if asked (else warn of a demo left behind), build the HTTP state
//! (`wiring`), start the housekeeper, and run the HTTP adapter until a signal.

use std::net::TcpListener;
use std::time::Duration;

use anyhow::Context as _;
use grantd_http_actix::{Listeners, ServerOptions};

use crate::config::Config;
use crate::housekeeping::Housekeeper;
use crate::{demo, wiring};

pub fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    let db = wiring::connect(config)?;
    wiring::migrate(&db)?;
    let backend = db.backend();
    let ports = wiring::build_ports(config, db.clone())?;

    let bind = config.bind_addr()?;
    let listener = TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;
    let metrics_listener = match config.server.metrics_bind_addr()? {
        Some(bind) => Some(
            TcpListener::bind(bind)
                .with_context(|| format!("cannot listen on {bind} (server.metrics_bind)"))?,
        ),
        None => None,
    };
    let admin_listener = match config.server.admin_bind_addr()? {
        Some(bind) => Some(
            TcpListener::bind(bind)
                .with_context(|| format!("cannot listen on {bind} (server.admin_bind)"))?,
        ),
        None => None,
    };

    // Before the state, whose start-up check of the clients' scopes then sees the demo's.
    if demo {
        demo::seed(&ports, &config.scopes.to_registry()?)?;
        demo::print_instructions(address);
    } else {
        demo::warn_if_seeded(&ports)?;
    }

    let state = wiring::build_state(config, db.clone(), ports, address, demo)?;
    // The demo signs from the start when its keys can outlive it (a configured
    // keys.encryption_key); with a made-up one it makes none, so that the database is left
    // usable by a later plain `serve` (which refuses keys it cannot open). Otherwise
    // `grantd keys rotate` makes the first key.
    let lasting_keys = config.keys.encryption_key().is_some();
    if let (true, true, Some(ring)) = (demo, lasting_keys, &state.keys) {
        if let Some(key) = ring.ensure_key().context("cannot create a signing key")? {
            tracing::info!(kid = %key.kid, alg = key.algorithm.as_str(), "created a signing key");
        }
    }
    let options = ServerOptions {
        workers: config.http_workers(),
        shutdown_timeout_secs: config.server.shutdown_timeout,
        drain_delay: Duration::from_secs(config.server.drain_delay),
    };
    tracing::info!(
        %address,
        issuer = %config.server.issuer(address),
        database = %config.redacted_database_url(),
        %backend,
        "grantd listening"
    );
    if let Some(metrics) = &metrics_listener {
        let metrics = metrics
            .local_addr()
            .context("cannot read the metrics address")?;
        tracing::info!(%metrics, "serving /metrics on its own listener only");
    }

    if let Some(admin) = &admin_listener {
        let admin = admin
            .local_addr()
            .context("cannot read the admin address")?;
        tracing::info!(%admin, "serving the admin API (/admin/...) on its own listener");
    }

    let housekeeper = Housekeeper::start(&config.housekeeping, db);
    // Blocks until a signal has drained and stopped the server (http-actix owns the
    // System, the signals and the drain).
    let listeners = Listeners {
        main: listener,
        metrics: metrics_listener,
        admin: admin_listener,
    };
    grantd_http_actix::run(listeners, state, &options).context("the HTTP server failed")?;
    // The server, its workers and with them the handlers' ports are gone; stopping the
    // housekeeper drops the last handle on the pool, which closes its connections.
    drop(housekeeper);
    tracing::info!("grantd stopped");
    Ok(())
}
