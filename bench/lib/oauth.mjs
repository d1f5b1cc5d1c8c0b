// The OAuth legs the benchmark drives itself: one real login + consent (so alice becomes a returning user
// with remembered consent), codes issued through the real GET /authorize, and code redemption. Alice's
// browser is @quartet/common's UserAgent (its cookie jar and its reading of the login and consent forms) on
// the benchmark's keep-alive connections; the client's own calls (token endpoint, API) need no browser.
// Imported by path: the benchmark runs under plain node, and user-agent.js is plain JavaScript.
import { UserAgent, formFor } from '../../shared/common/src/user-agent.js';
import { DEMO_CLIENT_ID } from '../../scripts/lib/topology.mjs';
import { basicAuth, form, keepAliveTransport, pkcePair, request } from './http.mjs';

export const CLIENT_ID = DEMO_CLIENT_ID;
export const SCOPE = 'photos:read';
const SESSION_COOKIE = 'quartet_as_session';

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

/** Reads the code from a redirect (a UserAgent page) to the client's redirect URI, checking state and iss. */
export function codeFrom(ctx, page, state) {
  const to = page.location;
  if (page.status !== 303 || !to || !to.startsWith(ctx.redirectUri)) {
    throw new Error(`authorize: expected 303 to the redirect URI, got ${page.status} ${to ?? ''}`);
  }
  const params = new URL(to).searchParams;
  if (params.get('state') !== state || params.get('iss') === null) throw new Error(`authorize: bad state/iss in ${to}`);
  const code = params.get('code');
  if (!code) throw new Error(`authorize: no code in ${to}`);
  return code;
}

/**
 * Logs alice in once and approves the demo client once (the consent is remembered), through the real
 * login and consent pages with their CSRF tokens. Returns her browser, holding the login session.
 */
export async function loginAndConsent(ctx, username = 'alice', password = 'wonderland') {
  const browser = new UserAgent({ transport: keepAliveTransport });
  const { challenge } = pkcePair();
  let page = await browser.get(authorizeUrl(ctx, challenge, 'login'));
  if (!page.location?.includes('/interaction/login'))
    throw new Error(`expected the login page, got ${page.status} ${page.location}`);
  page = await browser.get(page.location);
  page = await browser.submit(formFor(page, '/interaction/login'), { username, password });
  if (page.status !== 303 || !page.location?.includes('/interaction/consent'))
    throw new Error(`login failed: ${page.status} ${page.location}`);
  page = await browser.get(page.location);
  const consent = formFor(page, '/interaction/consent');
  page = await browser.submit(
    consent,
    {},
    consent.buttons.find((b) => b.name === 'decision' && b.value === 'approve'),
  );
  codeFrom(ctx, page, 'login');
  if (!browser.cookie(SESSION_COOKIE, ctx.asUrl)) throw new Error('no login session cookie after login');
  return browser;
}

/** One code through GET /authorize in alice's browser (remembered consent: no page, a 303 with the code). */
export async function authorizeOnce(ctx, browser) {
  const { verifier, challenge } = pkcePair();
  const state = verifier.slice(0, 16);
  const page = await browser.get(authorizeUrl(ctx, challenge, state));
  return { code: codeFrom(ctx, page, state), verifier };
}

/** `count` codes with their verifiers, `concurrency` requests in flight. */
export async function issueCodes(ctx, browser, count, concurrency = 16) {
  const codes = [];
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      codes.push(await authorizeOnce(ctx, browser));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return codes;
}

export function codeRedemptionBody(ctx, { code, verifier }) {
  return form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: ctx.redirectUri });
}

/**
 * POST /oauth/token; resolves with the parsed body, throws on anything but 200. With `dpop` (lib/dpop.mjs
 * dpopKey) the request carries a proof for the token endpoint (RFC 9449 §5).
 */
export async function tokenRequest(ctx, body, dpop) {
  const url = `${ctx.asUrl}/oauth/token`;
  const res = await request(url, {
    method: 'POST',
    body,
    headers: {
      authorization: ctx.authorization,
      'content-type': 'application/x-www-form-urlencoded',
      ...(dpop ? { dpop: dpop.proof('POST', url) } : {}),
    },
  });
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

export const redeem = (ctx, issued, dpop) => tokenRequest(ctx, codeRedemptionBody(ctx, issued), dpop);
