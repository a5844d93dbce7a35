import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { MemcacheStore } from '../stores/memcache-store.js';
import { createViewer } from '../viewer/index.js';
import { launchChromium } from './helpers/chromium.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { alignedBase, recordThroughPipeline, scenario } from './helpers/viewer-fixtures.js';

/**
 * The viewer in real Chromium, served by @hono/node-server over a real socket (so the
 * loopback-only default decides from the TCP peer), against records the real pipeline wrote into a
 * real memcached, XSS payloads included. Its screenshots (of that hostile fixture) go under
 * test/artifacts/ only; the ones the docs show are taken from the demo by test/screenshots.test.ts.
 */
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const SHOTS = join(ROOT, 'test', 'artifacts', 'screenshots', 'fixture');

let memcached: MemcachedServer;
let store: MemcacheStore;
let browser: Browser;
let server: ReturnType<typeof serve>;
let origin: string;
let base: number;

before(async () => {
  memcached = await startMemcached();
  base = alignedBase();
  await recordThroughPipeline(memcached.address, scenario(base));
  store = new MemcacheStore(memcached.address);
  const viewer = createViewer({ store, sourceRoot: ROOT, title: 'guestbook-demo' });
  const { Hono } = await import('hono');
  const app = new Hono();
  app.route('/_ah/stats', viewer);
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => resolve(info.port));
  });
  origin = `http://127.0.0.1:${port}`;
  browser = await launchChromium();
  await mkdir(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await store?.close();
  await memcached?.stop();
});

test('dashboard: tables render in Chromium with no CSP violation, and link to details', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') violations.push(message.text());
  });
  const alerts: string[] = [];
  page.on('dialog', async (dialog) => {
    alerts.push(dialog.message());
    await dialog.dismiss();
  });
  const response = await page.goto(`${origin}/_ah/stats/`);
  assert.equal(response?.status(), 200);
  assert.equal(await page.locator('#history > table > tbody > tr').count(), 6);
  assert.equal(await page.locator('#rpc-stats > table > tbody > tr[data-rpc]').count(), 6);
  // The script ran (allowed by its hash): the expand-all buttons are shown, and they work.
  await page.locator('button[data-expand="path-stats"]').click();
  assert.equal(
    await page.locator('#path-stats details[open]').count(),
    await page.locator('#path-stats details').count(),
  );
  await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
  assert.deepEqual(violations, [], 'no console errors (a CSP violation would be one)');
  assert.deepEqual(alerts, [], 'no XSS payload ran');
  await page.close();
});

test('details: timeline bar opens its call trace; screenshots of the page', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') violations.push(message.text());
  });
  await page.goto(`${origin}/_ah/stats/`);
  await page.locator('#history a', { hasText: '/tasks/digest' }).click();
  await page.waitForURL(/\/details\?time=/);
  assert.match((await page.locator('h1').textContent()) ?? '', /GET \/tasks\/digest 200/);
  assert.equal(await page.locator('#findings li').count(), 3);
  await page.screenshot({ path: join(SHOTS, 'details.png'), fullPage: true });
  // 18 calls: collapsed by default; a bar of the timeline leads to, and opens, its trace.
  const trace = page.locator('#call-5');
  assert.equal(await trace.evaluate((el) => (el as HTMLDetailsElement).open), false);
  await page.locator('svg.timeline a[data-call="5"] rect.bar').click();
  await page.waitForURL(/#call-5$/);
  assert.equal(await trace.evaluate((el) => (el as HTMLDetailsElement).open), true);
  assert.ok(await trace.isVisible());
  const box = await trace.boundingBox();
  assert.ok(box && box.y > -2 && box.y < 900, `the trace is scrolled into view (y=${box?.y})`);
  await page.screenshot({ path: join(SHOTS, 'details-trace.png') });
  // Its stack is the loop's, shown on the first call: the link leads there and opens it.
  await trace.locator('a', { hasText: '#0' }).click();
  await page.waitForURL(/#call-0$/);
  const first = page.locator('#call-0');
  assert.equal(await first.evaluate((el) => (el as HTMLDetailsElement).open), true);
  // A stack frame under the source root links to the file view, the line highlighted.
  await first.locator('.app-frames a').first().click();
  await page.waitForURL(/\/file\?f=/);
  assert.equal(await page.locator('tr.hl').count(), 1);
  await page.screenshot({ path: join(SHOTS, 'file.png') });
  assert.deepEqual(violations, []);
  await page.close();
});

test('dark mode renders with the dark palette', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
  await page.goto(`${origin}/_ah/stats/details?time=${base}`);
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(background, 'rgb(20, 23, 28)');
  await page.screenshot({ path: join(SHOTS, 'details-dark.png'), fullPage: true });
  await page.close();
});
