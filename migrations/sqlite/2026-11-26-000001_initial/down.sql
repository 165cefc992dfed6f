DROP TABLE access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE grants;
DROP TABLE users;
DROP TABLE clients;
