// The user's documents, fetched from the resource server with the Bearer token (RFC 6750 §2.1).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ItemParams } from './photos.js';

export default async function documentRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/documents', { preHandler: app.requireConnection }, async (request, reply) => {
    const documents = await app.withAccessToken(request, (token, flow, key) =>
      app.resourceApi.listDocuments(token, flow, key),
    );
    return reply.header('cache-control', 'no-store').view('documents.njk', {
      connected: true,
      csrfToken: reply.generateCsrf(),
      documents,
    });
  });

  app.get(
    '/documents/:id',
    { schema: { params: ItemParams }, preHandler: app.requireConnection },
    async (request, reply) => {
      const document = await app.withAccessToken(request, (token, flow, key) =>
        app.resourceApi.getDocument(token, request.params.id, flow, key),
      );
      return reply.header('cache-control', 'no-store').view('document.njk', {
        connected: true,
        csrfToken: reply.generateCsrf(),
        document,
      });
    },
  );
}
