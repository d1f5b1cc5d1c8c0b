-- DPoP (RFC 9449 §5): the refresh tokens of a public client's grant are bound to the key of the DPoP proof the
-- grant was obtained with; a refresh must prove that key. Null: the grant's refresh tokens are not bound
-- (no proof came, or the client is confidential and authenticates itself instead).
ALTER TABLE "grants" ADD COLUMN "dpop_jkt" TEXT;
