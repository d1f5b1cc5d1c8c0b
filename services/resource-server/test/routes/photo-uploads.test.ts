// POST /photos is bounded: MAX_CONCURRENT_UPLOADS slots per process, taken after the token check and before
// the body is read (a refused upload answers 503 + Retry-After without a byte of its body), each given back
// exactly once however the upload ends; and a per-user quota of photos and image bytes that concurrent
// uploads cannot overshoot (403 quota_exceeded). The slot tests use a real HTTP server, so that a body can be
// held half-sent and a client can really go away. The memory this buys: test/upload-memory.test.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { PNG } from 'pngjs';
import { renderPng } from '../../src/lib/demo-images.js';
import { UPLOADS_BUSY_DESCRIPTION } from '../../src/plugins/upload-slots.js';
import { bearer, setup, sleep, until } from '../helper.js';

const png = renderPng('sunset');
const uploadBody = (title: string, bytes: Buffer = png) =>
  JSON.stringify({ title, contentType: 'image/png', data: bytes.toString('base64') });
const json = { 'content-type': 'application/json' };

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * An upload over a real connection that sends the headers (Content-Length of the whole body) and the first
 * `sentBytes` of the body, then waits: finish() sends the rest, abort() drops the connection.
 */
function heldUpload(port: number, token: string | null, body: string, sentBytes: number) {
  const payload = Buffer.from(body);
  const req = http.request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/photos',
    headers: { 'content-type': 'application/json', 'content-length': payload.length, ...(token ? bearer(token) : {}) },
  });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: JSON.parse(text) as Record<string, unknown>,
        }),
      );
    });
    req.on('error', reject);
  });
  req.flushHeaders();
  if (sentBytes > 0) req.write(payload.subarray(0, sentBytes));
  return {
    answer,
    finish: () => {
      req.end(payload.subarray(sentBytes));
      return answer;
    },
    abort: () => {
      answer.catch(() => undefined);
      req.destroy();
    },
  };
}

