// The user's documents, fetched from the resource server with the Bearer token (RFC 6750 §2.1).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ItemParams } from './photos.js';

export default async function documentRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get('/documents', { preHandler: app.requireConnection }, async (request, reply) => {
    const documents = await app.withAccessToken(request, (token, recorder) =>
      app.resourceApi.listDocuments(token, recorder),
    );
    return reply.header('cache-control', 'no-store').view('documents.njk', {
      connected: true,
      csrfToken: request.connection?.session.data.csrfToken,
      documents,
    });
  });

  app.get(
    '/documents/:id',
    { schema: { params: ItemParams }, preHandler: app.requireConnection },
    async (request, reply) => {
      const document = await app.withAccessToken(request, (token, recorder) =>
        app.resourceApi.getDocument(token, request.params.id, recorder),
      );
      return reply.header('cache-control', 'no-store').view('document.njk', {
        connected: true,
        csrfToken: request.connection?.session.data.csrfToken,
        document,
      });
    },
  );
}
