import { context, diag, ROOT_CONTEXT } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { errorMessage } from '../core/error-message.js';
import { fitRecord } from '../core/fit-record.js';
import { type ResolvedKeyOptions, recordKey, resolveKeyOptions } from '../core/record-key.js';
import type { RecordStore, StoredRecord } from '../stores/record-store.js';
import { resolveStore } from '../stores/resolve-store.js';
import type { AppstatsExporterOptions, ExporterStats } from './exporter-options.js';
import { putBatch } from './put-batch.js';
import { RECORD_OVERHEAD_BYTES, resolveLimits, UNBUILT_RECORD_BYTES } from './queue-limits.js';
import { RateLimitedWarning } from './rate-limited-log.js';
import { builtRecord, type RecordSource, startOfSource } from './record-source.js';

export type { AppstatsExporterOptions, ExporterStats } from './exporter-options.js';
export type { RecordSource, UnbuiltRecord } from './record-source.js';

/** What the span processor hands records to; `AppstatsExporter` is the one we ship. */
export interface RecordExporter {
  export(record: RecordSource): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** One write takes at most this many records, and stops adding once past this many bytes; the rest wait for the next. */
const MAX_BATCH_RECORDS = 64;
const MAX_BATCH_BYTES = 1_000_000;
/** Building runs in slices of this many ms, the app's turns between them. */
const BUILD_SLICE_MS = 10;

/** A record handed over and not built yet, with the slot it would be written to. */
interface UnbuiltEntry {
  source: RecordSource;
  slotKey?: string;
}

/** A record encoded and counted against the queue's bound. */
interface QueuedRecord extends StoredRecord {
  bytes: number;
}

/**
 * Writes records to a `RecordStore` under the bucketed keys: sized by the ladder, both values in
 * one write, with tracing suppressed (its own memcache writes must not become spans), a queue
 * bounded by bytes, errors reported through diag and never thrown.
 */
export class AppstatsExporter implements RecordExporter {
  readonly store: RecordStore;
  readonly keyOptions: ResolvedKeyOptions;
  private readonly _ownsStore: boolean;
  private readonly _expiresSeconds: number;
  private readonly _maxValueBytes: number;
  private readonly _maxQueueBytes: number;
  private readonly _maxQueueRecords: number;
  private readonly _oneRecordPerSlot: boolean;
  /** Records handed over, to be built once their slot's time has passed. */
  private _unbuilt: UnbuiltEntry[] = [];
  /** The unbuilt entry of each slot: a later record of the slot takes its place. */
  private readonly _unbuiltBySlot = new Map<string, UnbuiltEntry>();
  private _buildScheduled: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** Records built and encoded, waiting for a write. */
  private _ready: QueuedRecord[] = [];
  /** The one write in flight. */
  private _writing: Promise<void> | undefined;
  /** Records (and their bytes) unbuilt, ready or in the write: what the bounds hold. */
  private _queuedRecords = 0;
  private _queuedBytes = 0;
  private readonly _stats = { exported: 0, dropped: 0, failed: 0, tooLarge: 0, superseded: 0 };
  private readonly _dropWarning = new RateLimitedWarning('records dropped, memcache writes are backed up');
  private readonly _failWarning = new RateLimitedWarning('record writes failed');
  private _shutdown = false;

  constructor(options: AppstatsExporterOptions = {}) {
    this.keyOptions = resolveKeyOptions(options);
    const limits = resolveLimits(options);
    this._expiresSeconds = limits.expiresSeconds;
    this._maxValueBytes = limits.maxValueBytes;
    this._maxQueueBytes = limits.maxQueueBytes;
    this._maxQueueRecords = limits.maxQueueRecords;
    this._oneRecordPerSlot = options.oneRecordPerSlot ?? true;
    const { store, owned } = resolveStore(options);
    this.store = store;
    this._ownsStore = owned;
  }

