-- OpenID Connect: the standard claims a user may have (Core §5.1: name, email,
-- email_verified), the addresses a client may be sent to after logout (RP-Initiated
-- Logout §3), and what an id token must repeat (Core §2): the nonce of the authorization
-- request and when the user authenticated, kept on the code and then on its grant so that
-- a refresh's new id token carries the original auth_time (Core §12.2).
ALTER TABLE users ADD COLUMN name TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0 CHECK (email_verified IN (0, 1));
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN auth_time INTEGER;
ALTER TABLE grants ADD COLUMN auth_time INTEGER;
