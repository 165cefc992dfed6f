//! `grantd-bench`: the orchestrator behind `cargo xtask bench`, and (`grantd-bench load`)
//! the load generator it spawns as a separate process for each cell.
//!
//! For each backend (a fresh Postgres database on 127.0.0.1:5432, then a fresh SQLite
//! file): provision clients and users with the grantd CLI, start the release grantd
//! (rotation on, then off), run every scenario at every concurrency for a fixed time,
//! read grantd's RSS and CPU from /proc, and on Postgres run pgbench with the minimal SQL
//! of one rotation at the same concurrency. Writes `report.json` and `chart.svg`.

mod chart;
mod load;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::{json, Value};

use load::{CellResult, Credentials, LoadArgs, Scenario};

const HELP: &str = "\
grantd-bench [--grantd PATH] [--duration SECS] [--concurrency 1,8,32,64]
             [--backends postgres,sqlite] [--out DIR] [--pgbench PATH]
grantd-bench load JSON     (internal: one load cell; prints its result as JSON)
";

struct Options {
    grantd: PathBuf,
    duration: f64,
    concurrency: Vec<usize>,
    backends: Vec<String>,
    out: PathBuf,
    pgbench: PathBuf,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("load") {
        load_cell(args.get(1).map(String::as_str).unwrap_or(""))
    } else {
        parse(&args).and_then(|o| orchestrate(&o))
    };
    if let Err(e) = result {
        eprintln!("grantd-bench: {e}");
        std::process::exit(1);
    }
}

fn load_cell(json: &str) -> Result<(), String> {
    let args: LoadArgs = serde_json::from_str(json).map_err(|e| format!("load args: {e}"))?;
    let result = load::run(args)?;
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        grantd: PathBuf::from("target/release/grantd"),
        duration: 5.0,
        concurrency: vec![1, 8, 32, 64],
        backends: vec!["postgres".into(), "sqlite".into()],
        out: PathBuf::from("target/bench"),
        pgbench: PathBuf::from("/usr/lib/postgresql/15/bin/pgbench"),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--grantd" => o.grantd = value()?.into(),
            "--duration" => o.duration = value()?.parse().map_err(|_| "bad --duration")?,
            "--concurrency" => {
                o.concurrency = value()?
                    .split(',')
                    .map(|c| c.parse().map_err(|_| "bad --concurrency".to_owned()))
                    .collect::<Result<_, _>>()?
            }
            "--backends" => o.backends = value()?.split(',').map(str::to_owned).collect(),
            "--out" => o.out = value()?.into(),
            "--pgbench" => o.pgbench = value()?.into(),
            "-h" | "--help" => return Err(HELP.into()),
            other => return Err(format!("unknown argument {other}\n{HELP}")),
        }
    }
    Ok(o)
}

#[derive(Debug, Clone, Serialize)]
struct Cell {
    backend: String,
    scenario: String,
    concurrency: usize,
    #[serde(flatten)]
    result: CellResult,
    /// grantd's VmHWM after this cell (the process's peak so far), KiB.
    peak_rss_kib: u64,
    /// grantd's user+system CPU seconds per 1000 successful requests in this cell.
    cpu_secs_per_1000: f64,
}

#[derive(Debug, Clone, Serialize)]
struct PgbenchCell {
    concurrency: usize,
    tps: f64,
    latency_avg_ms: f64,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    machine: Value,
    duration_secs: f64,
    cells: Vec<Cell>,
    pgbench: Vec<PgbenchCell>,
    idle_rss_kib: Vec<Value>,
    ratios: Value,
}

