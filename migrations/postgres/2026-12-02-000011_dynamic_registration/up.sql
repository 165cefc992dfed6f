-- Dynamic client registration (RFC 7591, RFC 7592). initial_access_tokens are the tokens
-- an operator hands out to restrict registration (RFC 7591 §3), kept only as SHA-256;
-- each registration takes one of uses_left. They are never deleted, so that every
-- registration keeps the id of the token it came with.
CREATE TABLE initial_access_tokens (
    id         TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    uses_left  BIGINT NOT NULL CHECK (uses_left >= 0),
    revoked_at BIGINT
);
-- A dynamically registered client's registration access token (RFC 7592 §1), as
-- SHA-256, and its token_endpoint_auth_method as registered (RFC 7591 §2). It goes with
-- its client.
CREATE TABLE client_registrations (
    client_id         TEXT PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    access_token_hash BYTEA NOT NULL UNIQUE CHECK (octet_length(access_token_hash) = 32),
    auth_method       TEXT NOT NULL
        CHECK (auth_method IN ('none', 'client_secret_basic', 'client_secret_post')),
    initial_token_id  TEXT NOT NULL
);
