//! The command line: the orchestrator's flags (`Options`, with their defaults) and the
//! internal `load JSON` entry that runs one load cell in this process.

use std::path::PathBuf;

use crate::load::{self, LoadArgs};

const HELP: &str = "\
grantd-bench [--grantd PATH] [--duration SECS] [--concurrency 1,8,32,64]
             [--backends postgres,sqlite] [--out DIR] [--pgbench PATH]
             [--sizes 1000000,10000000] [--prune-grants 333334] [--quick]
             [--blocking-work workers|pool] [--prune-pause-percent N]
  --sizes         live grants bulk-seeded on Postgres, step by step, with refresh and
                  /api/me measured at each (0 or an empty list skips the sizes)
  --prune-grants  ended grants (3 rows each) seeded for a `grantd prune` run under load,
                  after the sizes (0 skips it)
  --blocking-work grantd's `server.blocking_work` (default workers: one HTTP worker per
                  pool connection, the store call on it; pool: tokio's blocking pool)
  --prune-pause-percent
                  the prune's `housekeeping.prune_pause_percent` (default: grantd's own)
  --quick         2 s cells at concurrency 32, sizes 100000, prune 33334 (a run < 3 min)
grantd-bench load JSON     (internal: one load cell; prints its result as JSON)
";

/// What the orchestrator runs, and where it writes.
#[derive(Debug, Clone)]
pub struct Options {
    pub grantd: PathBuf,
    pub duration: f64,
    pub concurrency: Vec<usize>,
    pub backends: Vec<String>,
    pub out: PathBuf,
    pub pgbench: PathBuf,
    /// Live grants to seed, in increasing steps (the growth phase, Postgres only).
    pub sizes: Vec<u64>,
    /// Ended grants to seed for the prune-under-load run; 0 skips it.
    pub prune_grants: u64,
    /// `server.blocking_work` of the grantd under test.
    pub blocking_work: String,
    /// `housekeeping.prune_pause_percent` of the prune under load; `None` keeps grantd's.
    pub prune_pause_percent: Option<u32>,
}

/// `grantd-bench load JSON`: one cell of load, its `CellResult` printed as JSON on stdout
/// for the orchestrator to read.
pub fn load_cell(json: &str) -> Result<(), String> {
    let args: LoadArgs = serde_json::from_str(json).map_err(|e| format!("load args: {e}"))?;
    let result = load::run(args)?;
    println!(
        "{}",
        serde_json::to_string(&result).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The orchestrator's flags; `--help` comes back as an `Err` so that it is printed and
/// the process exits non-zero, as any other misuse does.
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        grantd: PathBuf::from("target/release/grantd"),
        duration: 5.0,
        concurrency: vec![1, 8, 32, 64],
        backends: vec!["postgres".into(), "sqlite".into()],
        out: PathBuf::from("target/bench"),
        pgbench: PathBuf::from("/usr/lib/postgresql/15/bin/pgbench"),
        sizes: vec![1_000_000, 10_000_000],
        prune_grants: 333_334,
        blocking_work: "workers".into(),
        prune_pause_percent: None,
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
            "--sizes" => o.sizes = numbers(&value()?, "--sizes")?,
            "--prune-grants" => {
                o.prune_grants = value()?.parse().map_err(|_| "bad --prune-grants")?
            }
            "--blocking-work" => {
                o.blocking_work = value()?;
                if !["workers", "pool"].contains(&o.blocking_work.as_str()) {
                    return Err("--blocking-work is workers or pool".into());
                }
            }
            "--prune-pause-percent" => {
                o.prune_pause_percent =
                    Some(value()?.parse().map_err(|_| "bad --prune-pause-percent")?)
            }
            "--quick" => {
                o.duration = 2.0;
                o.concurrency = vec![32];
                o.sizes = vec![100_000];
                o.prune_grants = 33_334;
            }
            "-h" | "--help" => return Err(HELP.into()),
            other => return Err(format!("unknown argument {other}\n{HELP}")),
        }
    }
    if o.sizes.windows(2).any(|w| w[0] >= w[1]) {
        return Err("--sizes must increase".into());
    }
    Ok(o)
}

/// A comma-separated list of counts; zeros are dropped, so `--sizes 0` skips the phase.
fn numbers(list: &str, flag: &str) -> Result<Vec<u64>, String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(|n| n.parse::<u64>().map_err(|_| format!("bad {flag}")))
        .filter(|n| n != &Ok(0))
        .collect()
}
