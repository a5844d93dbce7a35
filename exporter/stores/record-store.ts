/**
 * Where records live. One small interface: write one request's two values, read one full value,
 * read many part values. Values are opaque bytes (see codec.ts); keys come from record-key.ts.
 */
export interface RecordStore {
  /** Writes a request's part and full values; rejects when the write failed. */
  putRecord(keys: RecordKeys, values: RecordValues, expiresSeconds: number): Promise<void>;
  /** One value (the details page's full record); undefined when absent. */
  getFull(key: string): Promise<Uint8Array | undefined>;
  /**
   * Many values at once (the dashboard's 1000 parts). Missing keys are simply absent from `values`;
   * `errors` counts the servers (or keys) that could not be read, so a dead server is visible.
   */
  getParts(keys: readonly string[]): Promise<MultiGetResult>;
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

export interface MultiGetResult {
  values: Map<string, Uint8Array>;
  errors: number;
  /** What went wrong, one line per failed server, for the viewer to show. */
  errorMessages?: string[];
}
