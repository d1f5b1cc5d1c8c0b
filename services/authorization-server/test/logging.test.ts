// Logs: every line of a request carries its request id (taken from x-request-id, echoed on the response),
// and a whole flow logged at trace level never writes a password, client secret, code, verifier or token.
import t from 'tap';
import { loggerOptions } from '@quartet/common';
import { createEnvironment } from './helper.js';
import { Browser, DEMO_REDIRECT, authorizeUrl, location, login, obtainCode, tokenRequest } from './browser.js';

const lines: string[] = [];
const environment = await createEnvironment(t);
const app = await environment.build(
  { CLIENT_REGISTRATION: 'open' },
  {
    logger: {
      ...(loggerOptions('authorization-server', 'trace') as object),
      stream: { write: (line: string) => void lines.push(line) },
    },
  },
);
const DEMO: [string, string] = ['demo-client', environment.config.DEMO_CLIENT_SECRET];

type LogLine = { reqId?: string; msg?: string; level: number };
const parsed = () => lines.map((l) => JSON.parse(l) as LogLine);

t.test('x-request-id: echoed, and on every log line of that request', async (t) => {
  const res = await app.inject({
    url: '/.well-known/oauth-authorization-server',
    headers: { 'x-request-id': 'as-req-0001' },
  });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-request-id'], 'as-req-0001');
  const mine = parsed().filter((l) => l.reqId === 'as-req-0001');
  t.ok(mine.some((l) => l.msg === 'incoming request'));
  t.ok(mine.some((l) => l.msg === 'request completed'));

  // A token request logs its own lines (client id, grant) under the caller's id.
  const bad = await tokenRequest(
    app,
    { grant_type: 'authorization_code', code: 'nope', code_verifier: 'v'.repeat(43), redirect_uri: DEMO_REDIRECT },
    { basic: DEMO, headers: { 'x-request-id': 'as-req-0002' } },
  );
  t.equal(bad.statusCode, 400);
  t.equal(bad.headers['x-request-id'], 'as-req-0002');
  t.ok(parsed().some((l) => l.reqId === 'as-req-0002' && l.msg === 'request rejected'));

  const unsafe = await app.inject({ url: '/livez', headers: { 'x-request-id': 'two words' } });
  t.not(unsafe.headers['x-request-id'], 'two words', 'an unsafe id is replaced');
  t.notOk(lines.some((l) => l.includes('two words')));
});

t.test('a whole flow at trace level: no secret in the logs', async (t) => {
  const secrets: string[] = ['wonderland', environment.config.DEMO_CLIENT_SECRET];
  const { code, verifier, browser } = await obtainCode(app);
  secrets.push(code, verifier, ...browser.cookieValues());
  const issued = await tokenRequest(
    app,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: DEMO_REDIRECT },
    { basic: DEMO },
  );
  t.equal(issued.statusCode, 200);
  const { access_token: accessToken, refresh_token: refreshToken } = issued.json() as {
    access_token: string;
    refresh_token: string;
  };
  secrets.push(accessToken, refreshToken);
  // The spent code again, with client_secret_post: a replay, logged as a warning.
  t.equal(
    (
      await tokenRequest(app, {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: DEMO_REDIRECT,
        client_id: 'demo-client',
        client_secret: DEMO[1],
      })
    ).statusCode,
    400,
  );

  const second = await obtainCode(app);
  secrets.push(second.code, second.verifier);
  const tokens = (
    await tokenRequest(
      app,
      {
        grant_type: 'authorization_code',
        code: second.code,
        code_verifier: second.verifier,
        redirect_uri: DEMO_REDIRECT,
      },
      { basic: DEMO },
    )
  ).json() as { access_token: string; refresh_token: string };
  secrets.push(tokens.access_token, tokens.refresh_token);
  const rotated = await tokenRequest(
    app,
    { grant_type: 'refresh_token', refresh_token: tokens.refresh_token },
    { basic: DEMO },
  );
  t.equal(rotated.statusCode, 200);
  secrets.push(rotated.json().access_token, rotated.json().refresh_token);
  t.equal(
    (await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { basic: DEMO }))
      .statusCode,
    400,
    'reuse',
  );
  t.equal(
    (await tokenRequest(app, { token: rotated.json().access_token }, { basic: DEMO, url: '/oauth/introspect' }))
      .statusCode,
    200,
  );
  t.equal(
    (await tokenRequest(app, { token: rotated.json().refresh_token }, { basic: DEMO, url: '/oauth/revoke' }))
      .statusCode,
    200,
  );
  // A wrong password is not logged either.
  t.equal(
    (
      await tokenRequest(
        app,
        { grant_type: 'client_credentials' },
        { basic: ['demo-client', 'wrong-secret-value-123'] },
      )
    ).statusCode,
    401,
  );
  secrets.push('wrong-secret-value-123');
  // The login form's typed password, also when it is wrong.
  const browser2 = new Browser(app);
  const loginUrl = location(await browser2.get(authorizeUrl()));
  t.equal(
    (await login(browser2, loginUrl.pathname + loginUrl.search, 'alice', 'typed-wrong-password')).statusCode,
    401,
  );
  secrets.push('typed-wrong-password');
  // A self-registered client (RFC 7591): its secret and registration access token, read back and deleted.
  const registered = (
    await app.inject({
      method: 'POST',
      url: '/oauth/register',
      payload: { client_name: 'Logged', redirect_uris: ['https://logged.example/cb'] },
    })
  ).json() as { client_id: string; client_secret: string; registration_access_token: string };
  secrets.push(registered.client_secret, registered.registration_access_token);
  const management = { authorization: `Bearer ${registered.registration_access_token}` };
  const managed = `/oauth/register/${registered.client_id}`;
  t.equal((await app.inject({ url: managed, headers: management })).statusCode, 200);
  t.equal((await app.inject({ method: 'DELETE', url: managed, headers: management })).statusCode, 204);

  const output = lines.join('');
  t.equal(app.log.level, 'trace', 'everything the service logs was written');
  t.ok(
    output.includes('authorization code redeemed') && output.includes('refresh token reused'),
    'the flow was logged',
  );
  for (const secret of secrets) {
    t.ok(secret.length >= 8, 'a real secret value');
    t.notOk(output.includes(secret), `not in the logs: ${secret.slice(0, 4)}…`);
  }
  // Authorization and Cookie headers never appear at all.
  t.notMatch(output, /Basic [A-Za-z0-9+/=]{8,}|Bearer [A-Za-z0-9._-]{8,}/);
});
