import { createHash } from 'node:crypto';
import { diag } from '@opentelemetry/api';
import {
  type DecodeFailure,
  decodeRecord,
  isFullRecord,
  READ_BOUNDS,
  RecordDecodeError,
} from '../core/codec.js';
import { errorMessage } from '../core/error-message.js';
import type { RequestRecord, RequestSummary } from '../core/record.js';
import type { RecordStore } from '../stores/record-store.js';
import { usableSummary } from './usable-summary.js';

/** What the dashboard read: the parts it could decode, and a count of everything it could not. */
export interface PartsRead {
  summaries: RequestSummary[];
  /** Values found at the part keys (decoded or not). */
  found: number;
  /** Values found but not readable as records, skipped (the page says how many, and why). */
  skipped: number;
  skippedReasons: Partial<Record<DecodeFailure | 'error', number>>;
  /** Servers (or the store) that did not answer: a dead memcache must not look like "no requests". */
  storeErrors: number;
  storeErrorMessages: string[];
}

function reasonOf(error: unknown): DecodeFailure | 'error' {
  return error instanceof RecordDecodeError ? error.reason : 'error';
}

/**
 * What a part key held last time, decoded (or why not), so an unchanged value is not decoded again.
 * A readable part keeps its bytes (at most `READ_BOUNDS.part.maxValueBytes`, a few hundred usually);
 * a value that was skipped keeps only a digest of them: 1000 slots of junk must not stay in memory.
 */
export type CachedPart =
  | { bytes: Buffer; summary: RequestSummary }
  | { digest: string; failure: DecodeFailure | 'error' };

function digestOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/**
 * Decoded parts by key, kept between dashboard views. Inflating and parsing 1000 values costs
 * several times the multi-get itself, and between two views (auto-refresh every 10 s) most slots
 * still hold the same bytes: those are compared (memcmp) and reused. Bounded by the number of
 * slots; entries for keys that came back empty are dropped.
 */
export class PartCache {
  private readonly _entries = new Map<string, CachedPart>();

  get size(): number {
    return this._entries.size;
  }

  /** Bytes of stored values the cache holds (readable parts only; skipped values keep a digest). */
  get heldBytes(): number {
    let total = 0;
    for (const entry of this._entries.values()) if ('bytes' in entry) total += entry.bytes.length;
    return total;
  }

  /** The decoded part for these bytes at this key: from the cache when the bytes are the same. */
  decode(key: string, value: Uint8Array): CachedPart {
    const bytes = Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const cached = this._entries.get(key);
    if (cached && ('bytes' in cached ? cached.bytes.equals(bytes) : cached.digest === digestOf(bytes)))
      return cached;
    let entry: CachedPart;
    try {
      const summary = usableSummary(decodeRecord(bytes, 'part'));
      entry = summary ? { bytes, summary } : { digest: digestOf(bytes), failure: 'shape' };
    } catch (error) {
      entry = { digest: digestOf(bytes), failure: reasonOf(error) };
    }
    this._entries.set(key, entry);
    return entry;
  }

  /** Forgets keys that were not in the latest read. */
  retainOnly(present: ReadonlyMap<string, unknown>): void {
    for (const key of this._entries.keys()) if (!present.has(key)) this._entries.delete(key);
  }
}

/** All parts in ONE multi-get; bad values are skipped and counted, a failing store is reported, never thrown. */
export async function readParts(
  store: RecordStore,
  keys: readonly string[],
  cache?: PartCache,
): Promise<PartsRead> {
  const read: PartsRead = {
    summaries: [],
    found: 0,
    skipped: 0,
    skippedReasons: {},
    storeErrors: 0,
    storeErrorMessages: [],
  };
  let values: Map<string, Uint8Array>;
  try {
    // Values over a part's bound are not even kept by the store: counted here as skipped (`size`).
    const result = await store.getParts(keys, { maxValueBytes: READ_BOUNDS.part.maxValueBytes });
    values = result.values;
    const oversized = result.oversized?.length ?? 0;
    read.found += oversized;
    read.skipped += oversized;
    if (oversized > 0) read.skippedReasons.size = oversized;
    read.storeErrors = result.errors;
    read.storeErrorMessages = result.errorMessages ?? [];
  } catch (error) {
    diag.warn(`appstats viewer: reading the parts failed: ${errorMessage(error)}`);
    read.storeErrors = 1;
    read.storeErrorMessages = [errorMessage(error)];
    return read;
  }
  const decoder = cache ?? new PartCache();
  for (const [key, value] of values) {
    read.found++;
    const part = decoder.decode(key, value);
    if ('summary' in part) {
      read.summaries.push(part.summary);
    } else {
      read.skipped++;
      read.skippedReasons[part.failure] = (read.skippedReasons[part.failure] ?? 0) + 1;
    }
  }
  // A store error may have hidden some keys: keep their entries, they will likely be back.
  if (cache && read.storeErrors === 0) cache.retainOnly(values);
  return read;
}

export type FullRead =
  | { kind: 'ok'; record: RequestRecord }
  /** Nothing at the key: expired, evicted, or never written. */
  | { kind: 'missing' }
  /** A record is there, but of another request that took the slot since (the original's collision check). */
  | { kind: 'stale'; storedStart: number }
  | { kind: 'unreadable'; reason: string }
  | { kind: 'store-error'; message: string };

/**
 * One full record, checked against the start time the link carried: slots are reused every
 * `keyModulus * keyDistance` ms, so the value at the key may be another request's.
 */
export async function readFull(store: RecordStore, key: string, startMs: number): Promise<FullRead> {
  let value: Uint8Array | undefined;
  try {
    value = await store.getFull(key);
  } catch (error) {
    diag.warn(`appstats viewer: reading ${key} failed: ${errorMessage(error)}`);
    return { kind: 'store-error', message: errorMessage(error) };
  }
  if (!value) return { kind: 'missing' };
  let record: RequestSummary | RequestRecord;
  try {
    record = decodeRecord(value, 'full');
  } catch (error) {
    return { kind: 'unreadable', reason: errorMessage(error) };
  }
  if (record.start_timestamp_milliseconds !== startMs)
    return { kind: 'stale', storedStart: record.start_timestamp_milliseconds };
  if (!isFullRecord(record)) return { kind: 'unreadable', reason: 'the value is a summary without calls' };
  return { kind: 'ok', record };
}
