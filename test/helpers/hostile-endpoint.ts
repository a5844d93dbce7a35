import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * Memcache endpoints that misbehave on purpose (a real memcached cannot): for the tests of
 * stores/memjs-guard.ts. Those that must not share the test's event loop run in a child process.
 */

/** A child process running `script` (CommonJS), which prints its port on its first line of stdout. */
export async function startChildEndpoint(script: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  const port = Number(line.toString().trim());
  if (!Number.isInteger(port) || port <= 0)
    throw new Error(`endpoint said ${JSON.stringify(line.toString())}`);
  return { port, child };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await once(child, 'exit');
}

/**
 * Streams bytes at whoever connects, as fast as the socket drains, after the first bytes it reads:
 * an answer header declaring a ~4 GB body, then that body, forever.
 */
export const STREAMING_ENDPOINT = `
const net = require('node:net');
const chunk = Buffer.alloc(64 * 1024, 0x41);
const header = Buffer.alloc(24);
header[0] = 0x81; header[1] = 0x00; header.writeUInt32BE(0xfffffff0, 8);
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.once('data', () => {
    socket.write(header);
    const pump = () => { while (!socket.destroyed && socket.write(chunk)); };
    socket.on('drain', pump);
    pump();
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

/**
 * Listens with a backlog of 1, then blocks its event loop for good (without spinning): it never
 * accepts, so once its backlog is full a connection to it stays pending, as to a black-holed host.
 */
export const NEVER_ACCEPTS = `
const net = require('node:net');
const server = net.createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  console.log(server.address().port);
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 50);
});
`;

/**
 * A proxy in front of a real memcached that cuts its first connection's answer after `cutAfter`
 * bytes (both sockets destroyed mid-answer); later connections pass through untouched.
 */
export async function cuttingProxy(
  target: { host: string; port: number },
  cutAfter: number,
): Promise<{ port: number; cuts: () => number; close: () => Promise<void> }> {
  let connections = 0;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const first = connections++ === 0;
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream);
    let sent = 0;
    upstream.on('data', (data: Buffer) => {
      if (!first) return void client.write(data);
      if (sent + data.length < cutAfter) {
        sent += data.length;
        client.write(data);
        return;
      }
      client.write(data.subarray(0, cutAfter - sent), () => {
        cuts++;
        client.destroy();
        upstream.destroy();
      });
      sent = cutAfter;
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    cuts: () => cuts,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
