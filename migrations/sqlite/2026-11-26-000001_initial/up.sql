-- grantd's initial schema (SQLite). The Postgres migration of the same name is the same
-- schema in Postgres' types. STRICT tables make SQLite enforce the column types; booleans
-- are 0/1 integers. Every time is Unix seconds supplied by the application's clock.
-- Foreign keys are enforced only because every connection sets PRAGMA foreign_keys = ON.

CREATE TABLE clients (
    id                         TEXT PRIMARY KEY NOT NULL,
    name                       TEXT NOT NULL,
    -- bcrypt hash; NULL = public client (RFC 6749 §2.1).
    secret_hash                TEXT NULL,
    secret_version             INTEGER NOT NULL DEFAULT 0,
    -- space-separated grant_type values.
    grant_types                TEXT NOT NULL,
    -- space-separated scope tokens (RFC 6749 §3.3).
    scopes                     TEXT NOT NULL,
    -- newline-separated redirect URIs (a URI cannot contain a line break).
    redirect_uris              TEXT NOT NULL,
    can_introspect             INTEGER NOT NULL DEFAULT 0 CHECK (can_introspect IN (0, 1)),
    access_token_lifetime      INTEGER NULL,
    refresh_token_lifetime     INTEGER NULL,
    refresh_token_max_lifetime INTEGER NULL,
    created_at                 INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
) STRICT;

-- One authorization; owns a family of tokens. user_id NULL = the client itself
-- (client_credentials). username is denormalised so that a token lookup needs one join.
CREATE TABLE grants (
    id         TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT NULL REFERENCES users (id) ON DELETE CASCADE,
    username   TEXT NULL,
    scope      TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NULL,
    revoked_at INTEGER NULL,
    CHECK ((user_id IS NULL) = (username IS NULL))
) STRICT;
CREATE INDEX grants_client_id_idx ON grants (client_id);
CREATE INDEX grants_user_id_idx ON grants (user_id);
CREATE INDEX grants_expires_at_idx ON grants (expires_at);

-- Only SHA-256 hashes of tokens are stored. WITHOUT ROWID: the 32-byte hash is the key,
-- so the table is its own primary-key index.
CREATE TABLE refresh_tokens (
    token_hash      BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    grant_id        TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    issued_at       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    consumed_at     INTEGER NULL,
    sealed_response BLOB NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_grant_id_idx ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE access_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX access_tokens_grant_id_idx ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires_at_idx ON access_tokens (expires_at);
