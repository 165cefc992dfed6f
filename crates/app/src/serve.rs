//! `grantd serve`: the composition root of the running server. Connect and migrate the
//! database, build the ports and the token service, bind, and hand everything to the
//! HTTP adapter. `--demo` first seeds a well-known client and user and prints curl lines.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use grantd_crypto::SystemClock;
use grantd_domain::{Ports, ServerMetadata, TokenService};
use grantd_http_actix::{
    AuthorizePages, HttpState, Operations, PoolGauge, ServerOptions, SessionKey,
};
use grantd_ports::{ClientId, GrantType, ScopeSet, Username};
use grantd_store_diesel::Database;

use crate::commands::{create_client, create_user, NewClient};
use crate::config::Config;
use crate::wiring;

/// The demo's fixed, public credentials. They are printed on every `serve --demo`, so
/// they protect nothing: for trying grantd out on a local machine only.
pub const DEMO_CLIENT_ID: &str = "demo-client";
pub const DEMO_CLIENT_SECRET: &str = "demo-secret";
pub const DEMO_USERNAME: &str = "demo";
pub const DEMO_PASSWORD: &str = "demo-password";
const DEMO_REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";

pub fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    let db = wiring::connect(config)?;
    wiring::migrate(&db)?;
    let readiness_db = db.clone();
    let probe_db = db.clone();
    let housekeeping_db = db.clone();
    let backend = db.backend();
    let mut ports = wiring::build_ports(config, db)?;
    // Blocking work (pool checkout, queries, bcrypt) is bounded by the pool's size: more
    // requests wait on the async side for at most the pool's own checkout timeout.
    let ops = Arc::new(
        Operations::new(config.database.pool_size as usize, config.connect_timeout())
            .with_max_header_bytes(config.server.max_header_bytes)
            .with_pool_probe(move || {
                let state = probe_db.pool_state();
                PoolGauge {
                    connections: state.connections,
                    idle_connections: state.idle_connections,
                    max_size: state.max_size,
                }
            }),
    );
    ports.metrics = ops.clone();

    let bind = config.bind_addr()?;
    let listener = TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    let address = listener
        .local_addr()
        .context("cannot read the bound address")?;

    if demo {
        seed_demo(&ports)?;
        print_demo_instructions(address);
    }

    // `http://<bind>` with the port actually bound (bind may say port 0).
    let issuer = if config.server.issuer.is_empty() {
        format!("http://{address}")
    } else {
        config.issuer()
    };
    let authorization = config.authorization.to_settings();
    let metadata = server_metadata(&issuer, &ports, authorization.code_challenge_methods())?;
    let authorize_pages = authorize_pages(config, demo)?;
    let (per_username, per_client) = config.rate_limit.to_limits();
    let service = TokenService::new(ports, config.tokens.to_settings())
        .with_attempt_limits(per_username, per_client)
        .with_authorization_settings(authorization);
    let state = HttpState {
        service,
        // Readiness means "the database answers"; the HTTP adapter runs this off the
        // async workers because ping blocks.
        readiness: Arc::new(move || readiness_db.ping().is_ok()),
        max_body_bytes: config.server.max_body_bytes,
        metadata: Arc::new(metadata),
        authorize: Arc::new(authorize_pages),
        ops,
    };
    let options = ServerOptions {
        workers: config.server.workers,
        shutdown_timeout_secs: config.server.shutdown_timeout,
        drain_delay: Duration::from_secs(config.server.drain_delay),
    };
    tracing::info!(
        %address,
        %issuer,
        database = %config.redacted_database_url(),
        %backend,
        "grantd listening"
    );

    let housekeeper = Housekeeper::start(config, housekeeping_db);
    // Blocks until a signal has drained and stopped the server (http-actix owns the
    // System, the signals and the drain).
    grantd_http_actix::run(listener, state, &options).context("the HTTP server failed")?;
    // The server, its workers and with them the handlers' ports are gone; stopping the
    // housekeeper drops the last handle on the pool, which closes its connections.
    drop(housekeeper);
    tracing::info!("grantd stopped");
    Ok(())
}

