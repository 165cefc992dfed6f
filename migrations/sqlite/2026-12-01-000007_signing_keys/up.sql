-- Signing keys for JWTs, shared by every instance (issue 12). The private part is stored
-- only sealed (ChaCha20-Poly1305 under keys.encryption_key); the public JWK is what the
-- JWKS publishes. A key signs from activates_at on (published before, so that caches have
-- it), and a retired key stays published until published_until (its last token's expiry).
CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY NOT NULL,
    algorithm       TEXT NOT NULL,
    public_jwk      TEXT NOT NULL,
    private_key     BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    activates_at    INTEGER NOT NULL,
    retired_at      INTEGER NULL,
    published_until INTEGER NULL,
    CHECK ((retired_at IS NULL) = (published_until IS NULL))
) STRICT, WITHOUT ROWID;

-- RFC 9068: a client may get JWT access tokens although the global format is opaque, or
-- the reverse; NULL = the global tokens.access_token_format.
ALTER TABLE clients ADD COLUMN access_token_format TEXT NULL;
