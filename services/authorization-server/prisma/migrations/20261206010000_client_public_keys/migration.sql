-- private_key_jwt (RFC 7523 §2.2, RFC 7591 §2): the public keys a client authenticates with, either inline as a
-- JWK Set ("jwks") or the https URL of its JWK Set document ("jwks_uri"), never both (RFC 7591 §2). Null for
-- every client that does not use private_key_jwt. Such a client has no secret (secret_hash null) and is still
-- confidential: its keys are its credentials.
ALTER TABLE "clients" ADD COLUMN "jwks" JSONB;
ALTER TABLE "clients" ADD COLUMN "jwks_uri" TEXT;
