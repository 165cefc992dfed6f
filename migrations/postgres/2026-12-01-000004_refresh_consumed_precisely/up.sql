-- Reuse detection without a one-second hole (RFC 9700 §4.14.2). consumed_at_ms: the
-- rotation's instant in milliseconds, so that a request arriving after it is told from a
-- concurrent one (consumed_at stays: every expiry and the grace period are whole seconds).
-- successor_hash: the token that rotation issued, so that a retry within the grace period
-- is refused once the successor was used. Both NULL while live, and for rows consumed
-- before this migration.
ALTER TABLE refresh_tokens ADD COLUMN consumed_at_ms BIGINT NULL;
ALTER TABLE refresh_tokens ADD COLUMN successor_hash BYTEA NULL
    CHECK (successor_hash IS NULL OR octet_length(successor_hash) = 32);
