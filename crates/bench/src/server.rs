//! The grantd server process under load: start it on a free port and wait for `/readyz`,
//! stop it gracefully, and read its memory and CPU from /proc.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::Options;
use crate::db::Database;
use crate::provision::grantd;

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// `grantd serve` on `db`, with refresh-token rotation on or off.
    pub fn start(o: &Options, db: &Database, rotate: bool) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = grantd(o, db)
            .env("GRANTD_SERVER__BIND", addr.to_string())
            .env(
                "GRANTD_TOKENS__ALWAYS_ISSUE_NEW_REFRESH_TOKEN",
                rotate.to_string(),
            )
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("grantd serve: {e}"))?;
        let server = Server { child, addr };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if ready(addr) {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server.stop();
        Err("grantd did not become ready in 20 s".into())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(mut self) {
        // SIGTERM via kill(1) for a graceful stop, then make sure.
        let _ = Command::new("kill").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ready(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

/// (VmRSS, VmHWM) in KiB.
pub fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// utime + stime in seconds (clock ticks of 1/100 s on Linux).
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime is field 14, stime 15 (1-based); `rest` starts at field 3.
    (ticks(11) + ticks(12)) as f64 / 100.0
}
