// /photos — the user's photos (endpoints and rules: the service README). Scopes photos:read / photos:write
// (RFC 6749 §3.3) are enforced per route by requireScope (RFC 6750 §3.1 insufficient_scope). An id that is not
// a UUID, an unknown id and another user's id all answer the same 404, so ids cannot be probed.
//
// Uploads are bounded twice: per process, MAX_CONCURRENT_UPLOADS slots (plugins/upload-slots.ts) taken after
// the token check and before the body is read; per user, a quota of photos and bytes checked atomically with
// the insert (repositories/photos.ts), answered 403 quota_exceeded.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApiError } from '@quartet/common';
import { photoQuota } from '../config.js';
import { sendNotFound } from '../lib/not-found.js';
import { ownerOf } from '../plugins/token-verifier.js';
import type { PhotoQuota, PhotoSummary } from '../repositories/photos.js';
import {
  IMAGE_MAX_BASE64,
  IMAGE_TYPES,
  TITLE_MAX,
  checkImage,
  checkTitle,
  isUuid,
  type ImageType,
} from '../lib/validation.js';

const Photo = Type.Object({
  id: Type.String(),
  title: Type.String(),
  contentType: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  imageUrl: Type.String(),
});
const IdParams = Type.Object({ id: Type.String() });
const NewPhoto = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: TITLE_MAX }),
    // A plain enum (not a union of literals) so a wrong value gets one error that lists the allowed types.
    contentType: Type.Unsafe<ImageType>(Type.String({ enum: [...IMAGE_TYPES] })),
    data: Type.String({ minLength: 1, maxLength: IMAGE_MAX_BASE64 }),
  },
  { additionalProperties: false },
);

// Serves user-uploaded bytes: forbid everything a document could do, in case a browser ever renders one
// (img-src 'self' lets the browser's own image viewer display it; sandbox disables scripts and same-origin).
export const IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

function toJson(p: PhotoSummary) {
  return {
    id: p.id,
    title: p.title,
    contentType: p.contentType,
    createdAt: p.createdAt.toISOString(),
    imageUrl: `/photos/${p.id}/image`,
  };
}

const MiB = 1024 * 1024;

/** The 403 for an upload beyond the owner's quota, naming the limit it would exceed. */
export function quotaExceeded(exceeded: 'count' | 'bytes', quota: PhotoQuota): ApiError {
  const limit =
    exceeded === 'count'
      ? `${quota.count} photos`
      : `${quota.bytes % MiB === 0 ? `${quota.bytes / MiB} MiB` : `${quota.bytes} bytes`} of images`;
  return new ApiError(
    403,
    'quota_exceeded',
    `This upload would exceed your photo quota of ${limit}; delete photos to make room.`,
  );
}

export default async function photoRoutes(fastify: FastifyInstance): Promise<void> {
  // Per-user limits (PHOTO_QUOTA_COUNT, PHOTO_QUOTA_BYTES).
  const quota = photoQuota(fastify.config);
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const read = app.requireScope('photos:read');
  const write = app.requireScope('photos:write');

  app.get(
    '/photos',
    { onRequest: read, schema: { response: { 200: Type.Object({ photos: Type.Array(Photo) }) } } },
    async (request) => {
      const photos = await app.photos.list(ownerOf(request));
      return { photos: photos.map(toJson) };
    },
  );

  app.get(
    '/photos/:id',
    { onRequest: read, schema: { params: IdParams, response: { 200: Photo } } },
    async (request, reply) => {
      const { id } = request.params;
      const photo = isUuid(id) ? await app.photos.find(ownerOf(request), id) : null;
      if (!photo) return sendNotFound(reply, 'photo');
      return toJson(photo);
    },
  );

  app.get('/photos/:id/image', { onRequest: read, schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    const image = isUuid(id) ? await app.photos.image(ownerOf(request), id) : null;
    if (!image) return sendNotFound(reply, 'photo');
    return reply
      .type(image.contentType)
      .headers({
        'x-content-type-options': 'nosniff',
        'content-security-policy': IMAGE_CSP,
        'content-disposition': 'inline',
      })
      .send(image.data);
  });

  app.post(
    '/photos',
    {
      // The slot after the token and scope check (an anonymous caller never holds one), before the body is read.
      onRequest: [write, app.uploadSlot],
      // base64 of a 2 MB image plus the JSON around it; the app-wide 1 MiB limit would refuse legitimate uploads.
      bodyLimit: IMAGE_MAX_BASE64 + 16 * 1024,
      schema: { body: NewPhoto, response: { 201: Photo } },
    },
    async (request, reply) => {
      const { title, contentType, data } = request.body;
      const bytes = checkImage(contentType, data);
      const result = await app.photos.create(
        ownerOf(request),
        { title: checkTitle(title), contentType, data: bytes },
        quota,
      );
      if (!result.created) throw quotaExceeded(result.exceeded, quota);
      return reply.code(201).header('location', `/photos/${result.created.id}`).send(toJson(result.created));
    },
  );

  app.delete('/photos/:id', { onRequest: write, schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params;
    const deleted = isUuid(id) && (await app.photos.delete(ownerOf(request), id));
    if (!deleted) return sendNotFound(reply, 'photo');
    return reply.code(204).send();
  });
}
