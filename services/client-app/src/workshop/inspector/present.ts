// Workshop mode, flow inspector: what a recorded step shows. Every parameter and claim is explained with the
// RFC section it comes from. What may be shown: the client's own PKCE verifier (it is shown to its own user,
// after the flow: that is the point of a workshop), state and iss in full; codes, access and refresh tokens
// only shortened (first 8 characters + "…"); the client secret never (the Authorization header is shown
// masked). JWTs are decoded here for display only, never verified (the client treats tokens as opaque).
import { createHash } from 'node:crypto';
import type { Row, Section } from './store.js';
import type { AssertionShown } from '../../oauth/events.js';

/** Codes and tokens are shown as their first 8 characters and an ellipsis: enough to tell them apart. */
export function shorten(value: string): string {
  return `${value.slice(0, 8)}…`;
}

/**
 * The client_secret_basic header as shown: never the secret, and never the base64 of it either (base64 is an
 * encoding, anyone can decode it).
 */
export function maskedBasic(clientId: string): string {
  return `Basic base64(${encodeURIComponent(clientId)}:••••••••)`;
}

const AUTHORIZATION_PARAMS: Record<string, string> = {
  response_type: '"code": the authorization code grant (RFC 6749 §4.1); the token never travels through the browser.',
  client_id: 'Who is asking: the client registered at the authorization server.',
  redirect_uri: 'Where the browser comes back with the code; must match a registered URI exactly (RFC 9700 §2.1).',
  scope: 'What the client asks permission for; the user sees and approves these (RFC 6749 §3.3).',
  state:
    "A one-time random value bound to this browser's session: the callback must bring it back (CSRF defence, RFC 6749 §10.12).",
  code_challenge:
    'BASE64URL(SHA-256(code_verifier)): commits the client to a secret only it knows (PKCE, RFC 7636 §4.2).',
  code_challenge_method:
    '"S256" — "plain" would put the verifier itself in the browser\'s address bar (RFC 9700 §2.1.1).',
  resource: 'The resource server the token is for: its `aud` (RFC 8707 resource indicators).',
  dpop_jkt:
    "The RFC 7638 thumbprint of the client's DPoP key: the code is bound to it, a stolen code is useless without the key (RFC 9449 §10).",
  request_uri:
    'A reference to the parameters pushed to the authorization server (RFC 9126 §4): short-lived, single use, bound to this client.',
};

const CALLBACK_PARAMS: Record<string, string> = {
  code: 'The one-time authorization code (valid for seconds, usable once, bound to the PKCE challenge).',
  state: "Must equal the state this browser's session sent (RFC 6749 §10.12).",
  iss: 'Who issued the response: must be our authorization server (RFC 9207 mix-up defence).',
  error: 'The authorization server refused (RFC 6749 §4.1.2.1).',
  error_description: 'A human-readable explanation from the authorization server.',
};

const TOKEN_PARAMS: Record<string, string> = {
  grant_type:
    'Which grant is being redeemed (RFC 6749 §4.1.3 / §6; urn:ietf:params:oauth:grant-type:device_code, RFC 8628 §3.4).',
  code: 'The authorization code from the callback.',
  redirect_uri: 'Must equal the one in the authorization request (RFC 6749 §4.1.3).',
  code_verifier: 'The PKCE secret: the AS hashes it and compares with the code_challenge (RFC 7636 §4.6).',
  refresh_token: 'The refresh token being spent; the AS rotates it (RFC 9700 §4.14.2).',
  resource: 'The resource the token is for (RFC 8707).',
  scope: 'The scope asked for (may only narrow the grant).',
  token: 'The token to revoke or introspect.',
  token_type_hint: 'Where the AS should look first (RFC 7009 §2.1).',
  client_id: 'A public client identifies itself in the body, with no secret (RFC 6749 §2.3.1, RFC 8628 §3.1).',
  device_code:
    'The secret half of a device authorization: only the device has it, and redeems it once the person approved (RFC 8628 §3.4).',
};

