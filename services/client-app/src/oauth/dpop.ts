// The client's DPoP keys (RFC 9449): one ES256 key pair per browser session, made when the user connects.
// The private key never leaves the server: its JWK is kept with the pending authorization and then with the
// session's tokens, in the app's key-value store (Redis when REDIS_URL is set, else in-process), and never in a
// page or cookie. oauth4webapi signs the proofs (its DPoP handle, which also keeps the server nonces, §8/§9);
// a handle is cached per key in this process (bounded) so a nonce learnt on one page load serves the next;
// without it (another instance, evicted) the first request simply gets use_dpop_nonce and is retried once.
import { webcrypto } from 'node:crypto';

type JsonWebKey = webcrypto.JsonWebKey;
import * as oauth from 'oauth4webapi';
import { jwkThumbprint, type ProtocolEvents } from '@quartet/common';
import type { ClientEvents, FlowContext } from './events.js';

/** ES256: the one algorithm every DPoP server must accept in practice (RFC 9449 §5.1 lists it first; FAPI 2.0). */
export const DPOP_ALGORITHM = 'ES256';
/** Handles kept in this process for their nonces; beyond it the least recently used is dropped. */
const MAX_CACHED_HANDLES = 1000;

/** A DPoP key as stored: the private JWK (EC P-256, with `d`). Stored server-side only. */
export type StoredDpopKey = JsonWebKey;

/** Whether a token_type is DPoP (RFC 9449 §5.1; token types compare case-insensitively, RFC 6749 §5.1). */
export function isDpop(tokenType: string): boolean {
  return tokenType.toLowerCase() === 'dpop';
}

/** A fresh key pair; returns the exportable private JWK to store. */
export async function generateDpopKey(): Promise<StoredDpopKey> {
  const pair = await oauth.generateKeyPair(DPOP_ALGORITHM, { extractable: true });
  return webcrypto.subtle.exportKey('jwk', pair.privateKey);
}

/** The public half of a stored key (no `d`): what a proof's `jwk` header carries (§4.2). */
export function publicDpopJwk(key: StoredDpopKey): JsonWebKey {
  const { kty, crv, x, y } = key;
  return { kty, crv, x, y };
}

async function importKeyPair(key: StoredDpopKey): Promise<oauth.CryptoKeyPair> {
  const params = { name: 'ECDSA', namedCurve: 'P-256' };
  const [privateKey, publicKey] = await Promise.all([
    webcrypto.subtle.importKey('jwk', key, params, false, ['sign']),
    // oauth4webapi requires an extractable public key: it puts the JWK into each proof.
    webcrypto.subtle.importKey('jwk', publicDpopJwk(key), params, true, ['verify']),
  ]);
  return { privateKey, publicKey };
}

const handles = new Map<string, oauth.DPoPHandle>();

/** The DPoP handle for a stored key (cached in this process, so it remembers the servers' nonces). */
export async function dpopHandle(client: oauth.Client, key: StoredDpopKey): Promise<oauth.DPoPHandle> {
  const id = `${key.x}.${key.y}`;
  const cached = handles.get(id);
  if (cached) {
    handles.delete(id);
    handles.set(id, cached);
    return cached;
  }
  const handle = oauth.DPoP(client, await importKeyPair(key));
  if (handles.size >= MAX_CACHED_HANDLES) handles.delete(handles.keys().next().value!);
  handles.set(id, handle);
  return handle;
}

/** Forgets the handle of a key that is no longer used (logout, failed refresh). */
export function forgetDpopKey(key: StoredDpopKey | undefined): void {
  if (key) handles.delete(`${key.x}.${key.y}`);
}

/**
 * Runs a DPoP request and, when the server answers with a nonce to use (AS: 400 use_dpop_nonce, RFC 9449 §8;
 * RS: 401 WWW-Authenticate: DPoP error="use_dpop_nonce", §9), runs it once more: oauth4webapi's handle has
 * taken the nonce from the DPoP-Nonce header. Only once: a second refusal is the caller's to handle (a server
 * that keeps asking would otherwise loop). `onNonceError` sees the first refusal (for the inspector).
 */
export async function retryOnDpopNonce<T>(
  handle: oauth.DPoPHandle | undefined,
  run: () => Promise<T>,
  onNonceError?: (err: unknown) => void,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!handle || !oauth.isDPoPNonceError(err)) throw err;
    onNonceError?.(err);
    return run();
  }
}

/**
 * The options that make an oauth4webapi request carry a DPoP proof of `handle`'s key; for a traced flow
 * (workshop mode) each proof sent, retries included, is also reported as a `dpop.proof` event with the
 * RFC 7638 thumbprint of the key it carries (jose, through @quartet/common) before the request goes out.
 */
export function dpopRequestOptions(
  handle: oauth.DPoPHandle | undefined,
  events: ProtocolEvents<ClientEvents>,
  flow: FlowContext | undefined,
  to: 'authorization server' | 'resource server',
  accessToken?: string,
): { DPoP?: oauth.DPoPHandle; [oauth.customFetch]?: typeof fetch } {
  if (!handle) return {};
  if (!flow) return { DPoP: handle };
  return {
    DPoP: handle,
    [oauth.customFetch]: async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
      const proof = new Headers(init?.headers).get('dpop');
      if (proof) {
        const jkt = await proofThumbprint(proof);
        events.emit('dpop.proof', { flow, to, proof, jkt, ...(accessToken ? { accessToken } : {}) });
      }
      return fetch(input, init);
    },
  };
}

/** The RFC 7638 thumbprint of the `jwk` in a proof's protected header; undefined when there is none. */
export async function proofThumbprint(proof: string): Promise<string | undefined> {
  try {
    const header = JSON.parse(Buffer.from(proof.split('.')[0] ?? '', 'base64url').toString('utf8')) as {
      jwk?: JsonWebKey;
    };
    return header.jwk ? await jwkThumbprint(header.jwk as Parameters<typeof jwkThumbprint>[0]) : undefined;
  } catch {
    return undefined;
  }
}
