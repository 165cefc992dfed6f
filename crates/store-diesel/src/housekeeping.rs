//! `Housekeeping` on [`Database`]: deleting what has expired, in small batches. Each
//! statement deletes at most `batch` rows and commits on its own, so a prune never holds
//! a lock that a token request waits on for long, and can run beside live traffic; the
//! pace's pause after each statement leaves the database's time to that traffic.

use std::time::Instant;

use diesel::sql_types::Text;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use grantd_ports::{Housekeeping, PrunePace, PruneReport, StoreError, UnixTime};

use crate::pool::db_run;
use crate::schema::grants;
use crate::Database;

/// Runs one prune statement in its own transaction. On Postgres that transaction commits
/// with `synchronous_commit = off` (`SET LOCAL`: this transaction only, never the pooled
/// session): it does not wait for its WAL flush, nor for a synchronous standby, so the
/// prune adds no commit waits beside the token requests'. A crash may undo the last
/// deletions, and the next prune repeats them: nothing it deletes is still usable. On
/// SQLite the statement is one write of the writer's group, which commits as every write does.
macro_rules! db_prune {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pool() {
            $crate::pool::Pool::Pg { pool, .. } => $crate::pool::run(pool, |conn| {
                ::diesel::Connection::transaction::<_, $crate::errors::Failure, _>(conn, |$conn| {
                    ::diesel::RunQueryDsl::execute(
                        ::diesel::sql_query("SET LOCAL synchronous_commit = off"),
                        $conn,
                    )?;
                    $body
                })
            }),
            $crate::pool::Pool::Sqlite(pools) => {
                $crate::pool::write_sqlite(&pools.writer, |$conn| $body)
            }
        }
    };
}

/// The statements, in order: tokens first (cheap, by their `expires_at` index), then the
/// grants that have ended (with whatever they still own, by cascade), then the codes whose
/// redemption no longer guards a grant, then the brute-force counters whose window ended. `{now}` and `{batch}` are integers we format
/// ourselves (no input reaches this SQL); both backends accept every statement.
const ACCESS_TOKENS: &str = "DELETE FROM access_tokens WHERE token_hash IN \
     (SELECT token_hash FROM access_tokens WHERE expires_at < {now} LIMIT {batch})";

/// A consumed refresh token is the reuse-detection record: it stays until its grant ends.
const REFRESH_TOKENS: &str = "DELETE FROM refresh_tokens WHERE token_hash IN \
     (SELECT token_hash FROM refresh_tokens \
      WHERE expires_at < {now} AND consumed_at IS NULL LIMIT {batch})";

/// A grant has ended when its absolute expiry has passed, or when nothing of it can be
/// used any more: no unconsumed refresh token and no access token still unexpired (a
/// revoked grant stays until then, so that its tokens keep answering "revoked").
///
/// Most grants are alive, so finding the ended ones means looking at every grant: the
/// statement covers one key range (`$1..=$2`, at most `batch` grants, walked in id order by
/// [`Database::prune_grants`]) so that each statement's work stays small however large the
/// table grows, instead of rescanning it from the start for every batch.
const GRANTS_IN_RANGE: &str = "DELETE FROM grants WHERE id >= $1 AND id <= $2 AND ( \
        (expires_at IS NOT NULL AND expires_at < {now}) \
        OR (NOT EXISTS (SELECT 1 FROM refresh_tokens r \
                        WHERE r.grant_id = grants.id AND r.consumed_at IS NULL \
                          AND r.expires_at >= {now}) \
            AND NOT EXISTS (SELECT 1 FROM access_tokens a \
                            WHERE a.grant_id = grants.id AND a.expires_at >= {now})))";

/// An expired code goes once it cannot guard anything: never redeemed, or the grant its
/// exchange created is gone (a redeemed code's reuse revokes that grant, RFC 6749 §4.1.2).
const AUTHORIZATION_CODES: &str = "DELETE FROM authorization_codes WHERE code_hash IN \
     (SELECT c.code_hash FROM authorization_codes c WHERE c.expires_at < {now} \
        AND (c.redeemed_at IS NULL OR c.grant_id IS NULL \
             OR NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = c.grant_id)) \
      LIMIT {batch})";

/// A brute-force counter whose window has ended counts nothing any more.
const AUTH_FAILURES: &str = "DELETE FROM auth_failures WHERE key_hash IN \
     (SELECT key_hash FROM auth_failures WHERE expires_at <= {now} LIMIT {batch})";

