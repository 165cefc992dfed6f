//! `KeyStore` on [`Database`]: the signing keys every instance shares. The row holds the
//! public JWK and the sealed private part exactly as the crypto adapter made them; this
//! module neither opens nor interprets either.

use diesel::prelude::*;
use grantd_ports::{KeyStore, SealedPrivateKey, SigningAlgorithm, SigningKey, StoreError};

use crate::errors::Failure;
use crate::pool::{db_read, db_run};
use crate::schema::signing_keys;
use crate::Database;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct KeyRow {
    kid: String,
    algorithm: String,
    public_jwk: String,
    private_key: Vec<u8>,
    created_at: i64,
    activates_at: i64,
    retired_at: Option<i64>,
    published_until: Option<i64>,
}

impl KeyRow {
    fn from_record(key: &SigningKey) -> Self {
        Self {
            kid: key.kid.clone(),
            algorithm: key.algorithm.as_str().to_owned(),
            public_jwk: key.public_jwk.clone(),
            private_key: key.private_key.as_bytes().to_vec(),
            created_at: key.created_at,
            activates_at: key.activates_at,
            retired_at: key.retired_at,
            published_until: key.published_until,
        }
    }

    fn into_record(self) -> Result<SigningKey, Failure> {
        let algorithm = SigningAlgorithm::parse(&self.algorithm)
            .ok_or_else(|| Failure::Corrupt(format!("signing key {:?}: algorithm", self.kid)))?;
        Ok(SigningKey {
            kid: self.kid,
            algorithm,
            public_jwk: self.public_jwk,
            private_key: SealedPrivateKey::from_stored(self.private_key),
            created_at: self.created_at,
            activates_at: self.activates_at,
            retired_at: self.retired_at,
            published_until: self.published_until,
        })
    }
}

impl KeyStore for Database {
    fn insert_signing_key(&self, key: &SigningKey) -> Result<(), StoreError> {
        let row = KeyRow::from_record(key);
        db_run!(self, |conn| {
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
    }

    fn list_signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let rows = db_read!(self, |conn| {
            Ok(signing_keys::table
                .order((signing_keys::created_at, signing_keys::kid))
                .select(KeyRow::as_select())
                .load(conn)?)
        })?;
        Ok(rows
            .into_iter()
            .map(KeyRow::into_record)
            .collect::<Result<_, _>>()?)
    }

    fn retire_signing_key(
        &self,
        kid: &str,
        retired_at: i64,
        published_until: i64,
    ) -> Result<bool, StoreError> {
        db_run!(self, |conn| {
            // Only a live key: retiring twice must not move published_until.
            let updated = diesel::update(
                signing_keys::table
                    .find(kid)
                    .filter(signing_keys::retired_at.is_null()),
            )
            .set((
                signing_keys::retired_at.eq(retired_at),
                signing_keys::published_until.eq(published_until),
            ))
            .execute(conn)?;
            Ok(updated > 0)
        })
    }
}
