import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan, Span } from '@opentelemetry/sdk-trace-base';
import { type BuildOptions, buildRecord } from '../core/build-record.js';
import { type CapturedCallSites, formatCallSites } from '../core/call-site.js';
import type { RequestRecord, StackFrame } from '../core/record.js';
import { hrDiffMs, roundMs } from '../core/units.js';
import type { StackBudget } from './stack-budget.js';

/** What the processor holds of one request until it is written. */
export interface OpenRequest {
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

/** A request just started at `root`, holding no calls yet. */
export function newOpenRequest(root: Span, perfStart: number, captureStacks: boolean): OpenRequest {
  return {
    root,
    rootId: root.spanContext().spanId,
    rootPerfStart: perfStart,
    calls: [],
    callPerfStart: new Map(),
    openIds: new Set(),
    stacks: new Map(),
    isJob: root.kind !== SpanKind.SERVER && root.kind !== SpanKind.CONSUMER,
    captureStacks,
    stacksSkipped: false,
    rootEnded: false,
    droppedCalls: 0,
    overheadMs: 0,
  };
}

function hasExplicitStart(span: ReadableSpan): boolean {
  return (span as { _startTimeProvided?: unknown })._startTimeProvided === true;
}

/** Resources asked to settle their async attributes (as BatchSpanProcessor does before exporting). */
const settling = new WeakSet<object>();

/**
 * Without it, a resource read only by appstats stays pending for good, and a service name an async
 * detector supplies is never seen; records built before it settles read the settled values.
 */
function settleResourceLater(resource: ReadableSpan['resource'] | undefined): void {
  if (!resource?.asyncAttributesPending || settling.has(resource)) return;
  settling.add(resource);
  resource.waitForAsyncAttributes?.().catch(() => {});
}

/**
 * The record of a request as it stands. Its overhead is the time spent in the request (the hooks);
 * this build runs after it, off the request's path, and is stored apart.
 */
export function buildOpenRequest(
  request: OpenRequest,
  pendingSpanIds: ReadonlySet<string>,
  options: { maxStack: number; stackBudget?: StackBudget } & Required<
    Pick<BuildOptions, 'redactor' | 'maxContextSpans'>
  > &
    Pick<BuildOptions, 'normalizePath'>,
): RequestRecord {
  const t0 = performance.now();
  settleResourceLater(request.root.resource);
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
        const t = performance.now();
        const frames = formatCallSites(sites, options.maxStack);
        // Formatting is main-thread time spent on stacks too: the budget counts it.
        options.stackBudget?.spendTime(performance.now() - t);
        formatted.set(sites, frames);
        return frames;
      },
      startOffsetOf: (span) => startOffset(request, span),
    },
    {
      normalizePath: options.normalizePath,
      redactor: options.redactor,
      maxContextSpans: options.maxContextSpans,
    },
  );
  // The encoding that follows cannot be counted in the record it produces.
  record.record_build_milliseconds = roundMs(performance.now() - t0);
  return record;
}

/**
 * A call's offset from the request start. Span start times are whole milliseconds (Date.now()),
 * so we use our own performance.now() stamps, taken as each span started. A span given an
 * explicit start time keeps it: the SDK marks those (`_startTimeProvided`, internal to
 * sdk-trace 2.x, read defensively); without the mark, stamps that disagree with the start times
 * by more than 1.5 ms fall back too.
 */
function startOffset(request: OpenRequest, span: ReadableSpan): number {
  const coarse = hrDiffMs(request.root.startTime, span.startTime);
  const perfStart = request.callPerfStart.get(span.spanContext().spanId);
  if (perfStart === undefined || hasExplicitStart(span) || hasExplicitStart(request.root)) return coarse;
  const fine = perfStart - request.rootPerfStart;
  // Honest stamps differ from the floored start times by under 1 ms, plus the microseconds
  // between the SDK's Date.now() and our hook: 1.5 leaves room and still catches a given start.
  return Math.abs(fine - coarse) <= 1.5 ? fine : coarse;
}
