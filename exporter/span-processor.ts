import { type Context, diag, SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_IGNORE } from '../core/attributes.js';
import { buildRecord, hrDiffMs, httpFieldsOf } from '../core/build-record.js';
import { isCallSpan } from '../core/call-names.js';
import {
  type CapturedCallSites,
  captureCallSites,
  DEFAULT_MAX_STACK,
  formatCallSites,
} from '../core/call-site.js';
import { addCallerCaptureGate } from '../core/caller-call-sites.js';
import { pathNormalizer } from '../core/normalize-path.js';
import type { RequestRecord, StackFrame } from '../core/record.js';
import { createRedactor, type RedactionOptions, type Redactor } from '../core/redact.js';
import { AppstatsExporter, type RecordExporter } from './exporter.js';
import { RateLimitedWarning } from './rate-limited-log.js';

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
  /** Spans held across all open requests; more are dropped (counted). Default 100,000. */
  maxBufferedSpans?: number;
  /** A root span open longer than this is written as it stands (`incomplete.root_pending`). Default 300,000 (5 min). */
  maxRequestAgeMs?: number;
  /** Frames kept per call stack. Default 20. */
  maxStack?: number;
  /** Capture the caller's stack when a CLIENT span starts. Default true. */
  captureStacks?: boolean;
  /**
   * Stack captures per second, across requests (a CLIENT call's stack costs ~10-30 µs of the app's
   * main thread). Decided per request: a request that starts while the budget is spent records no
   * stacks (`incomplete.stacks_skipped`), so a busy app's overhead stays bounded while a quiet one
   * gets every stack. Default 2000; `Infinity` for every request.
   */
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

interface OpenRequest {
  readonly root: Span;
  readonly rootId: string;
  /** performance.now() at the root's start: sub-millisecond offsets (span start times are whole ms). */
  readonly rootPerfStart: number;
  readonly calls: Span[];
  readonly callPerfStart: Map<string, number>;
  readonly openIds: Set<string>;
  readonly stacks: Map<string, CapturedCallSites>;
  /** Not a SERVER or CONSUMER root: recorded only if it made a call. */
  readonly isJob: boolean;
  /** Whether this request's CLIENT calls get stacks (the budget had room when it started). */
  readonly captureStacks: boolean;
  stacksSkipped: boolean;
  rootEnded: boolean;
  droppedCalls: number;
  overheadMs: number;
  pendingTimer?: NodeJS.Timeout;
}

/**
 * A token bucket of stack captures: refills at `perSecond`, holds at most one second's worth. A
 * request may overspend (its calls keep their stacks once it started with room); the debt delays
 * the next requests' stacks. `now` is injectable for tests.
 */
export class StackBudget {
  private _tokens: number;
  private _last: number;
  constructor(
    private readonly _perSecond: number,
    private readonly _now: () => number = () => performance.now(),
  ) {
    this._tokens = _perSecond;
    this._last = this._now();
  }
  hasRoom(): boolean {
    if (this._perSecond === Number.POSITIVE_INFINITY) return true;
    const now = this._now();
    this._tokens = Math.min(this._perSecond, this._tokens + ((now - this._last) / 1000) * this._perSecond);
    this._last = now;
    return this._tokens >= 1;
  }
  spend(): void {
    this._tokens -= 1;
  }
}

function hasExplicitStart(span: ReadableSpan): boolean {
  return (span as { _startTimeProvided?: unknown })._startTimeProvided === true;
}

/** Remembered ids of requests already written, so spans ending late are counted, not silently lost. */
const MAX_LATE_IDS = 10_000;

function clampInt(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (Number.isFinite(value) && value >= min) return Math.floor(value);
  diag.warn(`appstats: ${name} must be a number >= ${min}, got ${value}; using ${fallback}`);
  return fallback;
}

/**
 * Groups spans by their local root request and, once the root and every descendant have ended,
 * builds the request's appstats record and hands it to the exporter.
 *
 * A span starts a request when it has no parent, a remote parent, or is of kind SERVER (so an app
 * that calls itself over HTTP gets one record per request). Any other span whose parent is tracked
 * joins that request. Memory is bounded by the caps and an age sweep; nothing here throws into the
 * app: every hook catches, and problems go to diag, rate-limited.
 */
