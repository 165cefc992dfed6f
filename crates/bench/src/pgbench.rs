//! The SQL baseline: scratch tables shaped like grantd's in the bench's Postgres database,
//! and pgbench running the minimal SQL of one rotation at each concurrency.

use std::process::Command;

use serde::Serialize;

use crate::cli::Options;
use crate::db::{psql, Database};

/// One pgbench run, as written to report.json.
#[derive(Debug, Clone, Serialize)]
pub struct PgbenchCell {
    pub concurrency: usize,
    pub tps: f64,
    pub latency_avg_ms: f64,
}

const PGBENCH_ROWS: u32 = 300_000;

/// Scratch tables shaped like grantd's (same columns, keys, checks and foreign keys), in
/// the bench database, with live refresh tokens to consume.
pub fn setup(db: &Database) -> Result<(), String> {
    let name = db.pg_name();
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

/// pgbench at concurrency `c` for the run's duration (rounded up to whole seconds).
pub fn run(o: &Options, db: &Database, c: usize) -> Result<PgbenchCell, String> {
    let script = o.out.join("rotation.pgbench.sql");
    std::fs::write(&script, PGBENCH_SCRIPT).map_err(|e| e.to_string())?;
    let name = db.pg_name();
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
