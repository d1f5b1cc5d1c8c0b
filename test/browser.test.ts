// A real headless browser (Debian's Chromium through playwright-core) walks the product as alice: home →
// connect → login → consent → photos visible → the flow inspector → the lab, running one attack. It saves a
// screenshot of each page in test-results/screenshots/ (UPDATE_SCREENSHOTS=1 writes docs/screenshots/, which
// the README shows). Without Chromium the test is skipped with the reason — except in CI, which sets
// QUARTET_CHROMIUM and must run it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { chromium } from 'playwright-core';
import { freePort, root } from './support/processes.js';
import { startStack } from './support/stack.js';

const executablePath = process.env.QUARTET_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  if (process.env.QUARTET_CHROMIUM) t.fail(`QUARTET_CHROMIUM=${executablePath} does not exist`);
  else t.plan(0, `Chromium not installed at ${executablePath} (apt-get install chromium, or set QUARTET_CHROMIUM)`);
} else {
  await walk();
}

async function walk() {
  t.setTimeout(180_000);
  const shots = join(root, process.env.UPDATE_SCREENSHOTS ? 'docs/screenshots' : 'test-results/screenshots');
  mkdirSync(shots, { recursive: true });

  const otherResource = `http://localhost:${await freePort()}`;
  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const workshop = { WORKSHOP_MODE: 'true' };
  const { urls } = await startStack(t, {
    name: 'browser',
    auth: () => ({ ...workshop, RESOURCES: otherResource }),
    resource: () => workshop,
    client: () => ({ ...workshop, LAB_OTHER_RESOURCE: otherResource }),
  });

  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Failed requests are judged by the response listener below ("Failed to load resource" says no more).
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  // Browsers ask every origin for /favicon.ico on their own; anything else that fails is a broken page.
  page.on('response', (res) => {
    if (res.status() >= 400 && !res.url().endsWith('/favicon.ico')) errors.push(`${res.status()} ${res.url()}`);
  });
  // Whole page for the short ones; the first screen for the long inspector and lab pages.
  const shot = (name: string, fullPage = true) => page.screenshot({ path: join(shots, `${name}.png`), fullPage });

  await t.test('alice connects and sees her photos', async (t) => {
    await page.goto(urls.client);
    t.match(await page.textContent('body'), /resource owner/i);
    await shot('1-home');
    await page
      .getByRole('button', { name: /connect my photos/i })
      .or(page.getByRole('link', { name: /connect my photos/i }))
      .first()
      .click();
    await page.waitForURL(`${urls.auth}/interaction/login**`);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'wonderland');
    await shot('2-login');
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${urls.auth}/interaction/consent**`);
    t.match(await page.textContent('body'), /See your photos/);
    await shot('3-consent');
    await page.getByRole('button', { name: /allow/i }).click();
    await page.waitForURL(`${urls.client}/photos**`);
    const images = page.locator('img[src*="/photos/"]');
    await images.first().waitFor();
    // The page is "loaded" before every image has arrived through the client's proxy: wait for all of them.
    // (A function, not a string: the client's CSP forbids eval, which a string predicate would need.)
    await page.waitForFunction(() => {
      const doc = (
        globalThis as unknown as { document: { querySelectorAll(selector: string): ArrayLike<{ complete: boolean }> } }
      ).document;
      return Array.from(doc.querySelectorAll('img[src*="/photos/"]')).every((img) => img.complete);
    });
    // Runs in the page: the elements are <img>s (typed loosely, the root tsconfig has no DOM lib).
    const loaded = await images.evaluateAll((imgs) =>
      imgs.map((i) => {
        const img = i as unknown as { complete: boolean; naturalWidth: number };
        return img.complete && img.naturalWidth > 0;
      }),
    );
    t.ok(loaded.length >= 1 && loaded.every(Boolean), `${loaded.length} photos loaded`);
    await shot('4-photos');
  });

  await t.test('the inspector shows the four roles, the PKCE computation and the sequence diagram', async (t) => {
    await page
      .getByRole('link', { name: /what just happened/i })
      .first()
      .click();
    await page.waitForURL(`${urls.client}/workshop/inspector**`);
    const text = (await page.textContent('body')) ?? '';
    for (const role of ['resource owner', 'client', 'authorization server', 'resource server'])
      t.match(text, new RegExp(role, 'i'), role);
    t.match(text, /code_challenge/);
    t.match(text, /PKCE verified/, 'the authorization server contributed its steps');
    t.match(text, /signature verified/i, 'the resource server contributed its steps');
    t.ok(await page.locator('svg').count(), 'a sequence diagram');
    await shot('5-inspector', false);
  });

  await t.test('the lab runs an attack and shows the server refusing it', async (t) => {
    await page
      .getByRole('link', { name: /break it, fix it/i })
      .first()
      .click();
    await page.waitForURL(`${urls.client}/workshop/lab**`);
    await shot('6-lab', false);
    await page
      .locator('#alg-none')
      .getByRole('button', { name: /run it/i })
      .click();
    await page.waitForLoadState('load');
    const text = (await page.textContent('body')) ?? '';
    t.match(text, /invalid_token/, 'the resource server refused the alg:none token');
    await page.locator('#alg-none').screenshot({ path: join(shots, '7-lab-result.png') });
  });

  t.same(errors, [], 'no failed requests, script errors or CSP violations');
}