export class AppstatsSpanProcessor implements SpanProcessor {
  private readonly _exporter: RecordExporter;
  private readonly _recordFraction: number;
  private readonly _shouldRecord?: (rootSpan: ReadableSpan) => boolean;
  private readonly _normalizePath?: (path: string) => string;
  private readonly _ignorePaths: readonly (string | RegExp)[];
  private readonly _maxPendingMs: number;
  private readonly _maxOpenRequests: number;
  private readonly _maxCallsPerRequest: number;
  private readonly _maxBufferedSpans: number;
  private readonly _maxRequestAgeMs: number;
  private readonly _maxStack: number;
  private readonly _captureStacks: boolean;
  private readonly _stackBudget: StackBudget;
  private readonly _redactor: Redactor;

  /** Open requests by root span id. */
  private readonly _open = new Map<string, OpenRequest>();
  /** Every tracked span id (root or call) -> its request. */
  private readonly _requestOfSpan = new Map<string, OpenRequest>();
  private readonly _lateIds = new Set<string>();
  private readonly _sweepTimer: NodeJS.Timeout;
  private readonly _removeCaptureGate: () => void;
  private _bufferedSpans = 0;
  private _isShutdown = false;
  private readonly _stats = {
    recorded: 0,
    skipped: 0,
    rootsWithoutCalls: 0,
    droppedRequests: 0,
    droppedCalls: 0,
    lateSpans: 0,
    incompleteRecords: 0,
  };
  private readonly _capWarning = new RateLimitedWarning('requests or calls not recorded, caps reached');
  private readonly _errorWarning = new RateLimitedWarning('internal error (the app is unaffected)');
  private readonly _lateWarning = new RateLimitedWarning('spans ended after their request was written');

  constructor(options: AppstatsSpanProcessorOptions = {}) {
    this._exporter = options.exporter ?? new AppstatsExporter();
    const fraction = options.recordFraction ?? 1;
    if (!(fraction >= 0 && fraction <= 1))
      diag.warn(`appstats: recordFraction must be in 0..1, got ${fraction}; using 1`);
    this._recordFraction = fraction >= 0 && fraction <= 1 ? fraction : 1;
    this._shouldRecord = options.shouldRecord;
    if (options.normalizePath === false) this._normalizePath = undefined;
    else if (options.normalizePath) this._normalizePath = options.normalizePath;
    else {
      const { normalize, invalid } = pathNormalizer(options.routeTemplates);
      for (const template of invalid)
        diag.warn(`appstats: route template ${template} must start with /; ignored`);
      this._normalizePath = normalize;
    }
    this._ignorePaths = options.ignorePaths ?? ['/_ah/stats'];
    this._maxPendingMs = clampInt('maxPendingMs', options.maxPendingMs, 2000, 0);
    this._maxOpenRequests = clampInt('maxOpenRequests', options.maxOpenRequests, 1000, 1);
    this._maxCallsPerRequest = clampInt('maxCallsPerRequest', options.maxCallsPerRequest, 2000, 0);
    this._maxBufferedSpans = clampInt('maxBufferedSpans', options.maxBufferedSpans, 100_000, 1);
    this._maxRequestAgeMs = clampInt('maxRequestAgeMs', options.maxRequestAgeMs, 300_000, 1);
    this._maxStack = clampInt('maxStack', options.maxStack, DEFAULT_MAX_STACK, 0);
    this._captureStacks = (options.captureStacks ?? true) && this._maxStack > 0;
    const perSecond = options.maxStackCapturesPerSecond ?? 2000;
    if (!(perSecond >= 0))
      diag.warn(`appstats: maxStackCapturesPerSecond must be >= 0, got ${perSecond}; using 2000`);
    this._stackBudget = new StackBudget(perSecond >= 0 ? perSecond : 2000);
    this._redactor = createRedactor(options);
    this._sweepTimer = setInterval(
      () => this._sweep(),
      Math.min(30_000, Math.max(1000, this._maxRequestAgeMs / 4)),
    );
    this._sweepTimer.unref();
    // Instrumentations capture the app's call ahead of an RPC (Datastore) only for requests that
    // get stacks from this processor: the stack budget bounds those captures too.
    this._removeCaptureGate = addCallerCaptureGate((ctx) => {
      const spanId = trace.getSpanContext(ctx)?.spanId;
      return spanId !== undefined && this._requestOfSpan.get(spanId)?.captureStacks === true;
    });
  }