const TOKEN_RESPONSE_FIELDS: Record<string, string> = {
  access_token: 'The token the client presents to the resource server (a JWT, RFC 9068).',
  token_type:
    '"Bearer": whoever holds it may use it (RFC 6750) — hence short lifetimes. "DPoP": only with a proof of the client\'s key (RFC 9449 §5).',
  request_uri: 'The pushed request, by reference: the browser carries only this and client_id (RFC 9126 §2.2).',
  expires_in:
    'Seconds until the access token expires (in a device authorization response: until the device and user codes do, RFC 8628 §3.2).',
  device_code: 'Kept by the device, never shown: it polls the token endpoint with it (RFC 8628 §3.2).',
  user_code: 'Shown to the person, who types it at the verification URI on another device (RFC 8628 §3.2, §6.1).',
  verification_uri: 'Where the person goes, on a phone or computer, to enter the user code (RFC 8628 §3.2).',
  verification_uri_complete:
    'The same page with the code filled in, for a QR code; whoever receives this link can be tricked into approving (RFC 8628 §5.4).',
  interval: 'Seconds the device must wait between polls; polling faster earns slow_down and 5 s more (RFC 8628 §3.5).',
  scope: 'What was actually granted (may be less than asked).',
  refresh_token: 'Lets the client get new access tokens without the user; rotated on every use.',
  error: 'The OAuth error code (RFC 6749 §5.2).',
  error_description: "The server's explanation.",
  active: 'RFC 7662: whether the token is currently valid at the authorization server.',
};

const SECRET_VALUES = new Set(['access_token', 'refresh_token', 'code', 'token', 'device_code']);

const HEADER_EXPLANATIONS: Record<string, string> = {
  typ: '"at+jwt": an access token (RFC 9068 §2.1), so it cannot be confused with an ID token.',
  alg: 'The signature algorithm; the resource server accepts only ES256 (an allow-list, never "none").',
  kid: "Which of the authorization server's published keys (JWKS) signed it.",
};

const CLAIM_EXPLANATIONS: Record<string, string> = {
  iss: 'Issuer: the authorization server that signed it; the resource server checks it.',
  sub: 'Subject: the user the token acts for (the resource owner).',
  aud: 'Audience: the resource server this token is for; any other must refuse it (RFC 8707).',
  client_id: 'The client the token was issued to.',
  scope: 'What the token allows; the resource server checks it per route.',
  jti: 'A unique id for this token (used for revocation).',
  iat: 'Issued at.',
  exp: 'Expires at: after this (plus a small clock tolerance) the resource server refuses it.',
  nbf: 'Not valid before.',
  auth_time: 'When the user logged in.',
  grant_id: 'The grant (consent) this token belongs to at the authorization server.',
  cnf: 'Confirmation: jkt is the thumbprint of the DPoP key the token is bound to; the resource server wants a proof of that key (RFC 9449 §6.1).',
};

const DPOP_HEADER_EXPLANATIONS: Record<string, string> = {
  typ: '"dpop+jwt": a DPoP proof, nothing else (RFC 9449 §4.2).',
  alg: 'An asymmetric algorithm the server allows (its dpop_signing_alg_values_supported).',
  jwk: 'The public key; the proof is signed with its private half, which never leaves the client app (RFC 9449 §4.2).',
};

const DPOP_PAYLOAD_EXPLANATIONS: Record<string, string> = {
  jti: 'Unique per proof: the server refuses a proof it has seen (replay, RFC 9449 §11.1).',
  htm: 'The HTTP method of this request.',
  htu: 'The URL of this request, without query and fragment (RFC 9449 §4.2).',
  iat: 'When the proof was made: servers accept it only for a short window.',
  ath: 'BASE64URL(SHA-256(access token)): binds the proof to the token it is sent with (RFC 9449 §4.2, §7.1).',
  nonce: 'The server-provided DPoP-Nonce, so a proof made in advance is useless (RFC 9449 §8, §9).',
};

/** The jkt of a decoded access token's cnf claim (RFC 9449 §6.1), if any. */
export function confirmationJkt(claims: Record<string, unknown> | undefined): string | undefined {
  const cnf = claims?.cnf;
  if (!cnf || typeof cnf !== 'object') return undefined;
  const jkt = (cnf as Record<string, unknown>).jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}

