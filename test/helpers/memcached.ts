import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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
  const bin = process.env.MEMCACHED_BIN || 'memcached';
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  running.add(child);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, sleep(50).then(() => undefined)]);
    if (failed) throw new Error(`${INSTALL_HINT} (${failed.message})`);
    if (exited) throw new Error(`${INSTALL_HINT} memcached exited at once: ${stderr.trim()}`);
    if (await canConnect(host, port)) {
      return {
        host,
        port,
        address: `${host}:${port}`,
        process: child,
        async stop() {
          if (exited) return;
          const done = once(child, 'exit');
          child.kill('SIGTERM');
          await done;
        },
      };
    }
  }
  child.kill('SIGKILL');
  throw new Error(`${INSTALL_HINT} (no answer on ${host}:${port} within 10 s)`);
}
