/**
 * A memjs `Client` as otel-appstats's public types name it (the `memcache` option, MemcacheStore's
 * `client`): a structural type of our own, so the shipped .d.ts import nothing from memjs, which
 * has no types of its own (a user's strict `tsc` would otherwise need `@types/memjs`). Any
 * `memjs.Client.create(...)` fits it; the pipeline reads memjs's internals through its own cast.
 */
export interface MemjsClient {
  readonly servers: readonly unknown[];
  readonly seq: number;
  getServer(key: string): string;
  get(key: string): Promise<{ value: Buffer | null; flags: Buffer | null }>;
  set(key: string, value: string | Buffer, options?: { expires?: number }): Promise<boolean>;
  close(): void;
}
