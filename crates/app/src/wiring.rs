//! Building the adapters from the configuration: the database, the port set the
//! domain drives, and the HTTP adapter's state around the domain's use cases. The only place
//! that knows which concrete adapter fills which port; `serve` and the HTTP tests both
//! build their state here.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use grantd_crypto::{
    BcryptHasher, HasherCosts, JoseKeys, JoseProofVerifier, JoseVerifier, KeyEncryptionKey,
    OsTokenMinter, PermitPool, SlowLane, SystemClock,
};
use grantd_domain::admin::Administration;
use grantd_domain::dpop::{DpopProofs, NonceKey};
use grantd_domain::dynamic_registration::{InitialAccessTokens, RegistrationEndpoint};
use grantd_domain::{
    AccessTokenFormat, JwtAccessTokens, JwtSettings, KeyRing, PortSet, ScopeRegistry,
    ServerMetadata, UseCases,
};
use grantd_http_actix::{AuthorizePages, HttpState, Operations, PoolGauge, SessionKey};
use grantd_ports::{ClientId, Clock, KeyStore, NoMetrics, SigningAlgorithm};
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
        authorizations: db.clone(),
        failures: db,
        hasher: Arc::new(hasher),
        password_checks: Arc::new(PermitPool::new(config.security.password_check_permits())),
        minter: Arc::new(OsTokenMinter),
        clock: Arc::new(SystemClock),
        metrics: Arc::new(NoMetrics),
    })
}

/// The HTTP adapter's state, as `[server]`, `[tokens]`, `[rate_limit]`, `[authorization]`,
/// `[scopes]` and `[resources]` say: the operations (blocking permits, header limit, pool
/// gauge and the metrics, which also become `ports.metrics`), the use cases with their
/// settings, limits, scope and resource registries, the metadata document and the
/// authorization pages. Warns
/// about stored clients with scopes the registry no longer has.
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
    let keys = key_ring(config, &db, ports.clock.clone(), demo)?;
    // Blocking work (pool checkout, queries, bcrypt) is bounded by the pool's size: more
    // requests wait on the async side for at most the pool's own checkout timeout.
    let ops = Arc::new(
        Operations::new(config.database.pool_size as usize, config.connect_timeout())
            .with_max_header_bytes(config.server.max_header_bytes)
            .with_blocking_work(config.server.blocking_work.into())
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
    let scopes = config.scopes.to_registry()?;
    let resources = config.resources.to_registry()?;
    warn_unregistered_scopes(&ports, &scopes);
    let registration_policy = config
        .registration
        .enabled
        .then(|| config.registration.to_policy(&scopes))
        .transpose()?;
    // RFC 8414 §2 `scopes_supported`: the registry, as configured, from the first request.
    let mut metadata =
        ServerMetadata::new(&issuer, &scopes, authorization.code_challenge_methods());
    if keys.is_some() {
        // Signing keys turn OpenID Connect on: JWKS, userinfo and logout are advertised.
        metadata = metadata.with_openid_connect();
    }
    // DPoP (RFC 9449) is always accepted; its jtis live in the shared database.
    let mut dpop_settings = config.dpop.to_settings();
    if config.dpop.require_nonce {
        dpop_settings.nonces = Some(dpop_nonce_key(config)?);
    }
    metadata = metadata.with_dpop(&dpop_settings);
    if registration_policy.is_some() {
        metadata = metadata.with_registration();
    }
    let dpop = DpopProofs::new(
        Arc::new(JoseProofVerifier),
        Arc::new(db.clone()),
        ports.clock.clone(),
        dpop_settings,
        &metadata.issuer,
    );
    let authorize_pages = authorize_pages(config, &issuer, demo)?;
    let registration = registration_policy.map(|policy| {
        RegistrationEndpoint::new(ports.clone(), Arc::new(db.clone()), policy, scopes.clone())
    });
    let mut use_cases = UseCases::new(ports, config.token_settings())
        .with_dpop(dpop)
        .with_attempt_limits(config.rate_limit.to_limits())
        .with_authorization_settings(authorization)
        .with_scopes(scopes)
        .with_resources(resources);
    if let Some(jwt) = jwt_access_tokens(config, keys.as_ref(), &metadata.issuer)? {
        use_cases = use_cases.with_jwt(jwt);
    }
    // Served only on `server.admin_bind`; built always, as it is cheap.
    let admin = Administration {
        ports: use_cases.ports().clone(),
        scopes: Arc::new(use_cases.scopes().clone()),
        settings: config.token_settings(),
        keys: keys.clone(),
        housekeeping: Arc::new(db.clone()),
        prune_pace: config.housekeeping.prune_pace(),
        initial_tokens: InitialAccessTokens::new(use_cases.ports().clone(), Arc::new(db.clone())),
        bearer: use_cases.bearer.clone(),
    };
    Ok(HttpState {
        use_cases: Arc::new(use_cases),
        // Readiness means "the database answers"; the HTTP adapter runs this off the
        // async workers because ping blocks.
        readiness: Arc::new(move || db.ping().is_ok()),
        max_body_bytes: config.server.max_body_bytes,
        metadata: Arc::new(metadata),
        authorize: Arc::new(authorize_pages),
        ops,
        trusted_proxies: config.server.trusted_proxies()?,
        keys,
        registration,
        admin: Some(Arc::new(admin)),
    })
}

