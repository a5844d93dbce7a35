import type { Span } from '@opentelemetry/api';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';

/** What a `responseHook` is told about the command that just ended. */
export interface MemjsResponseInfo {
  /** The memjs method: `get`, `set`, `increment`, ... */
  command: string;
  /** The error the command ended with, if any. */
  error?: Error;
}

export interface MemjsInstrumentationConfig extends InstrumentationConfig {
  /**
   * Longest request and response summary kept, in characters. Default 100, the original's
   * `MAX_REPR`.
   */
  maxRepr?: number;
  /** Make spans only inside an existing trace (a request); default false, as OpenTelemetry's own. */
  requireParentSpan?: boolean;
  /** Called before a span ends, to add attributes; errors it throws are logged, never raised. */
  responseHook?: (span: Span, info: MemjsResponseInfo) => void;
}
