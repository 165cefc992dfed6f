//! Bulk seeding of the Postgres bench database, straight in SQL (never over HTTP): live
//! grants with their tokens, to measure how the request path's cost grows with the tables,
//! and ended grants, to measure a prune running beside the load. Also the sizes of the
//! token tables and their indexes.

use serde::Serialize;

use crate::db::{psql, Database};

/// Rows inserted per statement: each chunk commits on its own, so the WAL and the lock
/// table stay small however many millions are seeded.
const CHUNK: u64 = 500_000;

/// The grant, refresh token and access token rows of seeded grant `i`, shaped as grantd
/// writes them: random-looking 32-byte hashes (so the primary-key indexes are filled in
/// random order, as real tokens fill them), the bench's confidential client and seed user.
/// `{lo}`, `{hi}`, `{created}`, `{cap}`, `{token_end}` and `{tag}` are integers and a fixed
/// tag we format ourselves; no input reaches this SQL.
const SEED_CHUNK: &str = "\
BEGIN;
INSERT INTO grants (id, client_id, user_id, username, scope, created_at, expires_at)
    SELECT '{tag}' || i, c.id, u.id, u.username, 'read write', {created}, {cap}
    FROM generate_series({lo}, {hi}) AS i,
         (SELECT id FROM clients WHERE name = 'bench confidential') AS c,
         (SELECT id, username FROM users WHERE username = 'seed') AS u;
INSERT INTO refresh_tokens (token_hash, grant_id, issued_at, expires_at)
    SELECT sha256(('r{tag}' || i)::bytea), '{tag}' || i, {created}, {token_end}
    FROM generate_series({lo}, {hi}) AS i;
INSERT INTO access_tokens (token_hash, grant_id, scope, issued_at, expires_at)
    SELECT sha256(('a{tag}' || i)::bytea), '{tag}' || i, 'read write', {created}, {token_end}
    FROM generate_series({lo}, {hi}) AS i;
COMMIT;";

/// Which kind of grant to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seeded {
    /// Alive for a month: a refresh token for two weeks, an access token for an hour.
    Live,
    /// Ended an hour ago (absolute cap and every token expired): what `grantd prune`
    /// deletes. Each counts three rows (grant, refresh token, access token).
    Ended,
}

/// Seeds grants `from..to` (ids are per kind, so the live grants can grow from 1 million
/// to 10 million in a second call) in chunks of [`CHUNK`], then refreshes the planner's
/// statistics as autovacuum would after such a load.
pub fn seed(db: &Database, kind: Seeded, from: u64, to: u64) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs() as i64;
    let (tag, created, cap, token_end) = match kind {
        Seeded::Live => (
            "seed-live-",
            now - 600,
            now + 30 * 86_400,
            now + 14 * 86_400,
        ),
        Seeded::Ended => ("seed-ended-", now - 7_200, now - 3_600, now - 3_600),
    };
    let mut lo = from;
    while lo < to {
        let hi = (lo + CHUNK).min(to) - 1;
        let sql = SEED_CHUNK
            .replace("{tag}", tag)
            .replace("{lo}", &lo.to_string())
            .replace("{hi}", &hi.to_string())
            .replace("{created}", &created.to_string())
            .replace("{cap}", &cap.to_string())
            .replace("{token_end}", &token_end.to_string());
        psql(&sql, db.pg_name())?;
        lo = hi + 1;
    }
    psql(
        "VACUUM ANALYZE grants, refresh_tokens, access_tokens",
        db.pg_name(),
    )?;
    // Write the seeding's dirty pages now, so that the cells after it measure the steady
    // state and not the checkpoint that would otherwise run during them.
    psql("CHECKPOINT", db.pg_name())?;
    Ok(())
}

/// One table's size on disk, as written to report.json.
#[derive(Debug, Clone, Serialize)]
pub struct TableSize {
    pub table: String,
    /// Live grants in the database when measured.
    pub grants: u64,
    /// The heap (with its TOAST), bytes.
    pub table_bytes: u64,
    /// Every index of the table, bytes.
    pub index_bytes: u64,
    /// (table + indexes) per million grants, MiB.
    pub mib_per_million_grants: f64,
}

/// The token tables' sizes with `grants` live grants in the database.
pub fn sizes(db: &Database, grants: u64) -> Result<Vec<TableSize>, String> {
    let out = psql(
        "SELECT relname, pg_table_size(oid), pg_indexes_size(oid) FROM pg_class \
         WHERE relname IN ('grants', 'refresh_tokens', 'access_tokens') ORDER BY relname",
        db.pg_name(),
    )?;
    out.lines()
        .map(|line| {
            let mut fields = line.split('|');
            let mut next = || fields.next().ok_or(format!("unexpected size row {line}"));
            let table = next()?.to_owned();
            let table_bytes: u64 = next()?.parse().map_err(|_| format!("size of {table}"))?;
            let index_bytes: u64 = next()?.parse().map_err(|_| format!("size of {table}"))?;
            let per_million = (table_bytes + index_bytes) as f64
                / 1_048_576.0
                / (grants.max(1) as f64 / 1_000_000.0);
            Ok(TableSize {
                table,
                grants,
                table_bytes,
                index_bytes,
                mib_per_million_grants: per_million,
            })
        })
        .collect()
}