t.test('upload slots', async (t) => {
  const { app, as } = await setup(t, { config: { MAX_CONCURRENT_UPLOADS: 2 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const alice = await as.token();
  const slots = app.uploadSlots;

  t.test(
    'beyond MAX_CONCURRENT_UPLOADS: 503 + Retry-After before the body is read; auth is checked first',
    async (t) => {
      const held = [heldUpload(port, alice, uploadBody('one'), 100), heldUpload(port, alice, uploadBody('two'), 100)];
      await until(() => slots.inUse === 2, 'both uploads to hold a slot');

      // Not a byte of this body is ever sent: the answer cannot have waited for it.
      const refused = heldUpload(port, alice, uploadBody('three'), 0);
      const answer = await refused.answer;
      refused.abort();
      t.equal(answer.status, 503);
      t.equal(answer.headers['retry-after'], '5');
      t.equal(answer.headers['cache-control'], 'no-store');
      t.same(answer.body, { error: 'temporarily_unavailable', error_description: UPLOADS_BUSY_DESCRIPTION });
      t.equal(UPLOADS_BUSY_DESCRIPTION, 'Too many uploads are in progress on this server; try again shortly.');

      // The token and scope checks come before the slot: these answer as always and take nothing.
      const anonymous = heldUpload(port, null, uploadBody('anon'), 0);
      t.equal((await anonymous.answer).status, 401, 'no token: 401, not 503');
      anonymous.abort();
      const readOnly = heldUpload(port, await as.token({ claims: { scope: 'photos:read' } }), uploadBody('ro'), 0);
      t.equal((await readOnly.answer).status, 403, 'no photos:write: 403, not 503');
      readOnly.abort();
      t.equal(slots.inUse, 2);

      t.same(
        (await Promise.all(held.map((h) => h.finish()))).map((a) => a.status),
        [201, 201],
        'the held uploads complete',
      );
      await until(() => slots.inUse === 0, 'the slots to be released');
      const after = await app.inject({
        method: 'POST',
        url: '/photos',
        headers: { ...bearer(alice), ...json },
        payload: uploadBody('four'),
      });
      t.equal(after.statusCode, 201, 'a free slot again');
    },
  );

  t.test('a client that goes away mid-upload gives its slot back', async () => {
    const gone = heldUpload(port, alice, uploadBody('gone'), 1000);
    await until(() => slots.inUse === 1, 'the upload to hold a slot');
    gone.abort();
    await until(() => slots.inUse === 0, 'the slot to be released after the connection closed');
  });

  t.test('whatever ends an upload, its slot is released exactly once', async (t) => {
    const post = (payload: string, headers: Record<string, string> = {}) =>
      app.inject({
        method: 'POST',
        url: '/photos',
        headers: { ...bearer(alice), 'content-type': 'application/json', ...headers },
        payload,
      });
    const cases: [string, string, number][] = [
      ['created', uploadBody('ok'), 201],
      ['bad base64', JSON.stringify({ title: 'x', contentType: 'image/png', data: 'not base64!' }), 400],
      ['schema error', JSON.stringify({ title: 'x' }), 400],
      ['broken JSON', '{"title":', 400],
      [
        'not an image',
        JSON.stringify({ title: 'x', contentType: 'image/png', data: Buffer.from('<html>').toString('base64') }),
        400,
      ],
      ['body too large', `{"title":"x","contentType":"image/png","data":"${'A'.repeat(3 * 1024 * 1024)}"}`, 413],
    ];
    for (const [what, payload, status] of cases) {
      t.equal((await post(payload)).statusCode, status, what);
      await until(() => slots.inUse === 0, `the slot after: ${what}`);
    }
    // Released once each: a double release would have driven the count below zero and let a third upload
    // through now.
    const held = [heldUpload(port, alice, uploadBody('a'), 10), heldUpload(port, alice, uploadBody('b'), 10)];
    await until(() => slots.inUse === 2, 'two held uploads');
    const third = heldUpload(port, alice, uploadBody('c'), 0);
    t.equal((await third.answer).status, 503, 'still exactly two slots');
    third.abort();
    await Promise.all(held.map((h) => h.finish()));
    await until(() => slots.inUse === 0, 'all released');
  });
});

t.test('documents take no upload slot (at most 100 000 characters each)', async (t) => {
  const { app, as } = await setup(t, { config: { MAX_CONCURRENT_UPLOADS: 1 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const alice = await as.token();
  const held = heldUpload(port, alice, uploadBody('holding the only slot'), 10);
  await until(() => app.uploadSlots.inUse === 1, 'the slot to be taken');
  const doc = await app.inject({
    method: 'POST',
    url: '/documents',
    headers: bearer(alice),
    payload: { title: 'Notes', content: 'x'.repeat(100_000) },
  });
  t.equal(doc.statusCode, 201);
  t.equal((await held.finish()).status, 201);
});

/** A real PNG of about `bytes` bytes (random pixels do not compress). */
function pngOf(bytes: number): Buffer {
  const side = Math.ceil(Math.sqrt(bytes / 4));
  const image = new PNG({ width: side, height: side });
  let seed = bytes;
  for (let i = 0; i < image.data.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    image.data[i] = seed >>> 24;
  }
  return PNG.sync.write(image, { deflateLevel: 1 });
}

t.test('quota of photos per user: the upload beyond it is 403 quota_exceeded; deleting makes room', async (t) => {
  const { app, as } = await setup(t, { config: { PHOTO_QUOTA_COUNT: 3, PHOTO_QUOTA_BYTES: 100 * 1024 * 1024 } });
  const alice = bearer(await as.token());
  const bob = bearer(await as.token({ claims: { sub: randomUUID() } }));
  const upload = (headers: Record<string, string>, title: string) =>
    app.inject({ method: 'POST', url: '/photos', headers: { ...headers, ...json }, payload: uploadBody(title) });
  const ids: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const res = await upload(alice, `photo ${i}`);
    t.equal(res.statusCode, 201, `photo ${i}`);
    ids.push(res.json().id as string);
  }
  const refused = await upload(alice, 'photo 4');
  t.equal(refused.statusCode, 403);
  t.same(refused.json(), {
    error: 'quota_exceeded',
    error_description: 'This upload would exceed your photo quota of 3 photos; delete photos to make room.',
  });
  t.equal(refused.headers['cache-control'], 'no-store');
  t.equal(refused.headers['www-authenticate'], undefined, 'not a token problem');
  t.equal(
    (await app.inject({ method: 'GET', url: '/photos', headers: alice })).json().photos.length,
    3,
    'nothing was stored',
  );
  t.equal((await upload(bob, 'bob 1')).statusCode, 201, 'the quota is per user');

  t.equal((await app.inject({ method: 'DELETE', url: `/photos/${ids[0]}`, headers: alice })).statusCode, 204);
  t.equal((await upload(alice, 'photo 4 again')).statusCode, 201, 'room again after a delete');
  t.equal(app.uploadSlots.inUse, 0, 'a refused upload gave its slot back');
});

t.test(
  'quota of image bytes per user: an upload that would pass it is 403 quota_exceeded naming the limit',
  async (t) => {
    const MiB = 1024 * 1024;
    const big = pngOf(400 * 1024);
    const { app, as } = await setup(t, { config: { PHOTO_QUOTA_COUNT: 1000, PHOTO_QUOTA_BYTES: MiB } });
    const alice = bearer(await as.token());
    const upload = (bytes: Buffer) =>
      app.inject({ method: 'POST', url: '/photos', headers: { ...alice, ...json }, payload: uploadBody('big', bytes) });
    t.equal((await upload(big)).statusCode, 201);
    t.equal((await upload(big)).statusCode, 201, `${2 * big.length} bytes of ${MiB}`);
    const refused = await upload(big);
    t.equal(refused.statusCode, 403, `${3 * big.length} bytes would pass ${MiB}`);
    t.same(refused.json(), {
      error: 'quota_exceeded',
      error_description: 'This upload would exceed your photo quota of 1 MiB of images; delete photos to make room.',
    });
    const fits = png.length;
    t.equal((await upload(png)).statusCode, 201, `a small one still fits (${fits} bytes)`);

    const odd = await setup(t, { config: { PHOTO_QUOTA_COUNT: 1000, PHOTO_QUOTA_BYTES: 1000 } });
    const res = await odd.app.inject({
      method: 'POST',
      url: '/photos',
      headers: { ...bearer(await odd.as.token()), ...json },
      payload: uploadBody('x', big),
    });
    t.same(res.json(), {
      error: 'quota_exceeded',
      error_description:
        'This upload would exceed your photo quota of 1000 bytes of images; delete photos to make room.',
    });
  },
);

t.test('a concurrent burst from one user near the quota does not overshoot it', async (t) => {
  const { app, as } = await setup(t, {
    config: { MAX_CONCURRENT_UPLOADS: 32, PHOTO_QUOTA_COUNT: 5, PHOTO_QUOTA_BYTES: 100 * 1024 * 1024 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const token = await as.token();
  for (let i = 0; i < 3; i++)
    t.equal(
      (
        await app.inject({
          method: 'POST',
          url: '/photos',
          headers: { ...bearer(token), ...json },
          payload: uploadBody(`before ${i}`),
        })
      ).statusCode,
      201,
    );

  // Sent together over separate connections, so the server really works on them at the same time.
  const burst = Array.from({ length: 12 }, (_, i) => heldUpload(port, token, uploadBody(`burst ${i}`), 0));
  await sleep(20);
  const answers = await Promise.all(burst.map((b) => b.finish()));
  const statuses = answers.map((a) => a.status).sort();
  t.same(statuses, [201, 201, ...Array<number>(10).fill(403)], 'exactly the two that fit');
  t.equal(
    (await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) })).json().photos.length,
    5,
    'never more than the quota',
  );
});

t.test('bytes quota under a concurrent burst', async (t) => {
  const big = pngOf(300 * 1024);
  const { app, as } = await setup(t, {
    config: { MAX_CONCURRENT_UPLOADS: 32, PHOTO_QUOTA_COUNT: 1000, PHOTO_QUOTA_BYTES: 4 * big.length },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const token = await as.token();
  const burst = Array.from({ length: 10 }, (_, i) => heldUpload(port, token, uploadBody(`burst ${i}`, big), 0));
  await sleep(20);
  const answers = await Promise.all(burst.map((b) => b.finish()));
  t.equal(answers.filter((a) => a.status === 201).length, 4, 'four fit in the bytes quota');
  t.equal(answers.filter((a) => a.status === 403 && a.body.error === 'quota_exceeded').length, 6);
});
