// Runs docs/workshop.md: every ```sh block, in order, in one bash session (so variables carry over, as in the
// attendee's terminal), against an authorization server and a resource server started as real processes.
// `<!-- expect: REGEX -->` after a block is checked against that block's output; `<!-- browser: … -->` is
// where the attendee uses the browser, which this test does with a cookie-jar browser as alice;
// `<!-- browser-device: … -->` is alice at the device grant's verification page, typing $USER_CODE (RFC 8628 §3.3).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Browser, authorizeAs } from './support/browser.js';
import { decideDevice } from './support/device.js';
import { freePort, root } from './support/processes.js';
import { startStack } from './support/stack.js';

type Item =
  | { kind: 'sh'; code: string; expect?: RegExp; line: number }
  | { kind: 'browser'; line: number }
  | { kind: 'browser-device'; line: number };

/** The guide as a list of shell blocks (with their expectations) and browser steps, in order. */
export function parseGuide(markdown: string): Item[] {
  const items: Item[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```sh')) {
      const start = i + 1;
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
      items.push({ kind: 'sh', code: body.join('\n'), line: start });
    }
    const expect = /^<!-- expect: (.*) -->$/.exec(line);
    const last = items[items.length - 1];
    if (expect && last?.kind === 'sh') last.expect = new RegExp(expect[1]!.replace(/\\n/g, '\n'), 'm');
    if (/^<!-- browser: /.test(line)) items.push({ kind: 'browser', line: i + 1 });
    if (/^<!-- browser-device: /.test(line)) items.push({ kind: 'browser-device', line: i + 1 });
  }
  return items;
}

/** One bash process; run() sends a block and resolves with its output and exit status. */
function bashSession(env: NodeJS.ProcessEnv) {
  const bash = spawn('bash', ['--noprofile', '--norc'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  bash.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  bash.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  let n = 0;
  return {
    stderr: () => err,
    async run(code: string, timeoutMs = 60_000): Promise<{ output: string; status: number }> {
      const marker = `__GUIDE_BLOCK_${++n}__`;
      out = '';
      bash.stdin.write(`${code}\necho "${marker} $?"\n`);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = new RegExp(`${marker} (\\d+)\\n`).exec(out);
        if (m) return { output: out.slice(0, m.index), status: Number(m[1]) };
        if (Date.now() > deadline) throw new Error(`block timed out; output so far:\n${out}\nstderr:\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => bash.kill('SIGKILL'),
  };
}

t.setTimeout(180_000);

const items = parseGuide(readFileSync(join(root, 'docs', 'workshop.md'), 'utf8'));

t.test('the guide has the steps the issue asks for', async (t) => {
  const code = items.flatMap((i) => (i.kind === 'sh' ? [i.code] : [])).join('\n');
  for (const needle of [
    'workshop:listen',
    'code_challenge_method=S256',
    'grant_type=authorization_code',
    'grant_type=refresh_token',
    'Authorization: Bearer',
    'code_challenge_method=plain',
    'callbacks',
    '"alg":"none"',
    'registration_endpoint',
    '"token_endpoint_auth_method": "none"',
    'oauth/device_authorization',
    'grant_type=urn:ietf:params:oauth:grant-type:device_code',
    'slow_down',
    '-X DELETE',
  ]) {
    t.ok(code.includes(needle), `guide runs ${needle}`);
  }
  t.equal(items.filter((i) => i.kind === 'browser').length, 2);
  t.equal(items.filter((i) => i.kind === 'browser-device').length, 1);
  t.ok(items.filter((i) => i.kind === 'sh' && i.expect).length >= 12, 'most blocks have a checked result');
});

t.test('every command in docs/workshop.md works against running services', async (t) => {
  const callbackPort = await freePort();
  const redirect = `http://127.0.0.1:${callbackPort}/callback`;
  const { urls } = await startStack(t, {
    name: 'guide',
    // Open registration, as under `npm start`; a 1 s device polling interval keeps the device chapter short.
    auth: () => ({ WORKSHOP_CLI_REDIRECT_URI: redirect, CLIENT_REGISTRATION: 'open', DEVICE_POLL_INTERVAL: '1' }),
    client: false,
  });

  const shell = bashSession({ ...process.env, AS: urls.auth, RS: urls.resource, CALLBACK_PORT: String(callbackPort) });
  t.teardown(() => shell.close());
  const browser = new Browser();
  for (const item of items) {
    if (item.kind === 'browser-device') {
      const { output } = await shell.run('printf "%s\\n%s\\n" "$VERIFICATION_URI" "$USER_CODE"');
      const [uri, userCode] = output.trim().split('\n');
      const pages = await decideDevice(browser, uri!, { userCode: userCode! });
      t.match(pages.map((p) => p.body).join('\n'), /in front of you/, `browser step (line ${item.line}): the warning`);
      t.match(pages.at(-1)!.body, /device/i, `browser step (line ${item.line}) approved the device`);
      continue;
    }
    if (item.kind === 'browser') {
      const { output } = await shell.run('printf "%s\\n" "$AUTHORIZE_URL"');
      const callback = await authorizeAs(browser, output.trim(), redirect);
      // The browser lands on the listener, which prints the code for the next block.
      const res = await fetch(callback);
      t.equal(res.status, 200, `browser step (line ${item.line}) reached the listener`);
      continue;
    }
    const { output, status } = await shell.run(item.code);
    t.equal(status, 0, `block at line ${item.line} exits 0\n${output}\n${shell.stderr().slice(-500)}`);
    if (item.expect) t.match(output, item.expect, `block at line ${item.line} shows ${item.expect}`);
  }
});
