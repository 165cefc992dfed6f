//! `FailureCounter` on [`Database`]: the brute-force counters in `auth_failures`, one row per
//! key, shared by every grantd process on the database. Counting is one upsert per key whose
//! increment happens inside the database, so concurrent failures (from any process) are
//! never lost; windows that have ended are left for the housekeeping prune, and read as
//! absent meanwhile.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary};
use grantd_ports::{FailureCounter, FailureKey, FailureWindow, StoreError, UnixTime};

use crate::pool::{db_read, db_write};
use crate::schema::auth_failures;
use crate::Database;

/// Counts one failure for `$1` at `$2`: a new window `[$2, $3)` with 1 if the key has no row
/// or its window has ended, else one more in the window it has. Both backends evaluate every
/// `SET` expression against the row as it was, and take the row's lock (Postgres) or the
/// database's write lock (SQLite) for the statement, so the read-modify-write is atomic.
const COUNT_ONE: &str = "INSERT INTO auth_failures (key_hash, window_start, expires_at, failures) \
     VALUES ($1, $2, $3, 1) \
     ON CONFLICT (key_hash) DO UPDATE SET \
       failures = CASE WHEN auth_failures.expires_at <= $2 THEN 1 \
                       ELSE auth_failures.failures + 1 END, \
       window_start = CASE WHEN auth_failures.expires_at <= $2 THEN $2 \
                           ELSE auth_failures.window_start END, \
       expires_at = CASE WHEN auth_failures.expires_at <= $2 THEN $3 \
                         ELSE auth_failures.expires_at END";

impl FailureCounter for Database {
    fn windows(
        &self,
        keys: &[FailureKey],
        now: UnixTime,
    ) -> Result<Vec<Option<FailureWindow>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<Vec<u8>> = keys.iter().map(|k| k.as_bytes().to_vec()).collect();
        let rows: Vec<(Vec<u8>, i64, i64)> = db_read!(self, |conn| Ok(auth_failures::table
            .filter(auth_failures::key_hash.eq_any(&wanted))
            .filter(auth_failures::expires_at.gt(now))
            .select((
                auth_failures::key_hash,
                auth_failures::failures,
                auth_failures::expires_at,
            ))
            .load(conn)?))?;
        Ok(keys
            .iter()
            .map(|key| {
                rows.iter()
                    .find(|(hash, _, _)| hash.as_slice() == key.as_bytes())
                    .map(|&(_, failures, expires_at)| FailureWindow {
                        failures: u32::try_from(failures.max(0)).unwrap_or(u32::MAX),
                        expires_at,
                    })
            })
            .collect())
    }

    fn record_failure(
        &self,
        keys: &[FailureKey],
        now: UnixTime,
        window_secs: i64,
    ) -> Result<(), StoreError> {
        // Sorted, so that two transactions counting overlapping keys lock them in the same
        // order and never deadlock; deduplicated, so that a key given twice counts once.
        let mut keys = keys.to_vec();
        keys.sort();
        keys.dedup();
        if keys.is_empty() {
            return Ok(());
        }
        let expires_at = now.saturating_add(window_secs.max(1));
        db_write!(self, |conn| {
            for key in &keys {
                diesel::sql_query(COUNT_ONE)
                    .bind::<Binary, _>(key.as_bytes().as_slice())
                    .bind::<BigInt, _>(now)
                    .bind::<BigInt, _>(expires_at)
                    .execute(conn)?;
            }
            Ok(())
        })
    }
}