/// JWT access tokens over the key ring: issued where `tokens.access_token_format` says
/// so, accepted wherever a token is presented. With the JWT format the first key is made
/// at start-up if there is none.
fn jwt_access_tokens(
    config: &Config,
    keys: Option<&KeyRing>,
    issuer: &str,
) -> anyhow::Result<Option<JwtAccessTokens>> {
    let format = config.tokens.access_token_format.to_format();
    let Some(ring) = keys else {
        anyhow::ensure!(
            format == AccessTokenFormat::Opaque,
            "invalid configuration: tokens.access_token_format = \"jwt\" needs keys.encryption_key"
        );
        return Ok(None);
    };
    // With keys configured, OpenID Connect is on: the JWKS must hold a key before any
    // relying party reads it (a cached empty set would refuse the first id token), so the
    // first key is made at start-up, whatever the access-token format. A demo's made-up
    // encryption key makes none until one is needed: a key in the database would stop a
    // later plain `serve` without `keys.encryption_key`.
    let configured = config.keys.encryption_key().is_some();
    if configured || format == AccessTokenFormat::Jwt {
        if let Some(key) = ring.ensure_key().context("cannot create a signing key")? {
            tracing::info!(kid = %key.kid, alg = key.algorithm.as_str(), "created the first signing key");
        }
    }
    Ok(Some(JwtAccessTokens::new(
        ring.clone(),
        Arc::new(JoseVerifier),
        JwtSettings {
            format,
            issuer: issuer.to_owned(),
            default_audience: config.tokens.default_audience.clone(),
            algorithms: SigningAlgorithm::ALL.to_vec(),
        },
    )))
}