  onStart(span: Span, _parentContext: Context): void {
    if (this._isShutdown) return;
    const t0 = performance.now();
    let request: OpenRequest | undefined;
    try {
      const parent = span.parentSpanContext;
      if (!parent || parent.isRemote || span.kind === SpanKind.SERVER) {
        request = this._startRequest(span, t0);
      } else {
        request = this._requestOfSpan.get(parent.spanId);
        if (request) this._join(request, span, t0);
        else if (this._lateIds.has(parent.spanId)) this._rememberLate(span.spanContext().spanId);
      }
    } catch (error) {
      this._errorWarning.warn(`onStart: ${(error as Error)?.message}`);
    }
    if (request) request.overheadMs += performance.now() - t0;
  }

  onEnd(span: ReadableSpan): void {
    const t0 = performance.now();
    try {
      const id = span.spanContext().spanId;
      const request = this._requestOfSpan.get(id);
      if (!request) {
        if (this._lateIds.delete(id)) {
          this._stats.lateSpans++;
          this._lateWarning.warn(`${this._stats.lateSpans} so far; raise maxPendingMs to wait longer`);
        }
        return;
      }
      request.overheadMs += performance.now() - t0;
      if (id === request.rootId) {
        request.rootEnded = true;
        // Checked again at the end: the viewer marks its requests while serving them, and a root
        // given its URL attributes after it started is only known by them now.
        if (span.attributes[ATTR_IGNORE] === true || this._isIgnoredPath(httpFieldsOf(span).path)) {
          this._forget(request);
          this._stats.skipped++;
        } else if (request.openIds.size === 0) {
          this._finish(request);
        } else {
          request.pendingTimer = setTimeout(() => this._finish(request), this._maxPendingMs);
          request.pendingTimer.unref();
        }
      } else {
        request.openIds.delete(id);
        if (request.rootEnded && request.openIds.size === 0) this._finish(request);
      }
    } catch (error) {
      this._errorWarning.warn(`onEnd: ${(error as Error)?.message}`);
    }
  }

  /** Writes the requests waiting only on late calls, then waits for the exporter's writes. */
  async forceFlush(): Promise<void> {
    for (const request of [...this._open.values()]) if (request.rootEnded) this._finish(request);
    await this._exporter.forceFlush();
  }

  /** Writes everything still held (open roots as pending), then shuts the exporter down. */
  async shutdown(): Promise<void> {
    if (this._isShutdown) return;
    clearInterval(this._sweepTimer);
    this._removeCaptureGate();
    for (const request of [...this._open.values()]) this._finish(request);
    this._isShutdown = true;
    await this._exporter.shutdown();
  }

  stats(): ProcessorStats {
    return { ...this._stats, openRequests: this._open.size, bufferedSpans: this._bufferedSpans };
  }

  private _isIgnoredPath(path: string): boolean {
    return this._ignorePaths.some((ignored) =>
      typeof ignored === 'string'
        ? path === ignored || path.startsWith(ignored.endsWith('/') ? ignored : `${ignored}/`)
        : ignored.test(path),
    );
  }

