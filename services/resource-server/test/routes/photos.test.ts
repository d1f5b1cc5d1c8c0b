// /photos: ownership (another user's item = unknown = 404), input validation (title, content type allow-list,
// magic bytes, size), image response headers, Location on create.
import t from 'tap';
import { PNG } from 'pngjs';
import { IMAGE_CSP } from '../../src/routes/photos.js';
import { renderPng } from '../../src/lib/demo-images.js';
import { BOB, bearer, setup } from '../helper.js';

const { app, as } = await setup(t);
const alice = bearer(await as.token());
const bob = bearer(await as.token({ claims: { sub: BOB } }));
const png = renderPng('sunset');
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
const WEBP = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.from([0x1a, 0, 0, 0]),
  Buffer.from('WEBPVP8L'),
  Buffer.alloc(18),
]);

async function upload(headers: Record<string, string>, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/photos', headers, payload: body });
}

type Asserts = { equal(a: unknown, b: unknown): unknown; same(a: unknown, b: unknown): unknown };
function expectBadRequest(t: Asserts, res: Awaited<ReturnType<typeof upload>>, description: string) {
  t.equal(res.statusCode, 400);
  t.same(res.json(), { error: 'invalid_request', error_description: description });
  t.equal(res.headers['cache-control'], 'no-store');
}

let photoId = '';

t.test('create, list, get, fetch the image, delete', async (t) => {
  const created = await upload(alice, {
    title: 'Sunset over the bay',
    contentType: 'image/png',
    data: png.toString('base64'),
  });
  t.equal(created.statusCode, 201);
  const body = created.json();
  photoId = body.id;
  t.match(body, {
    id: /^[0-9a-f-]{36}$/,
    title: 'Sunset over the bay',
    contentType: 'image/png',
    createdAt: /^\d{4}-\d\d-\d\dT/,
  });
  t.equal(body.imageUrl, `/photos/${photoId}/image`);
  t.equal(created.headers.location, `/photos/${photoId}`);
  t.equal(created.headers['cache-control'], 'no-store');

  const list = await app.inject({ method: 'GET', url: '/photos', headers: alice });
  t.same(list.json(), { photos: [body] });
  t.equal(list.headers['cache-control'], 'no-store');

  const one = await app.inject({ method: 'GET', url: `/photos/${photoId}`, headers: alice });
  t.same(one.json(), body);

  const image = await app.inject({ method: 'GET', url: `/photos/${photoId}/image`, headers: alice });
  t.equal(image.statusCode, 200);
  t.equal(image.headers['content-type'], 'image/png');
  t.equal(image.headers['x-content-type-options'], 'nosniff');
  t.equal(image.headers['content-security-policy'], IMAGE_CSP);
  t.equal(image.headers['cache-control'], 'no-store');
  t.ok(image.rawPayload.equals(png), 'the same bytes come back');
  t.equal(PNG.sync.read(image.rawPayload).width, 160);
});

t.test("another user's photo is indistinguishable from an unknown one: 404", async (t) => {
  const unknown = '00000000-0000-4000-8000-000000000000';
  for (const url of [
    `/photos/${photoId}`,
    `/photos/${photoId}/image`,
    `/photos/${unknown}`,
    `/photos/${unknown}/image`,
  ]) {
    const res = await app.inject({ method: 'GET', url, headers: bob });
    t.equal(res.statusCode, 404, url);
    t.same(res.json(), { error: 'not_found', error_description: 'No such photo.' });
  }
  t.same((await app.inject({ method: 'GET', url: '/photos', headers: bob })).json(), { photos: [] });
  const del = await app.inject({ method: 'DELETE', url: `/photos/${photoId}`, headers: bob });
  t.equal(del.statusCode, 404, 'bob cannot delete it');
  t.equal(
    (await app.inject({ method: 'GET', url: `/photos/${photoId}`, headers: alice })).statusCode,
    200,
    'still there for alice',
  );
});

t.test('an id that is not a UUID is simply not found (404, not 400)', async (t) => {
  for (const [method, url] of [
    ['GET', '/photos/42'],
    ['GET', '/photos/not-a-uuid/image'],
    ['DELETE', '/photos/1%27%20OR%201=1'],
  ] as const) {
    const res = await app.inject({ method, url, headers: alice });
    t.equal(res.statusCode, 404, url);
    t.same(res.json(), { error: 'not_found', error_description: 'No such photo.' });
  }
});

t.test('every accepted image type round-trips', async (t) => {
  for (const [contentType, bytes] of [
    ['image/gif', GIF],
    ['image/jpeg', JPEG],
    ['image/webp', WEBP],
  ] as const) {
    const res = await upload(alice, { title: contentType, contentType, data: bytes.toString('base64') });
    t.equal(res.statusCode, 201, contentType);
    const image = await app.inject({ method: 'GET', url: res.json().imageUrl, headers: alice });
    t.equal(image.headers['content-type'], contentType);
  }
});

