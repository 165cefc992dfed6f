//! `AuthorizationStore` on [`Database`]: authorization codes (hashes only) and consents,
//! and the one atomic operation of the code exchange, `redeem_code`. The decision made
//! inside its transaction is the domain's, passed in as a closure.

use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::{
    AuthorizationCodeRecord, AuthorizationStore, ClientId, CodeDecision, CodeWrite, Consent,
    RedeemOutcome, StoreError, TokenHash, UserId,
};

use crate::errors::Failure;
use crate::issuance::InsertIssued;
use crate::pool::{db_read, db_run, db_write};
use crate::rows::{CodeRow, ConsentRow, UserRow};
use crate::schema::{authorization_codes, consents, users};
use crate::Database;

/// How a redemption holds the presented code still until its transaction ends, so that
/// concurrent redemptions take turns and each sees the previous one's mark.
trait PinCode {
    fn pin_code(&mut self, hash: &[u8]) -> Result<(), Failure>;
}

impl PinCode for PgConnection {
    /// `SELECT ... FOR UPDATE`: a second redemption of the same code blocks here until the
    /// first commits, then (READ COMMITTED) reads its `redeemed_at`.
    fn pin_code(&mut self, hash: &[u8]) -> Result<(), Failure> {
        authorization_codes::table
            .filter(authorization_codes::code_hash.eq(hash))
            .select(authorization_codes::code_hash)
            .for_update()
            .get_result::<Vec<u8>>(self)
            .optional()?;
        Ok(())
    }
}

impl PinCode for SqliteConnection {
    /// Nothing to lock: the immediate transaction already holds SQLite's one write lock.
    fn pin_code(&mut self, _hash: &[u8]) -> Result<(), Failure> {
        Ok(())
    }
}

impl AuthorizationStore for Database {
    fn insert_code(&self, code: &AuthorizationCodeRecord) -> Result<(), StoreError> {
        let row = CodeRow::from_record(code);
        db_run!(self, |conn| {
            diesel::insert_into(authorization_codes::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn redeem_code(
        &self,
        presented: &TokenHash,
        decide: &mut dyn CodeDecision,
    ) -> Result<RedeemOutcome, StoreError> {
        let hash = presented.as_bytes().as_slice();
        db_write!(self, |conn| {
            conn.pin_code(hash)?;
            let Some(row) = authorization_codes::table
                .filter(authorization_codes::code_hash.eq(hash))
                .select(CodeRow::as_select())
                .get_result::<CodeRow>(conn)
                .optional()?
            else {
                return Ok(RedeemOutcome::NotFound);
            };
            let code = row.into_record()?;
            // The user as they are now, so that the decision can refuse a disabled one's
            // code. Not locked: a password change or a disabling deletes the unredeemed
            // codes first, which waits for the lock on this one (see `users`).
            let user = users::table
                .find(code.user_id.as_str())
                .select(UserRow::as_select())
                .get_result::<UserRow>(conn)
                .optional()?
                .map(UserRow::into_record)
                .transpose()?;
            let CodeWrite::Redeem(issuance) = decide.decide(&code, user.as_ref()) else {
                return Ok(RedeemOutcome::Declined);
            };
            // Conditional on `redeemed_at IS NULL` although the lock already guarantees it:
            // were the locking ever wrong, this fails loudly instead of redeeming twice.
            let marked = diesel::update(
                authorization_codes::table
                    .filter(authorization_codes::code_hash.eq(hash))
                    .filter(authorization_codes::redeemed_at.is_null()),
            )
            .set((
                authorization_codes::redeemed_at.eq(Some(issuance.grant.created_at)),
                authorization_codes::grant_id.eq(Some(issuance.grant.id.as_str())),
            ))
            .execute(conn)?;
            if marked != 1 {
                return Err(Failure::Invariant(
                    "an authorization code was redeemed by another exchange while locked",
                ));
            }
            conn.insert_issued(
                Some(&issuance.grant),
                &issuance.access,
                issuance.refresh.as_ref(),
            )?;
            Ok(RedeemOutcome::Redeemed)
        })
    }

    fn find_consent(
        &self,
        user_id: &UserId,
        client_id: &ClientId,
    ) -> Result<Option<Consent>, StoreError> {
        let row = db_read!(self, |conn| {
            Ok(consents::table
                .filter(consents::user_id.eq(user_id.as_str()))
                .filter(consents::client_id.eq(client_id.as_str()))
                .select(ConsentRow::as_select())
                .get_result::<ConsentRow>(conn)
                .optional()?)
        })?;
        Ok(row.map(ConsentRow::into_record).transpose()?)
    }

    fn consents_of_user(&self, user_id: &UserId) -> Result<Vec<Consent>, StoreError> {
        let rows = db_run!(self, |conn| {
            Ok(consents::table
                .filter(consents::user_id.eq(user_id.as_str()))
                .select(ConsentRow::as_select())
                .load::<ConsentRow>(conn)?)
        })?;
        let mut consents = rows
            .into_iter()
            .map(ConsentRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        // By bytes, the same on both backends (not by a collation).
        consents.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(consents)
    }

    fn save_consent(&self, consent: &Consent) -> Result<(), StoreError> {
        let row = ConsentRow::from_record(consent);
        // Delete then insert in one transaction: the same SQL on both backends (an upsert's
        // syntax differs between them only in details diesel hides, but this is plainer).
        db_write!(self, |conn| {
            diesel::delete(
                consents::table
                    .filter(consents::user_id.eq(consent.user_id.as_str()))
                    .filter(consents::client_id.eq(consent.client_id.as_str())),
            )
            .execute(conn)?;
            diesel::insert_into(consents::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn revoke_consents(
        &self,
        user_id: &UserId,
        client_id: Option<&ClientId>,
    ) -> Result<u64, StoreError> {
        db_run!(self, |conn| {
            let deleted = match client_id {
                Some(client_id) => diesel::delete(
                    consents::table
                        .filter(consents::user_id.eq(user_id.as_str()))
                        .filter(consents::client_id.eq(client_id.as_str())),
                )
                .execute(conn)?,
                None => {
                    diesel::delete(consents::table.filter(consents::user_id.eq(user_id.as_str())))
                        .execute(conn)?
                }
            };
            Ok(deleted as u64)
        })
    }
}
