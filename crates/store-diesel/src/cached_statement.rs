//! A diesel statement that diesel would prepare again on every run, cached instead.
//!
//! diesel 2.3 never caches an `UPDATE`: `UpdateStatement` marks itself unsafe to cache,
//! because a changeset of `Option` fields renders different SQL for different values. On
//! SQLite, preparing is work in this process: re-preparing the one-trip rotation's
//! `UPDATE` (subqueries, `json_each`) was a fifth of grantd's CPU per refresh. An update
//! whose SQL is the same for every value of its type is safe to cache; [`Cached`] says so,
//! and names the statement with a static query id, so diesel prepares it once per
//! connection. Wrap only such a statement (every `.eq` on a bind, no `Option` changeset,
//! no `eq_any` on a list): a test per use compares the SQL of different values.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

/// `query`, cached by diesel under the query id `Id` (a type naming this one statement).
pub(crate) struct Cached<Q, Id> {
    query: Q,
    id: PhantomData<Id>,
}

/// Wraps `query` so that diesel caches its prepared statement under `Id`.
pub(crate) fn cached<Id, Q>(query: Q) -> Cached<Q, Id> {
    Cached {
        query,
        id: PhantomData,
    }
}

impl<Q, Id: 'static> QueryId for Cached<Q, Id> {
    type QueryId = Id;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<Q: Query, Id> Query for Cached<Q, Id> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<DB>, Id, DB: Backend> QueryFragment<DB> for Cached<Q, Id> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q, Id, Conn> RunQueryDsl<Conn> for Cached<Q, Id> {}
