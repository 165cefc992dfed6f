//! The harness for HTTP tests: a real grantd app on a real database (a SQLite file in a
//! temp folder, or a fresh Postgres database made for the test and dropped after), served
//! over a real socket on 127.0.0.1, with a clock the test can move.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use grantd_crypto::{BcryptHasher, HasherCosts, OsTokenMinter, SystemClock};
use grantd_domain::{Ports, ServerMetadata, TokenService, TokenSettings};
use grantd_http_actix::{build_server, HttpState, Operations, PoolGauge, ServerOptions};
use grantd_ports::{
    Client, ClientId, ClientStore, Clock, GrantType, LifetimeOverrides, ScopeSet, SecretHasher,
    UnixTime, User, UserId, UserStore, Username,
};
use grantd_store_diesel::{Database, DbOptions};

use grantd_http_actix::{AuthorizePages, SessionKey};

pub const SECRET: &str = "app-secret";
pub const OTHER_SECRET: &str = "other-secret";
pub const PASSWORD: &str = "alice-password";
/// Redirect URIs of the code-flow clients `web` (confidential) and `native` (public).
pub const WEB_CB: &str = "https://web.example/cb";
pub const WEB_CB_OTHER: &str = "https://web.example/other?x=1";
pub const NATIVE_CB: &str = "http://127.0.0.1:9/native-cb";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A clock the test moves forward; starts at the real time.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// A Postgres database that exists for one test and is dropped with it.
pub struct TempPostgres {
    pub url: String,
    name: String,
}

fn postgres_base() -> String {
    std::env::var("GRANTD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

impl TempPostgres {
    pub fn create() -> Self {
        let base = postgres_base();
        let name = format!("grantd_http_{}_{}", std::process::id(), OsTokenMinter_id());
        let mut admin = PgConnection::establish(&format!("{base}/postgres")).unwrap_or_else(|e| {
            panic!("Postgres at {base} is required for these tests and is unreachable: {e}")
        });
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .unwrap();
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }
}

#[allow(non_snake_case)]
fn OsTokenMinter_id() -> String {
    use grantd_ports::TokenMinter;
    OsTokenMinter.mint_id().to_lowercase().replace('-', "_")
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", postgres_base())) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// A running grantd with a confidential client `app` (password, refresh_token,
/// client_credentials; scopes "read write"), a confidential client `other`, a public
/// client `spa`, a client `cc-only` with only client_credentials, a resource server `rs`
/// allowed to introspect, and user `alice`.
pub struct TestApp {
    pub base: String,
    pub clock: TestClock,
    pub db: Database,
    /// The ports the server runs on, for tests that act as an administrator.
    pub ports: Ports,
    pub hasher: Arc<BcryptHasher>,
    handle: actix_web::dev::ServerHandle,
    url: String,
    settings: TokenSettings,
    _sqlite_dir: Option<tempfile::TempDir>,
    _postgres: Option<TempPostgres>,
}

impl TestApp {
    pub fn start(backend: Backend, settings: TokenSettings) -> Self {
        let (url, sqlite_dir, postgres) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("grantd.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let pg = TempPostgres::create();
                (pg.url.clone(), None, Some(pg))
            }
        };
        let hasher = Arc::new(
            BcryptHasher::new(HasherCosts {
                password: 4,
                client_secret: 4,
            })
            .unwrap(),
        );
        let clock = TestClock(Arc::new(AtomicI64::new(SystemClock.now())));
        let (db, ports, base, handle) = launch(&url, &settings, &hasher, &clock);
        seed(&db, hasher.as_ref());
        Self {
            base,
            clock,
            db,
            ports,
            hasher,
            handle,
            url,
            settings,
            _sqlite_dir: sqlite_dir,
            _postgres: postgres,
        }
    }

    /// Stops this server and starts a new process-like instance on the same database:
    /// nothing survives but what was stored.
    pub fn restart(self) -> Self {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(true));
        let (db, ports, base, handle) =
            launch(&self.url, &self.settings, &self.hasher, &self.clock);
        let mut this = self;
        this.db = db;
        this.ports = ports;
        this.base = base;
        this.handle = handle;
        this
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The database URL this app serves from (to inspect it directly).
    pub fn database_url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
    }
}

/// Connects, migrates and serves grantd on a free port; returns the store, base URL and handle.
fn launch(
    url: &str,
    settings: &TokenSettings,
    hasher: &Arc<BcryptHasher>,
    clock: &TestClock,
) -> (Database, Ports, String, actix_web::dev::ServerHandle) {
    let options = DbOptions {
        pool_size: 8,
        connect_timeout: Duration::from_secs(2),
        ..DbOptions::default()
    };
    let db = Database::connect(url, &options).unwrap();
    db.migrate().unwrap();
    let shared = Arc::new(db.clone());
    let probe_db = db.clone();
    let ops = Arc::new(
        Operations::new(8, Duration::from_secs(2)).with_pool_probe(move || {
            let state = probe_db.pool_state();
            PoolGauge {
                connections: state.connections,
                idle_connections: state.idle_connections,
                max_size: state.max_size,
            }
        }),
    );
    let ports = Ports {
        clients: shared.clone(),
        users: shared.clone(),
        tokens: shared.clone(),
        authorizations: shared.clone(),
        hasher: hasher.clone(),
        minter: Arc::new(OsTokenMinter),
        clock: Arc::new(clock.clone()),
        metrics: ops.clone(),
    };
    let ready_db = db.clone();
    let state = HttpState {
        service: TokenService::new(ports.clone(), settings.clone()),
        readiness: Arc::new(move || ready_db.ping().is_ok()),
        max_body_bytes: 16 * 1024,
        metadata: Arc::new(ServerMetadata::new(
            "http://grantd.test",
            vec!["read".into(), "write".into()],
            vec!["S256"],
        )),
        authorize: Arc::new(AuthorizePages {
            session_key: SessionKey::new(vec![42; 32]).unwrap(),
            session_lifetime: 3600,
            demo_callback: true,
        }),
        ops,
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = build_server(
                listener,
                state,
                &ServerOptions {
                    workers: 2,
                    shutdown_timeout_secs: 1,
                    ..ServerOptions::default()
                },
            )
            .unwrap();
            tx.send(server.handle()).unwrap();
            let _ = server.await;
        });
    });
    (db, ports, base, rx.recv().unwrap())
}

