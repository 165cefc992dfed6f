ALTER TABLE refresh_tokens DROP COLUMN successor_hash;
ALTER TABLE refresh_tokens DROP COLUMN consumed_at_ms;
