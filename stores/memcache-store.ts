import { diag } from '@opentelemetry/api';
import memjs from 'memjs';
import { multiGet, multiSet, multiSetSettled, type SetEntry } from './memcache-pipeline.js';
import type { MemjsClient } from './memjs-client.js';
import { closeServer, type GuardableServer, guardServer, socketsOf } from './memjs-guard.js';
import type {
  GetPartsOptions,
  MultiGetResult,
  PutOutcome,
  RecordKeys,
  RecordStore,
  RecordValues,
  StoredRecord,
} from './record-store.js';

export interface MemcacheStoreOptions {
  /** Seconds memjs waits for an answer before failing the operation. Default 0.5 (memjs's own). */
  timeoutSeconds?: number;
}

/** memjs logs to the console by default; a library's chatter belongs in the OTel diag logger. */
const memjsLogger = {
  log: (...args: unknown[]) => diag.debug(`appstats memjs: ${args.map(String).join(' ')}`),
};

/** A view, not a copy: values can be near 1 MB. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The full and part value of each record, as the pipeline's SET entries: full FIRST. Both go to the
 * same server (by slot) in one batch, which memcached applies in order, so a reader that finds a
 * part always finds its full (the dashboard links to it at once).
 */
function setEntries(records: readonly StoredRecord[], expiresSeconds: number): SetEntry[] {
  return records.flatMap(({ keys, values }) => [
    { key: keys.full, value: asBuffer(values.full), expiresSeconds },
    { key: keys.part, value: asBuffer(values.part), expiresSeconds },
  ]);
}

/** Whether each socket was last ref'd or unref'd by a store. */
const refState = new WeakMap<object, boolean>();

function serversOf(client: MemjsClient): GuardableServer[] {
  return client.servers as unknown as GuardableServer[];
}

/**
 * Records in memcached through memjs's connections: both values of a request in one pipelined
 * multi-set, the dashboard's parts in one pipelined multi-get per server.
 */
export class MemcacheStore implements RecordStore {
  readonly client: MemjsClient;
  /** The servers read and written, `host:port,...`: for messages ("memcache 10.0.0.5:11211"). */
  readonly servers: string;
  private readonly _ownsClient: boolean;
  private _pending = 0;

  /** `servers`: `host:port[,host:port...]`, or a memjs client the caller owns (and closes). */
  constructor(servers: string | MemjsClient, options: MemcacheStoreOptions = {}) {
    if (typeof servers === 'string') {
      // One try only: a record is best effort, and a retry holds the write queue for longer.
      this.client = memjs.Client.create(servers, {
        retries: 1,
        timeout: options.timeoutSeconds ?? 0.5,
        keepAlive: true,
        logger: memjsLogger,
      });
      this._ownsClient = true;
    } else {
      this.client = servers;
      this._ownsClient = false;
    }
    // A passed-in client too: its own get/set share the connections our batches use.
    for (const server of serversOf(this.client)) guardServer(server);
    this.servers = serversOf(this.client)
      .map((server) => `${server.host}:${server.port}`)
      .join(',');
  }

  /** Both values in one pipelined write per server (the original's multi-set). */
  putRecord(keys: RecordKeys, values: RecordValues, expiresSeconds: number): Promise<void> {
    return this._holdOpen(() => multiSet(this.client, setEntries([{ keys, values }], expiresSeconds)));
  }

  /**
   * Every value of many requests in one pipelined write per server. Both values of a record go to
   * the server of its slot (memcache-routing.ts), so a record is written whole or fails whole; each
   * value a server refused counts one record as failed.
   */
  async putRecords(records: readonly StoredRecord[], expiresSeconds: number): Promise<PutOutcome> {
    const { failedKeys, refused, errorMessages } = await this._holdOpen(() =>
      multiSetSettled(this.client, setEntries(records, expiresSeconds)),
    );
    if (failedKeys.size === 0 && refused === 0) return { failed: 0 };
    const lost = records.filter(({ keys }) => failedKeys.has(keys.part) || failedKeys.has(keys.full)).length;
    // A refused value (too large for the server, say) is one record's at most; which one, memcached
    // does not say.
    return { failed: Math.min(records.length, lost + refused), error: errorMessages.join('; ') };
  }

  /** Through the pipeline too (one GETKQ): memjs's own get can stay pending forever on a dropped connection. */
  async getFull(key: string): Promise<Uint8Array | undefined> {
    const { values, errors, errorMessages } = await this._holdOpen(() => multiGet(this.client, [key]));
    // Found is found, even while another server is down (named in errorMessages for the dashboard).
    const value = values.get(key);
    if (value === undefined && errors > 0)
      throw new Error(errorMessages?.join('; ') ?? 'memcache did not answer');
    return value;
  }

  getParts(keys: readonly string[], options: GetPartsOptions = {}): Promise<MultiGetResult> {
    return this._holdOpen(() => multiGet(this.client, keys, options));
  }

  /**
   * Our own connections must not keep the app's process alive: an app that has finished its work
   * exits even though a memcache connection is open. So the sockets of a client we made are
   * unref'd when idle and ref'd only while an operation is in flight (a record being written when
   * the app finishes is still written). A client passed in is its owner's business.
   */
  private async _holdOpen<T>(operation: () => Promise<T>): Promise<T> {
    this._pending++;
    try {
      const result = operation(); // sockets are made (connect) synchronously by the first write
      this._refSockets(true);
      return await result;
    } finally {
      if (--this._pending === 0) this._refSockets(false);
    }
  }

  private _refSockets(ref: boolean): void {
    if (!this._ownsClient) return;
    for (const server of serversOf(this.client))
      for (const socket of socketsOf(server)) {
        // Only on a change: on a socket still connecting, each ref()/unref() adds a 'connect' listener.
        if (refState.get(socket) === ref) continue;
        refState.set(socket, ref);
        if (ref) socket.ref();
        else socket.unref();
      }
  }

  /** memjs's close, and the end of sockets memjs forgot on its timeout paths (they kept processes alive). */
  async close(): Promise<void> {
    if (this._ownsClient) for (const server of serversOf(this.client)) closeServer(server);
  }
}