fn client(
    id: &str,
    secret: Option<&str>,
    grant_types: &[GrantType],
    hasher: &dyn SecretHasher,
) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: id.to_owned(),
        secret: secret.map(|s| hasher.hash_client_secret(s)),
        secret_version: 1,
        grant_types: grant_types.to_vec(),
        scopes: ScopeSet::parse("read write").unwrap(),
        redirect_uris: vec![],
        can_introspect: false,
        lifetimes: LifetimeOverrides::default(),
        created_at: 0,
    }
}

fn seed(db: &Database, hasher: &dyn SecretHasher) {
    use GrantType::*;
    let all = [Password, RefreshToken, ClientCredentials];
    db.insert_client(&client("app", Some(SECRET), &all, hasher))
        .unwrap();
    db.insert_client(&client("other", Some(OTHER_SECRET), &all, hasher))
        .unwrap();
    db.insert_client(&client("spa", None, &[Password, RefreshToken], hasher))
        .unwrap();
    db.insert_client(&client(
        "cc-only",
        Some(SECRET),
        &[ClientCredentials],
        hasher,
    ))
    .unwrap();
    // The code flow: a confidential client with two redirect URIs, a public one with one.
    let mut web = client(
        "web",
        Some(SECRET),
        &[AuthorizationCode, RefreshToken],
        hasher,
    );
    web.name = "Web App".into();
    web.redirect_uris = vec![WEB_CB.into(), WEB_CB_OTHER.into()];
    db.insert_client(&web).unwrap();
    let mut native = client("native", None, &[AuthorizationCode, RefreshToken], hasher);
    native.redirect_uris = vec![NATIVE_CB.into()];
    db.insert_client(&native).unwrap();
    let mut rs = client("rs", Some(SECRET), &[ClientCredentials], hasher);
    rs.can_introspect = true;
    db.insert_client(&rs).unwrap();
    db.insert_user(&User {
        id: UserId::parse("user-alice").unwrap(),
        username: Username::parse("alice").unwrap(),
        password: hasher.hash_password(PASSWORD),
        disabled: false,
        created_at: 0,
    })
    .unwrap();
}

/// A blocking HTTP client that never follows redirects.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
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

pub fn json(resp: reqwest::blocking::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    (status, resp.json().unwrap())
}

/// The password grant for alice through `app`; returns (access, refresh).
pub fn login(app: &TestApp) -> (String, String) {
    let (status, body) = json(token_request(
        app,
        Some(("app", SECRET)),
        &format!("grant_type=password&username=alice&password={PASSWORD}"),
    ));
    assert_eq!(status, 200, "{body}");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

pub fn refresh(app: &TestApp, refresh_token: &str) -> (u16, serde_json::Value) {
    json(token_request(
        app,
        Some(("app", SECRET)),
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
    http()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .basic_auth(basic.0, Some(basic.1))
        .body(body.to_owned())
        .send()
        .unwrap()
}

pub fn me(app: &TestApp, access: &str) -> reqwest::blocking::Response {
    http()
        .get(app.url("/api/me"))
        .bearer_auth(access)
        .send()
        .unwrap()
}

/// Declares one test per backend from a fn(Backend).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name($crate::common::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name($crate::common::Backend::Postgres) } )*
        }
    };
}
