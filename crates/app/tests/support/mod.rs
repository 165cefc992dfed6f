//! Process-level test support: a PostgreSQL server of the test's own (initdb into a
//! temporary folder, a free port, 127.0.0.1 only) that a test may stop and start without
//! disturbing anything else, and `grantd` processes (the built binary) with their output
//! captured to a file.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_grantd");

/// The folder of the PostgreSQL server binaries: `GRANTD_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` that has `initdb` (Debian's layout).
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("GRANTD_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries are needed (Debian: apt-get install postgresql)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .expect("no /usr/lib/postgresql/*/bin/initdb; set GRANTD_TEST_PG_BIN")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A PostgreSQL server owned by one test: stopped (immediately) when dropped.
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    pub port: u16,
    as_postgres_user: bool,
}

impl OwnPostgres {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("grantd-pg")
            .tempdir()
            .unwrap();
        let as_postgres_user = is_root();
        if as_postgres_user {
            // initdb refuses to run as root: the cluster belongs to the postgres user.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the test cluster failed");
        }
        let pg = Self {
            dir,
            port: free_port(),
            as_postgres_user,
        };
        let data = pg.data();
        let out = pg
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg.resume();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A PostgreSQL server binary, run as the postgres user when we are root.
    fn command(&self, tool: &str) -> Command {
        let path = pg_bin().join(tool);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(path)
        }
    }

    /// The URL of the `postgres` database of this server.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops the server at once (`immediate`: like a crash or a network cut, the
    /// connections just die).
    pub fn halt(&self) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl stop failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A scratch folder and the environment every grantd command of a test gets.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub extra: Vec<(String, String)>,
}

impl Env {
    pub fn new(database_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("grantd.db").display()));
        Self {
            dir,
            database_url,
            extra: Vec::new(),
        }
    }

    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.extra.push((key.into(), value.into()));
        self
    }

    /// A grantd command in the scratch folder, with no inherited GRANTD_ or RUST_LOG.
    pub fn grantd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GRANTD_") {
                cmd.env_remove(key);
            }
        }
        cmd.current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .env("GRANTD_DATABASE__URL", &self.database_url)
            .env("GRANTD_SECURITY__PASSWORD_BCRYPT_COST", "4")
            .env("GRANTD_SECURITY__CLIENT_SECRET_BCRYPT_COST", "4")
            .env("GRANTD_SERVER__WORKERS", "2")
            .env("GRANTD_SERVER__SHUTDOWN_TIMEOUT", "10");
        for (k, v) in &self.extra {
            cmd.env(k, v);
        }
        cmd.args(args);
        cmd
    }

    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.grantd(args).output().unwrap();
        assert!(
            out.status.success(),
            "grantd {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Registers a confidential client for password + refresh_token (+ introspection);
    /// returns (id, secret).
    pub fn create_client(&self) -> (String, String) {
        let created: Value = serde_json::from_str(&self.run_ok(&[
            "client",
            "create",
            "--name",
            "t",
            "--grant-type",
            "password",
            "--grant-type",
            "refresh_token",
            "--scope",
            "read write",
            "--introspect",
        ]))
        .unwrap();
        (
            created["client_id"].as_str().unwrap().to_owned(),
            created["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    pub fn create_user(&self, username: &str, password: &str) {
        let mut child = self
            .grantd(&["user", "create", "--username", username, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `grantd serve` on a free port, output to `<name>.log`, and waits for /healthz.
    pub fn serve(&self, name: &str) -> Server {
        let port = free_port();
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = self
            .grantd(&["serve"])
            .env("GRANTD_SERVER__BIND", format!("127.0.0.1:{port}"))
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        let mut server = Server {
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_healthy();
        server
    }
}

/// A running `grantd serve`; killed when dropped.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("grantd serve exited early with {status}: {}", self.output());
            }
            if let Ok(r) = fresh_client().get(format!("{}/healthz", self.base)).send() {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "grantd did not become healthy");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Sends a signal by name (TERM, INT) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGKILL: no cleanup of any kind.
    pub fn kill_9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Waits for the process to exit (at most `limit`) and returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "grantd did not exit in {limit:?}: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything the process wrote to stdout and stderr so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A client with no pooled connections (each request on a new one), so that a stopped
/// listener or a restarted server is seen as it is.
pub fn fresh_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub fn post_form(
    http: &reqwest::blocking::Client,
    url: &str,
    basic: (&str, &str),
    body: &str,
) -> reqwest::blocking::Response {
    http.post(url)
        .basic_auth(basic.0, Some(basic.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .unwrap()
}

pub fn json(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The password grant; returns the response body.
pub fn login(
    http: &reqwest::blocking::Client,
    server: &Server,
    client: (&str, &str),
    user: (&str, &str),
) -> (u16, Value) {
    json(post_form(
        http,
        &server.url("/oauth/token"),
        client,
        &format!(
            "grant_type=password&username={}&password={}",
            user.0, user.1
        ),
    ))
}

pub fn refresh(
    http: &reqwest::blocking::Client,
    base: &str,
    client: (&str, &str),
    token: &str,
) -> (u16, Value) {
    json(post_form(
        http,
        &format!("{base}/oauth/token"),
        client,
        &format!("grant_type=refresh_token&refresh_token={token}"),
    ))
}

pub fn path_exists(p: &Path) -> bool {
    p.exists()
}
