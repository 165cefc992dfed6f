DROP TABLE consents;
DROP TABLE authorization_codes;
