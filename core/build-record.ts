import { SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  ATTR_BILLED_OPS,
  ATTR_COST_MICRODOLLARS,
  ATTR_DATASTORE_DETAILS,
  ATTR_NAMESPACE,
} from './attributes.js';
import { callName, isCallSpan } from './call-names.js';
import { aggregateRpcStats, callTotals, nestedCallIds } from './call-stats.js';
import { countFindings, findFindings } from './findings.js';
import {
  type BilledOp,
  type ContextSpan,
  type DatastoreDetails,
  type Incompleteness,
  PART_VERSION,
  RECORD_VERSION,
  type RequestRecord,
  type RequestSummary,
  type RpcCall,
  type StackFrame,
} from './record.js';
import { createRedactor, type Redactor } from './redact.js';
import {
  boundedAttributes,
  cgiEnvOf,
  httpFieldsOf,
  isBilledOps,
  parseJson,
  requestSummaryOf,
  responseSummaryOf,
  serviceNameOf,
} from './span-fields.js';
import { clip, hrDiffMs, hrTimeToMs, num, roundMs, str } from './units.js';

/** Everything the processor knows about one request when it is time to write it. */
export interface RequestSpans {
  root: ReadableSpan;
  /**
   * Descendants of the root, calls and context alike, ended or not, in start order (ties in start
   * time keep this order). `buildRecord` tells calls from context (`isCallSpan`).
   */
  descendants: readonly ReadableSpan[];
  /** Span ids of the descendants (or the root) that had not ended when the record was written. */
  pendingSpanIds?: ReadonlySet<string>;
  /** Descendants beyond the per-request cap, never kept. */
  droppedCalls?: number;
  /** True when the request's calls got no stacks because the stack budget was spent. */
  stacksSkipped?: boolean;
  /** Main-thread milliseconds otel-appstats spent on this request before building. */
  overheadMs?: number;
  /** The formatted stack of a call, when one was captured. */
  stackOf?: (span: ReadableSpan) => StackFrame[] | undefined;
  /** A span's start offset from the root's start, in ms; default: from the spans' start times. */
  startOffsetOf?: (span: ReadableSpan) => number;
}

export interface BuildOptions {
  /**
   * Maps a path to the one the dashboard groups by (`/users/42` -> `/users/:id`), stored as
   * `http_route` when the framework set no `http.route`. Default: unchanged.
   */
  normalizePath?: (path: string) => string;
  redactor?: Redactor;
  /** Longest summary kept, in characters. Default 300. */
  maxSummaryChars?: number;
  /** Most attributes kept per call. Default 32. */
  maxAttributes?: number;
  /** Longest attribute value kept, in characters. Default 256. */
  maxAttributeChars?: number;
  /** Context spans kept per request (middleware, handlers); more are counted. Default 200. */
  maxContextSpans?: number;
}

type ResolvedBuildOptions = Required<Omit<BuildOptions, 'normalizePath'>>;

const DEFAULT_REDACTOR = createRedactor();
const MAX_PATH_CHARS = 2048;
const KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;

function kindName(span: ReadableSpan): RpcCall['span_kind'] {
  return KIND_NAMES[span.kind] ?? 'INTERNAL';
}