  private _startRequest(root: Span, perfStart: number): OpenRequest | undefined {
    if (this._recordFraction < 1 && Math.random() >= this._recordFraction) return this._skip();
    if (this._isIgnoredPath(httpFieldsOf(root).path)) return this._skip();
    if (this._shouldRecord) {
      let record = false;
      try {
        record = this._shouldRecord(root) !== false;
      } catch (error) {
        this._errorWarning.warn(`shouldRecord threw: ${(error as Error)?.message}`);
      }
      if (!record) return this._skip();
    }
    if (this._open.size >= this._maxOpenRequests || this._bufferedSpans >= this._maxBufferedSpans) {
      this._makeRoom(perfStart);
    }
    if (this._open.size >= this._maxOpenRequests || this._bufferedSpans >= this._maxBufferedSpans) {
      this._stats.droppedRequests++;
      this._capWarning.warn(
        `${this._stats.droppedRequests} requests dropped (${this._capReached('maxOpenRequests', this._open.size >= this._maxOpenRequests)})`,
      );
      return undefined;
    }
    const rootId = root.spanContext().spanId;
    const request: OpenRequest = {
      root,
      rootId,
      rootPerfStart: perfStart,
      calls: [],
      callPerfStart: new Map(),
      openIds: new Set(),
      stacks: new Map(),
      isJob: root.kind !== SpanKind.SERVER && root.kind !== SpanKind.CONSUMER,
      captureStacks: this._captureStacks && this._stackBudget.hasRoom(),
      stacksSkipped: false,
      rootEnded: false,
      droppedCalls: 0,
      overheadMs: 0,
    };
    this._open.set(rootId, request);
    this._requestOfSpan.set(rootId, request);
    this._bufferedSpans++;
    return request;
  }

  /** Names the cap that refused: its own, or the global span cap (an operator raises the one that bit). */
  private _capReached(name: 'maxOpenRequests' | 'maxCallsPerRequest', own: boolean): string {
    const value = name === 'maxOpenRequests' ? this._maxOpenRequests : this._maxCallsPerRequest;
    return own ? `${name}=${value}` : `maxBufferedSpans=${this._maxBufferedSpans}`;
  }

  /**
   * At a cap, the oldest open request is written as it stands (`root_pending`), rather than the new
   * one going unrecorded, once it has been open for twice `maxPendingMs`: roots that never end (a
   * leak in the app) must not stop recording until the age sweep. A younger oldest is left alone.
   */
  private _makeRoom(now: number): void {
    const oldest = this._open.values().next().value;
    if (oldest && !oldest.rootEnded && now - oldest.rootPerfStart > 2 * this._maxPendingMs)
      this._finish(oldest);
  }

  private _skip(): undefined {
    this._stats.skipped++;
    return undefined;
  }

  private _join(request: OpenRequest, span: Span, perfStart: number): void {
    if (request.calls.length >= this._maxCallsPerRequest || this._bufferedSpans >= this._maxBufferedSpans) {
      request.droppedCalls++;
      this._stats.droppedCalls++;
      this._capWarning.warn(
        `${this._stats.droppedCalls} calls dropped (${this._capReached('maxCallsPerRequest', request.calls.length >= this._maxCallsPerRequest)})`,
      );
      return;
    }
    const id = span.spanContext().spanId;
    request.calls.push(span);
    request.callPerfStart.set(id, perfStart);
    request.openIds.add(id);
    this._requestOfSpan.set(id, request);
    this._bufferedSpans++;
    if (span.kind === SpanKind.CLIENT || span.kind === SpanKind.PRODUCER) {
      if (!request.captureStacks) {
        request.stacksSkipped = this._captureStacks;
        return;
      }
      // A client call made inside another (a Datastore RPC's HTTP/2 request, say) was made for the
      // same app line: share the outer call's capture instead of walking the stack again.
      const outer = span.parentSpanContext && request.stacks.get(span.parentSpanContext.spanId);
      if (outer) {
        request.stacks.set(id, outer);
      } else {
        request.stacks.set(id, captureCallSites(this._maxStack));
        this._stackBudget.spend();
      }
    }
  }

  private _rememberLate(id: string): void {
    this._lateIds.add(id);
    if (this._lateIds.size > MAX_LATE_IDS) {
      // Sets iterate in insertion order: the first is the oldest.
      const oldest = this._lateIds.values().next().value;
      if (oldest !== undefined) this._lateIds.delete(oldest);
    }
  }

