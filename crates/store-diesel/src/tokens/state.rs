//! A refresh token's state as the decision reads it (the row, its grant, and whether its
//! successor has been used since), and what a consuming write records on the consumed row
//! (the rotation's instant in milliseconds, the successor, the sealed retry record). One
//! body for both connections, as `InsertIssued` does. Decides nothing.

use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use grantd_ports::{RefreshTokenState, RefreshWrite};

use super::{refresh_state, select_refresh_state};
use crate::errors::Failure;
use crate::schema::refresh_tokens;

pub(super) trait RefreshStateQueries {
    /// The token with this hash with its grant and `successor_used`, or `None`.
    fn read_refresh_state(&mut self, hash: &[u8]) -> Result<Option<RefreshTokenState>, Failure>;

    /// After the consuming update, in its transaction: stores the write's instant, its
    /// successor's hash and its sealed response (if any) on the consumed row.
    fn record_consumption(&mut self, hash: &[u8], write: &RefreshWrite) -> Result<(), Failure>;
}

macro_rules! refresh_state_queries_on {
    ($($conn:ty),+) => {$(
        impl RefreshStateQueries for $conn {
            fn read_refresh_state(
                &mut self,
                hash: &[u8],
            ) -> Result<Option<RefreshTokenState>, Failure> {
                let Some(rows) = select_refresh_state!(self, hash)? else {
                    return Ok(None);
                };
                let mut state = refresh_state(rows)?;
                // Only a consumed token has a successor; a second lookup by primary key, on
                // the rare path only (a token presented again), rather than a self-join on
                // every lookup.
                if let Some(successor) = &state.token.successor {
                    state.successor_used = refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(successor.as_bytes().as_slice()))
                        .select(refresh_tokens::consumed_at.is_not_null())
                        .get_result::<bool>(self)
                        .optional()?
                        .unwrap_or(false);
                }
                Ok(Some(state))
            }

            fn record_consumption(
                &mut self,
                hash: &[u8],
                write: &RefreshWrite,
            ) -> Result<(), Failure> {
                let successor = write.successor.as_ref().map(|s| s.hash.as_bytes().to_vec());
                diesel::update(refresh_tokens::table.filter(refresh_tokens::token_hash.eq(hash)))
                    .set((
                        refresh_tokens::consumed_at_ms.eq(Some(write.consumed_at_ms)),
                        refresh_tokens::successor_hash.eq(successor),
                        refresh_tokens::sealed_response.eq(write.sealed_response.as_deref()),
                    ))
                    .execute(self)?;
                Ok(())
            }
        }
    )+};
}

refresh_state_queries_on!(PgConnection, SqliteConnection);
