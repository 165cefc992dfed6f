//! The built `grantd` binary as a process: a scratch folder and environment for its
//! commands (`client create`, `user create`, `serve`), and a running server that a test may
//! signal, kill or wait for. The binary's path comes from the calling test crate
//! (`env!("CARGO_BIN_EXE_grantd")` exists only in the app crate's tests).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::fresh_client;
use crate::own_postgres::free_port;

/// A scratch folder and the environment every grantd command of a test gets.
pub struct Env {
    /// The `grantd` binary.
    pub bin: PathBuf,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub extra: Vec<(String, String)>,
}

impl Env {
    pub fn new(bin: impl Into<PathBuf>, database_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("grantd.db").display()));
        Self {
            bin: bin.into(),
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
        let mut cmd = Command::new(&self.bin);
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

    /// The SQLite file of the default database (`grantd.db` in the scratch folder).
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("grantd.db")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.grantd(args).output().unwrap()
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .grantd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
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
            "read write openid profile offline_access",
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
        self.serve_with(name, &["serve"])
    }

    /// Starts grantd with `args` (e.g. `["serve", "--demo"]`) on a free port, output to
    /// `<name>.log`, and waits for /healthz.
    pub fn serve_with(&self, name: &str, args: &[&str]) -> Server {
        let port = free_port();
        let log = self.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = self
            .grantd(args)
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