/// The signing keys under `keys.encryption_key`. Without it: `--demo` makes one up for
/// this process (and warns); plain `serve` runs without JWT features, but refuses to start
/// once the database holds keys, since it could neither use nor publish them correctly.
/// A key that does not open under the configured encryption key stops start-up too.
pub fn key_ring(
    config: &Config,
    db: &Database,
    clock: Arc<dyn Clock>,
    demo: bool,
) -> anyhow::Result<Option<KeyRing>> {
    let mut made_up = false;
    let encryption = match config.keys.encryption_key() {
        Some(key) => key,
        None if demo => {
            made_up = true;
            tracing::warn!(
                "keys.encryption_key is empty: using a random key for this process (--demo); \
                 signing keys it creates cannot be used after a restart"
            );
            KeyEncryptionKey::random()
        }
        None => {
            let held = db
                .list_signing_keys()
                .context("cannot read the signing keys")?;
            anyhow::ensure!(
                held.is_empty(),
                "invalid configuration: keys.encryption_key is empty, but the database holds {} \
                 signing key(s): set it to the base64 key they were sealed with",
                held.len()
            );
            return Ok(None);
        }
    };
    let ring = KeyRing::new(
        Arc::new(db.clone()),
        Arc::new(JoseKeys::new(encryption)),
        clock,
        config.keys.to_settings(),
    );
    while let Some(kid) = ring
        .first_sealed_shut()
        .context("cannot read the signing keys")?
    {
        if made_up {
            // A restarted demo cannot open what its previous run sealed: retire those keys
            // (published until their tokens expired), and `serve --demo` makes a new one.
            tracing::warn!(%kid, "retiring a signing key sealed by an earlier --demo run");
            ring.retire(&kid, config.tokens.access_token_lifetime)
                .context("cannot retire a signing key")?;
            continue;
        }
        anyhow::bail!(
            "invalid configuration: keys.encryption_key does not open signing key {kid} \
             (a different key sealed it)"
        );
    }
    Ok(Some(ring))
}

/// Reports, once at start, every stored client scope the registry does not have (a scope
/// dropped from `[scopes]` after the client was registered): one warning per client and
/// scope. Such a scope is never issued; the client keeps working with the rest. Returns
/// what it reported. A failure to list the clients is reported too, and stops nothing.
pub fn warn_unregistered_scopes(
    ports: &PortSet,
    scopes: &ScopeRegistry,
) -> Vec<(ClientId, String)> {
    let clients = match ports.clients.list_clients() {
        Ok(clients) => clients,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the clients to check their scopes");
            return Vec::new();
        }
    };
    let mut found = Vec::new();
    for client in clients {
        for scope in scopes.unregistered_of_client(&client) {
            tracing::warn!(
                client_id = %client.id,
                scope = %scope,
                "client {} has scope {scope:?}, which is not registered in [scopes]; it will not be issued",
                client.id
            );
            found.push((client.id.clone(), scope));
        }
    }
    found
}

/// The DPoP nonce key (RFC 9449 §8): derived from `authorization.session_key`, which every
/// instance shares, so any instance accepts any instance's nonce; without one, a random
/// key for this process.
fn dpop_nonce_key(config: &Config) -> anyhow::Result<NonceKey> {
    let secret = match config.authorization.session_key_bytes().map_err(|reason| {
        anyhow::anyhow!("invalid configuration: authorization.session_key: {reason}")
    })? {
        Some(bytes) => bytes,
        None => {
            tracing::warn!(
                "dpop.require_nonce without authorization.session_key: nonces are made under a \
                 random key for this process, and other instances refuse them"
            );
            let secret = grantd_ports::TokenMinter::mint(
                &grantd_crypto::OsTokenMinter,
                grantd_ports::TokenKind::ClientSecret,
            );
            secret.expose().as_bytes().to_vec()
        }
    };
    Ok(NonceKey::derive(&secret))
}

