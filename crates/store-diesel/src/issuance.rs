//! The inserts of an issuance: a grant's new rows (the grant when it is new, an access
//! token, a refresh token), written one way by `issue`, by the refresh rotation and by the
//! code exchange, inside the caller's transaction. Decides nothing.

use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::{AccessToken, GrantRecord, NewRefreshToken};

use crate::errors::Failure;
use crate::rows::{AccessRow, GrantRow, RefreshRow};
use crate::schema::{access_tokens, grants, refresh_tokens};

/// Inserts, in this order, the grant (`None` when it exists already, as in a refresh),
/// the access token and the refresh token (`None` when there is none). A taken hash or id
/// is `Conflict`; the caller's transaction then rolls every insert back.
pub(crate) trait InsertIssued {
    fn insert_issued(
        &mut self,
        grant: Option<&GrantRecord>,
        access: &AccessToken,
        refresh: Option<&NewRefreshToken>,
    ) -> Result<(), Failure>;
}

/// One body for both connections: diesel types an insert by its connection, so the same
/// code is compiled once per backend (as `db_run!` does for the store's other queries).
macro_rules! insert_issued_on {
    ($($conn:ty),+) => {$(
        impl InsertIssued for $conn {
            fn insert_issued(
                &mut self,
                grant: Option<&GrantRecord>,
                access: &AccessToken,
                refresh: Option<&NewRefreshToken>,
            ) -> Result<(), Failure> {
                if let Some(grant) = grant {
                    diesel::insert_into(grants::table)
                        .values(&GrantRow::from_record(grant))
                        .execute(self)?;
                }
                diesel::insert_into(access_tokens::table)
                    .values(&AccessRow::from_record(access)?)
                    .execute(self)?;
                if let Some(refresh) = refresh {
                    diesel::insert_into(refresh_tokens::table)
                        .values(&RefreshRow::from_new(refresh))
                        .execute(self)?;
                }
                Ok(())
            }
        }
    )+};
}

insert_issued_on!(PgConnection, SqliteConnection);
