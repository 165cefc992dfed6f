//! `TokenStore` on [`Database`]: grants and their access and refresh tokens (hashes only),
//! and the one atomic operation of the refresh flow, `rotate_refresh`.
//!
//! Revocation is by family: a token lookup returns the token with its grant, and revoking
//! the grant (one UPDATE of one row) revokes every token derived from it; the domain checks
//! `grant.revoked_at`.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::{
    AccessTokenState, ClientId, GrantId, Issuance, RefreshDecision, RefreshIntent,
    RefreshTokenState, RefreshWrite, RotateOutcome, StoreError, TokenHash, TokenStore, UnixTime,
    UserId,
};

use crate::errors::Failure;
use crate::pool::{db_run, db_write, Pool};
use crate::rows::{AccessRow, GrantRow, RefreshRow};
use crate::schema::{access_tokens, grants, refresh_tokens};
use crate::Database;

/// The refresh token with this hash joined with its grant, as `Option<(RefreshRow,
/// GrantRow)>`: one query, shared by the lookup and the rotation.
macro_rules! select_refresh_state {
    ($conn:expr, $hash:expr) => {
        refresh_tokens::table
            .inner_join(grants::table)
            .filter(refresh_tokens::token_hash.eq($hash))
            .select((RefreshRow::as_select(), GrantRow::as_select()))
            .first::<(RefreshRow, GrantRow)>($conn)
            .optional()
    };
}

fn refresh_state(rows: (RefreshRow, GrantRow)) -> Result<RefreshTokenState, Failure> {
    Ok(RefreshTokenState {
        token: rows.0.into_record()?,
        grant: rows.1.into_record()?,
    })
}

/// How a rotation holds the presented refresh token still until its transaction ends, so
/// that concurrent rotations of one token take turns and each sees the previous one's
/// writes. Returns whether the token exists.
trait PinRefreshToken {
    fn pin_refresh_token(&mut self, hash: &[u8]) -> Result<bool, Failure>;
}

impl PinRefreshToken for PgConnection {
    /// `SELECT ... FOR UPDATE` of the token's row alone. This is `FOR UPDATE OF
    /// refresh_tokens` on the join (diesel's DSL has no `OF`): a second rotation of the same
    /// token blocks here until the first commits, then reads its writes (READ COMMITTED
    /// takes a new snapshot per statement), while the grant's row stays free for a
    /// concurrent revocation.
    fn pin_refresh_token(&mut self, hash: &[u8]) -> Result<bool, Failure> {
        let found = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(hash))
            .select(refresh_tokens::token_hash)
            .for_update()
            .first::<Vec<u8>>(self)
            .optional()?;
        Ok(found.is_some())
    }
}

impl PinRefreshToken for SqliteConnection {
    /// Nothing to lock: the rotation runs in an immediate transaction, which holds SQLite's
    /// single write lock from its first statement, so every writer already waits its turn.
    fn pin_refresh_token(&mut self, _hash: &[u8]) -> Result<bool, Failure> {
        Ok(true)
    }
}

/// How a rotation finds and consumes a live refresh token in one step: a conditional
/// `UPDATE ... SET consumed_at = at WHERE token_hash = $1 AND consumed_at IS NULL` that
/// returns the token (as it was: `consumed_at` NULL) with its grant, or `None` when it
/// matched nothing (no such token, or already consumed). On Postgres a concurrent
/// rotation of the same token blocks on the row lock the update takes, then re-checks
/// `consumed_at IS NULL` against the committed row, so exactly one wins.
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
        Ok(ConsumeReturningGrant {
            hash: hash.to_vec(),
            at,
        }
        .get_result::<(RefreshRow, GrantRow)>(self)
        .optional()?)
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
            .first::<GrantRow>(self)?;
        Ok(Some((token, grant)))
    }
}

/// Postgres' consuming update joined with the grant, as a query diesel prepares once per
/// connection and caches (a static query id; `sql_query` would be parsed on every call).
/// The returned `consumed_at` is the value before the update: NULL, by its own condition.
#[derive(Debug, Clone, QueryId)]
struct ConsumeReturningGrant {
    hash: Vec<u8>,
    at: i64,
}

impl Query for ConsumeReturningGrant {
    type SqlType = (
        (
            Binary,
            Text,
            BigInt,
            BigInt,
            Nullable<BigInt>,
            Nullable<Binary>,
        ),
        (
            Text,
            Text,
            Nullable<Text>,
            Nullable<Text>,
            Text,
            BigInt,
            Nullable<BigInt>,
            Nullable<BigInt>,
        ),
    );
}

