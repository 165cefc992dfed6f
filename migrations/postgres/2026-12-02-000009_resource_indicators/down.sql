ALTER TABLE access_tokens DROP COLUMN audience;
ALTER TABLE authorization_codes DROP COLUMN resources;
ALTER TABLE grants DROP COLUMN resources;
