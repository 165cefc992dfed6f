//! `TokenStore` on [`Database`]: grants and their access and refresh tokens (hashes only).
//! The refresh flow's one atomic operation, `rotate_refresh`, is in `rotate` (its two
//! modes) and `pg_rotate` (Postgres' one-statement consuming update); its common path in
//! one round trip, `rotate_refresh_if`, in `one_trip` and `pg_one_trip`; `state` reads a
//! presented token's state and records what a consumption decided.
//!
//! Revocation is by family: a token lookup returns the token with its grant, and revoking
//! the grant (one UPDATE of one row) revokes every token derived from it; the domain checks
//! `grant.revoked_at`.

mod one_trip;
mod pg_one_trip;
mod pg_rotate;
mod rotate;
mod sqlite_scope_rules;
mod state;

use diesel::prelude::*;
use grantd_ports::{
    AccessTokenState, ClientId, ConsumeIf, GrantId, GrantOverview, Issuance, OneTripIssued,
    OneTripWrite, RefreshDecision, RefreshIntent, RefreshTokenState, RotateOutcome, StoreError,
    TokenHash, TokenStore, UnixTime, UserId,
};

use crate::errors::Failure;
use crate::issuance::InsertIssued;
use crate::pool::{db_read, db_run, db_write};
use crate::rows::{AccessRow, GrantRow, RefreshRow};
use crate::schema::{access_tokens, grants};
use crate::Database;
use state::RefreshStateQueries as _;

/// The refresh token with this hash joined with its grant, as `Option<(RefreshRow,
/// GrantRow)>`: one query, shared by the lookup and the rotation.
macro_rules! select_refresh_state {
    ($conn:expr, $hash:expr) => {
        $crate::schema::refresh_tokens::table
            .inner_join($crate::schema::grants::table)
            .filter($crate::schema::refresh_tokens::token_hash.eq($hash))
            .select((
                $crate::rows::RefreshRow::as_select(),
                $crate::rows::GrantRow::as_select(),
            ))
            .get_result::<($crate::rows::RefreshRow, $crate::rows::GrantRow)>($conn)
            .optional()
    };
}
use select_refresh_state;

/// The state of these rows, its successor not looked at (`successor_used: false`): what
/// a live token's state is, and the start of `read_refresh_state`.
fn refresh_state(rows: (RefreshRow, GrantRow)) -> Result<RefreshTokenState, Failure> {
    Ok(RefreshTokenState {
        token: rows.0.into_record()?,
        grant: rows.1.into_record()?,
        successor_used: false,
    })
}

impl TokenStore for Database {
    fn issue(&self, issuance: &Issuance) -> Result<(), StoreError> {
        db_write!(self, |conn| conn.insert_issued(
            Some(&issuance.grant),
            &issuance.access,
            issuance.refresh.as_ref(),
        ))
    }

    fn rotate_refresh(
        &self,
        presented: &TokenHash,
        intent: RefreshIntent,
        decide: &mut dyn RefreshDecision,
    ) -> Result<RotateOutcome, StoreError> {
        let hash = presented.as_bytes().as_slice();
        match intent {
            RefreshIntent::Consume { at } => self.consume_and_issue(hash, at, decide),
            RefreshIntent::Keep => self.read_and_issue(hash, decide),
        }
    }

    fn rotate_refresh_if(
        &self,
        rules: &ConsumeIf,
        write: &OneTripWrite,
    ) -> Result<Option<OneTripIssued>, StoreError> {
        self.one_trip(rules, write)
    }

    fn find_refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<RefreshTokenState>, StoreError> {
        let hash = hash.as_bytes().as_slice();
        db_read!(self, |conn| conn.read_refresh_state(hash))
    }

    fn find_access_token(&self, hash: &TokenHash) -> Result<Option<AccessTokenState>, StoreError> {
        let hash = hash.as_bytes().as_slice();
        let rows = db_read!(self, |conn| {
            Ok(access_tokens::table
                .inner_join(grants::table)
                .filter(access_tokens::token_hash.eq(hash))
                .select((AccessRow::as_select(), GrantRow::as_select()))
                .get_result::<(AccessRow, GrantRow)>(conn)
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

    fn live_grants_of_user(
        &self,
        id: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantOverview>, StoreError> {
        db_read!(self, |conn| crate::grant_overview::live_grants!(
            conn,
            user_id,
            id.as_str(),
            now
        ))
    }

    fn live_grants_of_client(
        &self,
        id: &ClientId,
        now: UnixTime,
    ) -> Result<Vec<GrantOverview>, StoreError> {
        db_read!(self, |conn| crate::grant_overview::live_grants!(
            conn,
            client_id,
            id.as_str(),
            now
        ))
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
