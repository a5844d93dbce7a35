import type {
  GetPartsOptions,
  MultiGetResult,
  PutOutcome,
  RecordKeys,
  RecordStore,
  RecordValues,
  StoredRecord,
} from './record-store.js';

interface Entry {
  value: Uint8Array;
  expiresAt: number;
}

/**
 * The embedded default: one process, no server. Same slots and semantics as memcache (a later
 * request in a slot overwrites the older one, values expire), so memory is bounded by the number
 * of slots: `keyModulus` x 2 values of at most `maxValueBytes`.
 */
export class MemoryStore implements RecordStore {
  private readonly _entries = new Map<string, Entry>();

  /** `now` is injectable so expiry is testable without waiting. */
  constructor(private readonly _now: () => number = Date.now) {}

  async putRecord(keys: RecordKeys, values: RecordValues, expiresSeconds: number): Promise<void> {
    const expiresAt = expiresSeconds > 0 ? this._now() + expiresSeconds * 1000 : Number.POSITIVE_INFINITY;
    this._entries.set(keys.part, { value: values.part, expiresAt });
    this._entries.set(keys.full, { value: values.full, expiresAt });
  }

  async putRecords(records: readonly StoredRecord[], expiresSeconds: number): Promise<PutOutcome> {
    for (const { keys, values } of records) await this.putRecord(keys, values, expiresSeconds);
    return { failed: 0 };
  }

  async getFull(key: string): Promise<Uint8Array | undefined> {
    return this._read(key);
  }

  async getParts(keys: readonly string[], options: GetPartsOptions = {}): Promise<MultiGetResult> {
    const values = new Map<string, Uint8Array>();
    const oversized: string[] = [];
    const max = options.maxValueBytes ?? Number.POSITIVE_INFINITY;
    for (const key of keys) {
      const value = this._read(key);
      if (value && value.byteLength > max) oversized.push(key);
      else if (value) values.set(key, value);
    }
    return { values, errors: 0, ...(oversized.length > 0 ? { oversized } : {}) };
  }

  /** Writes raw bytes at a key, as another program sharing the memcache could: for tests. */
  async putRaw(key: string, value: Uint8Array, expiresSeconds = 0): Promise<void> {
    this._entries.set(key, {
      value,
      expiresAt: expiresSeconds > 0 ? this._now() + expiresSeconds * 1000 : Number.POSITIVE_INFINITY,
    });
  }

  async close(): Promise<void> {
    this._entries.clear();
  }

  private _read(key: string): Uint8Array | undefined {
    const entry = this._entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this._now()) {
      this._entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
}