/** One span of the request -> one call of the record. */
export function spanToCall(
  span: ReadableSpan,
  call: { offsetMs: number; pending: boolean; parentSpanId?: string; stack?: StackFrame[] },
  options: ResolvedBuildOptions,
): RpcCall {
  const { pending, parentSpanId, stack } = call;
  const a = span.attributes;
  const status =
    span.status.code === SpanStatusCode.ERROR
      ? 'ERROR'
      : span.status.code === SpanStatusCode.OK
        ? 'OK'
        : 'UNSET';
  const details = parseJson<DatastoreDetails>(
    a[ATTR_DATASTORE_DETAILS],
    (v) => typeof v === 'object' && v !== null,
  );
  const billed = parseJson<BilledOp[]>(a[ATTR_BILLED_OPS], isBilledOps) ?? [];
  return {
    // Names are clipped like summaries: some instrumentations name spans by their SQL, and one
    // megabyte name (in the call, its rpc_stats entry and the part) made the ladder cut every call.
    service_call_name: clip(callName(span), options.maxSummaryChars),
    request_data_summary: clip(requestSummaryOf(a, options.redactor), options.maxSummaryChars),
    response_data_summary: clip(responseSummaryOf(a), options.maxSummaryChars),
    start_offset_milliseconds: roundMs(call.offsetMs),
    duration_milliseconds: pending ? 0 : roundMs(Math.max(0, hrTimeToMs(span.duration))),
    namespace: str(a[ATTR_NAMESPACE]) ?? str(a['db.namespace']) ?? '',
    was_successful: status !== 'ERROR',
    call_stack: stack ?? [],
    ...(details ? { datastore_details: details } : {}),
    call_cost_microdollars: num(a[ATTR_COST_MICRODOLLARS]) ?? 0,
    billed_ops: billed,
    span_id: span.spanContext().spanId,
    ...(parentSpanId ? { parent_span_id: parentSpanId } : {}),
    span_name: clip(span.name, options.maxSummaryChars),
    span_kind: kindName(span),
    status: span.status.message
      ? { code: status, message: clip(span.status.message, options.maxSummaryChars) }
      : { code: status },
    ...(pending ? { pending: true } : {}),
    attributes: boundedAttributes(a, options.redactor, options.maxAttributes, options.maxAttributeChars),
  };
}

/** One context span of the request -> its bounded timeline entry. */
function spanToContext(
  span: ReadableSpan,
  entry: { offsetMs: number; pending: boolean; parentSpanId?: string },
  maxChars: number,
): ContextSpan {
  return {
    span_id: span.spanContext().spanId,
    ...(entry.parentSpanId ? { parent_span_id: entry.parentSpanId } : {}),
    name: clip(span.name, maxChars),
    span_kind: kindName(span),
    start_offset_milliseconds: roundMs(entry.offsetMs),
    duration_milliseconds: entry.pending ? 0 : roundMs(Math.max(0, hrTimeToMs(span.duration))),
    ...(entry.pending ? { pending: true } : {}),
  };
}

/**
 * Builds the full record of one request from its spans. Pure: no I/O, no clock, no globals; the
 * part is `summarize(buildRecord(...))`. Calls (CLIENT, PRODUCER, ours) become `individual_stats`;
 * the other descendants become `context_spans`, bounded; each names its nearest kept ancestor.
 */
