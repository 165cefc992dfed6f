-- grantd's initial schema (Postgres). The SQLite migration of the same name is the same
-- schema in SQLite's types. Every time is BIGINT Unix seconds supplied by the application's
-- clock, never the database's now(), so that tests and every process agree on one time source.

CREATE TABLE clients (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    -- bcrypt hash; NULL = public client (RFC 6749 §2.1).
    secret_hash                TEXT NULL,
    secret_version             BIGINT NOT NULL DEFAULT 0,
    -- space-separated grant_type values.
    grant_types                TEXT NOT NULL,
    -- space-separated scope tokens (RFC 6749 §3.3).
    scopes                     TEXT NOT NULL,
    -- newline-separated redirect URIs (a URI cannot contain a line break).
    redirect_uris              TEXT NOT NULL,
    can_introspect             BOOLEAN NOT NULL DEFAULT FALSE,
    access_token_lifetime      BIGINT NULL,
    refresh_token_lifetime     BIGINT NULL,
    refresh_token_max_lifetime BIGINT NULL,
    created_at                 BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

-- One authorization; owns a family of tokens. user_id NULL = the client itself
-- (client_credentials). username is denormalised so that a token lookup needs one join.
CREATE TABLE grants (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT NULL REFERENCES users (id) ON DELETE CASCADE,
    username   TEXT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NULL,
    revoked_at BIGINT NULL,
    CHECK ((user_id IS NULL) = (username IS NULL))
);
CREATE INDEX grants_client_id_idx ON grants (client_id);
CREATE INDEX grants_user_id_idx ON grants (user_id);
CREATE INDEX grants_expires_at_idx ON grants (expires_at);

-- Only SHA-256 hashes of tokens are stored.
CREATE TABLE refresh_tokens (
    token_hash      BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    grant_id        TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    issued_at       BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    consumed_at     BIGINT NULL,
    sealed_response BYTEA NULL
);
CREATE INDEX refresh_tokens_grant_id_idx ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE access_tokens (
    token_hash BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    grant_id   TEXT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NULL
);
CREATE INDEX access_tokens_grant_id_idx ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires_at_idx ON access_tokens (expires_at);