/** The row comparing a token's cnf.jkt with the thumbprint of the key proved (RFC 9449 §6.1, §7.1). */
export function keyBindingRows(tokenJkt: string | undefined, keyJkt: string | undefined): Row[] {
  return [
    {
      name: 'key thumbprint',
      value: keyJkt ?? '(no jwk)',
      note: 'RFC 7638 SHA-256 thumbprint of the DPoP public key, computed here (jose calculateJwkThumbprint).',
    },
    {
      name: 'access token cnf.jkt',
      value: tokenJkt ?? '(none: not a DPoP-bound token)',
      note:
        tokenJkt === undefined
          ? 'A token without cnf is a bearer token: it works without any proof.'
          : tokenJkt === keyJkt
            ? 'match: the token is bound to this key.'
            : 'MISMATCH: the resource server must refuse this proof for this token (RFC 9449 §7.1).',
    },
  ];
}

/**
 * A DPoP proof decoded (unverified, for display): its protected header and payload, each explained, and
 * its key's thumbprint next to the cnf.jkt of the access token it goes with (a resource server call).
 */
export function dpopProofSections(proof: string, keyJkt: string | undefined, accessToken?: string): Section[] {
  const decoded = decodeJwt(proof);
  if (!decoded) return [{ heading: 'DPoP proof', rows: [{ name: 'DPoP', value: shorten(proof), note: 'not a JWT' }] }];
  const show = (name: string, v: unknown) =>
    name === 'iat' ? timeValue(v) : typeof v === 'string' ? v : JSON.stringify(v);
  const sections: Section[] = [
    {
      heading: 'DPoP proof: protected header',
      rows: Object.entries(decoded.header).map(([n, v]) => row(n, show(n, v), explain(DPOP_HEADER_EXPLANATIONS, n))),
    },
    {
      heading: 'DPoP proof: payload',
      rows: Object.entries(decoded.claims).map(([n, v]) => row(n, show(n, v), explain(DPOP_PAYLOAD_EXPLANATIONS, n))),
    },
  ];
  const tokenJkt = accessToken === undefined ? undefined : confirmationJkt(decodeJwt(accessToken)?.claims);
  sections.push({
    heading: 'Key binding',
    rows: accessToken === undefined ? keyBindingRows(undefined, keyJkt).slice(0, 1) : keyBindingRows(tokenJkt, keyJkt),
  });
  return sections;
}

function explain(table: Record<string, string>, name: string): string | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

function row(name: string, value: string, note: string | undefined): Row {
  return note ? { name, value, note } : { name, value };
}

function timeValue(value: unknown): string {
  return typeof value === 'number' ? `${value} (${new Date(value * 1000).toISOString()})` : JSON.stringify(value);
}

/** The authorization request's parameters, each explained, and the PKCE verifier → challenge computation. */
export function authorizationRequestSections(url: URL, codeVerifier: string | undefined): Section[] {
  const params: Row[] = [...url.searchParams].map(([name, value]) =>
    row(name, value, explain(AUTHORIZATION_PARAMS, name)),
  );
  const sections: Section[] = [
    { heading: 'Authorization request URL', text: url.href },
    { heading: 'Parameters', rows: params },
  ];
  if (codeVerifier !== undefined) {
    const digest = createHash('sha256').update(codeVerifier, 'ascii').digest();
    sections.push({
      heading: 'PKCE: verifier → challenge (RFC 7636 §4.1-4.2)',
      text: [
        `code_verifier          = ${codeVerifier}`,
        "                         (random, kept on the client's server, never sent to the browser)",
        `SHA-256(code_verifier) = ${digest.toString('hex')}`,
        `code_challenge         = BASE64URL(SHA-256(code_verifier)) = ${digest.toString('base64url')}`,
        `sent in the URL        = ${url.searchParams.get('code_challenge') ?? '(none)'} (method ${url.searchParams.get('code_challenge_method') ?? 'none'})`,
      ].join('\n'),
    });
  }
  return sections;
}

export interface CallbackCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export function callbackSections(parameters: URLSearchParams, checks: CallbackCheck[]): Section[] {
  return [
    {
      heading: 'Parameters',
      rows: [...parameters].map(([name, value]) =>
        row(name, name === 'code' ? shorten(value) : value, explain(CALLBACK_PARAMS, name)),
      ),
    },
    {
      heading: 'Checks made by the client',
      rows: checks.map((c) => ({ name: `${c.ok ? '✔' : '✘'} ${c.name}`, value: c.detail })),
    },
  ];
}

