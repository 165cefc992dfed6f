//! `TokenStore::rotate_refresh_if` on [`Database`]: the domain's [`ConsumeIf`] rendered as
//! predicates. Postgres runs it as one statement in autocommit (`pg_one_trip`); SQLite
//! runs the same predicates as a few statements inside one write of the writer's group
//! transaction (in-process, so they cost no round trip). Decides nothing: a presentation that fails a
//! condition matches nothing and writes nothing.

use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::query_builder::QueryFragment;
use diesel::query_dsl::LoadQuery;
use diesel::sqlite::Sqlite;
use diesel::SqliteConnection;
use grantd_ports::{ConsumeIf, GrantId, OneTripIssued, OneTripWrite, ScopeSet, StoreError};

use super::pg_one_trip;
use super::sqlite_scope_rules::{EveryGrantScopeIn, NoGrantScopeIn};
use crate::cached_statement::cached;
use crate::errors::Failure;
use crate::pool::Pool;
use crate::schema::{access_tokens, auth_failures, clients, grants, refresh_tokens};
use crate::Database;

impl Database {
    pub(super) fn one_trip(
        &self,
        rules: &ConsumeIf,
        write: &OneTripWrite,
    ) -> Result<Option<OneTripIssued>, StoreError> {
        let written = match self.pool() {
            // Autocommit: the statement is its own transaction, so one round trip.
            Pool::Pg { pool, .. } => {
                crate::pool::run(pool, |conn| pg_one_trip::rotate_if(conn, rules, write))
            }
            // The writer: all or nothing, inside its group transaction.
            Pool::Sqlite(pools) => crate::pool::write_sqlite(&pools.writer, |conn| {
                sqlite_rotate_if(conn, rules, write)
            }),
        }?;
        let Some((grant_id, scope, access_expires_at)) = written else {
            return Ok(None);
        };
        let corrupt = |e: grantd_ports::InvalidValue| StoreError::from(Failure::Corrupt(e.0));
        Ok(Some(OneTripIssued {
            grant_id: GrantId::parse(&grant_id).map_err(corrupt)?,
            scope: ScopeSet::parse(&scope).map_err(corrupt)?,
            access_expires_at,
        }))
    }
}

/// A JSON array of strings, for `json_each`: scope tokens hold no `"` or `\` (RFC 6749
/// §3.3 NQCHAR), escaped anyway so that no value can break out of its string.
fn json_strings(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(","))
}

/// Names the consuming update in diesel's statement cache.
struct ConsumeIfStatement;

/// The consuming update: the presented token, live, of a grant that meets every rule, is
/// consumed and its grant's id returned. Its SQL is the same for every value (each rule a
/// bound value, the scope lists one JSON bind each), so it is prepared once and cached.
fn consume_if<'a>(
    rules: &'a ConsumeIf,
    write: &'a OneTripWrite,
) -> impl LoadQuery<'a, SqliteConnection, String> + QueryFragment<Sqlite> + 'a {
    let now = rules.now;
    let every_scope_registered = EveryGrantScopeIn(json_strings(&rules.registered_scopes));
    let no_excluded_scope = NoGrantScopeIn(json_strings(&rules.excluded_scopes));
    let grant = grants::table
        .filter(grants::client_id.eq(rules.client_id.as_str()))
        .filter(grants::revoked_at.is_null())
        .filter(grants::expires_at.is_null().or(grants::expires_at.gt(now)))
        .filter(
            grants::dpop_jkt
                .is_null()
                .or(grants::dpop_jkt.nullable().eq(rules.dpop_jkt.as_deref())),
        )
        .filter(every_scope_registered)
        .filter(no_excluded_scope)
        .select(grants::id);
    cached::<ConsumeIfStatement, _>(
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(rules.token.as_bytes().as_slice()))
                .filter(refresh_tokens::consumed_at.is_null())
                .filter(refresh_tokens::expires_at.gt(now))
                .filter(refresh_tokens::grant_id.eq_any(grant)),
        )
        .set((
            refresh_tokens::consumed_at.eq(Some(now)),
            refresh_tokens::consumed_at_ms.eq(Some(write.consumed_at_ms)),
            refresh_tokens::successor_hash.eq(Some(write.successor.as_bytes().as_slice())),
        ))
        .returning(refresh_tokens::grant_id),
    )
}

