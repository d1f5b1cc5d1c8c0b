-- Client metadata for pushed authorization requests and DPoP, registered through the clients command and
-- dynamic registration (RFC 7591), read from a client ID metadata document for such clients.
-- RFC 9126 §6 require_pushed_authorization_requests: this client's authorization requests must come through
-- the PAR endpoint; /authorize refuses one without a request_uri (RFC 9126 §4).
ALTER TABLE "clients" ADD COLUMN "require_pushed_authorization_requests" BOOLEAN NOT NULL DEFAULT false;
-- RFC 9449 §5.2 dpop_bound_access_tokens: this client always uses DPoP; a token request without a proof is refused.
ALTER TABLE "clients" ADD COLUMN "dpop_bound_access_tokens" BOOLEAN NOT NULL DEFAULT false;
