//! `Housekeeping` on [`Database`]: deleting what has expired, in small batches. Each
//! statement deletes at most `batch` rows and commits on its own, so a prune never holds
//! a lock that a token request waits on for long, and can run beside live traffic.

use diesel::sql_types::Text;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use grantd_ports::{Housekeeping, PruneReport, StoreError, UnixTime};

use crate::pool::db_run;
use crate::schema::grants;
use crate::Database;

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

impl Database {
    /// Runs one batched DELETE until a batch comes back short; returns the rows deleted.
    fn delete_in_batches(
        &self,
        template: &str,
        now: UnixTime,
        batch: u32,
    ) -> Result<u64, StoreError> {
        let sql = template
            .replace("{now}", &now.to_string())
            .replace("{batch}", &batch.to_string());
        let mut total = 0u64;
        loop {
            // One checkout per batch: between batches the connection goes back to the
            // pool, so requests are never starved by a long prune.
            let deleted = db_run!(self, |conn| Ok(diesel::sql_query(&sql).execute(conn)?))?;
            total += deleted as u64;
            if deleted < batch as usize {
                return Ok(total);
            }
        }
    }
}

impl Database {
    /// Walks the grants in id order, `batch` ids at a time, deleting the ended ones of each
    /// range in its own statement.
    fn prune_grants(&self, now: UnixTime, batch: u32) -> Result<u64, StoreError> {
        let sql = GRANTS_IN_RANGE.replace("{now}", &now.to_string());
        let mut after = String::new();
        let mut total = 0u64;
        loop {
            let ids: Vec<String> = db_run!(self, |conn| Ok(grants::table
                .select(grants::id)
                .filter(grants::id.gt(&after))
                .order(grants::id)
                .limit(i64::from(batch))
                .load::<String>(conn)?))?;
            let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
                return Ok(total);
            };
            let deleted = db_run!(self, |conn| Ok(diesel::sql_query(&sql)
                .bind::<Text, _>(first)
                .bind::<Text, _>(last)
                .execute(conn)?))?;
            total += deleted as u64;
            if ids.len() < batch as usize {
                return Ok(total);
            }
            after.clone_from(last);
        }
    }
}

impl Housekeeping for Database {
    fn prune(&self, now: UnixTime, batch: u32) -> Result<PruneReport, StoreError> {
        let batch = batch.max(1);
        let access_tokens = self.delete_in_batches(ACCESS_TOKENS, now, batch)?;
        let refresh_tokens = self.delete_in_batches(REFRESH_TOKENS, now, batch)?;
        let grants = self.prune_grants(now, batch)?;
        let authorization_codes = self.delete_in_batches(AUTHORIZATION_CODES, now, batch)?;
        let auth_failures = self.delete_in_batches(AUTH_FAILURES, now, batch)?;
        let dpop_jtis = self.delete_in_batches(DPOP_JTIS, now, batch)?;
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
