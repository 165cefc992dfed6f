DROP TRIGGER clients_version;
