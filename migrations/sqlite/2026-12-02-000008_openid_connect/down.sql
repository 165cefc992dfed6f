ALTER TABLE grants DROP COLUMN auth_time;
ALTER TABLE authorization_codes DROP COLUMN auth_time;
ALTER TABLE authorization_codes DROP COLUMN nonce;
ALTER TABLE clients DROP COLUMN post_logout_redirect_uris;
ALTER TABLE users DROP COLUMN email_verified;
ALTER TABLE users DROP COLUMN email;
ALTER TABLE users DROP COLUMN name;
