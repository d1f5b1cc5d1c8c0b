-- A consent covers client + scopes + resource (RFC 8707: the audience its tokens are for): one row per user,
-- client and resource. Consents recorded before this carry no resource ('') and so cover none: their users
-- are asked again the next time, now with the resource named on the consent page.
ALTER TABLE "consents" ADD COLUMN "resource" TEXT NOT NULL DEFAULT '';
ALTER TABLE "consents" ALTER COLUMN "resource" DROP DEFAULT;

DROP INDEX "consents_user_id_client_id_key";
CREATE UNIQUE INDEX "consents_user_id_client_id_resource_key" ON "consents"("user_id", "client_id", "resource");
