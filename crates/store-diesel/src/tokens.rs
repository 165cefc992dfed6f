//! `TokenStore` on [`Database`]: grants and their access and refresh tokens (hashes only),
//! and the one atomic operation of the refresh flow, `rotate_refresh`.
//!
//! Revocation is by family: a token lookup returns the token with its grant, and revoking
//! the grant (one UPDATE of one row) revokes every token derived from it; the domain checks
//! `grant.revoked_at`.

use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::{
    AccessTokenState, ClientId, GrantId, Issuance, RefreshDecision, RefreshTokenState,
    RotateOutcome, StoreError, TokenHash, TokenStore, UnixTime, UserId,
};

use crate::errors::Failure;
use crate::pool::{db_run, db_write};
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
