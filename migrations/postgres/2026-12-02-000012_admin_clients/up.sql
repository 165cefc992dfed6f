-- `client create --admin`: the client may be granted the scope grantd:admin through
-- client_credentials, whose access token is the admin API's credential.
ALTER TABLE clients ADD COLUMN admin BOOLEAN NOT NULL DEFAULT FALSE;
