//! Building the adapters from the configuration: the database, the port set the
//! domain drives, and the HTTP adapter's state around the domain's use cases. The only place
//! that knows which concrete adapter fills which port; `serve` and the HTTP tests both
//! build their state here.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use grantd_crypto::{BcryptHasher, HasherCosts, OsTokenMinter, PermitPool, SlowLane, SystemClock};
use grantd_domain::{PortSet, ServerMetadata, UseCases};
use grantd_http_actix::{AuthorizePages, HttpState, Operations, PoolGauge, SessionKey};
use grantd_ports::NoMetrics;
use grantd_store_diesel::{Database, DbOptions};

use crate::config::Config;

/// Opens the connection pool. The error names the database only in redacted form: the
/// URL may hold a password.
pub fn connect(config: &Config) -> anyhow::Result<Database> {
    let options = DbOptions {
        pool_size: config.database.pool_size,
        connect_timeout: config.connect_timeout(),
        statement_timeout: config.statement_timeout(),
    };
    // DbError messages never contain the URL; ours shows it redacted.
    Database::connect(&config.database.url, &options).with_context(|| {
        format!(
            "cannot open the database {}",
            config.redacted_database_url()
        )
    })
}

/// Applies pending migrations (embedded in the binary; idempotent).
pub fn migrate(db: &Database) -> anyhow::Result<()> {
    Ok(db.migrate()?)
}

/// The ports over one shared database handle, bcrypt at the configured costs under the
/// password-check permit pool, the OS CSPRNG and the system clock.
pub fn build_ports(config: &Config, db: Database) -> anyhow::Result<PortSet> {
    let permits = config.security.password_check_permits();
    // One lane thread per permit, at nice +10: bcrypt gets the CPU the request path leaves.
    let lane = SlowLane::start(permits, 10).context("cannot start the bcrypt threads")?;
    let hasher = BcryptHasher::new(HasherCosts {
        password: config.security.password_bcrypt_cost,
        client_secret: config.security.client_secret_bcrypt_cost,
    })
    .map_err(anyhow::Error::msg)
    .context("invalid configuration: security")?
    .with_lane(lane);
    let db = Arc::new(db);
    Ok(PortSet {
        clients: db.clone(),
        users: db.clone(),
        tokens: db.clone(),
        authorizations: db,
        hasher: Arc::new(hasher),
        password_checks: Arc::new(PermitPool::new(config.security.password_check_permits())),
        minter: Arc::new(OsTokenMinter),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(NoMetrics),
    })
}

/// The HTTP adapter's state, as `[server]`, `[tokens]`, `[rate_limit]` and
/// `[authorization]` say: the operations (blocking permits, header limit, pool gauge and
/// the metrics, which also become `ports.metrics`), the use cases with their settings and
/// limits, the metadata document and the authorization pages.
///
/// `ports` normally come from [`build_ports`] over `db`; a test may swap in its own clock or
/// hasher first. `db` serves readiness and the pool gauge. `address` is the address actually
/// bound, the issuer when `server.issuer` is empty. `demo` shows the demo callback on the
/// authorization pages (`serve --demo`).
pub fn build_state(
    config: &Config,
    db: Database,
    mut ports: PortSet,
    address: SocketAddr,
    demo: bool,
) -> anyhow::Result<HttpState> {
    let probe_db = db.clone();
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

    let issuer = config.server.issuer(address);
    let authorization = config.authorization.to_settings();
    let metadata = server_metadata(&issuer, &ports, authorization.code_challenge_methods())?;
    let authorize_pages = authorize_pages(config, demo)?;
    let (per_username, per_client) = config.rate_limit.to_limits();
    let use_cases = UseCases::new(ports, config.tokens.to_settings())
        .with_attempt_limits(per_username, per_client)
        .with_authorization_settings(authorization);
    Ok(HttpState {
        use_cases: Arc::new(use_cases),
        // Readiness means "the database answers"; the HTTP adapter runs this off the
        // async workers because ping blocks.
        readiness: Arc::new(move || db.ping().is_ok()),
        max_body_bytes: config.server.max_body_bytes,
        metadata: Arc::new(metadata),
        authorize: Arc::new(authorize_pages),
        ops,
    })
}

/// The RFC 8414 document. `scopes_supported` is every scope some client may ask for, as
/// registered at start-up (clients added later appear after a restart; the field is
/// advisory, RFC 8414 §2 "RECOMMENDED"); `code_challenge_methods_supported` is what the
/// authorization endpoint accepts, as configured.
fn server_metadata(
    issuer: &str,
    ports: &PortSet,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;
    use grantd_ports::{ClientId, GrantType, LifetimeOverrides, ScopeSet};

    use super::*;
    use crate::commands::{create_client, NewClient};

    /// A configuration over a fresh SQLite file, at bcrypt's lowest costs.
    fn sqlite_config(dir: &tempfile::TempDir) -> Config {
        let mut config = Config::default();
        config.database.url = format!("sqlite://{}", dir.path().join("grantd.db").display());
        config.security.password_bcrypt_cost = 4;
        config.security.client_secret_bcrypt_cost = 4;
        config
    }

    #[test]
    fn the_http_state_follows_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = sqlite_config(&dir);
        config.server.issuer = "https://as.example/".into();
        config.server.max_body_bytes = 4096;
        config.authorization.allow_plain_pkce = true;
        config.authorization.session_key =
            base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
        let db = connect(&config).unwrap();
        migrate(&db).unwrap();
        let ports = build_ports(&config, db.clone()).unwrap();
        create_client(
            &ports,
            NewClient {
                id: Some(ClientId::parse("web").unwrap()),
                name: "web".into(),
                secret: Some(None),
                grant_types: vec![GrantType::RefreshToken],
                scopes: ScopeSet::parse("write read").unwrap(),
                redirect_uris: vec![],
                can_introspect: false,
                lifetimes: LifetimeOverrides::default(),
            },
        )
        .unwrap();

        let state = build_state(&config, db, ports, "127.0.0.1:9".parse().unwrap(), true).unwrap();
        assert_eq!(state.metadata.issuer, "https://as.example");
        assert_eq!(state.metadata.scopes_supported, vec!["read", "write"]);
        assert_eq!(
            state.metadata.code_challenge_methods_supported,
            vec!["S256", "plain"]
        );
        assert_eq!(state.max_body_bytes, 4096);
        assert_eq!(state.use_cases.settings(), &config.tokens.to_settings());
        assert!(state.use_cases.authorization_settings().allow_plain_pkce);
        assert!(state.authorize.demo_callback);
        assert!((state.readiness)(), "the database answers");
    }

    #[test]
    fn without_an_issuer_the_state_names_the_bound_address() {
        let dir = tempfile::tempdir().unwrap();
        let config = sqlite_config(&dir);
        let db = connect(&config).unwrap();
        migrate(&db).unwrap();
        let ports = build_ports(&config, db.clone()).unwrap();
        let state =
            build_state(&config, db, ports, "127.0.0.1:4321".parse().unwrap(), false).unwrap();
        assert_eq!(state.metadata.issuer, "http://127.0.0.1:4321");
        assert_eq!(
            state.metadata.token_endpoint,
            "http://127.0.0.1:4321/oauth/token"
        );
        assert!(state.metadata.scopes_supported.is_empty());
        assert!(!state.authorize.demo_callback);
    }
}
