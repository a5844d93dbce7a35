#!/usr/bin/env node
import { createRequire } from 'node:module';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { MemcacheStore } from '../stores/memcache-store.js';
import { parseCliArgs, USAGE } from './cli-args.js';
import { createViewer } from './create-viewer.js';
import { normalizeBasePath } from './links.js';

/** `appstats-viewer`: the viewer served alone by @hono/node-server, reading a memcache. */
function main(): void {
  const argv = process.argv.slice(2);
  if (argv.includes('--version') || argv.includes('-v')) {
    // Through the package's own "exports" (./package.json): the same path from source and from dist/.
    const { version } = createRequire(import.meta.url)('otel-appstats/package.json') as { version: string };
    process.stdout.write(`${version}\n`);
    return;
  }
  const parsed = parseCliArgs(argv, process.env);
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`appstats-viewer: ${parsed.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const settings = parsed.settings;
  const store = new MemcacheStore(settings.memcache);
  let viewer: Hono;
  try {
    viewer = createViewer({
      store,
      keyPrefix: settings.keyPrefix,
      keyDistance: settings.keyDistance,
      keyModulus: settings.keyModulus,
      sourceRoot: settings.sourceRoot,
      title: settings.title,
      auth: settings.auth,
    });
  } catch (error) {
    process.stderr.write(`appstats-viewer: ${(error as Error).message}\n`);
    process.exitCode = 2;
    void store.close();
    return;
  }
  const base = normalizeBasePath(settings.basePath);
  const app = base === '' ? viewer : new Hono().route(base, viewer);
  const server = serve({ fetch: app.fetch, hostname: settings.host, port: settings.port }, (info) => {
    const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
    process.stdout.write(
      `appstats-viewer: listening on http://${host}:${info.port}${base}/ ` +
        `(memcache ${settings.memcache}, prefix ${settings.keyPrefix ?? '__appstats__'}, auth ${settings.authLabel})\n`,
    );
  });
  server.on('error', (error) => {
    process.stderr.write(`appstats-viewer: ${error.message}\n`);
    process.exitCode = 1;
    void store.close();
  });
  function stop() {
    server.close(() => {
      void store.close();
    });
    // Keep-alive connections would hold close() open; the process is leaving anyway.
    setTimeout(() => process.exit(0), 1000).unref();
  }
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main();
