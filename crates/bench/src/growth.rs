//! Cost as the tables grow (Postgres): refresh and `/api/me` measured on the bench database
//! as it is, then after bulk-seeding live grants up to each size of `--sizes`, with the
//! token tables' sizes at each step; then a `grantd prune` of ended grants run beside the
//! refresh load, against the same load without it.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::Options;
use crate::db::Database;
use crate::load::{CellResult, Credentials, Scenario};
use crate::provision::grantd;
use crate::report::Report;
use crate::scenarios::run_cell;
use crate::seed::{self, Seeded, TableSize};
use crate::server::Server;

/// The concurrency of every growth cell (the figures are at 32 connections).
pub const CONCURRENCY: usize = 32;

/// The scenarios measured at each size.
const SCENARIOS: [Scenario; 2] = [Scenario::RefreshRotateConfidential, Scenario::ApiMe];

/// One measurement with `seeded_grants` bulk-seeded live grants in the database.
#[derive(Debug, Clone, Serialize)]
pub struct GrowthCell {
    pub seeded_grants: u64,
    pub scenario: String,
    pub concurrency: usize,
    #[serde(flatten)]
    pub result: CellResult,
}

/// The prune run beside the refresh load.
#[derive(Debug, Clone, Serialize)]
pub struct PruneRun {
    /// Live grants in the database while it ran.
    pub live_grants: u64,
    /// Ended grants seeded for it; each has a refresh and an access token (3 rows each).
    pub ended_grants: u64,
    /// Rows `grantd prune` reported deleted.
    pub rows_deleted: u64,
    /// How long the prune took, seconds.
    pub prune_secs: f64,
    /// Its `housekeeping.prune_pause_percent`; `None`: grantd's default.
    pub pause_percent: Option<u32>,
    /// The refresh load measured while the prune ran: short cells back to back from its
    /// start to its end, combined ([`CellResult::combine`]).
    pub during: CellResult,
    /// How many cells `during` combines.
    pub during_cells: usize,
    /// The same load just before, without a prune.
    pub without: CellResult,
}

/// Everything the growth phase measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Growth {
    pub cells: Vec<GrowthCell>,
    pub sizes: Vec<TableSize>,
    pub prune: Option<PruneRun>,
}

/// Runs the growth phase on `db` (Postgres, already provisioned); `--sizes` empty skips it.
pub fn run(
    o: &Options,
    db: &Database,
    creds: &Credentials,
    report: &mut Report,
) -> Result<(), String> {
    if o.sizes.is_empty() && o.prune_grants == 0 {
        return Ok(());
    }
    let server = Server::start(o, db, true)?;
    let result = measure(o, db, &server, creds, &mut report.growth);
    server.stop();
    result
}

fn measure(
    o: &Options,
    db: &Database,
    server: &Server,
    creds: &Credentials,
    growth: &mut Growth,
) -> Result<(), String> {
    let mut seeded = 0;
    let cells_at = |seeded: u64, growth: &mut Growth| -> Result<(), String> {
        for scenario in SCENARIOS {
            let result = run_cell(o, server.addr, scenario, CONCURRENCY, creds)?;
            growth.cells.push(GrowthCell {
                seeded_grants: seeded,
                scenario: scenario.name(),
                concurrency: CONCURRENCY,
                result,
            });
        }
        Ok(())
    };
    cells_at(0, growth)?;
    for &size in &o.sizes {
        let started = Instant::now();
        seed::seed(db, Seeded::Live, seeded, size)?;
        eprintln!(
            "seeded {} live grants in {:.0} s",
            size - seeded,
            started.elapsed().as_secs_f64()
        );
        seeded = size;
        growth.sizes.extend(seed::sizes(db, seeded)?);
        cells_at(seeded, growth)?;
    }
    if o.prune_grants > 0 {
        growth.prune = Some(prune_under_load(o, db, server, creds, seeded)?);
    }
    Ok(())
}

/// The cells measured during a prune are this long at most, so that the last one, which
/// may outlast the prune, adds little load measured without it.
const DURING_CELL_SECS: f64 = 2.0;

/// Seeds `--prune-grants` ended grants, measures refresh without a prune, then again with
/// `grantd prune` started together with the load, in short cells back to back until the
/// prune ends, so that the whole prune runs under load and is measured.
fn prune_under_load(
    o: &Options,
    db: &Database,
    server: &Server,
    creds: &Credentials,
    live: u64,
) -> Result<PruneRun, String> {
    seed::seed(db, Seeded::Ended, 0, o.prune_grants)?;
    let refresh = Scenario::RefreshRotateConfidential;
    let without = run_cell(o, server.addr, refresh, CONCURRENCY, creds)?;
    let mut prune = grantd(o, db);
    prune.arg("prune");
    if let Some(pause) = o.prune_pause_percent {
        prune.env(
            "GRANTD_HOUSEKEEPING__PRUNE_PAUSE_PERCENT",
            pause.to_string(),
        );
    }
    let started = Instant::now();
    let child = prune
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("grantd prune: {e}"))?;
    // The prune's end, timed where it happens rather than where a cell ends.
    let waiter = std::thread::spawn(move || {
        let out = child.wait_with_output();
        (out, started.elapsed().as_secs_f64())
    });
    let short = Options {
        duration: o.duration.min(DURING_CELL_SECS),
        ..o.clone()
    };
    let mut cells = Vec::new();
    while cells.is_empty() || !waiter.is_finished() {
        cells.push(run_cell(&short, server.addr, refresh, CONCURRENCY, creds)?);
    }
    let (out, prune_secs) = waiter.join().map_err(|_| "the prune's waiter panicked")?;
    let out = out.map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err("grantd prune failed".into());
    }
    // `grantd prune` prints its report as JSON: the number of rows per table.
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("prune report: {e}"))?;
    let rows_deleted = report
        .as_object()
        .map(|fields| fields.values().filter_map(|v| v.as_u64()).sum())
        .unwrap_or(0);
    std::thread::sleep(Duration::from_millis(200));
    Ok(PruneRun {
        live_grants: live,
        ended_grants: o.prune_grants,
        rows_deleted,
        prune_secs,
        pause_percent: o.prune_pause_percent,
        during_cells: cells.len(),
        during: CellResult::combine(&cells),
        without,
    })
}
