-- secret_version becomes the client row's version: bumped on EVERY update by a trigger
-- (so no update, present or future, can forget it). A process that keeps a client row in
-- memory checks, inside the refresh's transaction, that the stored row still has this
-- version and secret hash: a rotated secret, a changed grant type or a deleted client is
-- refused at once. An update that bumps it itself (a secret rotation) is left alone, and
-- the WHEN clause keeps the trigger's own update from firing it again.
CREATE TRIGGER clients_version AFTER UPDATE ON clients
    FOR EACH ROW WHEN NEW.secret_version = OLD.secret_version
BEGIN
    UPDATE clients SET secret_version = OLD.secret_version + 1 WHERE id = NEW.id;
END;