/// A proof's `jti` need only be remembered while a proof with that `iat` is acceptable.
const DPOP_JTIS: &str = "DELETE FROM dpop_jtis WHERE jti_hash IN \
     (SELECT jti_hash FROM dpop_jtis WHERE expires_at < {now} LIMIT {batch})";

/// Runs `statement` (one checkout, one short transaction), then pauses as the pace asks.
/// Between statements the connection is back in the pool, so requests are never starved
/// by a long prune.
fn paced<T>(
    pace: PrunePace,
    statement: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let value = statement()?;
    let pause = pace.pause_after(started.elapsed());
    if !pause.is_zero() {
        std::thread::sleep(pause);
    }
    Ok(value)
}

impl Database {
    /// Runs one batched DELETE until a batch comes back short; returns the rows deleted.
    fn delete_in_batches(
        &self,
        template: &str,
        now: UnixTime,
        pace: PrunePace,
    ) -> Result<u64, StoreError> {
        let sql = template
            .replace("{now}", &now.to_string())
            .replace("{batch}", &pace.batch.to_string());
        let mut total = 0u64;
        loop {
            let deleted = paced(pace, || {
                db_prune!(self, |conn| Ok(diesel::sql_query(&sql).execute(conn)?))
            })?;
            total += deleted as u64;
            if deleted < pace.batch as usize {
                return Ok(total);
            }
        }
    }
}

impl Database {
    /// Walks the grants in id order, `batch` ids at a time, deleting the ended ones of each
    /// range in its own statement.
    fn prune_grants(&self, now: UnixTime, pace: PrunePace) -> Result<u64, StoreError> {
        let sql = GRANTS_IN_RANGE.replace("{now}", &now.to_string());
        let mut after = String::new();
        let mut total = 0u64;
        loop {
            let ids: Vec<String> = db_run!(self, |conn| Ok(grants::table
                .select(grants::id)
                .filter(grants::id.gt(&after))
                .order(grants::id)
                .limit(i64::from(pace.batch))
                .load::<String>(conn)?))?;
            let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
                return Ok(total);
            };
            let deleted = paced(pace, || {
                db_prune!(self, |conn| Ok(diesel::sql_query(&sql)
                    .bind::<Text, _>(first)
                    .bind::<Text, _>(last)
                    .execute(conn)?))
            })?;
            total += deleted as u64;
            if ids.len() < pace.batch as usize {
                return Ok(total);
            }
            after.clone_from(last);
        }
    }
}

impl Housekeeping for Database {
    fn prune(&self, now: UnixTime, pace: PrunePace) -> Result<PruneReport, StoreError> {
        let pace = PrunePace {
            batch: pace.batch.max(1),
            ..pace
        };
        let access_tokens = self.delete_in_batches(ACCESS_TOKENS, now, pace)?;
        let refresh_tokens = self.delete_in_batches(REFRESH_TOKENS, now, pace)?;
        let grants = self.prune_grants(now, pace)?;
        let authorization_codes = self.delete_in_batches(AUTHORIZATION_CODES, now, pace)?;
        let auth_failures = self.delete_in_batches(AUTH_FAILURES, now, pace)?;
        let dpop_jtis = self.delete_in_batches(DPOP_JTIS, now, pace)?;
        let report = PruneReport {
            grants,
            access_tokens,
            refresh_tokens,
            authorization_codes,
            auth_failures,
            dpop_jtis,
        };
        tracing::debug!(?report, "pruned expired rows");
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::sql_types::Text;
    use diesel::{QueryableByName, RunQueryDsl};
    use grantd_ports::{Housekeeping, PrunePace};

    use crate::pool::db_run;
    use crate::{Database, DbOptions};

    #[derive(QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        synchronous_commit: String,
    }

    /// The prune's relaxed commit is its own: the pooled session it ran on (the only one,
    /// here) still syncs every token request's commit.
    #[test]
    fn the_prune_leaves_its_pooled_session_committing_synchronously() {
        let test_db = grantd_testkit::database::postgres();
        // testkit's own `DbOptions` is another build of this crate's type.
        let options = DbOptions {
            pool_size: 1,
            ..DbOptions::default()
        };
        let db = Database::connect(test_db.url(), &options).unwrap();
        db.prune(0, PrunePace::unpaced(10)).unwrap();
        let setting: Setting = db_run!(&db, |conn| Ok(diesel::sql_query(
            "SHOW synchronous_commit"
        )
        .get_result(conn)?))
        .unwrap();
        assert_eq!(setting.synchronous_commit, "on");
    }
}
