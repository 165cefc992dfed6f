//! A PostgreSQL server owned by one test: initdb into a temporary folder, a free port on
//! 127.0.0.1 only, started and stopped at will (to cut the database away from a server
//! under test) without disturbing the shared server on 5432. It can also be a streaming
//! replica of another ([`OwnPostgres::standby_of`]), made synchronous, killed and promoted:
//! the failover test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

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
    /// A folder for a cluster, owned by the user that will run it, and a free port.
    fn empty() -> Self {
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
        Self {
            dir,
            port: free_port(),
            as_postgres_user,
        }
    }

    pub fn start() -> Self {
        let pg = Self::empty();
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

    /// A streaming replica of `primary` (`pg_basebackup -R`), started, named
    /// `name` (its `application_name`, for `synchronous_standby_names`).
    pub fn standby_of(primary: &OwnPostgres, name: &str) -> Self {
        let pg = Self::empty();
        let out = pg
            .command("pg_basebackup")
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args(["-U", "postgres", "-X", "stream", "-R", "--no-sync", "-D"])
            .arg(pg.data())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_basebackup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // -R wrote primary_conninfo without a name; the last setting in the file wins.
        let conninfo = format!(
            "\nprimary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name={name}'\n",
            primary.port
        );
        let auto = pg.data().join("postgresql.auto.conf");
        let mut text = std::fs::read_to_string(&auto).unwrap();
        text.push_str(&conninfo);
        std::fs::write(&auto, text).unwrap();
        pg.resume();
        pg
    }

    /// Runs `sql` with psql on this server's `postgres` database; returns its output.
    pub fn psql(&self, sql: &str) -> String {
        let out = self
            .command("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", "postgres", "-At", "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Makes every commit wait for the standby `name` to have it (`synchronous_commit =
    /// on`, the default, with `synchronous_standby_names`).
    pub fn require_synchronous_standby(&self, name: &str) {
        self.psql(&format!(
            "ALTER SYSTEM SET synchronous_standby_names = '{name}'"
        ));
        self.psql("ALTER SYSTEM SET synchronous_commit = 'on'");
        self.psql("SELECT pg_reload_conf()");
    }

    /// `kill -9` of the postmaster: the server dies as in a power cut of its machine.
    pub fn kill_9(&self) {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid")).unwrap();
        let pid = pid_file.lines().next().unwrap().trim().to_owned();
        let status = Command::new("kill").args(["-9", &pid]).status().unwrap();
        assert!(status.success(), "kill -9 {pid} failed");
    }

    /// Promotes a standby to primary and waits until it accepts writes.
    pub fn promote(&self) {
        let out = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "promote"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl promote failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
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