  /**
   * Queues a record (or its builder) for the next turn of the event loop, unless the queue is full:
   * then it is dropped, counted, and nothing is built. Synchronous, cheap, never throws.
   */
  export(source: RecordSource): void {
    try {
      if (this._shutdown) return;
      const start = this._oneRecordPerSlot ? startOfSource(source) : undefined;
      const slotKey = start === undefined ? undefined : recordKey(start, 'full', this.keyOptions);
      const sameSlot = slotKey === undefined ? undefined : this._unbuiltBySlot.get(slotKey);
      if (sameSlot) {
        // The later request of a slot wins it in memcache: the earlier is never built.
        sameSlot.source = source;
        this._stats.superseded++;
        return;
      }
      if (
        this._queuedBytes + UNBUILT_RECORD_BYTES > this._maxQueueBytes ||
        this._queuedRecords >= this._maxQueueRecords
      ) {
        this._drop();
        return;
      }
      const entry: UnbuiltEntry = { source, slotKey };
      this._unbuilt.push(entry);
      if (slotKey !== undefined) this._unbuiltBySlot.set(slotKey, entry);
      this._queuedRecords++;
      this._queuedBytes += UNBUILT_RECORD_BYTES;
      this._scheduleBuild();
    } catch (error) {
      this._stats.failed++;
      this._failWarning.warn(`export threw: ${errorMessage(error)}`);
    }
  }

  private _drop(): void {
    this._stats.dropped++;
    this._dropWarning.warn(
      () =>
        `${this._stats.dropped} dropped in total since start; ${this._queuedRecords} records ` +
        `(${this._queuedBytes} bytes) wait on the store (maxQueueBytes=${this._maxQueueBytes}` +
        `${Number.isFinite(this._maxQueueRecords) ? `, maxInFlightWrites=${this._maxQueueRecords}` : ''})`,
    );
  }

  /**
   * Builds, sizes and encodes the records handed over, for at most BUILD_SLICE_MS, then yields to
   * the app and goes on at the next turn: a burst of records never stalls the app's event loop
   * (nor, behind it, the store's first connection, which memjs fails after 1 s without a turn).
   */
  private _buildSlice(): void {
    clearTimeout(this._buildScheduled as NodeJS.Timeout);
    clearImmediate(this._buildScheduled as NodeJS.Immediate);
    this._buildScheduled = undefined;
    const until = performance.now() + BUILD_SLICE_MS;
    let built = 0;
    while (built < this._unbuilt.length && (built === 0 || performance.now() < until)) {
      const entry = this._unbuilt[built++];
      if (entry.slotKey !== undefined && this._unbuiltBySlot.get(entry.slotKey) === entry)
        this._unbuiltBySlot.delete(entry.slotKey);
      const queued = this._encode(entry.source);
      this._queuedBytes -= UNBUILT_RECORD_BYTES;
      const fits = queued !== undefined && this._queuedBytes + queued.bytes <= this._maxQueueBytes;
      if (queued && !fits) this._drop(); // larger than its estimate, into a queue that is full
      if (!queued || !fits) {
        this._queuedRecords--;
        continue;
      }
      this._queuedBytes += queued.bytes;
      this._ready.push(queued);
    }
    this._unbuilt.splice(0, built);
    if (this._unbuilt.length > 0) this._scheduleBuild(true);
    this._startWrite();
  }

  /**
   * The first slice waits one slot (`keyDistance` ms), so that the later requests of a slot take
   * the place of the earlier ones before any is built; a slice that leaves records unbuilt goes on
   * at the next turn. Unref'd: a record never keeps the process alive (the register entry flushes
   * at exit; an app that ends its provider flushes too).
   */
  private _scheduleBuild(next = false): void {
    // Outside the request's context, with tracing off: building and writing belong to no request.
    this._buildScheduled ??= context.with(suppressTracing(ROOT_CONTEXT), () => {
      if (next || !this._oneRecordPerSlot) return setImmediate(() => this._buildSlice());
      const timer = setTimeout(() => this._buildSlice(), this.keyOptions.keyDistance);
      timer.unref();
      return timer;
    });
  }

