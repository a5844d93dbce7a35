import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { startServerProcess } from './server-process.js';

/** A real memcached started by a test, on a free loopback port. */
export interface MemcachedServer {
  host: string;
  port: number;
  /** `host:port`, as the exporter's `memcache` option takes it. */
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'memcached is needed by this test and could not be started. Install it: `apt-get install -y memcached` ' +
  '(Debian/Ubuntu) or `brew install memcached` (macOS), or put a memcached binary on PATH / in MEMCACHED_BIN.';

/** A port nobody listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts memcached on a free loopback port and waits until it accepts connections. Fails loudly,
 * with the install command, when it cannot: a test that needs memcached never skips silently.
 */
export async function startMemcached(
  options: { port?: number; memoryMb?: number; maxItemSize?: string } = {},
): Promise<MemcachedServer> {
  const host = '127.0.0.1';
  const port = options.port ?? (await freePort());
  const args = ['-l', host, '-p', String(port), '-U', '0', '-m', String(options.memoryMb ?? 64)];
  if (options.maxItemSize) args.push('-I', options.maxItemSize);
  // memcached refuses to run as root unless told which user to be.
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const server = await startServerProcess({
    bin: process.env.MEMCACHED_BIN || 'memcached',
    args,
    installHint: INSTALL_HINT,
    ready: () => canConnect(host, port),
    timeoutMs: 10_000,
    describe: `${host}:${port}`,
  });
  return { host, port, address: `${host}:${port}`, process: server.child, stop: server.stop };
}
