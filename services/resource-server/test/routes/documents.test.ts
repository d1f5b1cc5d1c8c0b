// /documents: ownership, validation (title, content size and NUL), Location on create.
import t from 'tap';
import { BOB, bearer, setup } from '../helper.js';

const { app, as } = await setup(t);
const alice = bearer(await as.token());
const bob = bearer(await as.token({ claims: { sub: BOB } }));

const post = (headers: Record<string, string>, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: '/documents', headers, payload });
let docId = '';

t.test('create, list, get, delete', async (t) => {
  const created = await post(alice, { title: 'Shopping list', content: 'Milk\nBread' });
  t.equal(created.statusCode, 201);
  const body = created.json();
  docId = body.id;
  t.match(body, { id: /^[0-9a-f-]{36}$/, title: 'Shopping list', content: 'Milk\nBread', createdAt: /^\d{4}-/ });
  t.equal(created.headers.location, `/documents/${docId}`);

  const list = await app.inject({ method: 'GET', url: '/documents', headers: alice });
  t.same(
    list.json(),
    { documents: [{ id: docId, title: 'Shopping list', createdAt: body.createdAt }] },
    'the list has no content',
  );
  t.equal(list.headers['cache-control'], 'no-store');
  t.same((await app.inject({ method: 'GET', url: `/documents/${docId}`, headers: alice })).json(), body);
  t.equal((await post(alice, { title: 'Empty', content: '' })).statusCode, 201, 'empty content is allowed');
});

t.test("another user's document: 404 like an unknown one; non-UUID ids too", async (t) => {
  for (const url of [`/documents/${docId}`, '/documents/00000000-0000-4000-8000-000000000000', '/documents/nope']) {
    const res = await app.inject({ method: 'GET', url, headers: bob });
    t.equal(res.statusCode, 404, url);
    t.same(res.json(), { error: 'not_found', error_description: 'No such document.' });
  }
  t.equal((await app.inject({ method: 'DELETE', url: `/documents/${docId}`, headers: bob })).statusCode, 404);
  t.same((await app.inject({ method: 'GET', url: '/documents', headers: bob })).json(), { documents: [] });
});

t.test('input rules', async (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ title: '', content: 'x' }, 'body/title must NOT have fewer than 1 characters'],
    [{ title: 'x'.repeat(201), content: 'x' }, 'body/title must NOT have more than 200 characters'],
    [{ title: '\t', content: 'x' }, 'title must not contain control characters (such as newlines).'],
    [{ title: ' ', content: 'x' }, 'title must not be blank.'],
    [{ title: 'x', content: 'a'.repeat(100_001) }, 'body/content must NOT have more than 100000 characters'],
    [{ title: 'x', content: 'nul\u0000byte' }, 'content must not contain NUL characters.'],
    [{ title: 'x' }, "body must have required property 'content'"],
    [{ title: 'x', content: 42 }, 'body/content must be string'],
  ];
  for (const [payload, description] of cases) {
    const res = await post(alice, payload);
    t.equal(res.statusCode, 400, description);
    t.same(res.json(), { error: 'invalid_request', error_description: description });
  }
  t.equal(
    (await post(alice, { title: 'x', content: 'a'.repeat(100_000) })).statusCode,
    201,
    'content at the limit is fine',
  );
});

t.test('scopes: documents:read cannot write, photos scopes do not reach documents', async (t) => {
  const readOnly = bearer(await as.token({ claims: { scope: 'documents:read' } }));
  const res = await post(readOnly, { title: 'x', content: 'y' });
  t.equal(res.statusCode, 403);
  t.match(res.headers['www-authenticate'], /scope="documents:write"/);
  const photosOnly = bearer(await as.token({ claims: { scope: 'photos:read photos:write' } }));
  const list = await app.inject({ method: 'GET', url: '/documents', headers: photosOnly });
  t.equal(list.statusCode, 403);
  t.match(list.headers['www-authenticate'], /scope="documents:read"/);
});

t.test('delete', async (t) => {
  t.equal((await app.inject({ method: 'DELETE', url: `/documents/${docId}`, headers: alice })).statusCode, 204);
  t.equal((await app.inject({ method: 'GET', url: `/documents/${docId}`, headers: alice })).statusCode, 404);
});
