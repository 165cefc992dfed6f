-- Login sessions end when they should: every session cookie carries its user's stamp, and
-- a password change, disabling or logout replaces the stamp, so every earlier session of
-- that user stops working at once. Existing users get a fixed first value; the sessions
-- made before this migration carry no stamp and so end with it.
ALTER TABLE users ADD COLUMN session_stamp TEXT NOT NULL DEFAULT 'initial';
