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
    /// The same rotation as ONE statement in autocommit (`ONE_STATEMENT_SCRIPT`): what
    /// grantd's common path sends.
    pub one_statement_tps: f64,
    pub one_statement_latency_avg_ms: f64,
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

/// The same rotation as grantd's common path sends it: one data-modifying statement in
/// autocommit (the consuming update and both inserts in CTEs), one round trip.
const ONE_STATEMENT_SCRIPT: &str = "\
\\set id random(1, 300000)
\\set n random(1, 9000000000000000000)
WITH consumed AS (UPDATE bench_refresh SET consumed_at = 2, consumed_at_ms = 2000, successor_hash = sha256(int8send(-(:n::bigint))) FROM bench_grants WHERE bench_refresh.token_hash = sha256(int8send(:id::bigint)) AND bench_refresh.consumed_at IS NULL AND bench_refresh.expires_at > 2 AND bench_grants.id = bench_refresh.grant_id AND bench_grants.client_id = 'c' AND bench_grants.revoked_at IS NULL AND (bench_grants.expires_at IS NULL OR bench_grants.expires_at > 2) RETURNING bench_grants.id AS grant_id, bench_grants.scope AS scope), a AS (INSERT INTO bench_access (token_hash, grant_id, scope, issued_at, expires_at) SELECT sha256(int8send(:n::bigint)), grant_id, scope, 2, 3602 FROM consumed), s AS (INSERT INTO bench_refresh (token_hash, grant_id, issued_at, expires_at) SELECT sha256(int8send(-(:n::bigint))), grant_id, 2, 4000000000 FROM consumed) SELECT grant_id, scope FROM consumed;
";

/// pgbench at concurrency `c` for the run's duration, with both scripts.
pub fn run(o: &Options, db: &Database, c: usize) -> Result<PgbenchCell, String> {
    let (tps, latency_avg_ms) = run_script(o, db, c, "rotation", PGBENCH_SCRIPT)?;
    let (one_statement_tps, one_statement_latency_avg_ms) =
        run_script(o, db, c, "rotation-one-statement", ONE_STATEMENT_SCRIPT)?;
    Ok(PgbenchCell {
        concurrency: c,
        tps,
        latency_avg_ms,
        one_statement_tps,
        one_statement_latency_avg_ms,
    })
}

/// pgbench with `body` at concurrency `c` for the run's duration (rounded up to whole
/// seconds): (TPS, average latency in ms).
fn run_script(
    o: &Options,
    db: &Database,
    c: usize,
    name: &str,
    body: &str,
) -> Result<(f64, f64), String> {
    let script = o.out.join(format!("{name}.pgbench.sql"));
    std::fs::write(&script, body).map_err(|e| e.to_string())?;
    let name = db.pg_name();
    let threads = c.min(2);
    let out = Command::new(&o.pgbench)
        // The transport grantd uses to a loopback database (no TLS unless the server
        // requires it), so that the baseline pays what grantd pays.
        .env("PGSSLMODE", "allow")
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
    Ok((number_after("tps = "), number_after("latency average = ")))
}