fn orchestrate(o: &Options) -> Result<(), String> {
    if !o.grantd.exists() {
        return Err(format!(
            "{} not found: build it with cargo build --release -p grantd-app",
            o.grantd.display()
        ));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let rotate_scenarios = [
        Scenario::RefreshRotateConfidential,
        Scenario::RefreshRotatePublic,
        Scenario::ApiMe,
        Scenario::Introspect,
        Scenario::Password,
    ];
    let keep_scenarios = [
        Scenario::RefreshKeepConfidential,
        Scenario::RefreshKeepPublic,
    ];
    let per_backend =
        (rotate_scenarios.len() + keep_scenarios.len()) * o.concurrency.len() + o.concurrency.len();
    let bar = ProgressBar::new((per_backend * o.backends.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let mut report = Report {
        machine: machine(),
        duration_secs: o.duration,
        ..Report::default()
    };
    for backend in &o.backends {
        let db = Database::create(backend, &o.out)?;
        let result = (|| -> Result<(), String> {
            let creds = provision(o, &db)?;
            for (rotate, scenarios) in [(true, &rotate_scenarios[..]), (false, &keep_scenarios[..])]
            {
                let server = Server::start(o, &db, rotate)?;
                std::thread::sleep(Duration::from_millis(500));
                let idle = rss(server.pid()).0;
                report
                    .idle_rss_kib
                    .push(json!({"backend": backend, "rotate": rotate, "kib": idle}));
                for &scenario in scenarios {
                    for &c in &o.concurrency {
                        bar.set_message(format!("{backend} {} c={c}", scenario.name()));
                        let cpu0 = cpu_secs(server.pid());
                        let result = run_cell(o, server.addr, scenario, c, &creds)?;
                        let cpu = cpu_secs(server.pid()) - cpu0;
                        let ok = result.requests - result.errors;
                        report.cells.push(Cell {
                            backend: backend.clone(),
                            scenario: scenario.name(),
                            concurrency: c,
                            cpu_secs_per_1000: if ok > 0 {
                                cpu * 1000.0 / ok as f64
                            } else {
                                0.0
                            },
                            peak_rss_kib: rss(server.pid()).1,
                            result,
                        });
                        bar.inc(1);
                    }
                }
                server.stop();
            }
            if db.is_postgres() {
                pgbench_setup(&db)?;
                for &c in &o.concurrency {
                    bar.set_message(format!("pgbench c={c}"));
                    report.pgbench.push(pgbench(o, &db, c)?);
                    bar.inc(1);
                }
            } else {
                bar.inc(o.concurrency.len() as u64);
            }
            Ok(())
        })();
        db.drop_it();
        result?;
    }
    bar.finish_with_message("done");
    report.ratios = ratios(&report);
    let path = o.out.join("report.json");
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    chart::draw(&o.out.join("chart.svg"), &report.cells, &report.pgbench)?;
    print_summary(&report);
    println!(
        "wrote {} and {}",
        path.display(),
        o.out.join("chart.svg").display()
    );
    Ok(())
}

fn find<'a>(r: &'a Report, backend: &str, scenario: Scenario, c: usize) -> Option<&'a Cell> {
    r.cells
        .iter()
        .find(|x| x.backend == backend && x.scenario == scenario.name() && x.concurrency == c)
}

/// The targets as measured ratios (at concurrency 32, or the nearest measured).
fn ratios(r: &Report) -> Value {
    let c = 32;
    let rps = |b: &str, s: Scenario| find(r, b, s, c).map(|x| x.result.requests_per_sec);
    let pg = r.pgbench.iter().find(|p| p.concurrency == c).map(|p| p.tps);
    let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let conf = rps("postgres", Scenario::RefreshRotateConfidential);
    json!({
        "concurrency": c,
        "pg_refresh_confidential_over_pgbench": div(conf, pg),
        "pg_refresh_confidential_p99_ms": find(r, "postgres", Scenario::RefreshRotateConfidential, c).map(|x| x.result.p99_us as f64 / 1000.0),
        "pg_refresh_confidential_errors": find(r, "postgres", Scenario::RefreshRotateConfidential, c).map(|x| x.result.errors),
        "pg_confidential_over_public": div(conf, rps("postgres", Scenario::RefreshRotatePublic)),
        "pg_api_me_over_refresh": div(rps("postgres", Scenario::ApiMe), conf),
        "sqlite_refresh_over_pg_refresh": div(rps("sqlite", Scenario::RefreshRotateConfidential), conf),
        "peak_rss_kib_max": r.cells.iter().map(|x| x.peak_rss_kib).max(),
        "idle_rss_kib_max": r.idle_rss_kib.iter().filter_map(|v| v["kib"].as_u64()).max(),
    })
}

fn print_summary(r: &Report) {
    println!(
        "\n{:<8} {:<30} {:>4} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>8} {:>8}",
        "backend",
        "scenario",
        "c",
        "req/s",
        "p50ms",
        "p90ms",
        "p99ms",
        "maxms",
        "errors",
        "cpu/1k",
        "peakMiB"
    );
    for x in &r.cells {
        let ms = |us: u64| us as f64 / 1000.0;
        println!(
            "{:<8} {:<30} {:>4} {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>8.1} {:>6} {:>8.3} {:>8.1}",
            x.backend,
            x.scenario,
            x.concurrency,
            x.result.requests_per_sec,
            ms(x.result.p50_us),
            ms(x.result.p90_us),
            ms(x.result.p99_us),
            ms(x.result.max_us),
            x.result.errors,
            x.cpu_secs_per_1000,
            x.peak_rss_kib as f64 / 1024.0
        );
        for (kind, n) in &x.result.errors_by_kind {
            println!("         error {kind}: {n}");
        }
    }
    for p in &r.pgbench {
        println!(
            "pgbench  rotation transaction           {:>4} {:>9.0} tps (avg {:.2} ms)",
            p.concurrency, p.tps, p.latency_avg_ms
        );
    }
    println!(
        "ratios: {}",
        serde_json::to_string_pretty(&r.ratios).unwrap_or_default()
    );
}

fn run_cell(
    o: &Options,
    addr: SocketAddr,
    scenario: Scenario,
    concurrency: usize,
    creds: &Credentials,
) -> Result<CellResult, String> {
    let args = LoadArgs {
        addr,
        scenario,
        concurrency,
        duration_secs: o.duration,
        credentials: creds.clone(),
    };
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .arg("load")
        .arg(serde_json::to_string(&args).map_err(|e| e.to_string())?)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("load generator: {e}"))?;
    if !out.status.success() {
        return Err(format!("load generator failed for {}", scenario.name()));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("load result: {e}"))
}

