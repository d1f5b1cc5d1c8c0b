// /documents — the user's documents (endpoints and rules: the service README), scopes documents:read /
// documents:write (RFC 6750 §3.1 insufficient_scope otherwise). Same 404 rules as photos: no way to probe other
// users' ids. Uploads take no upload slot: a document is at most 100 000 characters under the app-wide 1 MiB
// body limit, so even many at once hold little memory (photos are up to 2.8 MB of base64 each).
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sendNotFound } from '../lib/not-found.js';
import { CONTENT_MAX, TITLE_MAX, checkContent, checkTitle, isUuid } from '../lib/validation.js';
import { ownerOf } from '../plugins/token-verifier.js';
import type { DocumentItem, DocumentSummary } from '../repositories/documents.js';

const DocumentSummaryJson = Type.Object({
  id: Type.String(),
  title: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
const DocumentJson = Type.Object({
  id: Type.String(),
  title: Type.String(),
  content: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
const IdParams = Type.Object({ id: Type.String() });
const NewDocument = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: TITLE_MAX }),
    content: Type.String({ maxLength: CONTENT_MAX }),
  },
  { additionalProperties: false },
);

const summary = (d: DocumentSummary) => ({ id: d.id, title: d.title, createdAt: d.createdAt.toISOString() });
const full = (d: DocumentItem) => ({ ...summary(d), content: d.content });

export default async function documentRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = app.requireScope('documents:read');
  const write = app.requireScope('documents:write');

  app.get(
    '/documents',
    { onRequest: read, schema: { response: { 200: Type.Object({ documents: Type.Array(DocumentSummaryJson) }) } } },
    async (request) => ({ documents: (await app.documents.list(ownerOf(request))).map(summary) }),
  );

  app.get(
    '/documents/:id',
    { onRequest: read, schema: { params: IdParams, response: { 200: DocumentJson } } },
    async (request, reply) => {
      const { id } = request.params;
      const doc = isUuid(id) ? await app.documents.find(ownerOf(request), id) : null;
      if (!doc) return sendNotFound(reply, 'document');
      return full(doc);
    },
  );

  app.post(
    '/documents',
    { onRequest: write, schema: { body: NewDocument, response: { 201: DocumentJson } } },
    async (request, reply) => {
      const title = checkTitle(request.body.title);
      const content = checkContent(request.body.content);
      const doc = await app.documents.create(ownerOf(request), { title, content });
      return reply.code(201).header('location', `/documents/${doc.id}`).send(full(doc));
    },
  );

  app.delete('/documents/:id', { onRequest: write, schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    const deleted = isUuid(id) && (await app.documents.delete(ownerOf(request), id));
    if (!deleted) return sendNotFound(reply, 'document');
    return reply.code(204).send();
  });
}
