import type { Span } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import type { DatastorePrices } from './pricing.js';

/** What a `responseHook` is told about the RPC that just ended. */
export interface DatastoreResponseInfo {
  /** The gapic method: `lookup`, `runQuery`, `commit`, ... */
  method: string;
  /** The method of the client the app called (`Datastore.get`, `Transaction.commit`, `Query.run`). */
  clientMethod?: string;
  /** The v1 response object, when there is one. */
  response?: unknown;
  error?: Error;
}

export interface DatastoreInstrumentationConfig extends InstrumentationConfig {
  /** Longest request and response summary kept, in characters. Default 100, the original's `MAX_REPR`. */
  maxRepr?: number;
  /** Keys kept per list in `datastore_details` (keys read, written, ...); the total is noted. Default 100. */
  maxDetailKeys?: number;
  /**
   * Prices of billed operations, in microdollars each; those not given keep their default
   * (Datastore mode multi-region list prices, see `DEFAULT_DATASTORE_PRICES`).
   */
  prices?: Partial<DatastorePrices>;
  /** Make spans only inside an existing trace (a request); default false, as OpenTelemetry's own. */
  requireParentSpan?: boolean;
  /** Called before a span ends, to add attributes; errors it throws are logged, never raised. */
  responseHook?: (span: Span, info: DatastoreResponseInfo) => void;
}