// ---- the database ---------------------------------------------------------------------

struct Database {
    url: String,
    pg_name: Option<String>,
    file: Option<PathBuf>,
}

impl Database {
    fn create(backend: &str, out: &Path) -> Result<Self, String> {
        match backend {
            "postgres" => {
                let name = format!("grantd_bench_{}", std::process::id());
                psql(&format!("DROP DATABASE IF EXISTS {name}"), "postgres")?;
                psql(&format!("CREATE DATABASE {name}"), "postgres")?;
                Ok(Self {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    pg_name: Some(name),
                    file: None,
                })
            }
            "sqlite" => {
                let dir = std::path::absolute(out).map_err(|e| e.to_string())?;
                let file = dir.join(format!("bench-{}.db", std::process::id()));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
                Ok(Self {
                    url: format!("sqlite://{}", file.display()),
                    pg_name: None,
                    file: Some(file),
                })
            }
            other => Err(format!("unknown backend {other}")),
        }
    }

    fn is_postgres(&self) -> bool {
        self.pg_name.is_some()
    }

    fn drop_it(&self) {
        if let Some(name) = &self.pg_name {
            let _ = psql(
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                "postgres",
            );
        }
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

fn psql(sql: &str, db: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-d", db])
        .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

// ---- grantd ---------------------------------------------------------------------------

fn grantd(o: &Options, db: &Database) -> Command {
    let mut c = Command::new(&o.grantd);
    c.env("GRANTD_DATABASE__URL", &db.url)
        .env("GRANTD_LOG__LEVEL", "warn")
        .env("RUST_LOG", "warn");
    c
}

fn cli(o: &Options, db: &Database, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    cli_with(grantd(o, db), args, stdin)
}

fn cli_with(mut c: Command, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = c
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("grantd {args:?}: {e}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let _ = pipe.write_all(text.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "grantd {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn client(o: &Options, db: &Database, args: &[&str]) -> Result<(String, String), String> {
    let out = cli(o, db, &[&["client", "create"], args].concat(), None)?;
    let v: Value = serde_json::from_str(out.trim()).map_err(|e| format!("client create: {e}"))?;
    Ok((
        v["client_id"].as_str().unwrap_or_default().to_owned(),
        v["client_secret"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// Clients at the production bcrypt cost; a user at the production password cost for the
/// password scenario, and a seed user at cost 4 whose only job is to start token chains
/// (the password grant is the one way to get a first refresh token).
fn provision(o: &Options, db: &Database) -> Result<Credentials, String> {
    cli(o, db, &["migrate"], None)?;
    let rt = ["--grant-type", "password", "--grant-type", "refresh_token"];
    let scope = ["--scope", "read write"];
    let (confidential_id, confidential_secret) = client(
        o,
        db,
        &[&["--name", "bench confidential"], &rt[..], &scope[..]].concat(),
    )?;
    let (public_id, _) = client(
        o,
        db,
        &[&["--name", "bench public", "--public"], &rt[..], &scope[..]].concat(),
    )?;
    let (introspector_id, introspector_secret) = client(
        o,
        db,
        &[
            "--name",
            "bench resource server",
            "--grant-type",
            "client_credentials",
            "--introspect",
        ],
    )?;
    cli(
        o,
        db,
        &["user", "create", "--username", "bench", "--password-stdin"],
        Some("bench-password\n"),
    )?;
    let mut seed = grantd(o, db);
    seed.env("GRANTD_SECURITY__PASSWORD_BCRYPT_COST", "4");
    cli_with(
        seed,
        &["user", "create", "--username", "seed", "--password-stdin"],
        Some("seed-password\n"),
    )?;
    Ok(Credentials {
        confidential_id,
        confidential_secret,
        public_id,
        introspector_id,
        introspector_secret,
        username: "bench".into(),
        password: "bench-password".into(),
        seed_username: "seed".into(),
        seed_password: "seed-password".into(),
    })
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(o: &Options, db: &Database, rotate: bool) -> Result<Self, String> {
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
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
fn rss(pid: u32) -> (u64, u64) {
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
fn cpu_secs(pid: u32) -> f64 {
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

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu,
        "memory": mem,
        "note": "grantd, Postgres and the load generator share these cores",
    })
}

// ---- pgbench --------------------------------------------------------------------------

const PGBENCH_ROWS: u32 = 300_000;

/// Scratch tables shaped like grantd's (same columns, keys, checks and foreign keys), in
/// the bench database, with live refresh tokens to consume.
fn pgbench_setup(db: &Database) -> Result<(), String> {
    let name = db.pg_name.as_deref().unwrap_or("postgres");
    psql(
        &format!(
            "CREATE TABLE bench_grants (LIKE grants INCLUDING ALL);
             CREATE TABLE bench_refresh (LIKE refresh_tokens INCLUDING ALL,
                 FOREIGN KEY (grant_id) REFERENCES bench_grants (id) ON DELETE CASCADE);
             CREATE TABLE bench_access (LIKE access_tokens INCLUDING ALL,
                 FOREIGN KEY (grant_id) REFERENCES bench_grants (id) ON DELETE CASCADE);
             INSERT INTO bench_grants (id, client_id, scope, created_at)
                 SELECT 'g' || i, 'c', 'read write', 1 FROM generate_series(0, 999) i;
             INSERT INTO bench_refresh (token_hash, grant_id, issued_at, expires_at)
                 SELECT sha256(int8send(i)), 'g' || (i % 1000), 1, 4000000000
                 FROM generate_series(1, {PGBENCH_ROWS}) i;"
        ),
        name,
    )?;
    for table in ["bench_grants", "bench_refresh", "bench_access"] {
        psql(&format!("VACUUM ANALYZE {table}"), name)?;
    }
    Ok(())
}

/// One rotation, as grantd does it: consume by hash (joined with the grant) in one
/// conditional update, insert the access token and the successor, commit.
const PGBENCH_SCRIPT: &str = "\
\\set id random(1, 300000)
\\set n random(1, 9000000000000000000)
BEGIN;
UPDATE bench_refresh SET consumed_at = 2 FROM bench_grants WHERE bench_refresh.token_hash = sha256(int8send(:id::bigint)) AND bench_refresh.consumed_at IS NULL AND bench_grants.id = bench_refresh.grant_id RETURNING bench_refresh.grant_id, bench_grants.client_id, bench_grants.scope, bench_grants.revoked_at;
INSERT INTO bench_access (token_hash, grant_id, scope, issued_at, expires_at) VALUES (sha256(int8send(:n::bigint)), 'g1', 'read write', 2, 3602);
INSERT INTO bench_refresh (token_hash, grant_id, issued_at, expires_at) VALUES (sha256(int8send(-(:n::bigint))), 'g1', 2, 4000000000);
END;
";

fn pgbench(o: &Options, db: &Database, c: usize) -> Result<PgbenchCell, String> {
    let script = o.out.join("rotation.pgbench.sql");
    std::fs::write(&script, PGBENCH_SCRIPT).map_err(|e| e.to_string())?;
    let name = db.pg_name.as_deref().unwrap_or("postgres");
    let threads = c.min(2);
    let out = Command::new(&o.pgbench)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-U",
            "postgres",
            "-n",
            "-M",
            "prepared",
        ])
        .args(["-c", &c.to_string(), "-j", &threads.to_string()])
        .args(["-T", &format!("{}", o.duration.ceil() as u64)])
        .arg("-f")
        .arg(&script)
        .arg(name)
        .output()
        .map_err(|e| format!("pgbench: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let number_after = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l[prefix.len()..].split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok(PgbenchCell {
        concurrency: c,
        tps: number_after("tps = "),
        latency_avg_ms: number_after("latency average = "),
    })
}
