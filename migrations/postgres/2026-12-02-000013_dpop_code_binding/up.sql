-- RFC 9449 §10: the authorization request's dpop_jkt, the RFC 7638 thumbprint (base64url)
-- of the only DPoP key whose proof may exchange the code; NULL = the code is not bound.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;
