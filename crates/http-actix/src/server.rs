//! The HTTP server's lifecycle: build it on a bound listener (and, with
//! `server.metrics_bind`, a second one that serves `/metrics` alone, so that the metrics
//! need not be public; with `server.admin_bind`, one that serves the admin API alone), run it in an actix System of its own, and on SIGTERM or SIGINT
//! drain and stop. Shutdown is ours, not actix's (`disable_signals`): readiness turns 503
//! first so that a load balancer can notice before the server stops accepting.

use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};

use crate::ops::{observe, Operations};
use crate::{mount_surface, HttpState, Surface};

/// Server tuning and the shutdown sequence.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// 0 = one worker per core.
    pub workers: usize,
    /// How long in-flight requests may take to finish once the server stops accepting.
    pub shutdown_timeout_secs: u64,
    /// How long readiness answers 503 before the server stops accepting (so that a load
    /// balancer notices first).
    pub drain_delay: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            workers: 0,
            shutdown_timeout_secs: 10,
            drain_delay: Duration::ZERO,
        }
    }
}

/// Builds the server on an already-bound listener (so callers choose the port, and tests
/// can bind port 0), serving every route, `/metrics` included. The returned server runs
/// when awaited, inside an actix System, and stops only through its handle: it does not
/// listen for signals ([`run`] does).
pub fn build_server(
    listener: TcpListener,
    state: HttpState,
    options: &ServerOptions,
) -> io::Result<Server> {
    build(
        listener,
        web::Data::new(state),
        options,
        Surface::Everything,
    )
}

/// The admin API alone (`/admin/…`, everything else a 404) on its own listener.
pub fn build_admin_server(
    listener: TcpListener,
    state: HttpState,
    options: &ServerOptions,
) -> io::Result<Server> {
    build(
        listener,
        web::Data::new(state),
        &few_workers(options),
        Surface::AdminOnly,
    )
}

/// The sockets one process serves on.
#[derive(Debug)]
pub struct Listeners {
    /// Every public route.
    pub main: TcpListener,
    /// `server.metrics_bind`: `/metrics` alone (and the main listener no longer has it).
    pub metrics: Option<TcpListener>,
    /// `server.admin_bind`: the admin API alone (no other listener has it).
    pub admin: Option<TcpListener>,
}

/// An operator's listener (a scrape a few times a minute, an admin's calls) needs two
/// workers at most, whatever the main server has.
fn few_workers(options: &ServerOptions) -> ServerOptions {
    ServerOptions {
        workers: 2,
        ..options.clone()
    }
}

/// The servers of one process over one shared state: without `metrics`, the main
/// listener with every route; with it, the main listener without `/metrics` (a 404) and
/// the metrics listener with `/metrics` alone (everything else a 404); with `admin`, the
/// admin listener with `/admin/…` alone.
pub fn build_servers(
    listeners: Listeners,
    state: HttpState,
    options: &ServerOptions,
) -> io::Result<Vec<Server>> {
    let data = web::Data::new(state);
    let mut servers = Vec::new();
    if let Some(admin) = listeners.admin {
        servers.push(build(
            admin,
            data.clone(),
            &few_workers(options),
            Surface::AdminOnly,
        )?);
    }
    match listeners.metrics {
        None => servers.push(build(listeners.main, data, options, Surface::Everything)?),
        Some(metrics) => {
            servers.push(build(
                listeners.main,
                data.clone(),
                options,
                Surface::WithoutMetrics,
            )?);
            servers.push(build(
                metrics,
                data,
                &few_workers(options),
                Surface::MetricsOnly,
            )?);
        }
    }
    Ok(servers)
}

fn build(
    listener: TcpListener,
    data: web::Data<HttpState>,
    options: &ServerOptions,
    surface: Surface,
) -> io::Result<Server> {
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(actix_web::middleware::from_fn(observe))
            .configure(|cfg| mount_surface(cfg, surface))
    })
    .disable_signals()
    .shutdown_timeout(options.shutdown_timeout_secs);
    if options.workers > 0 {
        server = server.workers(options.workers);
    }
    Ok(server.listen(listener)?.run())
}

/// Serves `state` on the listeners (see [`build_servers`]) until SIGTERM or SIGINT, then
/// drains and stops gracefully. Blocking: builds its own actix System (a runtime per
/// worker) and returns once every worker has finished.
pub fn run(listeners: Listeners, state: HttpState, options: &ServerOptions) -> io::Result<()> {
    let ops = state.ops.clone();
    let drain_delay = options.drain_delay;
    actix_web::rt::System::new().block_on(async move {
        let servers = build_servers(listeners, state, options)?;
        let handles = servers.iter().map(Server::handle).collect();
        actix_web::rt::spawn(stop_on_signal(handles, ops, drain_delay));
        futures_util::future::try_join_all(servers).await?;
        Ok(())
    })
}

/// SIGTERM or SIGINT: turn readiness to 503, wait `drain_delay` for the load balancer to
/// notice, then stop accepting and let in-flight requests finish (at most the shutdown
/// timeout). Uncommitted transactions roll back, which is safe: a token response is only
/// ever written after its commit.
async fn stop_on_signal(handles: Vec<ServerHandle>, ops: Arc<Operations>, drain_delay: Duration) {
    let signal = wait_for_signal().await;
    ops.draining().start();
    tracing::info!(
        signal,
        drain_delay_secs = drain_delay.as_secs(),
        "shutting down: readiness is now 503"
    );
    if !drain_delay.is_zero() {
        actix_web::rt::time::sleep(drain_delay).await;
    }
    tracing::info!("no longer accepting connections; finishing in-flight requests");
    futures_util::future::join_all(handles.iter().map(|h| h.stop(true))).await;
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use actix_web::rt::signal::unix::{signal, SignalKind};
    use futures_util::future::{select, Either};

    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for signals; stop with SIGKILL");
        return std::future::pending().await;
    };
    // Whichever of SIGTERM and SIGINT comes first.
    let (term, int) = (std::pin::pin!(term.recv()), std::pin::pin!(int.recv()));
    let first = match select(term, int).await {
        Either::Left(_) => "SIGTERM",
        Either::Right(_) => "SIGINT",
    };
    first
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = actix_web::rt::signal::ctrl_c().await;
    "ctrl-c"
}
