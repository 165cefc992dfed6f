//! `grantd-bench`: the orchestrator behind `cargo xtask bench`, and (`grantd-bench load`)
//! the load generator it spawns as a separate process for each cell.
//!
//! For each backend (a fresh Postgres database on 127.0.0.1:5432, then a fresh SQLite
//! file): provision clients and users with the grantd CLI, start the release grantd
//! (rotation on, then off), run every scenario at every concurrency for a fixed time,
//! read grantd's RSS and CPU from /proc, and on Postgres run pgbench with the minimal SQL
//! of one rotation at the same concurrency. Writes `report.json` and `chart.svg`.
//!
//! This file only wires the modules: `cli` (arguments), `db` (the scratch database),
//! `provision` (clients and users through the grantd CLI), `server` (the grantd process and
//! its /proc figures), `scenarios` (the run over backends, scenarios and concurrencies),
//! `load` (the load generator), `pgbench` (the SQL baseline), `growth` (the size and prune scenarios, on tables
//! bulk-filled by `seed`), `report` (report.json and the summary) and `chart` (chart.svg).

mod chart;
mod cli;
mod db;
mod growth;
mod load;
mod pgbench;
mod provision;
mod report;
mod scenarios;
mod seed;
mod server;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("load") {
        cli::load_cell(args.get(1).map(String::as_str).unwrap_or(""))
    } else {
        cli::parse(&args).and_then(|o| {
            let report = scenarios::run(&o)?;
            report::publish(&o.out, report)
        })
    };
    if let Err(e) = result {
        eprintln!("grantd-bench: {e}");
        std::process::exit(1);
    }
}
