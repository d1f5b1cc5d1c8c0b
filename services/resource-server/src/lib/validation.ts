// Input rules for items, shared by the routes and the seed. Schemas (TypeBox) enforce types and lengths;
// the checks here are the ones a JSON schema expresses badly: blank titles, control characters, base64
// syntax, and whether uploaded bytes really are the image type they claim to be.
import { OAuthError } from '@quartet/common';

export const TITLE_MAX = 200;
/** Characters of document content (~100 KB of text); documents are notes, not file storage. */
export const CONTENT_MAX = 100_000;
/** Decoded image bytes. */
export const IMAGE_MAX_BYTES = 2 * 1024 * 1024;
/** Base64 characters needed for IMAGE_MAX_BYTES (4 per 3 bytes, padded). */
export const IMAGE_MAX_BASE64 = Math.ceil(IMAGE_MAX_BYTES / 3) * 4;

export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

// Any UUID PostgreSQL's uuid type would store, in the canonical 8-4-4-4-12 form.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

function invalid(description: string): OAuthError {
  return new OAuthError('invalid_request', description);
}

/** Title: 1–200 characters (schema), at least one visible character, no control characters. */
export function checkTitle(title: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(title))
    throw invalid('title must not contain control characters (such as newlines).');
  if (title.trim() === '') throw invalid('title must not be blank.');
  return title;
}

/** Document content: PostgreSQL text cannot hold NUL, so refuse it here as bad input rather than fail in the DB. */
export function checkContent(content: string): string {
  if (content.includes('\u0000')) throw invalid('content must not contain NUL characters.');
  return content;
}

// Strict standard base64 (RFC 4648 §4) with padding: Buffer.from(…, 'base64') silently skips junk, which
// would let a malformed upload through as different bytes than the client meant. Re-encoding and comparing
// is linear in the input and also refuses non-canonical trailing bits.
export function decodeBase64(data: string): Buffer {
  const bytes = Buffer.from(data, 'base64');
  if (bytes.toString('base64') !== data)
    throw invalid('data must be standard base64 (RFC 4648 section 4) with padding.');
  return bytes;
}

/** The image type the bytes' signature ("magic bytes") shows, or null when it is none we accept. */
export function sniffImageType(bytes: Uint8Array): ImageType | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a'))
    return 'image/gif';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP')
    return 'image/webp';
  return null;
}

/**
 * Decodes an upload and checks it is an image of the declared type within the size limit. Checking the
 * bytes, not just the declared type, keeps us from storing (and later serving with an image type) HTML or
 * script that a browser might be talked into rendering.
 */
export function checkImage(contentType: ImageType, data: string): Buffer {
  const bytes = decodeBase64(data);
  if (bytes.length === 0) throw invalid('data must not be empty.');
  if (bytes.length > IMAGE_MAX_BYTES) throw invalid(`The image is larger than ${IMAGE_MAX_BYTES / 1024 / 1024} MB.`);
  const actual = sniffImageType(bytes);
  if (actual === null) throw invalid(`data is not a PNG, JPEG, GIF or WebP image.`);
  if (actual !== contentType) throw invalid(`data holds ${actual} bytes but contentType says ${contentType}.`);
  return bytes;
}