  /** One record, built and encoded; undefined (counted) when that failed. Never throws. */
  private _encode(source: RecordSource): QueuedRecord | undefined {
    try {
      const record = builtRecord(source);
      const fitted = fitRecord(record, this._maxValueBytes);
      if (!fitted) {
        this._stats.tooLarge++;
        this._failWarning.warn(
          `a record does not fit maxValueBytes=${this._maxValueBytes} even without its calls`,
        );
        return undefined;
      }
      const start = record.start_timestamp_milliseconds;
      return {
        keys: {
          part: recordKey(start, 'part', this.keyOptions),
          full: recordKey(start, 'full', this.keyOptions),
        },
        values: { part: fitted.part, full: fitted.full },
        bytes: fitted.part.length + fitted.full.length + RECORD_OVERHEAD_BYTES,
      };
    } catch (error) {
      this._stats.failed++;
      this._failWarning.warn(`building a record threw: ${errorMessage(error)}`);
      return undefined;
    }
  }

  /**
   * Writes the records ready, up to a batch, when no write is in flight; otherwise they wait for
   * that write to settle and go with the records built meanwhile. One write at a time, as
   * BatchSpanProcessor exports: a busy app makes one network write per batch rather than per
   * request, a quiet one waits for nothing, no timer holds a record back, and a write that waits
   * on the store (its first connection, a pause) holds the queue, within its bytes, rather than
   * failing or dropping the records behind it. Never throws.
   */
  private _startWrite(): void {
    if (this._writing || this._ready.length === 0) return;
    let count = 0;
    let bytes = 0;
    while (count < this._ready.length && count < MAX_BATCH_RECORDS && bytes < MAX_BATCH_BYTES)
      bytes += this._ready[count++].bytes;
    const batch = this._ready.splice(0, count);
    // Run the write outside the request's context, with tracing off: no spans for our own I/O.
    this._writing = context
      .with(suppressTracing(ROOT_CONTEXT), () => putBatch(this.store, batch, this._expiresSeconds))
      .then(({ failed, error }) => {
        this._stats.exported += batch.length - failed;
        if (failed === 0) return;
        this._stats.failed += failed;
        this._failWarning.warn(
          () => `${this._stats.failed} failed in total since start; last: ${errorMessage(error)}`,
        );
      })
      .finally(() => {
        this._queuedRecords -= batch.length;
        this._queuedBytes -= bytes;
        this._writing = undefined;
        this._startWrite(); // the records that waited for this write go now
      });
  }

  stats(): ExporterStats {
    return { ...this._stats, inFlight: this._queuedRecords, queuedBytes: this._queuedBytes };
  }

  /**
   * Builds what was handed over, writes it, and resolves once the queue is empty: every record
   * exported so far, and those exported while it waited, written or failed.
   */
  async forceFlush(): Promise<void> {
    while (this._queuedRecords > 0) {
      if (this._unbuilt.length > 0) this._buildSlice();
      this._startWrite();
      await (this._writing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  async shutdown(): Promise<void> {
    if (this._shutdown) return;
    this._shutdown = true;
    await this.forceFlush();
    this._reportLosses();
    if (!this._ownsStore) return; // a store passed in, or the shared embedded one, is not ours to close
    try {
      await this.store.close();
    } catch (error) {
      diag.warn(`appstats: closing the store failed: ${errorMessage(error)}`);
    }
  }

  /** One last line with the totals, when anything was lost: the rate limit may have hidden the latest. */
  private _reportLosses(): void {
    const { exported, dropped, failed, tooLarge } = this._stats;
    if (dropped + failed + tooLarge === 0) return;
    this._dropWarning.cancel();
    this._failWarning.cancel();
    diag.warn(
      `appstats: exporter shut down; since start: ${exported} records written, ${dropped} dropped ` +
        `(queue full), ${failed} failed, ${tooLarge} too large`,
    );
  }
}
