-- RFC 8707 resource indicators. A grant records the resources it was given (the URIs,
-- space-separated: a URI holds no space), and so does an authorization code until its
-- exchange creates the grant. Each access token records the audience it was issued for
-- (newline-separated), so that introspection reports `aud` for opaque and JWT tokens alike.
-- Rows from before this migration named no resource: '' is the empty list.
ALTER TABLE grants ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN audience TEXT NOT NULL DEFAULT '';
