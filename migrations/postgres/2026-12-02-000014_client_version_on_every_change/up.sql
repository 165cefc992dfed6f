-- secret_version becomes the client row's version: bumped on EVERY update by a trigger
-- (so no update, present or future, can forget it). A process that keeps a client row in
-- memory checks, inside the refresh's one statement, that the stored row still has this
-- version and secret hash: a rotated secret, a changed grant type or a deleted client is
-- refused at once. An update that bumps it itself (a secret rotation) is bumped once.
CREATE FUNCTION clients_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.secret_version := OLD.secret_version + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER clients_version BEFORE UPDATE ON clients
    FOR EACH ROW EXECUTE FUNCTION clients_bump_version();
