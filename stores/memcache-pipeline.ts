import { errorMessage } from '../core/error-message.js';
import {
  type Answer,
  buildGetkqBatch,
  buildSetqBatch,
  HEADER_BYTES,
  OP_GETKQ,
  OP_NOOP,
  type Serializer,
  type SetEntry,
} from './memcache-binary.js';
import { groupByServer, markDown, type RoutableClient, serversDown } from './memcache-routing.js';
import type { MemjsClient as Client } from './memjs-client.js';
import { type GuardableServer, guardServer, limitValues, unlimitValues } from './memjs-guard.js';
import type { MultiGetResult } from './record-store.js';

export type { SetEntry } from './memcache-binary.js';

/**
 * Pipelined batches over memjs's own connections: memjs sends one command per socket write and has
 * no multi-get or multi-set. The original dashboard read its 1000 parts in ONE multi-get and wrote
 * both values of a request in one multi-set; we do the same with the binary protocol's quiet
 * commands: per server, one write of GETKQ (or SETQ) requests closed by a NOOP. memcached answers
 * quiet commands only when there is something to say (a hit, an error), and answers the NOOP after
 * all of them, so the NOOP's answer closes the batch. Keys go to the server memjs chooses for their
 * slot (stores/memcache-routing.ts: both values of a request on one server), honouring a user's
 * `getServer` override and memjs's failover. Every server used is guarded (stores/memjs-guard.ts).
 */

/** memjs internals this relies on: stable across memjs 1.x (see docs/architecture.md). */
interface MemjsServer extends GuardableServer {
  wakeupAt?: number;
  options?: { timeout?: number; conntimeout?: number };
  responseCallbacks: Record<number, unknown>;
  errorCallbacks: Record<number, unknown>;
  onResponse(seq: number, handler: ResponseHandler): void;
  onError(seq: number, handler: (error: unknown) => void): void;
  write(blob: Buffer): void;
}
type ResponseHandler = ((response: Answer) => void) & { quiet?: boolean };
interface MemjsClientInternals extends RoutableClient<MemjsServer> {
  seq: number;
  incrSeq(): void;
  serializer: Serializer & {
    deserialize(opcode: number, value: Buffer, extras: Buffer): { value: unknown };
  };
}

/**
 * memjs settles an operation on an answer, a socket error or its idle timer only: when the server
 * closes the connection without answering (memcached restarted or killed with our batch read, a
 * connection limit, a proxy), the operation stays pending forever, and with it an exporter's
 * in-flight slot or a viewer's page. Our own deadline, past memjs's connect and answer timeouts,
 * ends such a batch: its handlers are removed and it fails like a timeout.
 */
export function batchDeadlineMs(server: Pick<MemjsServer, 'options'>): number {
  const timeout = server.options?.timeout ?? 0.5;
  const conntimeout = server.options?.conntimeout ?? 2 * timeout;
  return Math.ceil((timeout + conntimeout) * 1000) + 1000;
}

function armDeadline(server: MemjsServer, seq: number, fail: (message: string) => void): () => void {
  const ms = batchDeadlineMs(server);
  const timer = setTimeout(() => {
    delete server.responseCallbacks[seq];
    delete server.errorCallbacks[seq];
    fail(`memcached ${server.host}:${server.port}: no answer within ${ms} ms (connection lost?)`);
  }, ms);
  timer.unref();
  return () => clearTimeout(timer);
}

/** Where a batch's answers go: values read, keys whose value was over the batch's limit. */
interface Fetched {
  values: Map<string, Uint8Array>;
  oversized: string[];
}

function fetchFromServer(
  client: MemjsClientInternals,
  server: MemjsServer,
  keys: readonly string[],
  into: Fetched,
  maxValueBytes: number | undefined,
): Promise<string | undefined> {
  const { values, oversized } = into;
  return new Promise((resolveBatch) => {
    guardServer(server);
    client.incrSeq();
    const seq = client.seq;
    const resolve = (failure: string | undefined) => {
      unlimitValues(server, seq);
      if (failure !== undefined) markDown(client, server);
      resolveBatch(failure);
    };
    // What the keys could hold at the bound (plus header, extras and key each): more is not ours.
    if (maxValueBytes !== undefined)
      limitValues(server, seq, maxValueBytes, keys.length * (maxValueBytes + HEADER_BYTES + 4 + 250));
    const disarm = armDeadline(server, seq, resolve);
    const onResponse: ResponseHandler = (response) => {
      const { opcode, status } = response.header;
      if (opcode === OP_NOOP) {
        disarm();
        resolve(undefined);
      } else if (opcode === OP_GETKQ && status === 0 && response.oversized) {
        oversized.push(response.key.toString('utf8'));
      } else if (opcode === OP_GETKQ && status === 0) {
        const value = client.serializer.deserialize(opcode, response.val, response.extras).value;
        if (value instanceof Uint8Array) values.set(response.key.toString('utf8'), Buffer.from(value));
      }
    };
    // memjs keeps a quiet handler registered until an empty-bodied answer: the NOOP's.
    onResponse.quiet = true;
    server.onResponse(seq, onResponse);
    server.onError(seq, (error) => {
      disarm();
      resolve(`${server.host}:${server.port}: ${errorMessage(error)}`);
    });
    server.write(buildGetkqBatch(keys, seq));
  });
}

