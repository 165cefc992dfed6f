//! `UserStore` on [`Database`]: resource owners. Deleting a user cascades to the grants
//! issued on their behalf and their tokens. A password change and disabling each end, in
//! the same transaction, everything the user's old standing allowed: live grants, unredeemed
//! authorization codes and (through the new session stamp) login sessions.

use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::{
    RevokedAccess, SecretHash, SessionStamp, StoreError, UnixTime, User, UserId, UserProfile,
    UserStore, Username,
};

use crate::errors::Failure;
use crate::pool::{db_read, db_run, db_write};
use crate::rows::UserRow;
use crate::schema::{authorization_codes, grants, users};
use crate::Database;

/// The revocations of a password change or a disabling, inside the caller's transaction.
trait EndAccess {
    fn end_access_of_user(&mut self, id: &str, now: UnixTime) -> Result<RevokedAccess, Failure>;
}

/// One body for both connections (diesel types a statement by its connection).
///
/// The codes go first, then the grants. On Postgres a concurrent exchange holds its code's
/// row lock (`FOR UPDATE`) until it commits, so the DELETE waits for it and then skips the
/// now redeemed code, and the UPDATE of the grants, a later statement with a fresh
/// snapshot under READ COMMITTED, sees and revokes the grant that exchange created. The
/// other way round that grant could be missed.
macro_rules! end_access_on {
    ($($conn:ty),+) => {$(
        impl EndAccess for $conn {
            fn end_access_of_user(
                &mut self,
                id: &str,
                now: UnixTime,
            ) -> Result<RevokedAccess, Failure> {
                let codes = diesel::delete(
                    authorization_codes::table
                        .filter(authorization_codes::user_id.eq(id))
                        .filter(authorization_codes::redeemed_at.is_null()),
                )
                .execute(self)?;
                let grants = diesel::update(
                    grants::table
                        .filter(grants::user_id.eq(id))
                        .filter(grants::revoked_at.is_null()),
                )
                .set(grants::revoked_at.eq(Some(now)))
                .execute(self)?;
                Ok(RevokedAccess {
                    grants: grants as u64,
                    codes: codes as u64,
                })
            }
        }
    )+};
}

end_access_on!(PgConnection, SqliteConnection);

impl UserStore for Database {
    fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let row = db_read!(self, |conn| {
            Ok(users::table
                .filter(users::username.eq(username.as_str()))
                .select(UserRow::as_select())
                .get_result(conn)
                .optional()?)
        })?;
        Ok(row.map(UserRow::into_record).transpose()?)
    }

    fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        let row = UserRow::from_record(user);
        db_run!(self, |conn| {
            diesel::insert_into(users::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn change_password(
        &self,
        id: &UserId,
        password: &SecretHash,
        stamp: &SessionStamp,
        now: UnixTime,
    ) -> Result<Option<RevokedAccess>, StoreError> {
        db_write!(self, |conn| {
            let revoked = conn.end_access_of_user(id.as_str(), now)?;
            let updated = diesel::update(users::table.find(id.as_str()))
                .set((
                    users::password_hash.eq(password.as_str()),
                    users::session_stamp.eq(stamp.as_str()),
                ))
                .execute(conn)?;
            // No such user: the foreign keys leave no grant or code to have revoked.
            Ok((updated > 0).then_some(revoked))
        })
    }

    fn disable_user(
        &self,
        id: &UserId,
        stamp: &SessionStamp,
        now: UnixTime,
    ) -> Result<Option<RevokedAccess>, StoreError> {
        db_write!(self, |conn| {
            let revoked = conn.end_access_of_user(id.as_str(), now)?;
            let updated = diesel::update(users::table.find(id.as_str()))
                .set((
                    users::disabled.eq(true),
                    users::session_stamp.eq(stamp.as_str()),
                ))
                .execute(conn)?;
            // No such user: the foreign keys leave no grant or code to have revoked.
            Ok((updated > 0).then_some(revoked))
        })
    }

    fn enable_user(&self, id: &UserId) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let updated = diesel::update(users::table.find(id.as_str()))
                .set(users::disabled.eq(false))
                .execute(conn)?;
            Ok(updated > 0)
        })
    }

    fn set_user_profile(&self, id: &UserId, profile: &UserProfile) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let updated = diesel::update(users::table.find(id.as_str()))
                .set((
                    users::name.eq(profile.name.as_deref()),
                    users::email.eq(profile.email.as_deref()),
                    users::email_verified.eq(profile.email_verified),
                ))
                .execute(conn)?;
            Ok(updated > 0)
        })
    }

    fn set_session_stamp(&self, id: &UserId, stamp: &SessionStamp) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let updated = diesel::update(users::table.find(id.as_str()))
                .set(users::session_stamp.eq(stamp.as_str()))
                .execute(conn)?;
            Ok(updated > 0)
        })
    }

    fn delete_user(&self, id: &UserId) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let deleted = diesel::delete(users::table.find(id.as_str())).execute(conn)?;
            Ok(deleted > 0)
        })
    }
}
