//! The run: for each backend, a scratch database provisioned once, grantd started with
//! rotation on (then off) for the scenarios that need it, every scenario at every
//! concurrency as one cell in a separate load-generator process, then pgbench on Postgres.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::cli::Options;
use crate::db::Database;
use crate::growth;
use crate::load::{CellResult, Credentials, LoadArgs, Scenario};
use crate::pgbench;
use crate::provision::provision;
use crate::report::{Cell, Report};
use crate::server::{cpu_secs, rss, Server};

/// Scenarios run against a server that rotates refresh tokens.
const ROTATE_SCENARIOS: [Scenario; 5] = [
    Scenario::RefreshRotateConfidential,
    Scenario::RefreshRotatePublic,
    Scenario::ApiMe,
    Scenario::Introspect,
    Scenario::Password,
];

/// Scenarios run against a server restarted with rotation off (only for confidential
/// clients: a public client's refresh tokens rotate regardless, RFC 9700 §2.2.2).
const KEEP_SCENARIOS: [Scenario; 1] = [Scenario::RefreshKeepConfidential];

/// Measures every cell of every backend in `o`; the report comes back without its ratios.
pub fn run(o: &Options) -> Result<Report, String> {
    if !o.grantd.exists() {
        return Err(format!(
            "{} not found: build it with cargo build --release -p grantd-app",
            o.grantd.display()
        ));
    }
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let per_backend =
        (ROTATE_SCENARIOS.len() + KEEP_SCENARIOS.len()) * o.concurrency.len() + o.concurrency.len();
    let bar = ProgressBar::new((per_backend * o.backends.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
    );
    let mut report = Report::new(o.duration, &o.blocking_work);
    for backend in &o.backends {
        let db = Database::create(backend, &o.out)?;
        let result = run_backend(o, backend, &db, &bar, &mut report);
        db.drop_it();
        result?;
    }
    bar.finish_with_message("done");
    Ok(report)
}

/// One backend's cells (and pgbench on Postgres), on its freshly created database.
fn run_backend(
    o: &Options,
    backend: &str,
    db: &Database,
    bar: &ProgressBar,
    report: &mut Report,
) -> Result<(), String> {
    let creds = provision(o, db)?;
    for (rotate, scenarios) in [(true, &ROTATE_SCENARIOS[..]), (false, &KEEP_SCENARIOS[..])] {
        let server = Server::start(o, db, rotate)?;
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
                    backend: backend.to_owned(),
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
        growth::run(o, db, &creds, report)?;
        pgbench::setup(db)?;
        for &c in &o.concurrency {
            bar.set_message(format!("pgbench c={c}"));
            report.pgbench.push(pgbench::run(o, db, c)?);
            bar.inc(1);
        }
    } else {
        bar.inc(o.concurrency.len() as u64);
    }
    Ok(())
}

/// One cell in a child process (`grantd-bench load JSON`), so that the load generator's
/// CPU and memory never count as the orchestrator's, and each cell starts clean.
pub fn run_cell(
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
