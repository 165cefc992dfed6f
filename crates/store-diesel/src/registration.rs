//! `RegistrationStore` on [`Database`]: initial access tokens and dynamic registrations
//! (RFC 7591, RFC 7592). A registration takes one use of its initial access token with a
//! conditional update in the transaction that inserts the client, so of concurrent
//! registrations with a token's last use exactly one wins.

use diesel::prelude::*;
use grantd_ports::{
    Client, ClientId, ClientRegistration, InitialAccessToken, RegistrationStore, StoreError,
    TokenEndpointAuthMethod, TokenHash, UnixTime,
};

use crate::errors::Failure;
use crate::pool::{db_run, db_write};
use crate::rows::ClientRow;
use crate::schema::{client_registrations, clients, initial_access_tokens};
use crate::Database;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = initial_access_tokens)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct InitialTokenRow {
    id: String,
    token_hash: Vec<u8>,
    created_at: i64,
    expires_at: i64,
    uses_left: i64,
    revoked_at: Option<i64>,
}

impl InitialTokenRow {
    fn from_record(t: &InitialAccessToken) -> Self {
        Self {
            id: t.id.clone(),
            token_hash: t.token_hash.as_bytes().to_vec(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            uses_left: t.uses_left,
            revoked_at: t.revoked_at,
        }
    }

    fn into_record(self) -> Result<InitialAccessToken, Failure> {
        Ok(InitialAccessToken {
            token_hash: TokenHash::from_slice(&self.token_hash).ok_or_else(|| {
                Failure::Corrupt(format!("initial access token {:?}: hash", self.id))
            })?,
            id: self.id,
            created_at: self.created_at,
            expires_at: self.expires_at,
            uses_left: self.uses_left,
            revoked_at: self.revoked_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = client_registrations)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct RegistrationRow {
    client_id: String,
    access_token_hash: Vec<u8>,
    auth_method: String,
    initial_token_id: String,
}

impl RegistrationRow {
    fn from_record(r: &ClientRegistration) -> Self {
        Self {
            client_id: r.client_id.as_str().to_owned(),
            access_token_hash: r.access_token_hash.as_bytes().to_vec(),
            auth_method: r.auth_method.as_str().to_owned(),
            initial_token_id: r.initial_token_id.clone(),
        }
    }

    fn into_record(self) -> Result<ClientRegistration, Failure> {
        let corrupt =
            |what: &str| Failure::Corrupt(format!("registration {:?}: {what}", self.client_id));
        Ok(ClientRegistration {
            client_id: ClientId::parse(&self.client_id).map_err(|e| corrupt(&e.0))?,
            access_token_hash: TokenHash::from_slice(&self.access_token_hash)
                .ok_or_else(|| corrupt("hash"))?,
            auth_method: TokenEndpointAuthMethod::parse(&self.auth_method)
                .ok_or_else(|| corrupt("auth_method"))?,
            initial_token_id: self.initial_token_id,
        })
    }
}

impl RegistrationStore for Database {
    fn insert_initial_token(&self, token: &InitialAccessToken) -> Result<(), StoreError> {
        let row = InitialTokenRow::from_record(token);
        db_run!(self, |conn| {
            diesel::insert_into(initial_access_tokens::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn list_initial_tokens(&self) -> Result<Vec<InitialAccessToken>, StoreError> {
        let rows = db_run!(self, |conn| {
            Ok(initial_access_tokens::table
                .select(InitialTokenRow::as_select())
                .load(conn)?)
        })?;
        let mut tokens = rows
            .into_iter()
            .map(InitialTokenRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here, not by ORDER BY, for one order on both backends (bytes).
        tokens.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(tokens)
    }

    fn revoke_initial_token(&self, id: &str, now: UnixTime) -> Result<bool, StoreError> {
        use initial_access_tokens::dsl as t;
        db_run!(self, |conn| {
            let changed = diesel::update(
                t::initial_access_tokens
                    .find(id)
                    .filter(t::revoked_at.is_null()),
            )
            .set(t::revoked_at.eq(Some(now)))
            .execute(conn)?;
            Ok(changed > 0)
        })
    }

    fn find_usable_initial_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<InitialAccessToken>, StoreError> {
        use initial_access_tokens::dsl as t;
        let hash = hash.as_bytes().to_vec();
        let row = db_run!(self, |conn| {
            Ok(t::initial_access_tokens
                .filter(t::token_hash.eq(hash))
                .filter(t::revoked_at.is_null())
                .filter(t::expires_at.gt(now))
                .filter(t::uses_left.gt(0))
                .select(InitialTokenRow::as_select())
                .get_result(conn)
                .optional()?)
        })?;
        Ok(row.map(InitialTokenRow::into_record).transpose()?)
    }

    fn register_client(
        &self,
        initial: &TokenHash,
        now: UnixTime,
        client: &Client,
        registration: &ClientRegistration,
    ) -> Result<bool, StoreError> {
        use initial_access_tokens::dsl as t;
        let client_row = ClientRow::from_record(client)?;
        let registration_row = RegistrationRow::from_record(registration);
        let hash = initial.as_bytes().to_vec();
        db_write!(self, |conn| {
            // The use is taken only if one is left: the condition and the decrement are
            // one statement, which locks the row (Postgres) or runs under the immediate
            // transaction's write lock (SQLite).
            let taken = diesel::update(
                t::initial_access_tokens
                    .filter(t::token_hash.eq(&hash))
                    .filter(t::revoked_at.is_null())
                    .filter(t::expires_at.gt(now))
                    .filter(t::uses_left.gt(0)),
            )
            .set(t::uses_left.eq(t::uses_left - 1))
            .execute(conn)?;
            if taken == 0 {
                return Ok(false);
            }
            diesel::insert_into(clients::table)
                .values(&client_row)
                .execute(conn)?;
            diesel::insert_into(client_registrations::table)
                .values(&registration_row)
                .execute(conn)?;
            Ok(true)
        })
    }

    fn find_registration(
        &self,
        access_token: &TokenHash,
    ) -> Result<Option<ClientRegistration>, StoreError> {
        use client_registrations::dsl as r;
        let hash = access_token.as_bytes().to_vec();
        let row = db_run!(self, |conn| {
            Ok(r::client_registrations
                .filter(r::access_token_hash.eq(hash))
                .select(RegistrationRow::as_select())
                .get_result(conn)
                .optional()?)
        })?;
        Ok(row.map(RegistrationRow::into_record).transpose()?)
    }

    fn update_registered_client(
        &self,
        access_token: &TokenHash,
        client: &Client,
        auth_method: TokenEndpointAuthMethod,
    ) -> Result<bool, StoreError> {
        use client_registrations::dsl as r;
        let client_row = ClientRow::from_record(client)?;
        let hash = access_token.as_bytes().to_vec();
        let id = client.id.as_str().to_owned();
        db_write!(self, |conn| {
            // First the registration row, conditional on the token: it locks the row
            // (Postgres), so a concurrent delete of the client waits or has happened.
            let owned = diesel::update(
                r::client_registrations
                    .filter(r::client_id.eq(&id))
                    .filter(r::access_token_hash.eq(&hash)),
            )
            .set(r::auth_method.eq(auth_method.as_str()))
            .execute(conn)?;
            if owned == 0 {
                return Ok(false);
            }
            let updated = diesel::update(clients::table.find(&id))
                .set(&client_row)
                .execute(conn)?;
            if updated != 1 {
                return Err(Failure::Invariant("a registration without its client"));
            }
            Ok(true)
        })
    }
}
