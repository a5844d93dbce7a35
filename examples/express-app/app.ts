/**
 * An Express app recorded by otel-appstats, with the viewer (a Hono app) mounted at /_ah/stats
 * through @hono/node-server's request listener. Tracing is set up by hand in tracing.ts, loaded first:
 *
 *   APPSTATS_MEMCACHE=localhost:11211 PORT=3000 node --import ./tracing.js app.js
 *
 * In this repository (TypeScript, from source):
 *
 *   APPSTATS_MEMCACHE=localhost:11211 \
 *     node --import tsx --import ./examples/express-app/tracing.ts examples/express-app/app.ts
 *
 * then open http://127.0.0.1:3000/greet/ann (twice: a miss, then a hit) and
 * http://127.0.0.1:3000/_ah/stats.
 *
 * Environment: APPSTATS_MEMCACHE (memcached for the app's cache and for the records; default
 * localhost:11211), PORT (default 3000), HOST (default 127.0.0.1), APPSTATS_VIEWER_TOKEN (if set,
 * the viewer wants `Authorization: Bearer <token>`; if not, it answers loopback clients only).
 */
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import express from 'express';
import memjs from 'memjs';
// A user writes `from 'otel-appstats/viewer'`; this repository imports its own sources.
import { createViewer } from '../../viewer/index.js';
import { provider } from './tracing.js';

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

const app = express();

app.get('/', (_req, res) => {
  res.send(
    '<h1>express-app</h1><p><a href="/greet/ann">/greet/ann</a> (reload it: a miss, then hits)</p>' +
      '<p><a href="/_ah/stats">/_ah/stats</a>: the appstats dashboard</p>',
  );
});

app.get('/greet/:name', (req, res, next) => {
  const name = req.params.name;
  if (!/^[\w-]{1,64}$/.test(name)) {
    res.status(400).send('name: letters, digits, - and _ only\n');
    return;
  }
  greeting(name).then((body) => res.json(body), next);
});

// The viewer is a Hono app; getRequestListener turns it into a Node (req, res) handler. Express
// strips the mount path from req.url, so the viewer sees `/`, `/details`...: `basePath` tells it
// where it lives, for its links. Its own requests are never recorded.
const token = process.env.APPSTATS_VIEWER_TOKEN;
const viewer = createViewer({
  memcache: process.env.APPSTATS_MEMCACHE,
  basePath: '/_ah/stats',
  auth: token ? { token } : undefined,
  title: 'express-app',
  // The file view may show this app's own sources, linked from the call stacks.
  sourceRoot: fileURLToPath(new URL('.', import.meta.url)),
});
app.use('/_ah/stats', getRequestListener(viewer.fetch));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') return;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  console.log(`express-app listening on ${url}/ (appstats: ${url}/_ah/stats)`);
});

function stop(): void {
  server.close();
  cache.close();
  // Writes the records still pending, then leaves (the viewer's memcache connection would keep
  // the process alive).
  void provider.shutdown().finally(() => process.exit(0));
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
