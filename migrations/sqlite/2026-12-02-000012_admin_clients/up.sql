-- `client create --admin`: the client may be granted the scope grantd:admin through
-- client_credentials, whose access token is the admin API's credential.
ALTER TABLE clients ADD COLUMN admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1));
