ALTER TABLE clients DROP COLUMN require_dpop;
ALTER TABLE grants DROP COLUMN dpop_jkt;
ALTER TABLE access_tokens DROP COLUMN dpop_jkt;
DROP TABLE dpop_jtis;