impl QueryFragment<Pg> for ConsumeReturningGrant {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("UPDATE refresh_tokens SET consumed_at = ");
        out.push_bind_param::<BigInt, _>(&self.at)?;
        out.push_sql(" FROM grants WHERE refresh_tokens.token_hash = ");
        out.push_bind_param::<Binary, _>(&self.hash)?;
        out.push_sql(
            " AND refresh_tokens.consumed_at IS NULL AND grants.id = refresh_tokens.grant_id \
             RETURNING refresh_tokens.token_hash, refresh_tokens.grant_id, \
             refresh_tokens.issued_at, refresh_tokens.expires_at, NULL::BIGINT, \
             refresh_tokens.sealed_response, grants.id, grants.client_id, grants.user_id, \
             grants.username, grants.scope, grants.created_at, grants.expires_at, \
             grants.revoked_at",
        );
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for ConsumeReturningGrant {}

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
            Pool::Sqlite(pool) => crate::pool::run(pool, |conn| {
                settle(conn.immediate_transaction::<_, Rollback, _>(|$conn| $body))
            }),
        }
    }};
}

/// The inserts of a decided write: the access token, and the successor if any.
macro_rules! insert_issued {
    ($conn:expr, $write:expr) => {{
        diesel::insert_into(access_tokens::table)
            .values(&AccessRow::from_record(&$write.access))
            .execute($conn)?;
        if let Some(successor) = &$write.successor {
            diesel::insert_into(refresh_tokens::table)
                .values(&RefreshRow::from_new(successor))
                .execute($conn)?;
        }
    }};
}

/// A write that contradicts the declared intent: a bug in the caller, never committed.
fn contradicts(write: &RefreshWrite, intent: RefreshIntent) -> bool {
    match intent {
        RefreshIntent::Consume { at } => !write.consume || write.access.issued_at != at,
        RefreshIntent::Keep => write.consume,
        RefreshIntent::Unknown => false,
    }
}

