import type { RequestRecord } from '../core/record.js';

/**
 * A record not built yet, with the start time that names its memcache slot. Records of one slot
 * overwrite each other in memcache (one slot per `keyDistance` ms: at 400 requests a second, 40
 * share each), so the exporter keeps only the latest of a slot that has not been built yet: the one
 * that would have won the slot anyway. The others are never built, encoded or written.
 */
export interface UnbuiltRecord {
  readonly startMs: number;
  build(): RequestRecord;
}

/**
 * A record, the function that builds it, or an unbuilt record with its start time: the processor
 * hands records over unbuilt, so an exporter that is going to drop or supersede one spares the app
 * the building.
 */
export type RecordSource = RequestRecord | (() => RequestRecord) | UnbuiltRecord;

/** The record of a source, built if need be. */
export function builtRecord(source: RecordSource): RequestRecord {
  if (typeof source === 'function') return source();
  if ('build' in source && typeof source.build === 'function') return source.build();
  return source as RequestRecord;
}

/** The start time of a source when known without building it: what names its slot. */
export function startOfSource(source: RecordSource): number | undefined {
  if (typeof source === 'function') return undefined;
  if ('build' in source) return Number.isFinite(source.startMs) ? source.startMs : undefined;
  const start = (source as RequestRecord).start_timestamp_milliseconds;
  return Number.isFinite(start) ? start : undefined;
}
