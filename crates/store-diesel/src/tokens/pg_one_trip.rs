//! Postgres' one round trip of a refresh: ONE data-modifying statement, in autocommit (no
//! BEGIN, no COMMIT), that consumes the presented token if it meets every condition of the
//! domain's [`ConsumeIf`], inserts the access token and the successor from the consumed
//! row, and returns what the response needs. Each predicate renders one declared rule;
//! none is decided here. Prepared once per connection and cached (a static query id).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Nullable, Text};
use diesel::PgConnection;
use grantd_ports::{ConsumeIf, OneTripWrite};

use crate::errors::Failure;

/// The statement's binds, owned (diesel borrows them while it walks the statement).
#[derive(QueryId)]
struct RotateIf {
    now: i64,
    consumed_at_ms: i64,
    successor: Vec<u8>,
    token: Vec<u8>,
    client_id: String,
    dpop_jkt: Option<String>,
    registered: Vec<String>,
    excluded: Vec<String>,
    client_revision: Option<i64>,
    client_secret: Option<String>,
    failure_keys: Vec<Vec<u8>>,
    access: Vec<u8>,
    access_expires_at: i64,
    access_dpop_jkt: Option<String>,
    successor_expires_at: i64,
}

// A static query id is what lets diesel cache the prepared statement per connection.
const _: () = assert!(<RotateIf as QueryId>::HAS_STATIC_QUERY_ID);

impl RotateIf {
    fn new(rules: &ConsumeIf, write: &OneTripWrite) -> Self {
        Self {
            now: rules.now,
            consumed_at_ms: write.consumed_at_ms,
            successor: write.successor.as_bytes().to_vec(),
            token: rules.token.as_bytes().to_vec(),
            client_id: rules.client_id.as_str().to_owned(),
            dpop_jkt: rules.dpop_jkt.clone(),
            registered: rules.registered_scopes.clone(),
            excluded: rules.excluded_scopes.clone(),
            client_revision: rules.client_row.as_ref().map(|r| r.secret_version),
            client_secret: rules
                .client_row
                .as_ref()
                .map(|r| r.secret.as_str().to_owned()),
            failure_keys: rules
                .no_failures
                .iter()
                .map(|k| k.as_bytes().to_vec())
                .collect(),
            access: write.access.as_bytes().to_vec(),
            access_expires_at: write.access_expires_at,
            access_dpop_jkt: write.access_dpop_jkt.clone(),
            successor_expires_at: write.successor_expires_at,
        }
    }
}

impl Query for RotateIf {
    type SqlType = (Text, Text, BigInt);
}