export function buildRecord(request: RequestSpans, options: BuildOptions = {}): RequestRecord {
  const resolved: ResolvedBuildOptions = {
    redactor: options.redactor ?? DEFAULT_REDACTOR,
    maxSummaryChars: options.maxSummaryChars ?? 300,
    maxAttributes: options.maxAttributes ?? 32,
    maxAttributeChars: options.maxAttributeChars ?? 256,
    maxContextSpans: options.maxContextSpans ?? 200,
  };
  const { root } = request;
  const rootId = root.spanContext().spanId;
  const pendingIds = request.pendingSpanIds ?? new Set<string>();
  const calls: ReadableSpan[] = [];
  const context: ReadableSpan[] = [];
  let droppedContext = 0;
  for (const span of request.descendants) {
    if (isCallSpan(span)) calls.push(span);
    else if (context.length < resolved.maxContextSpans) context.push(span);
    else droppedContext++;
  }
  // A span's parent in the record: its nearest ancestor that was kept (a dropped context span
  // between a handler and its call is skipped over, so the call still sits under the handler).
  const parentOf = new Map<string, string | undefined>();
  for (const span of request.descendants)
    parentOf.set(span.spanContext().spanId, span.parentSpanContext?.spanId);
  const kept = new Set([...calls, ...context].map((span) => span.spanContext().spanId));
  const keptParent = (span: ReadableSpan): string | undefined => {
    let id = span.parentSpanContext?.spanId;
    for (let hops = 0; id !== undefined && hops < 1000; hops++) {
      if (id === rootId) return undefined;
      if (kept.has(id)) return id;
      id = parentOf.get(id);
    }
    return undefined;
  };
  const offsetOf = (span: ReadableSpan) =>
    request.startOffsetOf?.(span) ?? hrDiffMs(root.startTime, span.startTime);
  // Stable sort on the offset: span start times are whole milliseconds, so calls of one
  // millisecond keep the order they were given in (the processor gives them in start order).
  const individual = calls
    .map((span) =>
      spanToCall(
        span,
        {
          offsetMs: offsetOf(span),
          pending: pendingIds.has(span.spanContext().spanId),
          parentSpanId: keptParent(span),
          stack: request.stackOf?.(span),
        },
        resolved,
      ),
    )
    .sort((a, b) => a.start_offset_milliseconds - b.start_offset_milliseconds);
  const contextSpans = context
    .map((span) =>
      spanToContext(
        span,
        {
          offsetMs: offsetOf(span),
          pending: pendingIds.has(span.spanContext().spanId),
          parentSpanId: keptParent(span),
        },
        resolved.maxSummaryChars,
      ),
    )
    .sort((a, b) => a.start_offset_milliseconds - b.start_offset_milliseconds);
  const nested = nestedCallIds(individual, contextSpans);
  const outermost = individual.filter((call) => !nested.has(call.span_id));
  const totals = callTotals(individual, nested);
  const findings = countFindings(
    findFindings({ individual_stats: individual, context_spans: contextSpans }, {}, nested),
  );
  const http = httpFieldsOf(root);
  const rootPending = pendingIds.has(rootId);
  const pendingCalls = individual.filter((call) => call.pending).length;
  const incomplete: Incompleteness = {
    ...(pendingCalls > 0 ? { pending_calls: pendingCalls } : {}),
    ...(rootPending ? { root_pending: true } : {}),
    ...(request.droppedCalls ? { dropped_calls: request.droppedCalls } : {}),
    ...(request.stacksSkipped ? { stacks_skipped: true } : {}),
    ...(droppedContext > 0 ? { dropped_context: droppedContext } : {}),
  };
  const serviceName = serviceNameOf(root.resource);
  // A path (or a job's span name) is a dashboard row's label: a megabyte of it would make every
  // part it is in oversize. URLs past 2 KiB are rare; the cut says so inline.
  const path = clip(http.path, MAX_PATH_CHARS);
  // The dashboard groups by the framework's route; without one, by the normalised path.
  const normalized = options.normalizePath ? clip(options.normalizePath(http.path), MAX_PATH_CHARS) : path;
  const route =
    http.route !== undefined
      ? clip(http.route, MAX_PATH_CHARS)
      : normalized !== path
        ? normalized
        : undefined;
  return {
    v: RECORD_VERSION,
    start_timestamp_milliseconds: roundMs(hrTimeToMs(root.startTime)),
    http_method: http.method,
    http_path: path,
    // Redacted, then clipped like the path: a part must stay far under the reader's 64 KiB bound.
    http_query: clip(resolved.redactor.query(http.query), MAX_PATH_CHARS),
    http_status: http.status,
    duration_milliseconds: rootPending ? 0 : roundMs(Math.max(0, hrTimeToMs(root.duration))),
    overhead_walltime_milliseconds: roundMs(request.overheadMs ?? 0),
    rpc_stats: aggregateRpcStats(outermost),
    trace_id: root.spanContext().traceId,
    span_id: rootId,
    service_name: serviceName,
    ...(route !== undefined ? { http_route: route } : {}),
    was_successful: root.status.code !== SpanStatusCode.ERROR,
    ...(Object.keys(incomplete).length > 0 ? { incomplete } : {}),
    rpc_total_milliseconds: totals.total,
    rpc_in_flight_milliseconds: totals.inFlight,
    ...(findings.length > 0 ? { findings } : {}),
    user_email: str(root.attributes['enduser.id']) ?? '',
    is_admin: false,
    cgi_env: cgiEnvOf(root, resolved.redactor, resolved.maxAttributeChars),
    individual_stats: individual,
    ...(contextSpans.length > 0 ? { context_spans: contextSpans } : {}),
  };
}

/** The part of a full record: everything but the calls, the context and the environment. */
export function summarize(record: RequestRecord): RequestSummary {
  const {
    user_email: _u,
    is_admin: _a,
    cgi_env: _c,
    individual_stats: _i,
    context_spans: _x,
    record_build_milliseconds: _b,
    ...summary
  } = record;
  summary.v = PART_VERSION; // a fresh object: the record keeps its own version
  return summary;
}
