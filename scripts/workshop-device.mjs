#!/usr/bin/env node
// `npm run workshop:device`: plays a device with no browser and no keyboard worth typing on (a TV, a printer,
// a command-line tool) that gets a token through the device authorization grant (RFC 8628):
//
//   1. it asks the authorization server for a device code and a user code (§3.1, §3.2);
//   2. it shows the person the user code and where to enter it, and a QR code of verification_uri_complete
//      (§3.3.1) so a phone can open the page with the code filled in;
//   3. it polls the token endpoint until the person has approved or denied on their own device (§3.4, §3.5);
//   4. it calls the resource server with the access token (RFC 6750 §2.1) and prints what came back.
//
//   npm run -s workshop:device
//   AS=http://localhost:9000 RS=http://localhost:9100 CLIENT_ID=workshop-device SCOPE=photos:read \
//     npm run -s workshop:device
//
// Settings (environment): AS, the authorization server's issuer; RS, the resource server; CLIENT_ID, a public
// client allowed the device grant (the seeded `workshop-device`, or one you registered yourself); SCOPE.
// Exits 0 once the API answered 200, 1 when the person denied, the code expired or anything else failed.
// Plain JavaScript and fetch, so it reads top to bottom: this file is part of the workshop material.
import QRCode from 'qrcode';

const AS = (process.env.AS ?? 'http://localhost:9000').replace(/\/$/, '');
const RS = (process.env.RS ?? 'http://localhost:9100').replace(/\/$/, '');
const CLIENT_ID = process.env.CLIENT_ID ?? 'workshop-device';
const SCOPE = process.env.SCOPE ?? 'photos:read';

/** RFC 8628 §3.4: the grant type a device code is redeemed with (a URN, as extension grants are, RFC 6749 §4.5). */
const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** §3.2: "If no value is provided, clients MUST use 5 as the default" polling interval, in seconds. */
const DEFAULT_INTERVAL = 5;
/** §3.5: on slow_down "the interval MUST be increased by 5 seconds for this and all subsequent requests". */
const SLOW_DOWN_STEP = 5;
/** Per request; a device must not hang forever on a server that does not answer. */
const TIMEOUT_MS = 10_000;

class DeviceFlowError extends Error {}