impl QueryFragment<Pg> for RotateIf {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Consume: the conditional update, every rule of `ConsumeIf` a predicate.
        out.push_sql("WITH consumed AS (UPDATE refresh_tokens SET consumed_at = ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", consumed_at_ms = ");
        out.push_bind_param::<BigInt, _>(&self.consumed_at_ms)?;
        out.push_sql(", successor_hash = ");
        out.push_bind_param::<Binary, _>(&self.successor)?;
        out.push_sql(" FROM grants WHERE refresh_tokens.token_hash = ");
        out.push_bind_param::<Binary, _>(&self.token)?;
        out.push_sql(" AND refresh_tokens.consumed_at IS NULL AND refresh_tokens.expires_at > ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" AND grants.id = refresh_tokens.grant_id AND grants.client_id = ");
        out.push_bind_param::<Text, _>(&self.client_id)?;
        out.push_sql(
            " AND grants.revoked_at IS NULL AND (grants.expires_at IS NULL OR grants.expires_at > ",
        );
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(") AND (grants.dpop_jkt IS NULL OR grants.dpop_jkt = ");
        out.push_bind_param::<Nullable<Text>, _>(&self.dpop_jkt)?;
        out.push_sql(") AND string_to_array(grants.scope, ' ') <@ ");
        out.push_bind_param::<Array<Text>, _>(&self.registered)?;
        out.push_sql(" AND NOT (string_to_array(grants.scope, ' ') && ");
        out.push_bind_param::<Array<Text>, _>(&self.excluded)?;
        out.push_sql(") AND (");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.client_revision)?;
        out.push_sql("::bigint IS NULL OR EXISTS (SELECT 1 FROM clients WHERE clients.id = grants.client_id AND clients.secret_version = ");
        out.push_bind_param::<Nullable<BigInt>, _>(&self.client_revision)?;
        out.push_sql(" AND clients.secret_hash = ");
        out.push_bind_param::<Nullable<Text>, _>(&self.client_secret)?;
        out.push_sql(
            ")) AND NOT EXISTS (SELECT 1 FROM auth_failures WHERE auth_failures.key_hash = ANY(",
        );
        out.push_bind_param::<Array<Binary>, _>(&self.failure_keys)?;
        out.push_sql(") AND auth_failures.failures > 0 AND auth_failures.expires_at > ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        // No token outlives its grant's cap (NULL: no cap, the CASE keeps the lifetime).
        out.push_sql(
            ") RETURNING grants.id AS grant_id, grants.scope AS scope, \
             grants.resources AS resources, CASE WHEN grants.expires_at < ",
        );
        out.push_bind_param::<BigInt, _>(&self.access_expires_at)?;
        out.push_sql(" THEN grants.expires_at ELSE ");
        out.push_bind_param::<BigInt, _>(&self.access_expires_at)?;
        out.push_sql(" END AS access_expires_at, CASE WHEN grants.expires_at < ");
        out.push_bind_param::<BigInt, _>(&self.successor_expires_at)?;
        out.push_sql(" THEN grants.expires_at ELSE ");
        out.push_bind_param::<BigInt, _>(&self.successor_expires_at)?;
        // The access token: the grant's scope, its resources as audience (newline-joined,
        // as `AccessRow` stores them).
        out.push_sql(
            " END AS successor_expires_at), access AS (INSERT INTO access_tokens \
             (token_hash, grant_id, scope, issued_at, expires_at, revoked_at, audience, dpop_jkt) \
             SELECT ",
        );
        out.push_bind_param::<Binary, _>(&self.access)?;
        out.push_sql(", grant_id, scope, ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(", access_expires_at, NULL, replace(resources, ' ', chr(10)), ");
        out.push_bind_param::<Nullable<Text>, _>(&self.access_dpop_jkt)?;
        out.push_sql(
            " FROM consumed), successor AS (INSERT INTO refresh_tokens \
             (token_hash, grant_id, issued_at, expires_at) SELECT ",
        );
        out.push_bind_param::<Binary, _>(&self.successor)?;
        out.push_sql(", grant_id, ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(
            ", successor_expires_at FROM consumed) \
             SELECT grant_id, scope, access_expires_at FROM consumed",
        );
        Ok(())
    }
}

impl RunQueryDsl<PgConnection> for RotateIf {}

/// Runs the statement: `Some((grant_id, scope, access_expires_at))` when it consumed the
/// token and inserted both tokens, `None` when a condition failed (nothing written).
pub(super) fn rotate_if(
    conn: &mut PgConnection,
    rules: &ConsumeIf,
    write: &OneTripWrite,
) -> Result<Option<(String, String, i64)>, Failure> {
    Ok(RotateIf::new(rules, write)
        .get_result::<(String, String, i64)>(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use grantd_ports::{ClientId, TokenHash};

    use super::*;

    fn statement() -> RotateIf {
        let rules = ConsumeIf {
            token: TokenHash::of("r"),
            client_id: ClientId::parse("app").unwrap(),
            now: 1_700_000_000,
            dpop_jkt: None,
            registered_scopes: vec!["read".into()],
            excluded_scopes: vec!["openid".into()],
            client_row: None,
            no_failures: Vec::new(),
        };
        RotateIf::new(&rules, &super::super::one_trip::tests::write())
    }

    #[test]
    fn is_one_statement_prepared_once_and_cached() {
        let sql = diesel::debug_query::<Pg, _>(&statement()).to_string();
        assert!(
            sql.starts_with("WITH consumed AS (UPDATE refresh_tokens"),
            "{sql}"
        );
        assert!(!sql.contains(';'), "one statement: {sql}");
        assert!(statement().is_safe_to_cache_prepared(&Pg).unwrap());
    }
}