/** A form request to the AS (token, revoke, introspect) as shown: masked Basic credentials, tokens shortened. */
/** `clientId` null: a public client (a device, RFC 8628 §3.1), which sends no credentials, only its client_id. */
/** `assertion`: the client authenticates with private_key_jwt (CLIENT_PRIVATE_KEY), not its secret. */
export function formRequestSections(
  endpoint: string,
  clientId: string | null,
  params: Record<string, string>,
  traceparentValue: string,
  assertion?: AssertionShown,
): Section[] {
  const assertionRows: Row[] =
    assertion && clientId !== null
      ? [
          {
            name: 'client_assertion_type',
            value: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            note: 'The client authenticates with a JWT instead of a secret (RFC 7523 §2.2).',
          },
          {
            name: 'client_assertion',
            value: `a JWT (${assertion.alg}, kid ${assertion.kid}) with iss and sub ${clientId}, aud the issuer, a fresh jti, exp a minute ahead`,
            note: "Signed with the client's private key, which never leaves the client app; the authorization server checks it against the registered public key and takes each jti once (RFC 7523 §3).",
          },
        ]
      : [];
  return [
    {
      heading: 'HTTP request',
      rows: [
        { name: 'POST', value: endpoint },
        clientId === null
          ? {
              name: 'Authorization',
              value: '(none)',
              note: 'A public client: it has no secret to keep (a device could not keep one), so it sends its client_id in the body (RFC 6749 §2.1, RFC 8628 §3.1).',
            }
          : assertion
            ? {
                name: 'Authorization',
                value: '(none)',
                note: 'private_key_jwt (RFC 7523 §2.2): no shared secret travels; the client proves who it is with a signed JWT in the body.',
              }
            : {
                name: 'Authorization',
                value: maskedBasic(clientId),
                note: 'client_secret_basic (RFC 6749 §2.3.1); the secret is masked here and never leaves the client app.',
              },
        { name: 'Content-Type', value: 'application/x-www-form-urlencoded' },
        {
          name: 'traceparent',
          value: traceparentValue,
          note: 'W3C Trace Context: lets each service record its steps for this run.',
        },
      ],
    },
    {
      heading: 'Body',
      rows: [
        ...Object.entries(params).map(([name, value]) =>
          row(name, SECRET_VALUES.has(name) ? shorten(value) : value, explain(TOKEN_PARAMS, name)),
        ),
        ...assertionRows,
      ],
    },
  ];
}

/** A JSON answer of the AS as shown, tokens shortened. */
export function jsonResponseSections(status: number, body: Record<string, unknown> | null): Section[] {
  const rows: Row[] = [{ name: 'status', value: String(status) }];
  for (const [name, value] of Object.entries(body ?? {})) {
    const shown =
      typeof value === 'string' && SECRET_VALUES.has(name)
        ? shorten(value)
        : typeof value === 'string'
          ? value
          : JSON.stringify(value);
    rows.push(row(name, shown, explain(TOKEN_RESPONSE_FIELDS, name)));
  }
  return [{ heading: 'HTTP response', rows }];
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** Decodes a JWT WITHOUT verifying it: for display only (the client treats access tokens as opaque). */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return null;
    return { header: header as Record<string, unknown>, claims: claims as Record<string, unknown> };
  } catch {
    return null;
  }
}

export function accessTokenSections(decoded: DecodedJwt): Section[] {
  const value = (name: string, v: unknown) =>
    ['iat', 'exp', 'nbf', 'auth_time'].includes(name) ? timeValue(v) : typeof v === 'string' ? v : JSON.stringify(v);
  return [
    {
      heading: 'Header',
      rows: Object.entries(decoded.header).map(([n, v]) => row(n, value(n, v), explain(HEADER_EXPLANATIONS, n))),
    },
    {
      heading: 'Claims',
      rows: Object.entries(decoded.claims).map(([n, v]) => row(n, value(n, v), explain(CLAIM_EXPLANATIONS, n))),
    },
  ];
}