t.test('title rules', async (t) => {
  const data = png.toString('base64');
  expectBadRequest(
    t,
    await upload(alice, { title: '', contentType: 'image/png', data }),
    'body/title must NOT have fewer than 1 characters',
  );
  expectBadRequest(
    t,
    await upload(alice, { title: 'x'.repeat(201), contentType: 'image/png', data }),
    'body/title must NOT have more than 200 characters',
  );
  expectBadRequest(
    t,
    await upload(alice, { title: '   ', contentType: 'image/png', data }),
    'title must not be blank.',
  );
  expectBadRequest(
    t,
    await upload(alice, { title: 'two\nlines', contentType: 'image/png', data }),
    'title must not contain control characters (such as newlines).',
  );
  expectBadRequest(
    t,
    await upload(alice, { contentType: 'image/png', data }),
    "body must have required property 'title'",
  );
  t.equal(
    (await upload(alice, { title: 'é'.repeat(200), contentType: 'image/png', data })).statusCode,
    201,
    '200 characters is fine',
  );
});

t.test('content type allow-list', async (t) => {
  expectBadRequest(
    t,
    await upload(alice, { title: 'x', contentType: 'image/svg+xml', data: Buffer.from('<svg/>').toString('base64') }),
    'body/contentType must be one of image/png, image/jpeg, image/gif, image/webp',
  );
});

t.test('magic bytes must match the declared type', async (t) => {
  expectBadRequest(
    t,
    await upload(alice, { title: 'x', contentType: 'image/jpeg', data: png.toString('base64') }),
    'data holds image/png bytes but contentType says image/jpeg.',
  );
  expectBadRequest(
    t,
    await upload(alice, {
      title: 'x',
      contentType: 'image/png',
      data: Buffer.from('<html><script>alert(1)</script></html>').toString('base64'),
    }),
    'data is not a PNG, JPEG, GIF or WebP image.',
  );
});

t.test('data must be strict base64 and not empty', async (t) => {
  expectBadRequest(
    t,
    await upload(alice, { title: 'x', contentType: 'image/png', data: 'iVBOR w0KGgo=' }),
    'data must be standard base64 (RFC 4648 section 4) with padding.',
  );
  expectBadRequest(
    t,
    await upload(alice, { title: 'x', contentType: 'image/png', data: png.toString('base64url') }),
    'data must be standard base64 (RFC 4648 section 4) with padding.',
  );
  expectBadRequest(
    t,
    await upload(alice, { title: 'x', contentType: 'image/png', data: '' }),
    'body/data must NOT have fewer than 1 characters',
  );
});

t.test('size limit: 2 MB decoded', async (t) => {
  const big = Buffer.alloc(2 * 1024 * 1024 + 1);
  png.copy(big);
  const tooBig = await upload(alice, { title: 'big', contentType: 'image/png', data: big.toString('base64') });
  expectBadRequest(t, tooBig, 'The image is larger than 2 MB.');
  const tooLong = await upload(alice, {
    title: 'big',
    contentType: 'image/png',
    data: Buffer.concat([big, Buffer.alloc(3)]).toString('base64'),
  });
  expectBadRequest(t, tooLong, 'body/data must NOT have more than 2796204 characters');
  const justFits = await upload(alice, {
    title: 'fits',
    contentType: 'image/png',
    data: big.subarray(0, 2 * 1024 * 1024).toString('base64'),
  });
  t.equal(justFits.statusCode, 201, 'exactly 2 MB is accepted');
  const huge = await app.inject({
    method: 'POST',
    url: '/photos',
    headers: { ...alice, 'content-type': 'application/json' },
    payload: `{"title":"x","contentType":"image/png","data":"${'A'.repeat(3 * 1024 * 1024)}"}`,
  });
  t.equal(huge.statusCode, 413, 'a body beyond the route limit is refused before parsing');
  t.equal(huge.json().error, 'invalid_request');
});

t.test('wrong body encodings', async (t) => {
  const cases = [
    ['text/plain', 'hello', 400, 'body must be object'],
    ['application/xml', '<photo/>', 415, 'Unsupported Media Type'],
    ['application/json', '{"title":', 400, "Body is not valid JSON but content-type is set to 'application/json'"],
  ] as const;
  for (const [contentType, payload, status, description] of cases) {
    const res = await app.inject({
      method: 'POST',
      url: '/photos',
      headers: { ...alice, 'content-type': contentType },
      payload,
    });
    t.equal(res.statusCode, status, contentType);
    t.same(res.json(), { error: 'invalid_request', error_description: description }, contentType);
  }
});

t.test('write scope is needed to create and delete', async (t) => {
  const readOnly = bearer(await as.token({ claims: { scope: 'photos:read' } }));
  const res = await upload(readOnly, { title: 'x', contentType: 'image/png', data: png.toString('base64') });
  t.equal(res.statusCode, 403);
  t.match(res.headers['www-authenticate'], /error="insufficient_scope".*scope="photos:write"/);
  t.equal((await app.inject({ method: 'DELETE', url: `/photos/${photoId}`, headers: readOnly })).statusCode, 403);
});

t.test('delete answers 204, then the photo is gone', async (t) => {
  const res = await app.inject({ method: 'DELETE', url: `/photos/${photoId}`, headers: alice });
  t.equal(res.statusCode, 204);
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal((await app.inject({ method: 'GET', url: `/photos/${photoId}`, headers: alice })).statusCode, 404);
  t.equal((await app.inject({ method: 'DELETE', url: `/photos/${photoId}`, headers: alice })).statusCode, 404);
});
