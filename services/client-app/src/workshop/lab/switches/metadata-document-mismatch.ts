// Lab switch "metadata-document-mismatch". draft-ietf-oauth-client-id-metadata-document §4: the document at a
// client_id URL must name that very URL as its client_id; otherwise anyone could publish a document claiming
// to be another client. The client app serves such a document under its own (loopback) URL, which a
// development issuer accepts as a client_id; the AS must show an error page and never redirect.
import type { Config } from '../../../config.js';
import type { LabContext, SwitchMeta } from '../run-context.js';
import { newVerifier, s256 } from '../forge.js';

export const meta: SwitchMeta = {
  id: 'metadata-document-mismatch',
  title: "Publish a client metadata document with someone else's client_id",
  misbehaviour:
    'The client uses the URL of a metadata document it serves as its client_id, but the document names a different URL as its client_id.',
  attack:
    "Impersonation: a document claiming another client's identity would borrow its name and redirect URIs on the consent page.",
  defence:
    'The authorization server fetches the document and requires its client_id to equal the URL exactly; otherwise the client is not established and the AS never redirects (RFC 6749 §4.1.2.1).',
  expected: 'The authorization server shows an error page (400) and never redirects.',
};

/** Where the client app serves the lab's document (GET, workshop mode only; routes/workshop.ts). */
export const DOCUMENT_PATH = '/workshop/lab/client-metadata/mismatched';

export const documentUrl = (config: Config) => `${config.PUBLIC_URL}${DOCUMENT_PATH}`;

/** The document: valid in every way but one, its client_id, which is another URL of the same host. */
export function mismatchedDocument(config: Config, redirectUri: string): Record<string, unknown> {
  return {
    client_id: `${config.PUBLIC_URL}/workshop/lab/client-metadata/someone-else`,
    client_name: 'Quartet lab: a mismatched metadata document',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    scope: 'photos:read',
  };
}

export async function run(ctx: LabContext): Promise<string | void> {
  if (ctx.as.client_id_metadata_document_supported !== true)
    return 'The authorization server does not advertise client_id_metadata_document_supported: no metadata documents to try.';
  const verifier = newVerifier();
  const clientId = documentUrl(ctx.config);
  ctx.recorder.record({
    role: 'client',
    title: `The client serves its metadata document at ${clientId}, with client_id ${String(mismatchedDocument(ctx.config, ctx.redirectUri).client_id)}`,
    outcome: 'info',
  });
  const outcome = await ctx.authorizeAs(
    ctx.victim,
    ctx.client.authorizationUrl({ client_id: clientId, code_challenge: s256(verifier), code_challenge_method: 'S256' }),
    verifier,
    `client_id ${clientId}`,
  );
  ctx.expectErrorPage('authorization request', outcome);
}