  /** Drops a request's state without writing it. */
  private _forget(request: OpenRequest): void {
    if (request.pendingTimer) clearTimeout(request.pendingTimer);
    this._open.delete(request.rootId);
    this._requestOfSpan.delete(request.rootId);
    for (const call of request.calls) this._requestOfSpan.delete(call.spanContext().spanId);
    this._bufferedSpans -= 1 + request.calls.length;
  }

  /** Builds and exports the record of a request, as it stands now. */
  private _finish(request: OpenRequest): void {
    if (!this._open.has(request.rootId)) return;
    this._forget(request);
    // DESIGN.md, "Which roots make a record": a job that called nothing, or a lone call outside
    // any request (dns.lookup at listen, a pool warming up, with its nested parts), is counted,
    // not recorded: start-up noise would evict real requests from their slots.
    if (request.isJob && (isCallSpan(request.root) || !request.calls.some(isCallSpan))) {
      this._stats.rootsWithoutCalls++;
      return;
    }
    const pendingSpanIds = new Set(request.openIds);
    if (!request.rootEnded) pendingSpanIds.add(request.rootId);
    this._rememberLate(request.rootId);
    for (const id of pendingSpanIds) this._rememberLate(id);
    if (pendingSpanIds.size > 0) this._stats.incompleteRecords++;
    this._stats.recorded++;
    // Handed over unbuilt: an exporter that would drop the record (writes backed up) never builds
    // it, so a saturated appstats costs the app next to nothing.
    this._exporter.export(() => this._build(request, pendingSpanIds));
  }

  /** The record of a request as it stands; its overhead includes this build. */
  private _build(request: OpenRequest, pendingSpanIds: ReadonlySet<string>): RequestRecord {
    const t0 = performance.now();
    const formatted = new Map<CapturedCallSites, StackFrame[]>();
    const record = buildRecord(
      {
        root: request.root,
        descendants: request.calls,
        pendingSpanIds,
        droppedCalls: request.droppedCalls,
        stacksSkipped: request.stacksSkipped,
        overheadMs: request.overheadMs,
        stackOf: (span) => {
          const sites = request.stacks.get(span.spanContext().spanId);
          if (!sites) return undefined;
          // Nested calls share a capture (see _join): format it once.
          const known = formatted.get(sites);
          if (known) return known;
          const frames = formatCallSites(sites, this._maxStack);
          formatted.set(sites, frames);
          return frames;
        },
        startOffsetOf: (span) => this._startOffset(request, span),
      },
      { normalizePath: this._normalizePath, redactor: this._redactor },
    );
    // The encoding that follows cannot be counted in the record it produces.
    record.overhead_walltime_milliseconds =
      Math.round((request.overheadMs + performance.now() - t0) * 1000) / 1000;
    return record;
  }

  /**
   * A call's offset from the request start. Span start times are whole milliseconds (Date.now()),
   * so we use our own performance.now() stamps, taken as each span started. A span given an
   * explicit start time keeps it: the SDK marks those (`_startTimeProvided`, internal to
   * sdk-trace 2.x, read defensively); without the mark, stamps that disagree with the start times
   * by more than 1.5 ms fall back too.
   */
  private _startOffset(request: OpenRequest, span: ReadableSpan): number {
    const coarse = hrDiffMs(request.root.startTime, span.startTime);
    const perfStart = request.callPerfStart.get(span.spanContext().spanId);
    if (perfStart === undefined || hasExplicitStart(span) || hasExplicitStart(request.root)) return coarse;
    const fine = perfStart - request.rootPerfStart;
    // Honest stamps differ from the floored start times by under 1 ms, plus the microseconds
    // between the SDK's Date.now() and our hook: 1.5 leaves room and still catches a given start.
    return Math.abs(fine - coarse) <= 1.5 ? fine : coarse;
  }

  /** Writes requests whose root never ended, as they stand, once they are older than the bound. */
  private _sweep(): void {
    try {
      const now = performance.now();
      for (const request of [...this._open.values()]) {
        if (!request.rootEnded && now - request.rootPerfStart > this._maxRequestAgeMs) this._finish(request);
      }
    } catch (error) {
      this._errorWarning.warn(`sweep: ${(error as Error)?.message}`);
    }
  }
}
