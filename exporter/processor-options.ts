import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { RedactionOptions } from '../core/redact.js';
import type { RecordExporter } from './exporter.js';

export interface AppstatsSpanProcessorOptions extends RedactionOptions {
  /** Where records go. Default: a new `AppstatsExporter()` (memcache from the environment, else memory). */
  exporter?: RecordExporter;
  /** Share of requests recorded, 0..1. Default 1 (the original's RECORD_FRACTION). */
  recordFraction?: number;
  /** Decides per request, from the root span as it starts; false skips it. Default: record all. */
  shouldRecord?: (rootSpan: ReadableSpan) => boolean;
  /**
   * Maps a request path to the one the dashboard groups by, when the framework set no
   * `http.route`. Default: the `routeTemplates` a path matches, else numeric, UUID and long hex
   * segments as `:id`. `false`: group by the path itself.
   */
  normalizePath?: ((path: string) => string) | false;
  /** Route templates (`/score/:name/:points`) for paths without `http.route`. Default none. */
  routeTemplates?: readonly string[];
  /** Path prefixes (or patterns) never recorded. Default `['/_ah/stats']`, the viewer's own pages. */
  ignorePaths?: readonly (string | RegExp)[];
  /** How long to wait, after the root ends, for calls still open; then they are written as pending. Default 2000. */
  maxPendingMs?: number;
  /** Requests tracked at once; more are not recorded (counted). Default 1000. */
  maxOpenRequests?: number;
  /** Calls kept per request; more are counted in `incomplete.dropped_calls`. Default 2000. */
  maxCallsPerRequest?: number;
  /** Context spans (middleware, handlers) kept per request; more are counted. Default 200. */
  maxContextSpans?: number;
  /** Spans held across all open requests; more are dropped (counted). Default 100,000. */
  maxBufferedSpans?: number;
  /** A root span open longer than this is written as it stands (`incomplete.root_pending`). Default 300,000 (5 min). */
  maxRequestAgeMs?: number;
  /** Frames kept per call stack. Default 20. */
  maxStack?: number;
  /** Capture the caller's stack when a CLIENT span starts. Default true. */
  captureStacks?: boolean;
  /**
   * Share of the app's main thread that call stacks may take, 0..1: capturing them as calls start
   * (10 to 30 µs each) and formatting them when records are built. Decided per request: a request
   * that starts while the share is spent records no stacks (`incomplete.stacks_skipped`), so a busy
   * app's overhead stays bounded while a quiet one gets every stack. Default 0.02 (2%); 1 for every
   * request.
   */
  maxStackTimeShare?: number;
  /** Optionally also a cap on stack captures per second, across requests. Default none. */
  maxStackCapturesPerSecond?: number;
}

/** What the processor did, for tests, benchmarks and a health page. */
export interface ProcessorStats {
  openRequests: number;
  bufferedSpans: number;
  recorded: number;
  /** Not recorded: sampled out, ignored path, `shouldRecord` said no. */
  skipped: number;
  /**
   * Local roots that were not requests (not SERVER or CONSUMER) and either made no call or were a
   * call themselves: start-up dns, fs and tcp spans, a pool's warm-up connect, a lone client span.
   * Counted, not recorded: they would evict real requests.
   */
  rootsWithoutCalls: number;
  /** Not recorded because `maxOpenRequests` requests were open. */
  droppedRequests: number;
  /** Calls not kept (per-request or global cap). */
  droppedCalls: number;
  /** Spans that ended after their request's record was written (pending when written). */
  lateSpans: number;
  /** Records written with calls still open, or with the root still open. */
  incompleteRecords: number;
}
