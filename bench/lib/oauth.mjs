// The OAuth legs the benchmark drives itself: one real login + consent (so alice becomes a returning user
// with remembered consent), codes issued through the real GET /authorize, and code redemption.
import { CookieJar, basicAuth, form, hiddenField, pkcePair, request } from './http.mjs';

export const CLIENT_ID = 'demo-client';
export const SCOPE = 'photos:read';

/** Everything the drivers need to talk to the authorization server as the demo client. */
export function clientContext({ asUrl, redirectUri, clientSecret }) {
  return { asUrl, redirectUri, authorization: basicAuth(CLIENT_ID, clientSecret) };
}

export function authorizeUrl(ctx, challenge, state) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: ctx.redirectUri,
    scope: SCOPE,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `${ctx.asUrl}/authorize?${q}`;
}

const location = (res, base) => (res.headers.location ? new URL(res.headers.location, base).toString() : null);

/** Reads the code from a redirect to the client's redirect URI, checking state and iss. */
export function codeFrom(ctx, res, state) {
  const to = location(res, ctx.asUrl);
  if (res.status !== 303 || !to || !to.startsWith(ctx.redirectUri)) {
    throw new Error(`authorize: expected 303 to the redirect URI, got ${res.status} ${to ?? ''}`);
  }
  const params = new URL(to).searchParams;
  if (params.get('state') !== state || params.get('iss') === null) throw new Error(`authorize: bad state/iss in ${to}`);
  const code = params.get('code');
  if (!code) throw new Error(`authorize: no code in ${to}`);
  return code;
}

/**
 * Logs alice in once and approves the demo client once (the consent is remembered), through the real
 * login and consent pages with their CSRF tokens. Returns the cookie jar holding the login session.
 */
export async function loginAndConsent(ctx, username = 'alice', password = 'wonderland') {
  const jar = new CookieJar();
  const get = async (url) => {
    const res = await request(url, { headers: { cookie: jar.header(), accept: 'text/html' } });
    jar.store(res.headers);
    return res;
  };
  const post = async (url, fields) => {
    const res = await request(url, {
      method: 'POST',
      body: form(fields),
      headers: { cookie: jar.header(), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
    });
    jar.store(res.headers);
    return res;
  };
  const { challenge } = pkcePair();
  let res = await get(authorizeUrl(ctx, challenge, 'login'));
  let next = location(res, ctx.asUrl);
  if (!next?.includes('/interaction/login')) throw new Error(`expected the login page, got ${res.status} ${next}`);
  res = await get(next);
  res = await post(`${ctx.asUrl}/interaction/login`, {
    _csrf: hiddenField(res.body, '_csrf'),
    request: hiddenField(res.body, 'request'),
    username,
    password,
  });
  next = location(res, ctx.asUrl);
  if (res.status !== 303 || !next?.includes('/interaction/consent'))
    throw new Error(`login failed: ${res.status} ${next}`);
  res = await get(next);
  res = await post(`${ctx.asUrl}/interaction/consent`, {
    _csrf: hiddenField(res.body, '_csrf'),
    request: hiddenField(res.body, 'request'),
    decision: 'approve',
  });
  codeFrom(ctx, res, 'login');
  if (!jar.jar.has('quartet_as_session')) throw new Error('no login session cookie after login');
  return jar;
}

/** One code through GET /authorize for the returning user (no page: remembered consent → 303 with code). */
export async function authorizeOnce(ctx, sessionCookie) {
  const { verifier, challenge } = pkcePair();
  const state = verifier.slice(0, 16);
  const res = await request(authorizeUrl(ctx, challenge, state), { headers: { cookie: sessionCookie } });
  return { code: codeFrom(ctx, res, state), verifier };
}

/** `count` codes with their verifiers, `concurrency` requests in flight. */
export async function issueCodes(ctx, sessionCookie, count, concurrency = 16) {
  const codes = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      codes.push(await authorizeOnce(ctx, sessionCookie));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return codes;
}

export function codeRedemptionBody(ctx, { code, verifier }) {
  return form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: ctx.redirectUri });
}

/** POST /oauth/token; resolves with the parsed body, throws on anything but 200. */
export async function tokenRequest(ctx, body) {
  const res = await request(`${ctx.asUrl}/oauth/token`, {
    method: 'POST',
    body,
    headers: { authorization: ctx.authorization, 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

export const redeem = (ctx, issued) => tokenRequest(ctx, codeRedemptionBody(ctx, issued));