/// The login pages' session settings. Without `authorization.session_key`, a random key
/// per process: logins then do not survive a restart, nor carry over between instances.
/// An https issuer makes the session cookie `__Host-` and `Secure` (the issuer, not the
/// request, decides: behind a TLS-terminating proxy the request itself is plain http).
fn authorize_pages(config: &Config, issuer: &str, demo: bool) -> anyhow::Result<AuthorizePages> {
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
        secure_cookies: issuer.starts_with("https://"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use base64::Engine as _;
    use grantd_ports::{ClientId, GrantType, LifetimeOverrides, ScopeSet};

    use super::*;
    use crate::commands::{create_client, ClientUpdate, NewClient};

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
        config.resources.0.insert(
            "api".into(),
            crate::config::ResourceEntry {
                uri: "https://api.example/".into(),
            },
        );
        config.authorization.session_key =
            base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
        let db = connect(&config).unwrap();
        migrate(&db).unwrap();
        let ports = build_ports(&config, db.clone()).unwrap();
        create_client(
            &ports,
            &config.scopes.to_registry().unwrap(),
            NewClient {
                id: Some(ClientId::parse("web").unwrap()),
                secret: Some(None),
                admin: false,
                settings: ClientUpdate {
                    name: "web".into(),
                    grant_types: vec![GrantType::RefreshToken],
                    scopes: ScopeSet::parse("write read").unwrap(),
                    default_scopes: None,
                    redirect_uris: vec![],
                    post_logout_redirect_uris: vec![],
                    can_introspect: false,
                    lifetimes: LifetimeOverrides::default(),
                    access_token_format: None,
                    require_dpop: false,
                },
            },
        )
        .unwrap();

        let state = build_state(&config, db, ports, "127.0.0.1:9".parse().unwrap(), true).unwrap();
        assert_eq!(state.metadata.issuer, "https://as.example");
        // The registry, not the scopes of the clients there are.
        assert_eq!(
            state.metadata.scopes_supported,
            [
                "email",
                "offline_access",
                "openid",
                "profile",
                "read",
                "write"
            ]
        );
        assert_eq!(
            state.use_cases.scopes(),
            &config.scopes.to_registry().unwrap()
        );
        assert_eq!(
            state.use_cases.resources().uris().collect::<Vec<_>>(),
            ["https://api.example/"]
        );
        assert_eq!(
            state.metadata.code_challenge_methods_supported,
            vec!["S256", "plain"]
        );
        assert_eq!(state.max_body_bytes, 4096);
        assert_eq!(state.use_cases.settings(), &config.token_settings());
        assert!(state.use_cases.authorization_settings().allow_plain_pkce);
        assert!(state.authorize.demo_callback);
        assert!(state.authorize.secure_cookies, "an https issuer");
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
        assert_eq!(
            state.metadata.scopes_supported.len(),
            6,
            "with no client at all"
        );
        assert!(!state.authorize.demo_callback);
        assert!(!state.authorize.secure_cookies, "an http issuer");
    }

    #[test]
    fn stored_clients_with_unregistered_scopes_are_reported_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = sqlite_config(&dir);
        config.scopes.0.insert(
            "legacy".into(),
            crate::config::ScopeEntry {
                description: "An old scope".into(),
                default: true,
            },
        );
        let db = connect(&config).unwrap();
        migrate(&db).unwrap();
        let ports = build_ports(&config, db.clone()).unwrap();
        let registry = config.scopes.to_registry().unwrap();
        let new = |id: &str, scopes: &str| NewClient {
            id: Some(ClientId::parse(id).unwrap()),
            secret: None,
            admin: false,
            settings: ClientUpdate {
                name: id.into(),
                grant_types: vec![GrantType::RefreshToken],
                scopes: ScopeSet::parse(scopes).unwrap(),
                default_scopes: None,
                redirect_uris: vec![],
                post_logout_redirect_uris: vec![],
                can_introspect: false,
                lifetimes: LifetimeOverrides::default(),
                access_token_format: None,
                require_dpop: false,
            },
        };
        create_client(&ports, &registry, new("old", "read legacy")).unwrap();
        create_client(&ports, &registry, new("fine", "read")).unwrap();
        assert!(warn_unregistered_scopes(&ports, &registry).is_empty());

        // Restarted without `legacy` in [scopes]: the start reports it, and the server runs.
        let without = sqlite_config(&dir).scopes.to_registry().unwrap();
        assert_eq!(
            warn_unregistered_scopes(&ports, &without),
            [(ClientId::parse("old").unwrap(), "legacy".to_owned())]
        );
        let config = sqlite_config(&dir);
        let state = build_state(&config, db, ports, "127.0.0.1:9".parse().unwrap(), false);
        assert!(state.is_ok());
    }
}