fn sqlite_rotate_if(
    conn: &mut SqliteConnection,
    rules: &ConsumeIf,
    write: &OneTripWrite,
) -> Result<Option<(String, String, i64)>, Failure> {
    // The client row held in memory is still the stored one.
    if let Some(row) = &rules.client_row {
        let current = diesel::select(exists(
            clients::table
                .filter(clients::id.eq(rules.client_id.as_str()))
                .filter(clients::secret_version.eq(row.secret_version))
                .filter(clients::secret_hash.eq(row.secret.as_str())),
        ))
        .get_result::<bool>(conn)?;
        if !current {
            return Ok(None);
        }
    }
    // No brute-force counter of this request holds a live failure. One check per counter
    // (a request has at most three) rather than an `IN` list, which diesel never caches.
    for key in &rules.no_failures {
        let failed = diesel::select(exists(
            auth_failures::table
                .filter(auth_failures::key_hash.eq(&key.as_bytes()[..]))
                .filter(auth_failures::failures.gt(0))
                .filter(auth_failures::expires_at.gt(rules.now)),
        ))
        .get_result::<bool>(conn)?;
        if failed {
            return Ok(None);
        }
    }
    let consumed = consume_if(rules, write)
        .get_result::<String>(conn)
        .optional()?;
    let Some(grant_id) = consumed else {
        return Ok(None);
    };
    let (scope, resources, cap) = grants::table
        .find(&grant_id)
        .select((grants::scope, grants::resources, grants::expires_at))
        .get_result::<(String, String, Option<i64>)>(conn)?;
    let now = rules.now;
    // No token outlives its grant's cap.
    let capped = |at: i64| cap.map_or(at, |c| at.min(c));
    let access_expires_at = capped(write.access_expires_at);
    diesel::insert_into(access_tokens::table)
        .values((
            access_tokens::token_hash.eq(write.access.as_bytes().as_slice()),
            access_tokens::grant_id.eq(&grant_id),
            access_tokens::scope.eq(&scope),
            access_tokens::issued_at.eq(now),
            access_tokens::expires_at.eq(access_expires_at),
            access_tokens::audience.eq(resources.replace(' ', "\n")),
            access_tokens::dpop_jkt.eq(write.access_dpop_jkt.as_deref()),
        ))
        .execute(conn)?;
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(write.successor.as_bytes().as_slice()),
            refresh_tokens::grant_id.eq(&grant_id),
            refresh_tokens::issued_at.eq(now),
            refresh_tokens::expires_at.eq(capped(write.successor_expires_at)),
        ))
        .execute(conn)?;
    Ok(Some((grant_id, scope, access_expires_at)))
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{Connection, InstrumentationEvent};
    use grantd_ports::{ClientId, FailureKey, TokenHash};

    use super::*;
    use crate::DbOptions;

    fn rules(dpop_jkt: Option<&str>, registered: &[&str], excluded: &[&str]) -> ConsumeIf {
        ConsumeIf {
            token: TokenHash::of("presented"),
            client_id: ClientId::parse("app").unwrap(),
            now: 1_700_000_000,
            dpop_jkt: dpop_jkt.map(str::to_owned),
            registered_scopes: registered.iter().map(|s| s.to_string()).collect(),
            excluded_scopes: excluded.iter().map(|s| s.to_string()).collect(),
            client_row: None,
            no_failures: vec![FailureKey::from_bytes([7; 32])],
        }
    }

    /// A write with fixed values, shared with Postgres' statement tests.
    pub(in crate::tokens) fn write() -> OneTripWrite {
        OneTripWrite {
            consumed_at_ms: 1_700_000_000_500,
            access: TokenHash::of("a"),
            access_expires_at: 1_700_003_600,
            access_dpop_jkt: None,
            successor: TokenHash::of("s"),
            successor_expires_at: 1_701_000_000,
        }
    }

    /// Caching under one query id is sound only if every value renders the same SQL.
    #[test]
    fn the_consuming_update_renders_the_same_sql_for_any_values() {
        let sql = |rules: &ConsumeIf| {
            let query = diesel::debug_query::<Sqlite, _>(&consume_if(rules, &write())).to_string();
            query.split(" -- binds:").next().unwrap().to_owned()
        };
        let plain = sql(&rules(None, &[], &[]));
        assert_eq!(
            plain,
            sql(&rules(Some("jkt"), &["read", "write"], &["openid"]))
        );
        assert!(plain.starts_with("UPDATE"), "{plain}");
    }

    /// Every statement a rotation runs is prepared once per connection: diesel reports a
    /// statement it caches, and each one this rotation started was cached.
    #[test]
    fn every_statement_of_the_rotation_is_prepared_once_and_cached() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("one-trip.db").display());
        let db = Database::connect(&url, &DbOptions::default()).unwrap();
        db.migrate().unwrap();
        let Pool::Sqlite(pools) = db.pool() else {
            unreachable!("a SQLite URL")
        };
        let (started, cached) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(0)));
        let (s, c) = (started.clone(), cached.clone());
        let outcome = pools
            .writer
            .exclusive(|conn| {
                conn.set_instrumentation(move |event: InstrumentationEvent<'_>| match event {
                    // The transaction's BEGIN and COMMIT are not prepared statements.
                    InstrumentationEvent::StartQuery { query, .. } => {
                        let sql = query.to_string();
                        if !sql.starts_with("BEGIN") && !sql.starts_with("COMMIT") {
                            *s.lock().unwrap() += 1;
                        }
                    }
                    InstrumentationEvent::CacheQuery { .. } => *c.lock().unwrap() += 1,
                    _ => {}
                });
                conn.immediate_transaction(|conn| {
                    sqlite_rotate_if(conn, &rules(None, &["read"], &[]), &write())
                })
            })
            .unwrap();
        assert!(outcome.unwrap().is_none(), "no such token: nothing written");
        let (started, cached) = (*started.lock().unwrap(), *cached.lock().unwrap());
        // The failure-counter check and the consuming update.
        assert_eq!((started, cached), (2, 2), "every statement was cached");
    }

    #[test]
    fn json_strings_quote_and_escape() {
        assert_eq!(json_strings(&[]), "[]");
        assert_eq!(
            json_strings(&["read".into(), "a\"b\\".into()]),
            r#"["read","a\"b\\"]"#
        );
    }
}
