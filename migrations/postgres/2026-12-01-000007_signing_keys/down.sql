ALTER TABLE clients DROP COLUMN access_token_format;
DROP TABLE signing_keys;
