//! `rotate_refresh`'s two modes on [`Database`]: `Consume` (find and consume a live
//! refresh token in one conditional update, decide, roll back on a decline) and `Keep`
//! (read, decide, insert). The decision is the domain's; this module only orders the
//! statements and refuses writes that contradict the declared mode.

use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::{RefreshDecision, RefreshIntent, RefreshWrite, RotateOutcome, UnixTime};

use super::state::RefreshStateQueries as _;
use super::{pg_rotate, refresh_state};
use crate::errors::Failure;
use crate::issuance::InsertIssued;
use crate::pool::Pool;
use crate::rows::{GrantRow, RefreshRow};
use crate::schema::{grants, refresh_tokens};
use crate::Database;

/// How a rotation finds and consumes a live refresh token in one step: a conditional
/// `UPDATE ... SET consumed_at = at WHERE token_hash = $1 AND consumed_at IS NULL` that
/// returns the token (its `consumed_at` now `at`) with its grant, or `None` when it
/// matched nothing (no such token, or already consumed).
trait ConsumeRefreshToken {
    fn consume_refresh_token(
        &mut self,
        hash: &[u8],
        at: UnixTime,
    ) -> Result<Option<(RefreshRow, GrantRow)>, Failure>;
}

impl ConsumeRefreshToken for PgConnection {
    /// One statement, one round trip: `UPDATE ... FROM grants ... RETURNING` both rows.
    fn consume_refresh_token(
        &mut self,
        hash: &[u8],
        at: UnixTime,
    ) -> Result<Option<(RefreshRow, GrantRow)>, Failure> {
        pg_rotate::consume_returning_grant(self, hash, at)
    }
}

impl ConsumeRefreshToken for SqliteConnection {
    /// SQLite's `RETURNING` cannot name the tables of `UPDATE ... FROM`, so the grant is a
    /// second statement; in-process, and under the immediate transaction's write lock.
    fn consume_refresh_token(
        &mut self,
        hash: &[u8],
        at: UnixTime,
    ) -> Result<Option<(RefreshRow, GrantRow)>, Failure> {
        let Some(token) = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(hash))
                .filter(refresh_tokens::consumed_at.is_null()),
        )
        .set(refresh_tokens::consumed_at.eq(Some(at)))
        .returning(RefreshRow::as_returning())
        .get_result::<RefreshRow>(self)
        .optional()?
        else {
            return Ok(None);
        };
        let grant = grants::table
            .find(token.grant_id())
            .select(GrantRow::as_select())
            .get_result::<GrantRow>(self)?;
        Ok(Some((token, grant)))
    }
}

/// Why a rotation's transaction ended without committing: the decision declined after the
/// consuming update (roll it back, answer `Declined`), or a real failure.
enum Rollback {
    Declined,
    Failed(Failure),
}

impl From<DieselError> for Rollback {
    fn from(error: DieselError) -> Self {
        Rollback::Failed(Failure::Query(error))
    }
}

impl From<Failure> for Rollback {
    fn from(failure: Failure) -> Self {
        Rollback::Failed(failure)
    }
}

/// As `db_write!`, for a body that may end in [`Rollback::Declined`]: that rolls the
/// transaction back and yields `Ok(RotateOutcome::Declined)`.
macro_rules! db_write_or_decline {
    ($db:expr, |$conn:ident| $body:expr) => {{
        fn settle(result: Result<RotateOutcome, Rollback>) -> Result<RotateOutcome, Failure> {
            match result {
                Ok(outcome) => Ok(outcome),
                Err(Rollback::Declined) => Ok(RotateOutcome::Declined),
                Err(Rollback::Failed(failure)) => Err(failure),
            }
        }
        match $db.pool() {
            Pool::Pg { pool, .. } => crate::pool::run(pool, |conn| {
                settle(conn.transaction::<_, Rollback, _>(|$conn| $body))
            }),
            // A savepoint in the writer's group: a `Rollback` undoes this body alone.
            Pool::Sqlite(pools) => pools
                .writer
                .run::<_, Rollback>(|$conn| $body)
                .and_then(|result| settle(result).map_err(grantd_ports::StoreError::from)),
        }
    }};
}

/// A write that contradicts the declared intent: a bug in the caller, never committed.
fn contradicts(write: &RefreshWrite, intent: RefreshIntent) -> bool {
    match intent {
        RefreshIntent::Consume { at } => !write.consume || write.access.issued_at != at,
        RefreshIntent::Keep => write.consume,
    }
}

const CONTRADICTS: Failure =
    Failure::Invariant("the refresh decision contradicts its declared intent");

impl Database {
    /// [`RefreshIntent::Consume`]: the conditional update finds and consumes the token in
    /// one statement; the decision runs on the token as it was; declining rolls back. Only
    /// when the update matches nothing does a read follow, to show the decision the
    /// consumed token (reuse, lost race, grace replay) or to answer `NotFound`.
    pub(super) fn consume_and_issue(
        &self,
        hash: &[u8],
        at: UnixTime,
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, grantd_ports::StoreError> {
        let intent = RefreshIntent::Consume { at };
        db_write_or_decline!(self, |conn| {
            // Twice at most: a concurrent rotation that rolled back between our update and
            // our read leaves the token live again, and the second update takes it.
            for _ in 0..2 {
                if let Some(rows) = conn.consume_refresh_token(hash, at)? {
                    // The decision sees the token as it was before this call's update.
                    let mut state = refresh_state(rows)?;
                    state.token.consumed_at = None;
                    let Some(write) = decide.decide(&state) else {
                        return Err(Rollback::Declined);
                    };
                    if contradicts(&write, intent) {
                        return Err(CONTRADICTS.into());
                    }
                    conn.insert_issued(None, &write.access, write.successor.as_ref())?;
                    // Last before the commit: the rotation's instant, its successor (RFC
                    // 9700 §4.14.2: "information about the relationship is retained") and,
                    // with a grace period, the response for a retry.
                    conn.record_consumption(hash, &write)?;
                    return Ok(RotateOutcome::Written);
                }
                let Some(state) = conn.read_refresh_state(hash)? else {
                    return Ok(RotateOutcome::NotFound);
                };
                if state.token.consumed_at.is_none() {
                    continue;
                }
                return match decide.decide(&state) {
                    None => Ok(RotateOutcome::Declined),
                    Some(_) => Err(Failure::Invariant(
                        "the refresh decision wrote for a consumed token",
                    )
                    .into()),
                };
            }
            Err(Failure::Invariant("a refresh token is neither consumable nor consumed").into())
        })
    }

    /// [`RefreshIntent::Keep`]: nothing is consumed, so nothing needs a lock: one read,
    /// the decision, the inserts.
    pub(super) fn read_and_issue(
        &self,
        hash: &[u8],
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, grantd_ports::StoreError> {
        db_write_or_decline!(self, |conn| {
            let Some(state) = conn.read_refresh_state(hash)? else {
                return Ok(RotateOutcome::NotFound);
            };
            let Some(write) = decide.decide(&state) else {
                return Err(Rollback::Declined);
            };
            if contradicts(&write, RefreshIntent::Keep) {
                return Err(CONTRADICTS.into());
            }
            conn.insert_issued(None, &write.access, write.successor.as_ref())?;
            Ok(RotateOutcome::Written)
        })
    }
}
