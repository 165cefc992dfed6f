//! The scope predicates of SQLite's one-trip rotation as diesel expressions with a static
//! query id, so that diesel prepares the consuming `UPDATE` once per connection and caches
//! it. As `sql` literals they made diesel prepare it again on every rotation, a fifth of
//! SQLite's CPU per refresh (docs/SCALING.md). Two types, because a query id names one SQL
//! text: each type always renders the same SQL, and only its bind differs.

use diesel::expression::{is_aggregate, AppearsOnTable, Expression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

/// `grants.scope`'s tokens as a `json_each` source (the stored form is space-separated
/// NQCHARs, so quoting each token makes a JSON array).
const GRANT_SCOPE_TOKENS: &str = "json_each('[\"' || replace(grants.scope, ' ', '\",\"') || '\"]')";

/// Every token of the grant's scope is in the JSON array of strings (the registry).
pub(super) struct EveryGrantScopeIn(pub(super) String);

/// No token of the grant's scope is in the JSON array of strings (the excluded scopes).
pub(super) struct NoGrantScopeIn(pub(super) String);

impl QueryFragment<Sqlite> for EveryGrantScopeIn {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        no_grant_scope_where("g.value <> '' AND g.value NOT IN", &self.0, out)
    }
}

impl QueryFragment<Sqlite> for NoGrantScopeIn {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        no_grant_scope_where("g.value IN", &self.0, out)
    }
}

/// `NOT EXISTS` a token of the grant's scope for which `test` holds against `list`.
fn no_grant_scope_where<'b>(
    test: &'static str,
    list: &'b str,
    mut out: AstPass<'_, 'b, Sqlite>,
) -> QueryResult<()> {
    out.push_sql("NOT EXISTS (SELECT 1 FROM ");
    out.push_sql(GRANT_SCOPE_TOKENS);
    out.push_sql(" AS g WHERE ");
    out.push_sql(test);
    out.push_sql(" (SELECT value FROM json_each(");
    out.push_bind_param::<Text, _>(list)?;
    out.push_sql(")))");
    Ok(())
}

/// What diesel needs of a boolean predicate over `grants` that is never an aggregate.
macro_rules! grant_predicate {
    ($name:ident) => {
        impl Expression for $name {
            type SqlType = Bool;
        }
        impl<QS> AppearsOnTable<QS> for $name {}
        impl<GB> ValidGrouping<GB> for $name {
            type IsAggregate = is_aggregate::Never;
        }
        impl QueryId for $name {
            type QueryId = Self;
            const HAS_STATIC_QUERY_ID: bool = true;
        }
    };
}

grant_predicate!(EveryGrantScopeIn);
grant_predicate!(NoGrantScopeIn);
