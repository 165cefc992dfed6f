//! `TestApp`: the real grantd app, built by the app's own composition root
//! (`grantd_app::wiring`), served over a real socket on 127.0.0.1 from a fresh database of
//! either backend, with a clock the test moves and bcrypt at its lowest cost. The seeded
//! fixtures are in [`crate::fixtures`].

use std::net::TcpListener;
use std::sync::{mpsc, Arc};

use grantd_app::config::{Config, TokensConfig};
use grantd_app::wiring;
use grantd_crypto::{BcryptHasher, HasherCosts};
use grantd_domain::{PortSet, TokenSettings};
use grantd_http_actix::{build_admin_server, build_server, ServerOptions};
use grantd_store_diesel::Database;

use crate::database::{Backend, TestDb};
use crate::fixtures;
use crate::http::http;
use crate::TestClock;

/// A running grantd with the [`fixtures`] clients and user.
pub struct TestApp {
    pub base: String,
    /// The admin listener's base URL (`server.admin_bind`: `/admin/…` alone).
    pub admin_base: String,
    pub clock: TestClock,
    pub db: Database,
    /// The ports the server runs on, for tests that act as an administrator.
    pub ports: PortSet,
    pub hasher: Arc<BcryptHasher>,
    handle: Vec<actix_web::dev::ServerHandle>,
    config: Config,
    /// Served as `serve --demo` (the demo callback page; a made-up key encryption key if
    /// the configuration has none).
    demo: bool,
    // Last: dropped after the server has stopped (Postgres: the database is dropped).
    database: TestDb,
}

impl TestApp {
    pub fn start(backend: Backend, settings: TokenSettings) -> Self {
        Self::start_with(backend, settings, |_| {})
    }

    /// As [`TestApp::start`] with the issuer `https://grantd.test`, so that the session
    /// cookie is `__Host-` and `Secure`; the server still speaks plain http, as behind a
    /// TLS-terminating proxy.
    pub fn start_https(backend: Backend, settings: TokenSettings) -> Self {
        Self::start_with(backend, settings, |config| {
            config.server.issuer = "https://grantd.test".into();
        })
    }

    /// The app issuing JWT access tokens (`tokens.access_token_format = "jwt"`).
    pub fn start_jwt(backend: Backend, settings: TokenSettings) -> Self {
        Self::start_with(backend, settings, issue_jwts)
    }

    /// The app as a resource server sees it: its issuer is the address it listens on (an
    /// empty `server.issuer`), so that RFC 8414 discovery and every URL of the metadata
    /// reach it; `jwt` = JWT access tokens. A [`TestApp::restart`] moves it to a new port,
    /// and so changes the issuer.
    pub fn start_as_issuer(backend: Backend, jwt: bool) -> Self {
        Self::start_with(backend, TokenSettings::default(), |config| {
            config.server.issuer = String::new();
            if jwt {
                config.tokens.access_token_format =
                    grantd_app::config::AccessTokenFormatSetting::Jwt;
            }
        })
    }

    /// As [`TestApp::start`], with the test's own changes to the configuration (e.g.
    /// `[rate_limit]`, `server.trusted_proxies`); they hold across [`TestApp::restart`].
    pub fn start_with(
        backend: Backend,
        settings: TokenSettings,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        Self::start_as(backend, settings, configure, true)
    }

    /// As plain `serve` (not `--demo`) without `keys.encryption_key`: no signing keys, so
    /// no JWTs and no OpenID Connect.
    pub fn start_without_signing_keys(backend: Backend, settings: TokenSettings) -> Self {
        Self::start_as(
            backend,
            settings,
            |config| config.keys.encryption_key = String::new(),
            false,
        )
    }

    fn start_as(
        backend: Backend,
        settings: TokenSettings,
        configure: impl FnOnce(&mut Config),
        demo: bool,
    ) -> Self {
        let database = TestDb::empty(backend);
        let hasher = Arc::new(
            BcryptHasher::new(HasherCosts {
                password: 4,
                client_secret: 4,
            })
            .unwrap(),
        );
        let clock = TestClock::now_real();
        let mut config = config(database.url(), &settings, "http://grantd.test");
        configure(&mut config);
        let db = wiring::connect(&config).unwrap();
        wiring::migrate(&db).unwrap();
        // Before the state, whose start-up check of the clients' scopes then sees them.
        fixtures::seed(&db, hasher.as_ref());
        let (ports, base, admin_base, handle) = launch(&config, db.clone(), &hasher, &clock, demo);
        Self {
            base,
            admin_base,
            clock,
            db,
            ports,
            hasher,
            handle,
            config,
            demo,
            database,
        }
    }

