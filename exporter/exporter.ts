import { context, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { fitRecord } from '../core/fit-record.js';
import type { RequestRecord } from '../core/record.js';
import {
  type KeyOptions,
  type ResolvedKeyOptions,
  recordKey,
  resolveKeyOptions,
} from '../core/record-key.js';
import type { MemjsClient } from '../stores/memjs-client.js';
import type { RecordStore, StoredRecord } from '../stores/record-store.js';
import { resolveStore } from '../stores/resolve-store.js';
import { RateLimitedWarning } from './rate-limited-log.js';

export interface AppstatsExporterOptions extends KeyOptions {
  /** memcached servers, `host:port[,host:port]`, or a memjs client you own. */
  memcache?: string | MemjsClient;
  /** Any `RecordStore`; wins over `memcache`. You own it: `shutdown()` does not close it. */
  store?: RecordStore;
  /** Expiry of both values. Default 36 hours, the original's. */
  expiresSeconds?: number;
  /** Largest value written; the size ladder keeps each value under it. Default 1,000,000 (memcached's item limit is 1 MiB). */
  maxValueBytes?: number;
  /** Records waiting for or in a write at once; past it, records are dropped and counted rather than queued. Default 100. */
  maxInFlightWrites?: number;
}

/** What the exporter did, for tests, benchmarks and a health page. */
export interface ExporterStats {
  exported: number;
  /** Dropped because `maxInFlightWrites` writes were already waiting on the store. */
  dropped: number;
  /** Writes the store rejected (memcache down, timeout). */
  failed: number;
  /** Records that did not fit `maxValueBytes` even emptied (only with an absurdly small limit). */
  tooLarge: number;
  inFlight: number;
}

/**
 * A record, or the function that builds it: the processor hands records over unbuilt, so an
 * exporter that is going to drop one (writes backed up) spares the app the building.
 */
export type RecordSource = RequestRecord | (() => RequestRecord);

/** What the span processor hands records to; `AppstatsExporter` is the one we ship. */
export interface RecordExporter {
  export(record: RecordSource): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export const DEFAULT_EXPIRES_SECONDS = 36 * 60 * 60;
/** A batch is written at once when it holds this many records or bytes, even with a write in flight. */
const MAX_BATCH_RECORDS = 64;
const MAX_BATCH_BYTES = 1_000_000;
export const DEFAULT_MAX_VALUE_BYTES = 1_000_000;

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (Number.isFinite(value) && value > 0) return value;
  diag.warn(`appstats: ${name} must be a positive number, got ${value}; using ${fallback}`);
  return fallback;
}

/**
 * Writes records to a `RecordStore` under the bucketed keys: sized by the ladder, both values in
 * parallel, with tracing suppressed (its own memcache writes must not become spans), a bounded
 * number in flight, errors reported through diag and never thrown.
 */
export class AppstatsExporter implements RecordExporter {
  readonly store: RecordStore;
  readonly keyOptions: ResolvedKeyOptions;
  private readonly _ownsStore: boolean;
  private readonly _expiresSeconds: number;
  private readonly _maxValueBytes: number;
  private readonly _maxInFlight: number;
  /** Records encoded and waiting for the batch's write. */
  private _batch: StoredRecord[] = [];
  private _batchBytes = 0;
  /** Records in the batch or in a write not yet settled: what `maxInFlightWrites` bounds. */
  private _inFlightRecords = 0;
  private readonly _writes = new Set<Promise<void>>();
  private readonly _stats = { exported: 0, dropped: 0, failed: 0, tooLarge: 0 };
  private readonly _dropWarning = new RateLimitedWarning('records dropped, memcache writes are backed up');
  private readonly _failWarning = new RateLimitedWarning('record writes failed');
  private _shutdown = false;

  constructor(options: AppstatsExporterOptions = {}) {
    this.keyOptions = resolveKeyOptions(options);
    this._expiresSeconds = positive('expiresSeconds', options.expiresSeconds, DEFAULT_EXPIRES_SECONDS);
    this._maxValueBytes = positive('maxValueBytes', options.maxValueBytes, DEFAULT_MAX_VALUE_BYTES);
    this._maxInFlight = Math.floor(positive('maxInFlightWrites', options.maxInFlightWrites, 100));
    const { store, owned } = resolveStore(options);
    this.store = store;
    this._ownsStore = owned;
  }

  /**
   * Builds (when given a builder), sizes and encodes one record and adds it to the batch, unless it
   * is going to be dropped: then nothing is built. Synchronous, never throws.
   */
  export(source: RecordSource): void {
    try {
      if (this._shutdown) return;
      if (this._inFlightRecords >= this._maxInFlight) {
        this._stats.dropped++;
        this._dropWarning.warn(
          `${this._stats.dropped} dropped so far (${this._maxInFlight} records waiting on the store)`,
        );
        return;
      }
      const record = typeof source === 'function' ? source() : source;
      const fitted = fitRecord(record, this._maxValueBytes);
      if (!fitted) {
        this._stats.tooLarge++;
        this._failWarning.warn(
          `a record does not fit maxValueBytes=${this._maxValueBytes} even without its calls`,
        );
        return;
      }
      const start = record.start_timestamp_milliseconds;
      this._batch.push({
        keys: {
          part: recordKey(start, 'part', this.keyOptions),
          full: recordKey(start, 'full', this.keyOptions),
        },
        values: { part: fitted.part, full: fitted.full },
      });
      this._batchBytes += fitted.part.length + fitted.full.length;
      this._inFlightRecords++;
      // Written at once when no write is in flight; otherwise it waits for that write to settle and
      // goes with the records that came meanwhile, in one write. A busy app thus makes one network
      // write per batch rather than per request, a quiet one waits for nothing, and no timer holds
      // a record back.
      if (
        this._writes.size === 0 ||
        this._batch.length >= MAX_BATCH_RECORDS ||
        this._batchBytes >= MAX_BATCH_BYTES
      )
        this._writeBatch();
    } catch (error) {
      this._stats.failed++;
      this._failWarning.warn(`export threw: ${describe(error)}`);
    }
  }

  /** Starts the write of the batch so far. Never throws. */
  private _writeBatch(): void {
    const batch = this._batch;
    if (batch.length === 0) return;
    this._batch = [];
    this._batchBytes = 0;
    // Run the write outside the request's context, with tracing off: no spans for our own I/O.
    const write = context
      .with(suppressTracing(ROOT_CONTEXT), () => this._put(batch))
      .then(({ failed, error }) => {
        this._stats.exported += batch.length - failed;
        if (failed === 0) return;
        this._stats.failed += failed;
        this._failWarning.warn(`${this._stats.failed} failed so far; last: ${describe(error)}`);
      })
      .finally(() => {
        this._inFlightRecords -= batch.length;
        this._writes.delete(write);
        // The records that waited for this write go now.
        if (this._writes.size === 0) this._writeBatch();
      });
    this._writes.add(write);
  }

  /**
   * Writes a batch; never rejects, whatever the store does (throws at once, rejects, answers
   * nonsense). Resolves to the records not written, and why.
   */
  private async _put(batch: StoredRecord[]): Promise<{ failed: number; error?: unknown }> {
    const expires = this._expiresSeconds;
    if (this.store.putRecords) {
      try {
        const outcome = await this.store.putRecords(batch, expires);
        const failed = outcome?.failed;
        if (Number.isInteger(failed) && failed >= 0 && failed <= batch.length) return outcome;
        return { failed: batch.length, error: `the store answered ${JSON.stringify(outcome)}` };
      } catch (error) {
        // A custom store that rejects after all: nothing of the batch counts as written.
        return { failed: batch.length, error };
      }
    }
    const results = await Promise.allSettled(
      // Inside the promise chain: a store that throws at once fails its record, not the app.
      batch.map(({ keys, values }) =>
        Promise.resolve().then(() => this.store.putRecord(keys, values, expires)),
      ),
    );
    const failures = results.filter((result) => result.status === 'rejected');
    return { failed: failures.length, error: failures[0]?.reason };
  }

  stats(): ExporterStats {
    return { ...this._stats, inFlight: this._inFlightRecords };
  }

  /**
   * Writes the batch now, and resolves once every write started so far has settled, including the
   * batches of records exported while it waited.
   */
  async forceFlush(): Promise<void> {
    while (this._batch.length > 0 || this._writes.size > 0) {
      this._writeBatch();
      await Promise.allSettled([...this._writes]);
    }
  }

  async shutdown(): Promise<void> {
    if (this._shutdown) return;
    this._shutdown = true;
    await this.forceFlush();
    if (!this._ownsStore) return; // a store passed in, or the shared embedded one, is not ours to close
    try {
      await this.store.close();
    } catch (error) {
      diag.warn(`appstats: closing the store failed: ${describe(error)}`);
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
