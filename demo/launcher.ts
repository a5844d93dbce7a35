/**
 * `npm start`: runs the guestbook demo with appstats, on whatever this machine has.
 *   - memcached: APPSTATS_MEMCACHE if set, else one started here if `memcached` is installed, else
 *     none (records then live in the app's embedded memory store, shown by the mounted viewer);
 *   - Datastore: DATASTORE_EMULATOR_HOST if set, else Google's emulator started here if installed,
 *     else off (the Datastore pages say how to turn it on);
 *   - then the app (demo/app.ts) with the register entry, a burst of traffic so the dashboard is
 *     full at once, and the URLs to open. Ctrl-C stops everything started here.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type DatastoreEmulator, startDatastoreEmulator } from '../test/helpers/datastore-emulator.js';
import { type MemcachedServer, startMemcached } from '../test/helpers/memcached.js';

const USAGE = `Usage: npm start -- [options]

Runs the guestbook demo app with appstats recording every request, and its viewer at /_ah/stats.

Options:
  --port <n>          port of the demo app (default: PORT or 8080)
  --host <address>    address to listen on (default: 127.0.0.1)
  --memcache <list>   use these memcached servers (host:port,...) instead of starting one
  --no-memcache       use no memcached: records stay in the app (embedded memory store)
  --no-datastore      do not start the Datastore emulator (the Datastore pages say how to enable it)
  --no-traffic        do not send the warm-up burst of requests
  -h, --help          show this help

Environment: APPSTATS_MEMCACHE, DATASTORE_EMULATOR_HOST (use these instead of starting them).
`;

const root = fileURLToPath(new URL('..', import.meta.url));

function parse() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        memcache: { type: 'string' },
        'no-memcache': { type: 'boolean', default: false },
        'no-datastore': { type: 'boolean', default: false },
        'no-traffic': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const options = parse();
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

let memcached: MemcachedServer | undefined;
let emulator: DatastoreEmulator | undefined;
let app: ChildProcess | undefined;
let stopping = false;

async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (app && app.exitCode === null) {
      const exited = once(app, 'exit');
      app.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
      if (app.exitCode === null) app.kill('SIGKILL');
    }
    await Promise.allSettled([memcached?.stop(), emulator?.stop()]);
  }
  process.exit(code);
}
process.once('SIGINT', () => void stopAll(0));
process.once('SIGTERM', () => void stopAll(0));

async function memcacheServers(): Promise<string | undefined> {
  if (options['no-memcache']) return undefined;
  const given = options.memcache ?? process.env.APPSTATS_MEMCACHE;
  if (given) return given;
  try {
    memcached = await startMemcached();
    console.log(`demo: started memcached on ${memcached.address}`);
    return memcached.address;
  } catch {
    console.log('demo: memcached is not installed (apt-get install memcached): records stay in the app');
    return undefined;
  }
}

async function datastoreEnv(): Promise<Record<string, string>> {
  if (options['no-datastore']) return {};
  if (process.env.DATASTORE_EMULATOR_HOST) {
    return {
      DATASTORE_EMULATOR_HOST: process.env.DATASTORE_EMULATOR_HOST,
      METADATA_SERVER_DETECTION: 'none',
    };
  }
  try {
    console.log('demo: starting the Datastore emulator (Java; a few seconds)...');
    emulator = await startDatastoreEmulator('datastore');
    console.log(`demo: Datastore emulator on ${emulator.host}`);
    return {
      ...emulator.env,
      DATASTORE_PROJECT_ID: 'guestbook-demo',
      GOOGLE_CLOUD_PROJECT: 'guestbook-demo',
    };
  } catch (error) {
    console.log(`demo: Datastore is off: ${(error as Error).message.split('\n')[0]}`);
    return {};
  }
}

/** A short burst of varied requests, so the dashboard has something to show at once. */
async function warmUp(base: string): Promise<void> {
  const paths = ['/', '/', '/authors', '/duplicate', '/api/greetings', '/slow', '/fail', '/authors', '/'];
  for (let round = 0; round < 3; round++) {
    for (const path of paths)
      await fetch(base + path)
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
    await fetch(`${base}/sign`, {
      method: 'POST',
      body: new URLSearchParams({
        author: ['Ada', 'Alan', 'Grace'][round],
        content: `Warm-up greeting ${round + 1}`,
      }),
      redirect: 'manual',
    }).catch(() => undefined);
  }
}

/**
 * Why the app could not listen on host:port, in one line, or undefined when it can: checked before
 * anything is started, so a taken port is a sentence, not the app's EADDRINUSE stack.
 */
async function listenProblem(host: string, portText: string): Promise<string | undefined> {
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) return `--port ${portText} is not a port number (0-65535)`;
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', (error: NodeJS.ErrnoException) =>
      resolve(
        error.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is already in use; stop what listens there or choose another with --port <n>`
          : error.code === 'EADDRNOTAVAIL'
            ? `cannot listen on ${host}: not an address of this machine (--host)`
            : `cannot listen on ${host}:${port}: ${error.message}`,
      ),
    );
    probe.listen(port, host, () => probe.close(() => resolve(undefined)));
  });
}

const port = options.port ?? process.env.PORT ?? '8080';
const problem = await listenProblem(options.host, port);
if (problem) {
  process.stderr.write(`demo: ${problem}\n`);
  process.exit(1);
}

const servers = await memcacheServers();
const datastore = await datastoreEnv();
app = spawn(process.execPath, ['--import', 'tsx', '--import', `${root}register.ts`, `${root}demo/app.ts`], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  env: {
    ...process.env,
    ...datastore,
    ...(servers ? { APPSTATS_MEMCACHE: servers } : {}),
    PORT: port,
    HOST: options.host,
    OTEL_SERVICE_NAME: process.env.OTEL_SERVICE_NAME ?? 'guestbook-demo',
  },
});
app.once('exit', (code) => {
  if (!stopping) {
    console.error(`demo: the app exited (code ${code})`);
    void stopAll(1);
  }
});
// Forward the app's output, and learn its address from its "listening on" line.
const base = await new Promise<string>((resolve) => {
  createInterface({ input: app!.stdout! }).on('line', (line) => {
    console.log(line);
    const match = /listening on (http:\/\/\S+?)\/?$/.exec(line);
    if (match) resolve(match[1]);
  });
});
if (!options['no-traffic']) await warmUp(base);
console.log(`
demo: ready.
  guestbook:  ${base}/
  appstats:   ${base}/_ah/stats/
  records in: ${servers ? `memcached ${servers}` : "the app's memory (embedded MemoryStore)"}
  Datastore:  ${datastore.DATASTORE_EMULATOR_HOST ? `emulator on ${datastore.DATASTORE_EMULATOR_HOST}` : 'off'}
Press Ctrl-C to stop.`);
