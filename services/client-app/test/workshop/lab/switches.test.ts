// The lab's switch list: every file of src/workshop/lab/switches/ is one switch, listed exactly once, under
// its own file name, with the whole of its meta (what the lab page shows) filled in.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LAB_SWITCHES, SWITCHES, UnknownSwitchError, findSwitch } from '../../../src/workshop/lab/switches/index.js';

const folder = fileURLToPath(new URL('../../../src/workshop/lab/switches/', import.meta.url));
const files = readdirSync(folder)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => f.replace(/\.ts$/, ''));

t.test('every switch file is listed once, under its file name', async (t) => {
  const ids = SWITCHES.map((s) => s.meta.id);
  t.same([...ids].sort(), [...files].sort(), 'one entry per file, no entry without a file');
  t.equal(new Set(ids).size, ids.length, 'no switch listed twice');
  t.equal(SWITCHES.length, 22);
  t.same(
    LAB_SWITCHES.map((m) => m.id),
    ids,
    'the page lists them in the same order',
  );
});

t.test('every switch has its whole meta and a run', async (t) => {
  for (const s of SWITCHES) {
    t.match(s.meta.id, /^[a-z]+(-[a-z]+)*$/, `${s.meta.id}: a kebab-case id`);
    t.ok(s.meta.title.trim(), `${s.meta.id}: a title`);
    // What the lab page shows beside each switch: whole sentences.
    for (const field of ['misbehaviour', 'attack', 'defence', 'expected'] as const)
      t.match(s.meta[field], /^[A-Za-z"'].{10,}\.$/s, `${s.meta.id}: ${field}`);
    t.type(s.run, 'function', `${s.meta.id}: run`);
  }
});

t.test('findSwitch finds listed switches only', async (t) => {
  t.equal(findSwitch('no-pkce')?.meta.title, 'Send no PKCE challenge');
  t.equal(findSwitch('nope'), undefined);
  t.equal(findSwitch('__proto__'), undefined);
  const err = new UnknownSwitchError('x'.repeat(100));
  t.equal(err.switchId.length, 100);
  t.ok(err.message.length < 100, 'the message quotes a bounded part of the id');
});
