//! `DpopReplayStore` on [`Database`]: each accepted DPoP proof's `jti` hash in `dpop_jtis`,
//! shared by every grantd process on the database (RFC 9449 §11.1). Recording is one
//! conditional upsert, so of concurrent proofs with one `jti` exactly one is fresh.

use diesel::sql_types::{BigInt, Binary};
use diesel::RunQueryDsl;
use grantd_ports::{DpopReplayStore, StoreError, UnixTime};

use crate::pool::db_run;
use crate::Database;

/// Inserts `$1` until `$2`, or takes over a record of it that expired before `$3`; an
/// unexpired record makes the statement change nothing (zero rows). Both backends lock the
/// row (Postgres) or the database (SQLite) for the statement, so the check is atomic.
/// (SQLite numbers `$n` by first appearance, so they appear in order.)
const RECORD: &str = "INSERT INTO dpop_jtis (jti_hash, expires_at) VALUES ($1, $2) \
     ON CONFLICT (jti_hash) DO UPDATE SET expires_at = excluded.expires_at \
     WHERE dpop_jtis.expires_at < $3";

impl DpopReplayStore for Database {
    fn record_jti(
        &self,
        jti_hash: &[u8; 32],
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<bool, StoreError> {
        let changed = db_run!(self, |conn| Ok(diesel::sql_query(RECORD)
            .bind::<Binary, _>(jti_hash.as_slice())
            .bind::<BigInt, _>(expires_at)
            .bind::<BigInt, _>(now)
            .execute(conn)?))?;
        Ok(changed == 1)
    }
}
