//! `UserStore` on [`Database`]: resource owners. Deleting a user cascades to the grants
//! issued on their behalf and their tokens.

use diesel::prelude::*;
use grantd_ports::{SecretHash, StoreError, User, UserId, UserStore, Username};

use crate::pool::db_run;
use crate::rows::UserRow;
use crate::schema::users;
use crate::Database;

impl UserStore for Database {
    fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let row = db_run!(self, |conn| {
            Ok(users::table
                .filter(users::username.eq(username.as_str()))
                .select(UserRow::as_select())
                .first(conn)
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

    fn set_user_password(&self, id: &UserId, password: &SecretHash) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let updated = diesel::update(users::table.find(id.as_str()))
                .set(users::password_hash.eq(password.as_str()))
                .execute(conn)?;
            Ok(updated > 0)
        })
    }

    fn set_user_disabled(&self, id: &UserId, disabled: bool) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let updated = diesel::update(users::table.find(id.as_str()))
                .set(users::disabled.eq(disabled))
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