const say = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** A JSON answer; its status and body, whatever the status (OAuth errors are JSON too, RFC 6749 §5.2). */
async function fetchJson(url, init = {}) {
  const response = await fetch(url, {
    ...init,
    headers: { accept: 'application/json', ...init.headers },
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: reported below with the status.
  }
  return { status: response.status, body, text };
}

/** A form POST (application/x-www-form-urlencoded, as every OAuth endpoint takes, RFC 6749 §3.2). */
function postForm(url, params) {
  return fetchJson(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
}

/** RFC 8414 §3: the device learns the endpoints from the server's metadata instead of hard-coding paths. */
async function discover() {
  const url = `${AS}/.well-known/oauth-authorization-server`;
  const { status, body } = await fetchJson(url);
  if (status !== 200 || !body) throw new DeviceFlowError(`${url} answered ${status}`);
  // §3.3: the issuer in the document must be the one we asked, or someone else's metadata is being served.
  if (body.issuer !== AS) throw new DeviceFlowError(`metadata issuer ${body.issuer} is not ${AS}`);
  if (!body.device_authorization_endpoint)
    throw new DeviceFlowError('the authorization server advertises no device_authorization_endpoint (RFC 8628 §4)');
  return body;
}

/** §3.1 device authorization request, §3.2 its response: the device code (secret) and the user code (shown). */
async function requestDeviceAuthorization(metadata) {
  say(`POST ${metadata.device_authorization_endpoint}  client_id=${CLIENT_ID} scope=${SCOPE}`);
  const { status, body, text } = await postForm(metadata.device_authorization_endpoint, {
    client_id: CLIENT_ID,
    scope: SCOPE,
  });
  if (status !== 200 || !body?.device_code || !body?.user_code)
    throw new DeviceFlowError(
      `device authorization failed: ${status} ${body?.error ?? ''} ${body?.error_description ?? text.slice(0, 200)}`,
    );
  return body;
}

/** §3.3: what the person needs, on the device's screen; the QR code is the §3.3.1 non-textual transmission. */
async function showUserCode(authorization) {
  say();
  say('To let this device see your photos, open this page on your phone or computer:');
  say();
  say(`  verification_uri: ${authorization.verification_uri}`);
  say(`  user_code:        ${authorization.user_code}`);
  say();
  if (authorization.verification_uri_complete) {
    // The QR code carries the user code in the URL, so nothing needs typing; the page still asks the person
    // to confirm it, since a link like this can also be sent by someone else (RFC 8628 §5.4).
    say('or scan this QR code (verification_uri_complete, with the code filled in):');
    say(await QRCode.toString(authorization.verification_uri_complete, { type: 'terminal', small: true }));
    say(`  verification_uri_complete: ${authorization.verification_uri_complete}`);
    say();
  }
  say(`The code expires in ${authorization.expires_in} s. Only enter it if this device is in front of you.`);
  say();
}

/** §3.4 device access token request, repeated as §3.5 says until there is an answer other than "wait". */
async function pollForToken(metadata, authorization) {
  let interval = Number.isInteger(authorization.interval) ? authorization.interval : DEFAULT_INTERVAL;
  // §3.2 expires_in: after that the device code is dead, so there is no point in polling longer.
  const deadline = Date.now() + authorization.expires_in * 1000;
  for (let attempt = 1; ; attempt++) {
    await sleep(interval);
    if (Date.now() > deadline) throw new DeviceFlowError('the device code expired before anyone approved it');
    const { status, body, text } = await postForm(metadata.token_endpoint, {
      grant_type: DEVICE_CODE_GRANT,
      device_code: authorization.device_code,
      client_id: CLIENT_ID,
    });
    if (status === 200 && body?.access_token) {
      say(`poll ${attempt}: 200, an access token (${body.token_type}, expires in ${body.expires_in} s)`);
      return body;
    }
    const error = body?.error;
    switch (error) {
      case 'authorization_pending':
        // The person has not finished yet: ask again after the same interval.
        say(`poll ${attempt}: authorization_pending (waiting ${interval} s)`);
        continue;
      case 'slow_down':
        // Polling too fast: the server wants this and every later request to wait 5 s longer.
        interval += SLOW_DOWN_STEP;
        say(`poll ${attempt}: slow_down, so the interval is now ${interval} s`);
        continue;
      case 'access_denied':
        throw new DeviceFlowError('the person denied the request (access_denied); stopping');
      case 'expired_token':
        throw new DeviceFlowError('the device code expired (expired_token); start again for a new code');
      default:
        // Any other error (invalid_client, invalid_grant …) will not get better by asking again.
        throw new DeviceFlowError(
          `token request failed: ${status} ${error ?? ''} ${body?.error_description ?? text.slice(0, 200)}`,
        );
    }
  }
}

/** RFC 6750 §2.1: the device uses the token like any client, in the Authorization header. */
async function callApi(tokens) {
  const url = `${RS}/photos`;
  say(`GET ${url}  Authorization: Bearer ${tokens.access_token.slice(0, 8)}…`);
  const { status, body, text } = await fetchJson(url, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  say(`${status}`);
  say(body ? JSON.stringify(body, null, 2) : text);
  if (status !== 200) throw new DeviceFlowError(`the resource server answered ${status}`);
}

try {
  const metadata = await discover();
  const authorization = await requestDeviceAuthorization(metadata);
  await showUserCode(authorization);
  const tokens = await pollForToken(metadata, authorization);
  await callApi(tokens);
} catch (err) {
  if (err instanceof DeviceFlowError) console.error(err.message);
  else console.error(`could not reach the servers: ${err.cause?.message ?? err.message}`);
  process.exit(1);
}