impl Database {
    /// [`RefreshIntent::Consume`]: the conditional update finds and consumes the token in
    /// one statement; the decision runs on the token as it was; declining rolls back. Only
    /// when the update matches nothing does a read follow, to show the decision the
    /// consumed token (reuse, lost race, grace replay) or to answer `NotFound`.
    fn consume_and_issue(
        &self,
        hash: &[u8],
        at: UnixTime,
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, StoreError> {
        let intent = RefreshIntent::Consume { at };
        db_write_or_decline!(self, |conn| {
            // Twice at most: a concurrent rotation that rolled back between our update and
            // our read leaves the token live again, and the second update takes it.
            for _ in 0..2 {
                if let Some(rows) = conn.consume_refresh_token(hash, at)? {
                    let mut state = refresh_state(rows)?;
                    state.token.consumed_at = None;
                    let Some(write) = decide.decide(&state) else {
                        return Err(Rollback::Declined);
                    };
                    if contradicts(&write, intent) {
                        return Err(Failure::Invariant(
                            "the refresh decision contradicts its declared intent",
                        )
                        .into());
                    }
                    if let Some(sealed) = write.sealed_response.as_deref() {
                        // Only with a grace period: keep the response for a retry.
                        diesel::update(
                            refresh_tokens::table.filter(refresh_tokens::token_hash.eq(hash)),
                        )
                        .set(refresh_tokens::sealed_response.eq(Some(sealed)))
                        .execute(conn)?;
                    }
                    insert_issued!(conn, write);
                    return Ok(RotateOutcome::Written);
                }
                let Some(rows) = select_refresh_state!(conn, hash)? else {
                    return Ok(RotateOutcome::NotFound);
                };
                let state = refresh_state(rows)?;
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
    fn read_and_issue(
        &self,
        hash: &[u8],
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, StoreError> {
        db_write_or_decline!(self, |conn| {
            let Some(rows) = select_refresh_state!(conn, hash)? else {
                return Ok(RotateOutcome::NotFound);
            };
            let state = refresh_state(rows)?;
            let Some(write) = decide.decide(&state) else {
                return Err(Rollback::Declined);
            };
            if contradicts(&write, RefreshIntent::Keep) {
                return Err(Failure::Invariant(
                    "the refresh decision contradicts its declared intent",
                )
                .into());
            }
            insert_issued!(conn, write);
            Ok(RotateOutcome::Written)
        })
    }

    /// [`RefreshIntent::Unknown`]: lock the token's row, read it with its grant, decide,
    /// then apply whatever was decided.
    fn lock_read_and_issue(
        &self,
        hash: &[u8],
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, StoreError> {
        db_write!(self, |conn| {
            if !conn.pin_refresh_token(hash)? {
                return Ok(RotateOutcome::NotFound);
            }
            let Some(rows) = select_refresh_state!(conn, hash)? else {
                return Ok(RotateOutcome::NotFound);
            };
            let state = refresh_state(rows)?;
            // Declining writes nothing; committing an empty transaction is a rollback.
            let Some(write) = decide.decide(&state) else {
                return Ok(RotateOutcome::Declined);
            };
            if write.consume {
                // Conditional on `consumed_at IS NULL` although the lock already guarantees
                // it: if the locking were ever wrong, this fails loudly instead of letting a
                // second rotation win.
                let consumed = diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(hash))
                        .filter(refresh_tokens::consumed_at.is_null()),
                )
                .set((
                    refresh_tokens::consumed_at.eq(Some(write.access.issued_at)),
                    refresh_tokens::sealed_response.eq(write.sealed_response.as_deref()),
                ))
                .execute(conn)?;
                if consumed != 1 {
                    return Err(Failure::Invariant(
                        "a refresh token was consumed by another rotation while locked",
                    ));
                }
            }
            diesel::insert_into(access_tokens::table)
                .values(&AccessRow::from_record(&write.access))
                .execute(conn)?;
            if let Some(successor) = &write.successor {
                diesel::insert_into(refresh_tokens::table)
                    .values(&RefreshRow::from_new(successor))
                    .execute(conn)?;
            }
            Ok(RotateOutcome::Written)
        })
    }
}

impl TokenStore for Database {
    fn issue(&self, issuance: &Issuance) -> Result<(), StoreError> {
        let grant = GrantRow::from_record(&issuance.grant);
        let access = AccessRow::from_record(&issuance.access);
        let refresh = issuance.refresh.as_ref().map(RefreshRow::from_new);
        db_write!(self, |conn| {
            diesel::insert_into(grants::table)
                .values(&grant)
                .execute(conn)?;
            diesel::insert_into(access_tokens::table)
                .values(&access)
                .execute(conn)?;
            if let Some(refresh) = &refresh {
                diesel::insert_into(refresh_tokens::table)
                    .values(refresh)
                    .execute(conn)?;
            }
            Ok(())
        })
    }

    fn rotate_refresh(
        &self,
        presented: &TokenHash,
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, StoreError> {
        let hash = presented.as_bytes().as_slice();
        match decide.intent() {
            RefreshIntent::Consume { at } => self.consume_and_issue(hash, at, decide),
            RefreshIntent::Keep => self.read_and_issue(hash, decide),
            RefreshIntent::Unknown => self.lock_read_and_issue(hash, decide),
        }
    }

    fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenState>, StoreError> {
        let hash = hash.as_bytes().as_slice();
        let rows = db_run!(self, |conn| Ok(select_refresh_state!(conn, hash)?))?;
        Ok(rows.map(refresh_state).transpose()?)
    }

    fn find_access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenState>, StoreError> {
        let hash = hash.as_bytes().as_slice();
        let rows = db_run!(self, |conn| {
            Ok(access_tokens::table
                .inner_join(grants::table)
                .filter(access_tokens::token_hash.eq(hash))
                .select((AccessRow::as_select(), GrantRow::as_select()))
                .first::<(AccessRow, GrantRow)>(conn)
                .optional()?)
        })?;
        let state = rows
            .map(|(token, grant)| -> Result<_, Failure> {
                Ok(AccessTokenState {
                    token: token.into_record()?,
                    grant: grant.into_record()?,
                })
            })
            .transpose()?;
        Ok(state)
    }

    fn revoke_grant(&self, id: &GrantId, now: UnixTime) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let revoked = diesel::update(
                grants::table
                    .filter(grants::id.eq(id.as_str()))
                    .filter(grants::revoked_at.is_null()),
            )
            .set(grants::revoked_at.eq(Some(now)))
            .execute(conn)?;
            Ok(revoked > 0)
        })
    }

    fn revoke_access_token(&self, hash: &TokenHash, now: UnixTime) -> Result<bool, StoreError> {
        let hash = hash.as_bytes().as_slice();
        db_run!(self, |conn| {
            let revoked = diesel::update(
                access_tokens::table
                    .filter(access_tokens::token_hash.eq(hash))
                    .filter(access_tokens::revoked_at.is_null()),
            )
            .set(access_tokens::revoked_at.eq(Some(now)))
            .execute(conn)?;
            Ok(revoked > 0)
        })
    }

    fn revoke_grants_of_user(&self, id: &UserId, now: UnixTime) -> Result<u64, StoreError> {
        db_run!(self, |conn| {
            let revoked = diesel::update(
                grants::table
                    .filter(grants::user_id.eq(id.as_str()))
                    .filter(grants::revoked_at.is_null()),
            )
            .set(grants::revoked_at.eq(Some(now)))
            .execute(conn)?;
            Ok(revoked as u64)
        })
    }

    fn revoke_grants_of_client(&self, id: &ClientId, now: UnixTime) -> Result<u64, StoreError> {
        db_run!(self, |conn| {
            let revoked = diesel::update(
                grants::table
                    .filter(grants::client_id.eq(id.as_str()))
                    .filter(grants::revoked_at.is_null()),
            )
            .set(grants::revoked_at.eq(Some(now)))
            .execute(conn)?;
            Ok(revoked as u64)
        })
    }
}
