//! `ClientStore` on [`Database`]: registered clients. Deleting a client cascades to its
//! grants and their tokens (foreign keys with ON DELETE CASCADE).

use diesel::prelude::*;
use grantd_ports::{Client, ClientId, ClientStore, SecretHash, StoreError};

use crate::pool::{db_read, db_run};
use crate::rows::ClientRow;
use crate::schema::clients;
use crate::Database;

impl ClientStore for Database {
    fn find_client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let row = db_read!(self, |conn| {
            Ok(clients::table
                .find(id.as_str())
                .select(ClientRow::as_select())
                .get_result(conn)
                .optional()?)
        })?;
        Ok(row.map(ClientRow::into_record).transpose()?)
    }

    fn insert_client(&self, client: &Client) -> Result<(), StoreError> {
        let row = ClientRow::from_record(client)?;
        db_run!(self, |conn| {
            diesel::insert_into(clients::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows = db_read!(self, |conn| {
            Ok(clients::table.select(ClientRow::as_select()).load(conn)?)
        })?;
        let mut clients = rows
            .into_iter()
            .map(ClientRow::into_record)
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here rather than by ORDER BY: Postgres would sort by the database's
        // collation, SQLite by bytes; this gives the same order on both.
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(clients)
    }

    fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let deleted = diesel::delete(clients::table.find(id.as_str())).execute(conn)?;
            Ok(deleted > 0)
        })
    }

    fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let row = ClientRow::from_record(client)?;
        db_run!(self, |conn| {
            let updated = diesel::update(clients::table.find(client.id.as_str()))
                .set(row.settings())
                .execute(conn)?;
            Ok(updated > 0)
        })
    }

    fn set_client_secret(&self, id: &ClientId, secret: &SecretHash) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            let updated = diesel::update(clients::table.find(id.as_str()))
                .set((
                    clients::secret_hash.eq(Some(secret.as_str())),
                    clients::secret_version.eq(clients::secret_version + 1),
                ))
                .execute(conn)?;
            Ok(updated > 0)
        })
    }
}