/**
 * Reads many keys in one round trip per server. Never rejects: a dead or slow server (memjs's own
 * timeout applies) yields what the others returned, plus an error count and message. Values over
 * `maxValueBytes` are not kept (nor even buffered): their keys are listed as `oversized`. A failed
 * server is not asked again for this read: its records are on it, and the viewer must say it is
 * down; with memjs's `failover`, later reads go to the next server and name the one that is down.
 */
export async function multiGet(
  memjsClient: Client,
  keys: readonly string[],
  options: { maxValueBytes?: number } = {},
): Promise<MultiGetResult> {
  const client = memjsClient as unknown as MemjsClientInternals;
  const down = serversDown(client);
  const { byServer, unroutable } = groupByServer(client, keys, (key) => key);
  const fetched: Fetched = { values: new Map(), oversized: [] };
  const failures = (
    await Promise.all(
      [...byServer].map(([server, batch]) =>
        fetchFromServer(client, server, batch, fetched, options.maxValueBytes),
      ),
    )
  ).filter((message): message is string => message !== undefined);
  for (const server of down)
    failures.push(
      `${server.host}:${server.port}: marked down (memjs failover), its slots read from another server`,
    );
  if (unroutable.length > 0) failures.push(`${unroutable.length} key(s): no memcache server available`);
  return {
    values: fetched.values,
    errors: failures.length,
    ...(failures.length > 0 ? { errorMessages: failures } : {}),
    ...(fetched.oversized.length > 0 ? { oversized: fetched.oversized } : {}),
  };
}

/**
 * One server's batch. Resolves to how many values the server refused (a quiet SET answers only on
 * failure, and its answer names no key); rejects when the server could not be reached or did not
 * answer in time: then none of the batch is known to be written.
 */
function storeOnServer(
  client: MemjsClientInternals,
  server: MemjsServer,
  entries: readonly SetEntry[],
): Promise<{ refused: number; message?: string }> {
  return new Promise((resolve, reject) => {
    guardServer(server);
    client.incrSeq();
    const seq = client.seq;
    let refused = 0;
    let message: string | undefined;
    const disarm = armDeadline(server, seq, (text) => reject(new Error(text)));
    const onResponse: ResponseHandler = (response) => {
      const { opcode, status } = response.header;
      if (opcode === OP_NOOP) {
        disarm();
        resolve(message === undefined ? { refused } : { refused, message });
      } else if (status !== 0) {
        refused++;
        message ??= `memcached ${server.host}:${server.port} refused a SET (status 0x${status.toString(16)}: ${response.val.toString('utf8')})`;
      }
    };
    onResponse.quiet = true;
    server.onResponse(seq, onResponse);
    server.onError(seq, (error) => {
      disarm();
      reject(
        error instanceof Error
          ? error
          : new Error(`memcached ${server.host}:${server.port}: ${String(error)}`),
      );
    });
    server.write(buildSetqBatch(client.serializer, entries, seq));
  });
}

/**
 * What a multi-set wrote: the keys of the servers that failed whole, how many values servers
 * refused (they do not say which), and why.
 */
export interface MultiSetOutcome {
  failedKeys: Set<string>;
  refused: number;
  errorMessages: string[];
}

/**
 * Writes many values in one round trip per server; never rejects. A server that is unreachable or
 * timed out (memjs's own timeout) fails the keys it was sent, and only those; values a server
 * refused are counted.
 */
export async function multiSetSettled(
  memjsClient: Client,
  entries: readonly SetEntry[],
): Promise<MultiSetOutcome> {
  const client = memjsClient as unknown as MemjsClientInternals;
  const outcome: MultiSetOutcome = { failedKeys: new Set(), refused: 0, errorMessages: [] };
  await storeRouted(client, entries, outcome, true);
  return outcome;
}

/**
 * One batch per server. With memjs's `failover`, a server that failed is marked down and its
 * entries are sent once more, to the server memjs now picks for their slots (as memjs's own set
 * retries on the next server).
 */
async function storeRouted(
  client: MemjsClientInternals,
  entries: readonly SetEntry[],
  outcome: MultiSetOutcome,
  mayFailOver: boolean,
): Promise<void> {
  const { byServer, unroutable } = groupByServer(client, entries, (entry) => entry.key);
  for (const entry of unroutable) outcome.failedKeys.add(entry.key);
  if (unroutable.length > 0)
    outcome.errorMessages.push(`${unroutable.length} key(s): no memcache server available`);
  const retry: SetEntry[] = [];
  await Promise.all(
    [...byServer].map(([server, batch]) =>
      storeOnServer(client, server, batch).then(
        ({ refused, message }) => {
          outcome.refused += refused;
          if (message) outcome.errorMessages.push(message);
        },
        (error: unknown) => {
          outcome.errorMessages.push(errorMessage(error));
          if (mayFailOver && markDown(client, server)) retry.push(...batch);
          else for (const entry of batch) outcome.failedKeys.add(entry.key);
        },
      ),
    ),
  );
  if (retry.length > 0) await storeRouted(client, retry, outcome, false);
}

/** `multiSetSettled`, rejecting when any value was not written. */
export async function multiSet(memjsClient: Client, entries: readonly SetEntry[]): Promise<void> {
  const { failedKeys, refused, errorMessages } = await multiSetSettled(memjsClient, entries);
  if (failedKeys.size > 0 || refused > 0) throw new Error(errorMessages.join('; '));
}
