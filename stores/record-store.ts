/**
 * Where records live. One small interface: write one request's two values, read one full value,
 * read many part values. Values are opaque bytes (see codec.ts); keys come from record-key.ts.
 */
export interface RecordStore {
  /** Writes a request's part and full values; rejects when the write failed. */
  putRecord(keys: RecordKeys, values: RecordValues, expiresSeconds: number): Promise<void>;
  /**
   * Optional: writes the values of many requests at once (the exporter batches the records of a
   * few milliseconds: one network write instead of one per request). Never rejects: resolves to
   * how many records were not written whole, and why. Without it the exporter calls `putRecord`
   * for each.
   */
  putRecords?(records: readonly StoredRecord[], expiresSeconds: number): Promise<PutOutcome>;
  /** One value (the details page's full record); undefined when absent. */
  getFull(key: string): Promise<Uint8Array | undefined>;
  /**
   * Many values at once (the dashboard's 1000 parts). Missing keys are simply absent from `values`;
   * `errors` counts the servers (or keys) that could not be read, so a dead server is visible.
   * Values over `maxValueBytes` are left out of `values` and listed in `oversized` (the viewer
   * passes its bound for a part: 1000 slots of junk must not all be held at once).
   */
  getParts(keys: readonly string[], options?: GetPartsOptions): Promise<MultiGetResult>;
  /** Releases connections and timers. */
  close(): Promise<void>;
}

export interface RecordKeys {
  part: string;
  full: string;
}

export interface RecordValues {
  part: Uint8Array;
  full: Uint8Array;
}

/** What a batch write did: records not written whole (a value of theirs failed), and the first reason. */
export interface PutOutcome {
  failed: number;
  error?: string;
}

/** One request's keys and encoded values. */
export interface StoredRecord {
  keys: RecordKeys;
  values: RecordValues;
}

export interface GetPartsOptions {
  maxValueBytes?: number;
}

export interface MultiGetResult {
  values: Map<string, Uint8Array>;
  /** Keys whose value was over `maxValueBytes`: found, not returned. */
  oversized?: string[];
  errors: number;
  /** What went wrong, one line per failed server, for the viewer to show. */
  errorMessages?: string[];
}
