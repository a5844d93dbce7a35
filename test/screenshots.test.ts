import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from './helpers/chromium.js';
import { freePort } from './helpers/memcached.js';

/**
 * The screenshots README.md and docs/viewer.md show, taken from the demo as a user runs it
 * (`npm start`: the guestbook app under the register entry, memcached and the Datastore emulator
 * started by the launcher, its warm-up traffic), so they show real pages of a real app. Written to
 * docs/screenshots/ only on request (UPDATE_SCREENSHOTS=1), else under test/artifacts/.
 * test/viewer-browser.test.ts keeps checking the hostile fixture (XSS payloads) in Chromium.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SHOTS = process.env.UPDATE_SCREENSHOTS
  ? join(ROOT, 'docs', 'screenshots')
  : join(ROOT, 'test', 'artifacts', 'screenshots');

let demo: ChildProcess | undefined;
let browser: Browser | undefined;
let origin: string;

before(async () => {
  const port = await freePort();
  const env = { ...process.env };
  for (const name of ['APPSTATS_MEMCACHE', 'DATASTORE_EMULATOR_HOST', 'OTEL_LOG_LEVEL']) delete env[name];
  demo = spawn(process.execPath, ['--import', 'tsx', 'demo/launcher.ts', '--port', String(port)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  demo.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: demo!.stdout! }).on('line', (line) => {
      output += `${line}\n`;
      if (line.startsWith('demo: ready.')) resolve();
    });
    demo!.once('exit', (code) =>
      reject(new Error(`the demo exited (${code}) before it was ready:\n${output}`)),
    );
  });
  assert.match(
    output,
    /Datastore: {2}emulator on/,
    `the screenshots need the Datastore emulator:\n${output}`,
  );
  origin = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) {
    const exited = once(demo, 'exit');
    demo.kill('SIGTERM'); // the launcher stops the app, memcached and the emulator it started
    const timer = setTimeout(() => demo?.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
});

describe('screenshots of the demo', () => {
  it('dashboard: the guestbook requests, no fixture paths', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    assert.equal((await page.goto(`${origin}/_ah/stats/`))?.status(), 200);
    const paths = await page.locator('#history a').allTextContents();
    assert.ok(
      paths.some((text) => text.includes('/authors')),
      `the demo's pages are listed: ${paths.join(', ')}`,
    );
    assert.ok(!(await page.content()).includes('alert('), 'no test payloads on the page');
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
    await page.close();
  });

  it("details of /authors (the N+1 finding), a call's trace, dark mode", async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${origin}/_ah/stats/`);
    await page.locator('#history a', { hasText: '/authors' }).first().click();
    await page.waitForURL(/\/details\?time=/);
    assert.match((await page.locator('h1').textContent()) ?? '', /GET \/authors 200/);
    assert.ok((await page.locator('#findings li').count()) > 0, 'the N+1 is found');
    await page.screenshot({ path: join(SHOTS, 'details.png'), fullPage: true });
    await page.locator('svg.timeline a[data-call="3"] rect.bar').click();
    await page.waitForURL(/#call-3$/);
    await page.screenshot({ path: join(SHOTS, 'details-trace.png') });
    const dark = await browser!.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
    await dark.goto(page.url().replace(/#.*$/, ''));
    await dark.screenshot({ path: join(SHOTS, 'details-dark.png'), fullPage: true });
    await dark.close();
    await page.close();
  });
});
