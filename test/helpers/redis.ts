import type { ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './memcached.js';
import { startServerProcess } from './server-process.js';

/** A real redis-server started by a test, on a free loopback port, with no persistence. */
export interface RedisServer {
  host: string;
  port: number;
  /** `redis://host:port`, as `new Redis(url)` takes it. */
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'redis-server is needed by this test and could not be started. Install it: `apt-get install -y redis-server` ' +
  '(Debian/Ubuntu) or `brew install redis` (macOS), or put a redis-server binary on PATH / in REDIS_SERVER_BIN.';

/** True once the server answers PING with PONG (a listening socket alone may still be loading). */
async function answersPing(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/**
 * Starts redis-server on a free loopback port (no RDB snapshots, no AOF: nothing written to disk)
 * and waits until it answers PING. Fails loudly, with the install command, when it cannot.
 */
export async function startRedis(): Promise<RedisServer> {
  const host = '127.0.0.1';
  const port = await freePort();
  const server = await startServerProcess({
    bin: process.env.REDIS_SERVER_BIN || 'redis-server',
    args: [
      '--port',
      String(port),
      '--bind',
      host,
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'warning',
    ],
    installHint: INSTALL_HINT,
    ready: () => answersPing(host, port),
    timeoutMs: 10_000,
    describe: `${host}:${port}`,
  });
  return { host, port, url: `redis://${host}:${port}`, process: server.child, stop: server.stop };
}
