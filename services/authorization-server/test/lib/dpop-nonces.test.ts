// DPoP server nonces (RFC 9449 §8, src/lib/dpop-nonces.ts): stateless, the same on every instance with the same
// secret, accepted in their own time slot and the next, refused otherwise.
import t from 'tap';
import { DpopNonces, NONCE_SLOT_SECONDS } from '../../src/lib/dpop-nonces.js';

const SECRET = 'dev-only-key-encryption-secret-change-me';
const SLOT_MS = NONCE_SLOT_SECONDS * 1000;
const start = 1_700_000_000_000 - (1_700_000_000_000 % SLOT_MS);

/** Nonces whose clock reads `at` (ms), changed by the test. */
function clockedNonces(secret = SECRET) {
  const clock = { at: start };
  return { clock, nonces: new DpopNonces(secret, () => clock.at) };
}

t.test('a nonce is 43 base64url characters, the same on every instance with the same secret', async (t) => {
  const a = clockedNonces().nonces;
  const b = clockedNonces().nonces;
  t.match(a.current(), /^[A-Za-z0-9_-]{43}$/);
  t.equal(a.current(), b.current(), 'no shared state needed');
  t.not(clockedNonces('another-secret-0123456789').nonces.current(), a.current(), 'another secret, another nonce');
});

t.test('accepted in its own slot and the next, refused before and after (the window: 60 to 120 s)', async (t) => {
  const { clock, nonces } = clockedNonces();
  const given = nonces.current();
  const rows: [string, number, boolean][] = [
    ['at once', 0, true],
    ['at the end of its slot', SLOT_MS - 1, true],
    ['in the next slot', SLOT_MS, true],
    ['at the end of the next slot', 2 * SLOT_MS - 1, true],
    ['two slots later', 2 * SLOT_MS, false],
    ['a slot earlier (a nonce from the future)', -1, false],
  ];
  for (const [name, offset, accepted] of rows) {
    clock.at = start + offset;
    t.equal(nonces.accepts(given), accepted, name);
  }
  clock.at = start + 2 * SLOT_MS;
  t.not(nonces.current(), given, 'a new slot gives a new nonce');
});

t.test('anything else is refused', async (t) => {
  const { nonces } = clockedNonces();
  const given = nonces.current();
  for (const value of [undefined, '', 'x', `${given}x`, given.slice(1), given.toUpperCase(), 'A'.repeat(43)]) {
    t.equal(nonces.accepts(value), false, JSON.stringify(value));
  }
  t.equal(nonces.accepts(clockedNonces('another-secret-0123456789').nonces.current()), false, "another server's");
});
