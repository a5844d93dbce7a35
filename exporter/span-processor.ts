import { type Context, SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_IGNORE } from '../core/attributes.js';
import { isCallSpan } from '../core/call-names.js';
import { captureCallSites } from '../core/call-site.js';
import { addCallerCaptureGate } from '../core/caller-call-sites.js';
import { errorMessage } from '../core/error-message.js';
import { httpFieldsOf } from '../core/span-fields.js';
import { hrTimeToMs, roundMs } from '../core/units.js';
import { isIgnoredPath, isRootWanted } from './admit-root.js';
import { AppstatsExporter, type RecordExporter } from './exporter.js';
import { buildOpenRequest, newOpenRequest, type OpenRequest } from './open-request.js';
import type { AppstatsSpanProcessorOptions, ProcessorStats } from './processor-options.js';
import { type ProcessorSettings, resolveProcessorSettings } from './processor-settings.js';
import { RateLimitedWarning } from './rate-limited-log.js';
import { RecentIds } from './recent-ids.js';
import { StackBudget } from './stack-budget.js';

export type { AppstatsSpanProcessorOptions, ProcessorStats } from './processor-options.js';
export { StackBudget } from './stack-budget.js';

/** Remembered ids of requests already written, so spans ending late are counted, not silently lost. */
const MAX_LATE_IDS = 10_000;

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
  private readonly _settings: ProcessorSettings;
  private readonly _stackBudget: StackBudget;

  /** Open requests by root span id. */
  private readonly _open = new Map<string, OpenRequest>();
  /** Every tracked span id (root or call) -> its request. */
  private readonly _requestOfSpan = new Map<string, OpenRequest>();
  private readonly _lateIds = new RecentIds(MAX_LATE_IDS);
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
    this._settings = resolveProcessorSettings(options);
    this._stackBudget = new StackBudget({
      perSecond: this._settings.maxStackCapturesPerSecond,
      share: this._settings.maxStackTimeShare,
    });
    this._sweepTimer = setInterval(
      () => this._sweep(),
      Math.min(30_000, Math.max(1000, this._settings.maxRequestAgeMs / 4)),
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
        else if (this._lateIds.has(parent.spanId)) this._lateIds.add(span.spanContext().spanId);
      }
    } catch (error) {
      this._errorWarning.warn(`onStart: ${errorMessage(error)}`);
    }
    if (request) request.overheadMs += performance.now() - t0;
  }

  onEnd(span: ReadableSpan): void {
    const t0 = performance.now();
    let tracked: OpenRequest | undefined;
    try {
      const id = span.spanContext().spanId;
      const request = this._requestOfSpan.get(id);
      tracked = request;
      if (!request) {
        if (this._lateIds.delete(id)) {
          this._stats.lateSpans++;
          this._lateWarning.warn(`${this._stats.lateSpans} so far; raise maxPendingMs to wait longer`);
        }
        return;
      }
      if (id === request.rootId) {
        request.rootEnded = true;
        // Checked again at the end: the viewer marks its requests while serving them, and a root
        // given its URL attributes after it started is only known by them now.
        if (
          span.attributes[ATTR_IGNORE] === true ||
          isIgnoredPath(httpFieldsOf(span).path, this._settings.ignorePaths)
        ) {
          this._forget(request);
          this._stats.skipped++;
        } else if (request.openIds.size === 0) {
          this._finish(request);
        } else {
          request.pendingTimer = setTimeout(() => this._finish(request), this._settings.maxPendingMs);
          request.pendingTimer.unref();
        }
      } else {
        request.openIds.delete(id);
        if (request.rootEnded && request.openIds.size === 0) this._finish(request);
      }
    } catch (error) {
      this._errorWarning.warn(`onEnd: ${errorMessage(error)}`);
    }
    // Counted whole, the hand-over to the exporter included: the record is built later, reading it then.
    if (tracked) tracked.overheadMs += performance.now() - t0;
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

  private _startRequest(root: Span, perfStart: number): OpenRequest | undefined {
    if (!isRootWanted(root, this._settings, this._errorWarning)) {
      this._stats.skipped++;
      return undefined;
    }
    if (this._requestsAtCap()) this._makeRoom(perfStart);
    if (this._requestsAtCap()) {
      this._stats.droppedRequests++;
      this._capWarning.warn(
        `${this._stats.droppedRequests} requests dropped (${this._capReached('maxOpenRequests', this._open.size >= this._settings.maxOpenRequests)})`,
      );
      return undefined;
    }
    const captureStacks = this._settings.captureStacks && this._stackBudget.hasRoom();
    const request = newOpenRequest(root, perfStart, captureStacks);
    this._open.set(request.rootId, request);
    this._requestOfSpan.set(request.rootId, request);
    this._bufferedSpans++;
    return request;
  }

  private _requestsAtCap(): boolean {
    return (
      this._open.size >= this._settings.maxOpenRequests ||
      this._bufferedSpans >= this._settings.maxBufferedSpans
    );
  }

  /** Names the cap that refused: its own, or the global span cap (an operator raises the one that bit). */
  private _capReached(name: 'maxOpenRequests' | 'maxCallsPerRequest', own: boolean): string {
    const value =
      name === 'maxOpenRequests' ? this._settings.maxOpenRequests : this._settings.maxCallsPerRequest;
    return own ? `${name}=${value}` : `maxBufferedSpans=${this._settings.maxBufferedSpans}`;
  }

  /**
   * At a cap, the oldest open request is written as it stands (`root_pending`), rather than the new
   * one going unrecorded, once it has been open for twice `maxPendingMs`: roots that never end (a
   * leak in the app) must not stop recording until the age sweep. A younger oldest is left alone.
   */
  private _makeRoom(now: number): void {
    const oldest = this._open.values().next().value;
    if (oldest && !oldest.rootEnded && now - oldest.rootPerfStart > 2 * this._settings.maxPendingMs)
      this._finish(oldest);
  }

  private _join(request: OpenRequest, span: Span, perfStart: number): void {
    if (
      request.calls.length >= this._settings.maxCallsPerRequest ||
      this._bufferedSpans >= this._settings.maxBufferedSpans
    ) {
      request.droppedCalls++;
      this._stats.droppedCalls++;
      this._capWarning.warn(
        `${this._stats.droppedCalls} calls dropped (${this._capReached('maxCallsPerRequest', request.calls.length >= this._settings.maxCallsPerRequest)})`,
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
        request.stacksSkipped = this._settings.captureStacks;
        return;
      }
      // A client call made inside another (a Datastore RPC's HTTP/2 request, say) was made for the
      // same app line: share the outer call's capture instead of walking the stack again.
      const outer = span.parentSpanContext && request.stacks.get(span.parentSpanContext.spanId);
      if (outer) {
        request.stacks.set(id, outer);
      } else {
        const t0 = performance.now();
        request.stacks.set(id, captureCallSites(this._settings.maxStack));
        this._stackBudget.spendCapture(performance.now() - t0);
      }
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
    // docs/architecture.md, "Which roots make a record": a job that called nothing, or a lone call outside
    // any request (dns.lookup at listen, a pool warming up, with its nested parts), is counted,
    // not recorded: start-up noise would evict real requests from their slots.
    if (request.isJob && (isCallSpan(request.root) || !request.calls.some(isCallSpan))) {
      this._stats.rootsWithoutCalls++;
      return;
    }
    const pendingSpanIds = new Set(request.openIds);
    if (!request.rootEnded) pendingSpanIds.add(request.rootId);
    this._lateIds.add(request.rootId);
    for (const id of pendingSpanIds) this._lateIds.add(id);
    if (pendingSpanIds.size > 0) this._stats.incompleteRecords++;
    this._stats.recorded++;
    // Handed over unbuilt: an exporter that would drop the record (writes backed up) never builds
    // it, so a saturated appstats costs the app next to nothing.
    this._exporter.export({
      startMs: roundMs(hrTimeToMs(request.root.startTime)),
      build: () =>
        buildOpenRequest(request, pendingSpanIds, {
          maxStack: this._settings.maxStack,
          normalizePath: this._settings.normalizePath,
          redactor: this._settings.redactor,
          maxContextSpans: this._settings.maxContextSpans,
          stackBudget: this._stackBudget,
        }),
    });
  }

  /** Writes requests whose root never ended, as they stand, once they are older than the bound. */
  private _sweep(): void {
    try {
      const now = performance.now();
      for (const request of [...this._open.values()]) {
        if (!request.rootEnded && now - request.rootPerfStart > this._settings.maxRequestAgeMs)
          this._finish(request);
      }
    } catch (error) {
      this._errorWarning.warn(`sweep: ${errorMessage(error)}`);
    }
  }
}
