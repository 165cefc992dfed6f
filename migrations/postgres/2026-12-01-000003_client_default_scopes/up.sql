-- A client's own default scopes: what a request that omits `scope` gets (RFC 6749 §3.3),
-- space-separated. NULL = those of its scopes that the configured registry marks default;
-- '' = no default at all (every request must name its scope).
ALTER TABLE clients ADD COLUMN default_scopes TEXT NULL;
