/**
 * A plain node:http app recorded by otel-appstats, with tracing set up by @opentelemetry/sdk-node's
 * NodeSDK in tracing.ts, loaded first, and the viewer (a Hono app) answering under /_ah/stats
 * through @hono/node-server's request listener:
 *
 *   APPSTATS_MEMCACHE=localhost:11211 PORT=3000 node --import ./tracing.js app.js
 *
 * In this repository (TypeScript, from source):
 *
 *   APPSTATS_MEMCACHE=localhost:11211 \
 *     node --import tsx --import ./examples/nodesdk-app/tracing.ts examples/nodesdk-app/app.ts
 *
 * then open http://127.0.0.1:3000/greet?name=ann (twice: a miss, then a hit) and
 * http://127.0.0.1:3000/_ah/stats.
 *
 * Environment: APPSTATS_MEMCACHE (memcached for the app's cache and for the records; default
 * localhost:11211), PORT (default 3000), HOST (default 127.0.0.1), APPSTATS_VIEWER_TOKEN (if set,
 * the viewer wants `Authorization: Bearer <token>`; if not, it answers loopback clients only).
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import memjs from 'memjs';
// A user writes `from 'otel-appstats/viewer'`; this repository imports its own sources.
import { createViewer } from '../../viewer/index.js';
import { sdk } from './tracing.js';

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

// The viewer is a Hono app: mounted under /_ah/stats in a Hono app of its own, it sees the full
// path, so its links need no `basePath`. Its own requests are never recorded.
const token = process.env.APPSTATS_VIEWER_TOKEN;
const stats = new Hono().route(
  '/_ah/stats',
  createViewer({
    memcache: process.env.APPSTATS_MEMCACHE,
    auth: token ? { token } : undefined,
    title: 'nodesdk-app',
    // The file view may show this app's own sources, linked from the call stacks.
    sourceRoot: fileURLToPath(new URL('.', import.meta.url)),
  }),
);
const statsListener = getRequestListener(stats.fetch);

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/_ah/stats' || url.pathname.startsWith('/_ah/stats/')) {
    void statsListener(req, res);
    return;
  }
  if (url.pathname === '/') {
    send(
      res,
      200,
      'text/html; charset=utf-8',
      '<h1>nodesdk-app</h1><p><a href="/greet?name=ann">/greet?name=ann</a> (reload it: a miss, then hits)</p>' +
        '<p><a href="/_ah/stats">/_ah/stats</a>: the appstats dashboard</p>',
    );
    return;
  }
  if (url.pathname === '/greet') {
    const name = url.searchParams.get('name') ?? 'world';
    if (!/^[\w-]{1,64}$/.test(name)) {
      send(res, 400, 'text/plain', 'name: letters, digits, - and _ only\n');
      return;
    }
    greeting(name).then(
      (body) => send(res, 200, 'application/json', JSON.stringify(body)),
      (error: Error) => send(res, 500, 'text/plain', `${error.message}\n`),
    );
    return;
  }
  send(res, 404, 'text/plain', 'not found\n');
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') return;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  console.log(`nodesdk-app listening on ${url}/ (appstats: ${url}/_ah/stats)`);
});

function stop(): void {
  server.close();
  cache.close();
  // Writes the records still pending, then leaves (the viewer's memcache connection would keep
  // the process alive).
  void sdk.shutdown().finally(() => process.exit(0));
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
