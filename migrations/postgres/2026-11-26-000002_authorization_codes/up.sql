-- The authorization code flow (RFC 6749 §4.1, RFC 7636). Codes are stored only as SHA-256
-- hashes, single use (redeemed_at), and remember the grant their exchange created so that
-- a reuse can revoke it (§4.1.2). grant_id has no foreign key: a pruned grant must not
-- take the redeemed mark (and with it reuse detection) along.
CREATE TABLE authorization_codes (
    code_hash             BYTEA PRIMARY KEY CHECK (octet_length(code_hash) = 32),
    client_id             TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id               TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    username              TEXT NOT NULL,
    -- the redirect_uri parameter of the authorization request; NULL = it had none, so
    -- the token request may omit it too (RFC 6749 §4.1.3).
    redirect_uri          TEXT NULL,
    scope                 TEXT NOT NULL,
    -- NULL together: no PKCE.
    code_challenge        TEXT NULL,
    code_challenge_method TEXT NULL,
    issued_at             BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    redeemed_at           BIGINT NULL,
    grant_id              TEXT NULL,
    CHECK ((code_challenge IS NULL) = (code_challenge_method IS NULL))
);
CREATE INDEX authorization_codes_client_id_idx ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user_id_idx ON authorization_codes (user_id);
CREATE INDEX authorization_codes_expires_at_idx ON authorization_codes (expires_at);

-- What a user allowed a client; lets the consent page be skipped next time.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_id_idx ON consents (client_id);
