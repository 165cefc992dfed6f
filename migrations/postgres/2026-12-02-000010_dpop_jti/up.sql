-- DPoP (RFC 9449). dpop_jtis remembers each accepted proof (§11.1) for as long as a proof
-- with its iat is acceptable, so that every grantd process on this database refuses a
-- replay; jti_hash is the SHA-256 of the key's thumbprint and the jti, never the jti
-- itself. Rows past expires_at are deleted by the housekeeping prune.
CREATE TABLE dpop_jtis (
    jti_hash   BYTEA PRIMARY KEY CHECK (octet_length(jti_hash) = 32),
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_jtis_expires_at_idx ON dpop_jtis (expires_at);
-- The RFC 7638 thumbprint (base64url) an access token is bound to (§6), and the one a
-- public client's grant binds its refresh tokens to (§5); NULL = not bound (Bearer).
ALTER TABLE access_tokens ADD COLUMN dpop_jkt TEXT;
ALTER TABLE grants ADD COLUMN dpop_jkt TEXT;
-- RFC 9449 §5.2 dpop_bound_access_tokens (`client create --require-dpop`): the client's
-- token requests without a DPoP proof are refused.
ALTER TABLE clients ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
