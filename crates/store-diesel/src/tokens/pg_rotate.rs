//! The one hand-written statement of the store: Postgres' consuming update of a refresh
//! token joined with its grant, one round trip. Its `RETURNING` list and its SQL type are
//! both generated from the row types (`RefreshRow`, `GrantRow`), so neither can drift from
//! the rows it is read into.

use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Binary};
use diesel::PgConnection;
use grantd_ports::UnixTime;

use crate::errors::Failure;
use crate::rows::{GrantRow, RefreshRow};

/// The rows the statement returns, in the order they are read.
type Returned = (AsSelect<RefreshRow, Pg>, AsSelect<GrantRow, Pg>);

/// `UPDATE refresh_tokens SET consumed_at = $1 FROM grants WHERE token_hash = $2 AND
/// consumed_at IS NULL AND grants.id = grant_id RETURNING <RefreshRow>, <GrantRow>`, as a
/// query diesel prepares once per connection and caches (a static query id; `sql_query`
/// would be parsed on every call). `UPDATE ... RETURNING` is not in diesel's DSL with a
/// `FROM`, hence the hand-written frame; the columns are diesel's own.
#[derive(QueryId)]
struct ConsumeReturningGrant {
    hash: Vec<u8>,
    at: i64,
    returning: Returned,
}

// A static query id is what lets diesel cache the prepared statement per connection.
const _: () = assert!(<ConsumeReturningGrant as QueryId>::HAS_STATIC_QUERY_ID);

impl ConsumeReturningGrant {
    fn new(hash: &[u8], at: UnixTime) -> Self {
        Self {
            hash: hash.to_vec(),
            at,
            returning: (RefreshRow::as_select(), GrantRow::as_select()),
        }
    }
}

impl Query for ConsumeReturningGrant {
    type SqlType = SqlTypeOf<Returned>;
}

impl QueryFragment<Pg> for ConsumeReturningGrant {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("UPDATE refresh_tokens SET consumed_at = ");
        out.push_bind_param::<BigInt, _>(&self.at)?;
        out.push_sql(" FROM grants WHERE refresh_tokens.token_hash = ");
        out.push_bind_param::<Binary, _>(&self.hash)?;
        out.push_sql(
            " AND refresh_tokens.consumed_at IS NULL AND grants.id = refresh_tokens.grant_id \
             RETURNING ",
        );
        self.returning.walk_ast(out.reborrow())
    }
}

impl RunQueryDsl<PgConnection> for ConsumeReturningGrant {}

/// Consumes the live token with this hash at `at` and returns it (its `consumed_at` now
/// `at`) with its grant; `None` when the update matched nothing (no such token, or already
/// consumed). A concurrent call on the same token blocks on the row lock the update takes,
/// then re-checks `consumed_at IS NULL` against the committed row, so exactly one wins.
pub(super) fn consume_returning_grant(
    conn: &mut PgConnection,
    hash: &[u8],
    at: UnixTime,
) -> Result<Option<(RefreshRow, GrantRow)>, Failure> {
    Ok(ConsumeReturningGrant::new(hash, at)
        .get_result::<(RefreshRow, GrantRow)>(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use diesel::debug_query;

    use super::*;
    use crate::schema::{grants, refresh_tokens};

    /// The columns the lookup of a refresh token reads (`select_refresh_state!`), as diesel
    /// renders them for Postgres.
    fn lookup_columns() -> String {
        let lookup = refresh_tokens::table
            .inner_join(grants::table)
            .select((RefreshRow::as_select(), GrantRow::as_select()));
        let sql = debug_query::<Pg, _>(&lookup).to_string();
        let columns = sql
            .strip_prefix("SELECT ")
            .and_then(|rest| rest.split_once(" FROM "))
            .map(|(columns, _)| columns.to_owned());
        columns.unwrap_or_else(|| panic!("unexpected lookup SQL: {sql}"))
    }

    #[test]
    fn returns_the_lookups_columns_for_the_row_types() {
        let statement = ConsumeReturningGrant::new(&[7; 32], 1_700_000_000);
        let sql = debug_query::<Pg, _>(&statement).to_string();
        let (sql, _binds) = sql.split_once(" -- binds: ").unwrap();
        assert_eq!(
            sql,
            format!(
                "UPDATE refresh_tokens SET consumed_at = $1 FROM grants \
                 WHERE refresh_tokens.token_hash = $2 AND refresh_tokens.consumed_at IS NULL \
                 AND grants.id = refresh_tokens.grant_id RETURNING {}",
                lookup_columns()
            )
        );
        // Every column of both rows, qualified by its table: the two tables share names
        // (`expires_at`, `grant_id` / `id`).
        for column in [
            "\"refresh_tokens\".\"token_hash\"",
            "\"refresh_tokens\".\"consumed_at\"",
            "\"refresh_tokens\".\"sealed_response\"",
            "\"refresh_tokens\".\"expires_at\"",
            "\"grants\".\"id\"",
            "\"grants\".\"expires_at\"",
            "\"grants\".\"revoked_at\"",
        ] {
            assert!(sql.contains(column), "{column} missing from {sql}");
        }
    }

    #[test]
    fn is_prepared_once_and_cached() {
        // With the static query id asserted beside the type, at compile time.
        let statement = ConsumeReturningGrant::new(&[7; 32], 1_700_000_000);
        assert!(statement.is_safe_to_cache_prepared(&Pg).unwrap());
    }
}
