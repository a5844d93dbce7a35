import type { KeyOptions } from '../core/record-key.js';
import type { MemjsClient } from '../stores/memjs-client.js';
import type { RecordStore } from '../stores/record-store.js';

export interface AppstatsExporterOptions extends KeyOptions {
  /** memcached servers, `host:port[,host:port]`, or a memjs client you own. */
  memcache?: string | MemjsClient;
  /** Any `RecordStore`; wins over `memcache`. You own it: `shutdown()` does not close it. */
  store?: RecordStore;
  /** Expiry of both values. Default 36 hours, the original's. */
  expiresSeconds?: number;
  /** Largest value written; the size ladder keeps each value under it. Default 1,000,000 (memcached's item limit is 1 MiB). */
  maxValueBytes?: number;
  /**
   * Bytes of records waiting for or in a write; past it, records are dropped (unbuilt) and
   * counted. Records wait, within it, for a slow first connection. Default 8 MiB; at least 64 KiB.
   */
  maxQueueBytes?: number;
  /** Optional second bound: records waiting for or in a write, by count. Default none (bytes alone). */
  maxInFlightWrites?: number;
  /**
   * Build and write only the latest record of each memcache slot (one per `keyDistance` ms): the
   * earlier ones, not built yet when it comes, would be overwritten in memcache anyway, and the
   * first build waits one slot for them. Default true. `false`: every record is built and written
   * at the next turn (a custom store that keeps more than one record per slot).
   */
  oneRecordPerSlot?: boolean;
}

/** What the exporter did, for tests, benchmarks and a health page. */
export interface ExporterStats {
  exported: number;
  /** Dropped because the queue was full (`maxQueueBytes`, or `maxInFlightWrites` when set): the total since start. */
  dropped: number;
  /** Writes the store rejected (memcache down, timeout). */
  failed: number;
  /** Records that did not fit `maxValueBytes` even emptied (only with an absurdly small limit). */
  tooLarge: number;
  /**
   * Records never built because a later record of the same memcache slot came before they were
   * (it would have overwritten them in memcache): not losses, the slot holds the latest request.
   */
  superseded: number;
  /** Records waiting for or in a write. */
  inFlight: number;
  /** What those records count for against `maxQueueBytes`. */
  queuedBytes: number;
}
