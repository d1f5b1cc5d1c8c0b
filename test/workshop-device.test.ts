// `npm run workshop:device` against the real services: the script asks for a device code, prints the user code,
// the verification URIs and a QR code, and polls; alice approves (or denies) on her own browser through the
// verification page (test/support/device.ts); the script then calls the resource server with the token.
import { spawn } from 'node:child_process';
import t from 'tap';
import { Browser } from './support/browser.js';
import { decideDevice } from './support/device.js';
import { root } from './support/processes.js';
import { startStack } from './support/stack.js';

t.setTimeout(180_000);

// A 1 s polling interval (DEVICE_POLL_INTERVAL) keeps the runs short; the script honours whatever it is told.
const { urls } = await startStack(t, { name: 'device', auth: () => ({ DEVICE_POLL_INTERVAL: '1' }), client: false });

/** Runs the script; `output()` is what it printed so far, `done` its exit code and whole output. */
function runDevice(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['scripts/workshop-device.mjs'], {
    cwd: root,
    env: { ...process.env, AS: urls.auth, RS: urls.resource, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out, err })),
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return {
    done,
    /** Waits until the script printed a line `name: value` and returns the value. */
    async field(name: string, timeoutMs = 20_000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = new RegExp(`^\\s*${name}: +(\\S+)$`, 'm').exec(out);
        if (m) return m[1]!;
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`the script printed no ${name}:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

t.test(
  'the device shows a code and a QR code, alice approves on her browser, the device sees her photos',
  async (t) => {
    const device = runDevice();
    const complete = await device.field('verification_uri_complete');
    const userCode = await device.field('user_code');
    t.match(userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/, 'RFC 8628 §6.1 reduced alphabet');
    t.equal(new URL(complete).origin, urls.auth, 'the QR code leads to the authorization server');
    t.ok(complete.includes(encodeURIComponent(userCode)) || complete.includes(userCode), 'with the code filled in');
    t.equal(await device.field('verification_uri'), new URL('/interaction/device', urls.auth).href);

    const pages = await decideDevice(new Browser(), complete);
    t.match(pages.map((p) => p.body).join('\n'), /in front of you/i, 'the consent page warned her');

    const { code, out, err } = await device.done;
    t.equal(code, 0, `exits 0\n${out}\n${err}`);
    // The QR code: terminal blocks, several lines of them.
    t.ok(out.split('\n').filter((l) => /[█▀▄]{8,}/.test(l)).length >= 8, 'a QR code drawn in the terminal');
    t.match(out, /poll \d+: 200, an access token \(Bearer, expires in \d+ s\)/);
    t.match(out, /GET http:\/\/[^ ]+\/photos {2}Authorization: Bearer .{8}…/);
    t.match(out, /^200$/m);
    t.match(out, /"photos"/);
  },
);

t.test('alice denies: the device stops with access_denied', async (t) => {
  const device = runDevice();
  const complete = await device.field('verification_uri_complete');
  await decideDevice(new Browser(), complete, { decision: 'deny' });
  const { code, err } = await device.done;
  t.equal(code, 1);
  t.match(err, /access_denied/);
});

t.test('typing the code at verification_uri works as well as the QR code', async (t) => {
  const device = runDevice();
  const uri = await device.field('verification_uri');
  const userCode = await device.field('user_code');
  await decideDevice(new Browser(), uri, { userCode });
  const { code, out, err } = await device.done;
  t.equal(code, 0, `exits 0\n${out}\n${err}`);
  t.match(out, /"photos"/);
});

t.test('an unknown client: the device says what the authorization server answered', async (t) => {
  const { code, err } = await runDevice({ CLIENT_ID: 'no-such-client' }).done;
  t.equal(code, 1);
  t.match(err, /device authorization failed: 401 invalid_client/);
});
