//! The report: one `Cell` per measurement, the machine it ran on, the targets as
//! ratios; written as `report.json` (its format is read by people and scripts: keep its
//! field names), drawn as `chart.svg`, and printed as a table.

use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

use crate::chart;
use crate::growth::Growth;
use crate::load::{CellResult, Scenario};
use crate::pgbench::PgbenchCell;

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub backend: String,
    pub scenario: String,
    pub concurrency: usize,
    #[serde(flatten)]
    pub result: CellResult,
    /// grantd's VmHWM after this cell (the process's peak so far), KiB.
    pub peak_rss_kib: u64,
    /// grantd's user+system CPU seconds per 1000 successful requests in this cell.
    pub cpu_secs_per_1000: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub machine: Value,
    pub duration_secs: f64,
    /// grantd's `server.blocking_work` in this run.
    pub blocking_work: String,
    pub cells: Vec<Cell>,
    pub pgbench: Vec<PgbenchCell>,
    pub idle_rss_kib: Vec<Value>,
    /// Postgres as the tables grow, and a prune under load.
    pub growth: Growth,
    pub ratios: Value,
}

impl Report {
    /// An empty report for a run of `duration_secs` per cell, on this machine.
    pub fn new(duration_secs: f64, blocking_work: &str) -> Self {
        Report {
            machine: machine(),
            duration_secs,
            blocking_work: blocking_work.to_owned(),
            ..Report::default()
        }
    }
}

/// Computes the ratios, writes `report.json` and `chart.svg` into `out`, and prints the
/// summary table.
pub fn publish(out: &Path, mut report: Report) -> Result<(), String> {
    report.ratios = ratios(&report);
    let path = out.join("report.json");
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    chart::draw(&out.join("chart.svg"), &report.cells, &report.pgbench)?;
    print_summary(&report);
    println!(
        "wrote {} and {}",
        path.display(),
        out.join("chart.svg").display()
    );
    Ok(())
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
    let pg_one = r
        .pgbench
        .iter()
        .find(|p| p.concurrency == c)
        .map(|p| p.one_statement_tps);
    let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let conf = rps("postgres", Scenario::RefreshRotateConfidential);
    json!({
        "concurrency": c,
        "pg_refresh_confidential_over_pgbench": div(conf, pg),
        "pg_refresh_confidential_over_pgbench_one_statement": div(conf, pg_one),
        "pg_refresh_confidential_p99_ms": find(r, "postgres", Scenario::RefreshRotateConfidential, c).map(|x| x.result.p99_us as f64 / 1000.0),
        "pg_refresh_confidential_errors": find(r, "postgres", Scenario::RefreshRotateConfidential, c).map(|x| x.result.errors),
        "pg_confidential_over_public": div(conf, rps("postgres", Scenario::RefreshRotatePublic)),
        "pg_api_me_over_refresh": div(rps("postgres", Scenario::ApiMe), conf),
        "sqlite_refresh_over_pg_refresh": div(rps("sqlite", Scenario::RefreshRotateConfidential), conf),
        "peak_rss_kib_max": r.cells.iter().map(|x| x.peak_rss_kib).max(),
        "idle_rss_kib_max": r.idle_rss_kib.iter().filter_map(|v| v["kib"].as_u64()).max(),
        "growth": growth_ratios(&r.growth),
    })
}

/// At the largest seeded size against the bench database before seeding, per scenario;
/// and refresh during the prune against refresh just before it.
fn growth_ratios(g: &Growth) -> Value {
    let largest = g.cells.iter().map(|c| c.seeded_grants).max().unwrap_or(0);
    let rps = |seeded: u64, scenario: Scenario| {
        g.cells
            .iter()
            .find(|c| c.seeded_grants == seeded && c.scenario == scenario.name())
            .map(|c| c.result.requests_per_sec)
    };
    let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    let refresh = Scenario::RefreshRotateConfidential;
    json!({
        "largest_seeded_grants": largest,
        "refresh_at_largest_over_unseeded": div(rps(largest, refresh), rps(0, refresh)),
        "api_me_at_largest_over_unseeded": div(rps(largest, Scenario::ApiMe), rps(0, Scenario::ApiMe)),
        "refresh_during_prune_over_without": g.prune.as_ref().map(|p| p.during.requests_per_sec / p.without.requests_per_sec.max(f64::MIN_POSITIVE)),
        "mib_per_million_grants": g.sizes.iter().filter(|s| s.grants == largest).map(|s| s.mib_per_million_grants).sum::<f64>(),
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
        println!(
            "pgbench  rotation one statement         {:>4} {:>9.0} tps (avg {:.2} ms)",
            p.concurrency, p.one_statement_tps, p.one_statement_latency_avg_ms
        );
    }
    for x in &r.growth.cells {
        println!(
            "growth   {:<30} {:>4} {:>9.0} req/s p99 {:.2} ms, {} seeded grants, {} errors",
            x.scenario,
            x.concurrency,
            x.result.requests_per_sec,
            x.result.p99_us as f64 / 1000.0,
            x.seeded_grants,
            x.result.errors
        );
    }
    for s in &r.growth.sizes {
        println!(
            "size     {:<16} {:>10} grants: table {:.0} MiB, indexes {:.0} MiB, {:.0} MiB per million grants",
            s.table,
            s.grants,
            s.table_bytes as f64 / 1_048_576.0,
            s.index_bytes as f64 / 1_048_576.0,
            s.mib_per_million_grants
        );
    }
    if let Some(p) = &r.growth.prune {
        println!(
            "prune    {} rows in {:.1} s (pause {}) beside refresh, {} cells: {:.0} req/s (p99 {:.2} ms) against {:.0} req/s without",
            p.rows_deleted,
            p.prune_secs,
            p.pause_percent
                .map_or("grantd's default".to_owned(), |p| format!("{p} %")),
            p.during_cells,
            p.during.requests_per_sec,
            p.during.p99_us as f64 / 1000.0,
            p.without.requests_per_sec
        );
    }
    println!(
        "ratios: {}",
        serde_json::to_string_pretty(&r.ratios).unwrap_or_default()
    );
}
