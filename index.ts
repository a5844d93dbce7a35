// The `otel-appstats` face: the span processor and exporter, the stores, the record format and
// the instrumentations. A short named list on purpose (test/public-api.test.ts holds it): internals
// stay importable only by path inside this repository, so they can change without a major version.

export { ATTR_IGNORE } from './core/attributes.js';
// Record format: the types a reader or a custom store handles, and the one codec and key scheme.
export {
  type DecodeFailure,
  decodeRecord,
  encodeRecord,
  isFullRecord,
  RecordDecodeError,
} from './core/codec.js';
export type {
  BilledOp,
  CallStatus,
  DatastoreDetails,
  RecordKind,
  RequestRecord,
  RequestSummary,
  RpcCall,
  RpcStat,
  StackFrame,
} from './core/record.js';
export { allPartKeys, type KeyOptions, recordKey } from './core/record-key.js';
export type { RedactionOptions } from './core/redact.js';
// Recording.
export { AppstatsExporter, type AppstatsExporterOptions, type ExporterStats } from './exporter/exporter.js';
export {
  AppstatsSpanProcessor,
  type AppstatsSpanProcessorOptions,
  type ProcessorStats,
} from './exporter/span-processor.js';
// Instrumentations.
export {
  CallerSitesInstrumentation,
  type CallerSitesInstrumentationConfig,
} from './instrumentations/caller-sites/instrumentation.js';
export { DatastoreInstrumentation } from './instrumentations/datastore/instrumentation.js';
export type { DatastoreInstrumentationConfig } from './instrumentations/datastore/types.js';
export { MemjsInstrumentation } from './instrumentations/memjs/instrumentation.js';
export type { MemjsInstrumentationConfig } from './instrumentations/memjs/types.js';
// Stores.
export { MemcacheStore, type MemcacheStoreOptions } from './stores/memcache-store.js';
export { MemoryStore } from './stores/memory-store.js';
export type { MultiGetResult, PutOutcome, RecordStore, StoredRecord } from './stores/record-store.js';