    /// Stops this server and starts a new process-like instance on the same database:
    /// nothing survives but what was stored.
    pub fn restart(mut self) -> Self {
        stop(&self.handle, true);
        let db = wiring::connect(&self.config).unwrap();
        let (ports, base, admin_base, handle) = launch(
            &self.config,
            db.clone(),
            &self.hasher,
            &self.clock,
            self.demo,
        );
        self.db = db;
        self.ports = ports;
        self.base = base;
        self.admin_base = admin_base;
        self.handle = handle;
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A URL on the admin listener.
    pub fn admin_url(&self, path: &str) -> String {
        format!("{}{path}", self.admin_base)
    }

    /// The signing keys of this app's database, under the test encryption key and the
    /// test's clock, as `grantd keys ...` would manage them.
    pub fn key_ring(&self) -> grantd_domain::KeyRing {
        grantd_domain::KeyRing::new(
            Arc::new(self.db.clone()),
            Arc::new(crate::keys::jose()),
            Arc::new(self.clock.clone()),
            grantd_domain::KeySettings::default(),
        )
    }

    /// Registers an admin client (`client create --admin --scope read`) by the domain's
    /// use case, as the CLI does; returns its id and secret.
    pub fn create_admin_client(&self) -> (String, String) {
        let registry = self.config.scopes.to_registry().unwrap();
        let issued = grantd_domain::admin::create_client(
            &self.ports,
            &registry,
            grantd_domain::admin::NewClient {
                id: None,
                secret: Some(None),
                admin: true,
                settings: grantd_domain::admin::ClientUpdate {
                    name: "ops".into(),
                    grant_types: vec![grantd_ports::GrantType::ClientCredentials],
                    scopes: grantd_ports::ScopeSet::parse("read").unwrap(),
                    default_scopes: None,
                    redirect_uris: vec![],
                    post_logout_redirect_uris: vec![],
                    can_introspect: false,
                    lifetimes: Default::default(),
                    access_token_format: None,
                    require_dpop: false,
                },
            },
        )
        .unwrap();
        (issued.client.id.to_string(), issued.secret.unwrap())
    }

    /// The database URL this app serves from (to inspect it directly).
    pub fn database_url(&self) -> &str {
        self.database.url()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        stop(&self.handle, false);
    }
}

fn stop(handles: &[actix_web::dev::ServerHandle], graceful: bool) {
    let handles = handles.to_vec();
    actix_web::rt::System::new().block_on(async move {
        for handle in handles {
            handle.stop(graceful).await;
        }
    });
}

/// The configuration the tests run with: the defaults, this database, the issuer and a
/// fixed session key, and the test's token settings.
fn config(url: &str, settings: &TokenSettings, issuer: &str) -> Config {
    let mut config = Config::default();
    config.database.url = url.to_owned();
    config.server.issuer = issuer.into();
    config.tokens = TokensConfig::from(settings);
    // base64 of 32 bytes of 42: a fixed key, so sessions survive `restart`.
    config.authorization.session_key = "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKio=".into();
    config.keys.encryption_key = crate::keys::ENCRYPTION_KEY.into();
    config
}

/// Builds the state with the app's own wiring (the test's clock and hasher swapped in)
/// and serves it on a free port, and the admin API on another; returns the ports, the base
/// URLs and the server handles.
fn launch(
    config: &Config,
    db: Database,
    hasher: &Arc<BcryptHasher>,
    clock: &TestClock,
    demo: bool,
) -> (PortSet, String, String, Vec<actix_web::dev::ServerHandle>) {
    let mut ports = wiring::build_ports(config, db.clone()).unwrap();
    ports.hasher = hasher.clone();
    ports.clock = Arc::new(clock.clone());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let admin_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let admin_address = admin_listener.local_addr().unwrap();
    let state = wiring::build_state(config, db, ports.clone(), address, demo).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let options = ServerOptions {
                workers: 2,
                shutdown_timeout_secs: 1,
                ..ServerOptions::default()
            };
            let admin = build_admin_server(admin_listener, state.clone(), &options).unwrap();
            let server = build_server(listener, state, &options).unwrap();
            tx.send(vec![server.handle(), admin.handle()]).unwrap();
            let _ = futures_util::future::join(server, admin).await;
        });
    });
    (
        ports,
        format!("http://{address}"),
        format!("http://{admin_address}"),
        rx.recv().unwrap(),
    )
}

/// A test's configuration change: access tokens are JWTs (`tokens.access_token_format`).
pub fn issue_jwts(config: &mut Config) {
    config.tokens.access_token_format = grantd_app::config::AccessTokenFormatSetting::Jwt;
}

/// A test's configuration change: `[resources.<name>] uri = "<uri>"` (RFC 8707).
pub fn register_resource(config: &mut Config, name: &str, uri: &str) {
    config.resources.0.insert(
        name.to_owned(),
        grantd_app::config::ResourceEntry {
            uri: uri.to_owned(),
        },
    );
}

/// POSTs a form to the token endpoint with Basic credentials (None = no header).
pub fn token_request(
    app: &TestApp,
    basic: Option<(&str, &str)>,
    body: &str,
) -> reqwest::blocking::Response {
    let mut req = http()
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    req.send().unwrap()
}

/// The password grant for alice through `app`; returns (access, refresh).
pub fn login(app: &TestApp) -> (String, String) {
    let (status, body) = crate::http::json(token_request(
        app,
        Some(("app", fixtures::SECRET)),
        &format!(
            "grant_type=password&username=alice&password={}",
            fixtures::PASSWORD
        ),
    ));
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// A refresh by the `app` client; returns the status and body.
pub fn refresh(app: &TestApp, refresh_token: &str) -> (u16, serde_json::Value) {
    crate::http::json(token_request(
        app,
        Some(("app", fixtures::SECRET)),
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
    ))
}

/// POSTs a form to `path` with Basic credentials.
pub fn post_form(
    app: &TestApp,
    path: &str,
    basic: (&str, &str),
    body: &str,
) -> reqwest::blocking::Response {
    crate::http::post_form(&http(), &app.url(path), basic, body)
}

/// `GET /api/me` with a bearer token.
pub fn me(app: &TestApp, access: &str) -> reqwest::blocking::Response {
    http()
        .get(app.url("/api/me"))
        .bearer_auth(access)
        .send()
        .unwrap()
}

/// Declares one test per backend from a `fn(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::Backend::Postgres) } )*
        }
    };
}
