//! `grantd serve`: the composition root of the running server, wiring only. Connect and
//! migrate the database, build the ports, bind, seed the demo if asked, build the HTTP
//! state (`wiring`), start the housekeeper, and run the HTTP adapter until a signal.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use grantd_http_actix::{build_server, Operations, ServerOptions};

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

    // Before the state: the metadata lists the scopes of the clients registered now.
    if demo {
        demo::seed(&ports)?;
        demo::print_instructions(address);
    }

    let state = wiring::build_state(config, db.clone(), ports, address, demo)?;
    let ops = state.ops.clone();
    let options = ServerOptions {
        workers: config.server.workers,
        shutdown_timeout_secs: config.server.shutdown_timeout,
    };
    tracing::info!(
        %address,
        issuer = %config.server.issuer(address),
        database = %config.redacted_database_url(),
        %backend,
        "grantd listening"
    );

    let housekeeper = Housekeeper::start(&config.housekeeping, db);
    let drain_delay = Duration::from_secs(config.server.drain_delay);
    // actix needs its own System (a runtime per worker); build the server inside it.
    actix_web::rt::System::new()
        .block_on(async move {
            let server = build_server(listener, state, &options)?;
            actix_web::rt::spawn(stop_on_signal(server.handle(), ops, drain_delay));
            server.await
        })
        .context("the HTTP server failed")?;
    // The server, its workers and with them the handlers' ports are gone; stopping the
    // housekeeper drops the last handle on the pool, which closes its connections.
    drop(housekeeper);
    tracing::info!("grantd stopped");
    Ok(())
}

/// SIGTERM or SIGINT: turn readiness to 503, wait `drain_delay` for the load balancer to
/// notice, then stop accepting and let in-flight requests finish (at most
/// `server.shutdown_timeout`). Uncommitted transactions roll back, which is safe: a token
/// response is only ever written after its commit.
async fn stop_on_signal(
    handle: actix_web::dev::ServerHandle,
    ops: Arc<Operations>,
    drain_delay: Duration,
) {
    let signal = wait_for_signal().await;
    ops.start_draining();
    tracing::info!(
        signal,
        drain_delay_secs = drain_delay.as_secs(),
        "shutting down: readiness is now 503"
    );
    if !drain_delay.is_zero() {
        actix_web::rt::time::sleep(drain_delay).await;
    }
    tracing::info!("no longer accepting connections; finishing in-flight requests");
    handle.stop(true).await;
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for signals; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio_select(term.recv(), int.recv()).await
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = actix_web::rt::signal::ctrl_c().await;
    "ctrl-c"
}

/// Whichever of SIGTERM and SIGINT comes first.
#[cfg(unix)]
async fn tokio_select(
    term: impl std::future::Future<Output = Option<()>>,
    int: impl std::future::Future<Output = Option<()>>,
) -> &'static str {
    use futures_util::future::{select, Either};
    match select(std::pin::pin!(term), std::pin::pin!(int)).await {
        Either::Left(_) => "SIGTERM",
        Either::Right(_) => "SIGINT",
    }
}
