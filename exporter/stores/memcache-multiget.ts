import type { Client } from 'memjs';
import type { MultiGetResult } from './record-store.js';

/**
 * A pipelined multi-get over memjs's own connections. memjs has no multi-get, and 1000 separate
 * GETs cost 1000 round trips; the original dashboard made ONE multi-get. Per server we send one
 * batch of quiet GETKQ requests (memcached answers hits only) closed by a NOOP, whose answer says
 * the batch is done. Keys go to the server memjs itself would choose (`client.server(key)`, which
 * honours a user's `getServer` override and memjs's failover), so we read where memjs wrote.
 */

const OP_GETKQ = 0x0d;
const OP_NOOP = 0x0a;
const REQUEST_MAGIC = 0x80;
const HEADER_BYTES = 24;

/** memjs internals this relies on: stable across memjs 1.x (see docs/architecture.md). */
interface MemjsServer {
  host: string;
  port: number;
  onResponse(seq: number, handler: ResponseHandler): void;
  onError(seq: number, handler: (error: unknown) => void): void;
  write(blob: Buffer): void;
}
interface MemjsResponse {
  header: { opcode: number; status: number; totalBodyLength: number };
  key: Buffer;
  val: Buffer;
  extras: Buffer;
}
type ResponseHandler = ((response: MemjsResponse) => void) & { quiet?: boolean };
interface MemjsClientInternals {
  seq: number;
  incrSeq(): void;
  server(key: string): MemjsServer | null;
  serializer: { deserialize(opcode: number, value: Buffer, extras: Buffer): { value: unknown } };
}

function writeHeader(buf: Buffer, at: number, opcode: number, keyLength: number, opaque: number): void {
  buf.fill(0, at, at + HEADER_BYTES);
  buf[at] = REQUEST_MAGIC;
  buf[at + 1] = opcode;
  buf.writeUInt16BE(keyLength, at + 2);
  buf.writeUInt32BE(keyLength, at + 8); // total body = key only: no extras, no value
  buf.writeUInt32BE(opaque, at + 12);
}

/** One request buffer: a GETKQ per key, then the NOOP that closes the batch. */
export function buildGetkqBatch(keys: readonly string[], opaque: number): Buffer {
  const keyBytes = keys.map((key) => Buffer.from(key, 'utf8'));
  const total = keyBytes.reduce((sum, key) => sum + HEADER_BYTES + key.length, HEADER_BYTES);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (const key of keyBytes) {
    writeHeader(buf, at, OP_GETKQ, key.length, opaque);
    key.copy(buf, at + HEADER_BYTES);
    at += HEADER_BYTES + key.length;
  }
  writeHeader(buf, at, OP_NOOP, 0, opaque);
  return buf;
}

function fetchFromServer(
  client: MemjsClientInternals,
  server: MemjsServer,
  keys: readonly string[],
  values: Map<string, Uint8Array>,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    client.incrSeq();
    const seq = client.seq;
    const onResponse: ResponseHandler = (response) => {
      const { opcode, status } = response.header;
      if (opcode === OP_NOOP) {
        resolve(undefined);
      } else if (opcode === OP_GETKQ && status === 0) {
        const value = client.serializer.deserialize(opcode, response.val, response.extras).value;
        if (value instanceof Uint8Array) values.set(response.key.toString('utf8'), Buffer.from(value));
      }
    };
    // memjs keeps a quiet handler registered until an empty-bodied answer: the NOOP's.
    onResponse.quiet = true;
    server.onResponse(seq, onResponse);
    server.onError(seq, (error) => {
      resolve(`${server.host}:${server.port}: ${error instanceof Error ? error.message : String(error)}`);
    });
    server.write(buildGetkqBatch(keys, seq));
  });
}

/**
 * Reads many keys in one round trip per server. Never rejects: a dead or slow server (memjs's own
 * timeout applies) yields what the others returned, plus an error count and message.
 */
export async function multiGet(memjsClient: Client, keys: readonly string[]): Promise<MultiGetResult> {
  const client = memjsClient as unknown as MemjsClientInternals;
  const values = new Map<string, Uint8Array>();
  const byServer = new Map<MemjsServer, string[]>();
  let unroutable = 0;
  for (const key of keys) {
    const server = client.server(key);
    if (!server) {
      unroutable++;
      continue;
    }
    const batch = byServer.get(server);
    if (batch) batch.push(key);
    else byServer.set(server, [key]);
  }
  const failures = (
    await Promise.all([...byServer].map(([server, batch]) => fetchFromServer(client, server, batch, values)))
  ).filter((message): message is string => message !== undefined);
  if (unroutable > 0) failures.push(`${unroutable} key(s): no memcache server available`);
  return { values, errors: failures.length, ...(failures.length > 0 ? { errorMessages: failures } : {}) };
}
