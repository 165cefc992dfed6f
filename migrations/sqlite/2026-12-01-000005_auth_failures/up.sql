-- The brute-force counters (RFC 6749 §2.3.1, §4.3.2), shared by every grantd process on
-- this database so that N instances enforce one limit. key_hash is the SHA-256 of what is
-- counted (a budget's label, a parsed username or client id, a source address), never the
-- value itself. One fixed window per key: [window_start, expires_at). Rows whose window
-- has ended are deleted by the housekeeping prune.
CREATE TABLE auth_failures (
    key_hash     BLOB PRIMARY KEY NOT NULL CHECK (length(key_hash) = 32),
    window_start INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    failures     INTEGER NOT NULL CHECK (failures >= 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_failures_expires_at_idx ON auth_failures (expires_at);
