// plugins/html-errors.ts makes every typed error of the protocol layer a page: one row per error, with the
// exact status, heading and next step the user gets.
import t from 'tap';
import { textOf } from '@quartet/common';
import {
  CallbackError,
  ConnectionEndedError,
  ResourceError,
  TokenRequestError,
  UpstreamUnavailableError,
} from '../../src/oauth/errors.js';
import { UnknownSwitchError } from '../../src/workshop/lab/switches/index.js';
import { buildTestApp } from '../helper.js';

// error thrown → status, heading, a piece of the explanation, the next step's link
const cases: [string, Error, number, string, string, string][] = [
  [
    'no state',
    new CallbackError('missing-state'),
    400,
    'This sign-in response cannot be used',
    'carries no "state"',
    '/connect',
  ],
  [
    'no session',
    new CallbackError('no-session'),
    400,
    'This sign-in response cannot be used',
    'No sign-in',
    '/connect',
  ],
  [
    'unknown state',
    new CallbackError('unknown-state'),
    400,
    'This sign-in response cannot be used',
    'unknown, expired, or was already used',
    '/connect',
  ],
  [
    'untrusted response (RFC 9207)',
    new CallbackError('untrusted-response', { detail: 'unexpected "iss"' }),
    400,
    'This sign-in response cannot be trusted',
    'did not come from the expected authorization server',
    '/',
  ],
  [
    'refused by the AS',
    new CallbackError('authorization-refused', { error: 'invalid_scope' }),
    400,
    'The authorization server refused the request',
    'It answered "invalid_scope".',
    '/connect',
  ],
  [
    'code refused',
    new TokenRequestError('code-refused', 'authorization_code', { error: 'invalid_grant' }),
    502,
    'The authorization server did not issue a token',
    'It answered "invalid_grant". Sign-in codes are short-lived',
    '/connect',
  ],
  [
    'unusable token response',
    new TokenRequestError('unusable-response', 'authorization_code'),
    502,
    'The authorization server sent an unusable token response',
    'Please try connecting again.',
    '/connect',
  ],
  [
    'unusable refresh response',
    new TokenRequestError('unusable-response', 'refresh_token'),
    502,
    'The authorization server sent an unusable token response',
    'Please try again, or connect again.',
    '/connect',
  ],
  [
    'AS down',
    new UpstreamUnavailableError('authorization server'),
    503,
    'The authorization server is not answering',
    'try again in a few seconds',
    '/',
  ],
  [
    'connection ended',
    new ConnectionEndedError('refresh-rejected'),
    200,
    'Please connect again',
    'withdrawn or has expired',
    '/connect',
  ],
  ['token rejected', new ResourceError('token-rejected'), 200, 'Please connect again', 'has forgotten it', '/connect'],
  [
    'missing scope',
    new ResourceError('insufficient-scope', { scope: 'photos:read' }),
    403,
    'This app was not given that permission',
    'requires the scope "photos:read"',
    '/connect',
  ],
  ['not found', new ResourceError('not-found'), 404, 'Not found', 'no such item', '/'],
  [
    'unexpected RS answer',
    new ResourceError('unexpected-response', { status: 409 }),
    502,
    'Unexpected answer',
    'does not understand',
    '/',
  ],
  ['unknown lab switch', new UnknownSwitchError('nope'), 400, 'Unknown lab switch', 'no such switch', '/workshop/lab'],
];

t.test('each typed error becomes its page', async (t) => {
  const ctx = await buildTestApp(t);
  ctx.app.get('/throw/:n', async (request) => {
    throw cases[Number((request.params as { n: string }).n)]![1];
  });
  for (const [i, [name, , status, heading, explanation, href]] of cases.entries()) {
    const res = await ctx.app.inject({ method: 'GET', url: `/throw/${i}` });
    t.equal(res.statusCode, status, `${name}: status`);
    const text = textOf(res.body);
    t.match(text, heading, `${name}: heading`);
    t.match(text, explanation, `${name}: explanation`);
    t.match(res.body, `href="${href}"`, `${name}: next step`);
  }
});

t.test('a CSRF refusal is the "Request refused" page, with the way back', async (t) => {
  const ctx = await buildTestApp(t, { WORKSHOP_MODE: 'true' });
  const lab = await ctx.app.inject({ method: 'POST', url: '/workshop/lab/run', payload: { switch: 'x', _csrf: 'x' } });
  t.equal(lab.statusCode, 403);
  t.match(textOf(lab.body), 'Request refused');
  t.match(textOf(lab.body), 'This form was not sent from this app’s own page, so it was ignored.');
  t.match(lab.body, 'href="/workshop/lab"');
});
