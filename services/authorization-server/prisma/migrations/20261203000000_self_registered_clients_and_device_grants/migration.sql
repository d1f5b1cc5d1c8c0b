-- Clients that register themselves (RFC 7591/7592) or are identified by a client ID metadata document
-- (draft-ietf-oauth-client-id-metadata-document), and grants that come from a device code (RFC 8628).
-- How a client came to be known: 'operator' (the clients command, the seed), 'dynamic' (RFC 7591
-- registration) or 'metadata_document' (its client_id is the https URL of its metadata document). The consent
-- page tells a person when a client is not one the operator registered.
ALTER TABLE "clients" ADD COLUMN "registration" TEXT NOT NULL DEFAULT 'operator';
-- RFC 7591 §2 token_endpoint_auth_method as registered; null for operator clients, which may use any method
-- that fits their type (a secret: client_secret_basic or client_secret_post; none: public).
ALTER TABLE "clients" ADD COLUMN "token_endpoint_auth_method" TEXT;
-- RFC 7592 §3: SHA-256 of the registration access token (hex); null when the client cannot manage itself.
ALTER TABLE "clients" ADD COLUMN "registration_access_token_hash" TEXT;
-- Further RFC 7591 §2 metadata the client registered (client_uri, logo_uri, contacts, …), returned by RFC 7592
-- reads; never used to decide anything.
ALTER TABLE "clients" ADD COLUMN "metadata" JSONB NOT NULL DEFAULT '{}';
ALTER TABLE "clients" ADD COLUMN "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
CREATE UNIQUE INDEX "clients_registration_access_token_hash_key" ON "clients"("registration_access_token_hash");

-- A grant from the device authorization grant has no PKCE challenge (RFC 8628 §3.4); its code_hash is the
-- SHA-256 of the device code, so a device code is redeemed for at most one grant.
ALTER TABLE "grants" ALTER COLUMN "code_challenge" DROP NOT NULL;
