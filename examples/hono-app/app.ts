/**
 * A Hono app recorded by otel-appstats, set up with the one-line register entry, with the viewer
 * mounted at /_ah/stats on the same server.
 *
 *   APPSTATS_MEMCACHE=localhost:11211 OTEL_SERVICE_NAME=hono-app PORT=3000 \
 *     node --import otel-appstats/register app.js
 *
 * In this repository (TypeScript, from source):
 *
 *   APPSTATS_MEMCACHE=localhost:11211 OTEL_SERVICE_NAME=hono-app \
 *     node --import tsx --import ./register.ts examples/hono-app/app.ts
 *
 * then open http://127.0.0.1:3000/greet?name=ann (twice: a miss, then a hit) and
 * http://127.0.0.1:3000/_ah/stats.
 *
 * Environment: APPSTATS_MEMCACHE (memcached for the app's cache and for the records; default
 * localhost:11211), OTEL_SERVICE_NAME (the service name in the records; the register entry reads
 * it and the other variables of docs/configuration.md), PORT (default 3000), HOST (default 127.0.0.1), APPSTATS_VIEWER_TOKEN (if set,
 * the viewer wants `Authorization: Bearer <token>`; if not, it answers loopback clients only).
 */
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import memjs from 'memjs';
// A user writes `from 'otel-appstats/register'` and `from 'otel-appstats/viewer'`; this repository
// imports its own sources. `appstats` is what `--import otel-appstats/register` set up (importing
// the module again sets up nothing): here, for a clean shutdown that writes the last records.
import { appstats } from '../../register.js';
import { createViewer } from '../../viewer/index.js';

const memcache = process.env.APPSTATS_MEMCACHE || 'localhost:11211';
const cache = memjs.Client.create(memcache, { logger: { log: () => {} } });

/** Cache-aside: a greeting from memcache, else made and cached for a minute. Three memcache calls. */
async function greeting(name: string): Promise<{ text: string; cached: boolean; visits: number | null }> {
  const key = `greeting:${name}`;
  const { value } = await cache.get(key);
  const visits = (await cache.increment('visits', 1, { initial: 1 })).value ?? null;
  if (value) return { text: value.toString(), cached: true, visits };
  const text = `Hello, ${name}!`;
  await cache.set(key, text, { expires: 60 });
  return { text, cached: false, visits };
}

const app = new Hono();

app.get('/', (c) =>
  c.html(
    '<h1>hono-app</h1><p><a href="/greet?name=ann">/greet?name=ann</a> (reload it: a miss, then hits)</p>' +
      '<p><a href="/_ah/stats">/_ah/stats</a>: the appstats dashboard</p>',
  ),
);

app.get('/greet', async (c) => {
  const name = c.req.query('name') ?? 'world';
  if (!/^[\w-]{1,64}$/.test(name)) return c.text('name: letters, digits, - and _ only\n', 400);
  return c.json(await greeting(name));
});

// The viewer is a Hono app: mount it. Its own requests are never recorded.
const token = process.env.APPSTATS_VIEWER_TOKEN;
app.route(
  '/_ah/stats',
  createViewer({
    memcache: process.env.APPSTATS_MEMCACHE,
    auth: token ? { token } : undefined,
    title: 'hono-app',
    // The file view may show this app's own sources, linked from the call stacks.
    sourceRoot: fileURLToPath(new URL('.', import.meta.url)),
  }),
);

const server = serve(
  { fetch: app.fetch, hostname: process.env.HOST || '127.0.0.1', port: Number(process.env.PORT ?? 3000) },
  (info) => {
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    const url = `http://${host}:${info.port}`;
    console.log(`hono-app listening on ${url}/ (appstats: ${url}/_ah/stats)`);
  },
);

function stop(): void {
  server.close();
  cache.close();
  // Writes the records still pending, then leaves (the viewer's memcache connection would keep
  // the process alive).
  void (appstats?.shutdown() ?? Promise.resolve()).finally(() => process.exit(0));
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
