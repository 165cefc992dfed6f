DROP TRIGGER clients_version ON clients;
DROP FUNCTION clients_bump_version();