/// The periodic prune of `[housekeeping]`, on a thread of its own so that it never holds
/// an HTTP worker; each batch is a short transaction on one pooled connection.
struct Housekeeper {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Housekeeper {
    fn start(config: &Config, db: Database) -> Self {
        let interval = config.housekeeping.prune_interval;
        if interval == 0 {
            return Self {
                stop: None,
                thread: None,
            };
        }
        let batch = config.housekeeping.prune_batch_size;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("grantd-prune".into())
            .spawn(move || {
                // Ends when `stop` is dropped (Disconnected) or sent to.
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(Duration::from_secs(interval))
                {
                    crate::housekeeping::prune_once(&db, &SystemClock, batch);
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Housekeeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The RFC 8414 document, built once. `scopes_supported` is every scope some client may
/// ask for, as registered at start-up (clients added later appear after a restart; the
/// field is advisory, RFC 8414 §2 "RECOMMENDED"); `code_challenge_methods_supported` is
/// what the authorization endpoint accepts, as configured.
fn server_metadata(
    issuer: &str,
    ports: &Ports,
    code_challenge_methods: Vec<&'static str>,
) -> anyhow::Result<ServerMetadata> {
    let clients = ports
        .clients
        .list_clients()
        .context("cannot list clients for the metadata document")?;
    let scopes: BTreeSet<String> = clients
        .iter()
        .flat_map(|c| c.scopes.iter().map(str::to_owned))
        .collect();
    Ok(ServerMetadata::new(
        issuer,
        scopes.into_iter().collect(),
        code_challenge_methods,
    ))
}

/// The login pages' session settings. Without `authorization.session_key`, a random key
/// per process: logins then do not survive a restart, nor carry over between instances.
fn authorize_pages(config: &Config, demo: bool) -> anyhow::Result<AuthorizePages> {
    let bytes = match config.authorization.session_key_bytes().map_err(|reason| {
        anyhow::anyhow!("invalid configuration: authorization.session_key: {reason}")
    })? {
        Some(bytes) => bytes,
        None => {
            tracing::warn!(
                "authorization.session_key is empty: using a random key for this process; \
                 logins on the authorization pages will not survive a restart or move between instances"
            );
            // A minted secret carries 256 random bits from the OS CSPRNG.
            let secret = grantd_ports::TokenMinter::mint(
                &grantd_crypto::OsTokenMinter,
                grantd_ports::TokenKind::ClientSecret,
            );
            secret.expose().as_bytes().to_vec()
        }
    };
    Ok(AuthorizePages {
        session_key: SessionKey::new(bytes)
            .context("invalid configuration: authorization.session_key: too short")?,
        session_lifetime: config.authorization.session_lifetime,
        demo_callback: demo,
    })
}

/// Creates the demo client and user unless they exist (an existing one is left as is, so
/// restarting with `--demo` never resets anything).
fn seed_demo(ports: &Ports) -> anyhow::Result<()> {
    let client_id = ClientId::parse(DEMO_CLIENT_ID).map_err(anyhow::Error::msg)?;
    if ports
        .clients
        .find_client(&client_id)
        .context("cannot look up the demo client")?
        .is_none()
    {
        create_client(
            ports,
            NewClient {
                id: Some(client_id),
                name: "Demo client".into(),
                secret: Some(Some(DEMO_CLIENT_SECRET.into())),
                grant_types: vec![
                    GrantType::Password,
                    GrantType::RefreshToken,
                    GrantType::AuthorizationCode,
                    GrantType::ClientCredentials,
                ],
                scopes: ScopeSet::parse("read write").map_err(anyhow::Error::msg)?,
                redirect_uris: vec![DEMO_REDIRECT_URI.into()],
                can_introspect: true,
                lifetimes: Default::default(),
            },
        )?;
        tracing::info!(client_id = DEMO_CLIENT_ID, "created the demo client");
    }
    let username = Username::parse(DEMO_USERNAME).map_err(anyhow::Error::msg)?;
    if ports
        .users
        .find_user_by_username(&username)
        .context("cannot look up the demo user")?
        .is_none()
    {
        create_user(ports, &username, DEMO_PASSWORD)?;
        tracing::info!(username = DEMO_USERNAME, "created the demo user");
    }
    Ok(())
}

/// The whole flow as commands to paste: steps (A)-(B), (C)-(D) and (G)-(H) of RFC 6749 §1.5.
fn print_demo_instructions(address: SocketAddr) {
    let base = format!("http://{}", reachable(address));
    eprintln!(
        "warning: --demo uses fixed, well-known credentials (client {DEMO_CLIENT_ID}/{DEMO_CLIENT_SECRET}, \
         user {DEMO_USERNAME}/{DEMO_PASSWORD}): for trying grantd out only, never on a reachable server"
    );
    println!(
        "\n\
# 1. Password grant: get an access token and a refresh token\n\
curl -u {DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET} {base}/oauth/token -d 'grant_type=password&username={DEMO_USERNAME}&password={DEMO_PASSWORD}'\n\
\n\
# 2. Call the protected resource (replace ACCESS with access_token from step 1)\n\
curl -H 'Authorization: Bearer ACCESS' {base}/api/me\n\
\n\
# 3. Refresh (replace REFRESH with refresh_token from step 1; it is rotated, so use each one once)\n\
curl -u {DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET} {base}/oauth/token -d 'grant_type=refresh_token&refresh_token=REFRESH'\n"
    );
}

/// An address curl can reach: a wildcard bind is reachable on loopback.
fn reachable(address: SocketAddr) -> SocketAddr {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, address.port())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn wildcard_binds_are_shown_as_loopback() {
        assert_eq!(
            reachable("0.0.0.0:8080".parse().unwrap()).to_string(),
            "127.0.0.1:8080"
        );
        assert_eq!(
            reachable("[::]:80".parse().unwrap()).to_string(),
            "[::1]:80"
        );
        assert_eq!(
            reachable("10.0.0.5:80".parse().unwrap()).to_string(),
            "10.0.0.5:80"
        );
    }
}
