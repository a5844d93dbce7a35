import { type Attributes, type HrTime, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  APPSTATS_ATTRIBUTE_PREFIX,
  ATTR_BILLED_OPS,
  ATTR_CALL_NAME,
  ATTR_COST_MICRODOLLARS,
  ATTR_DATASTORE_DETAILS,
  ATTR_NAMESPACE,
  ATTR_REQUEST_SUMMARY,
  ATTR_RESPONSE_SUMMARY,
} from './attributes.js';
import {
  type BilledOp,
  type DatastoreDetails,
  type Incompleteness,
  PART_VERSION,
  RECORD_VERSION,
  type RequestRecord,
  type RequestSummary,
  type RpcCall,
  type RpcStat,
  type StackFrame,
} from './record.js';
import { createRedactor, type Redactor } from './redact.js';

/** Everything the processor knows about one request when it is time to write it. */
export interface RequestSpans {
  root: ReadableSpan;
  /** Descendants of the root, ended or not, in start order (ties in start time keep this order). */
  calls: readonly ReadableSpan[];
  /** Span ids of the calls (or the root) that had not ended when the record was written. */
  pendingSpanIds?: ReadonlySet<string>;
  /** Calls beyond the per-request cap, never kept. */
  droppedCalls?: number;
  /** True when the request's calls got no stacks because the stack budget was spent. */
  stacksSkipped?: boolean;
  /** Main-thread milliseconds otel-appstats spent on this request before building. */
  overheadMs?: number;
  /** The formatted stack of a call, when one was captured. */
  stackOf?: (span: ReadableSpan) => StackFrame[] | undefined;
  /** A call's start offset from the root's start, in ms; default: from the spans' start times. */
  startOffsetOf?: (span: ReadableSpan) => number;
}

export interface BuildOptions {
  /** Maps a path to the one the dashboard groups by (`/users/42` -> `/users/:id`). Default: unchanged. */
  normalizePath?: (path: string) => string;
  redactor?: Redactor;
  /** Longest summary kept, in characters. Default 300. */
  maxSummaryChars?: number;
  /** Most attributes kept per call. Default 32. */
  maxAttributes?: number;
  /** Longest attribute value kept, in characters. Default 256. */
  maxAttributeChars?: number;
}

const DEFAULT_REDACTOR = createRedactor();
const MAX_PATH_CHARS = 2048;

/** Milliseconds rounded to the microsecond: the record's unit. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function hrTimeToMs(time: HrTime): number {
  return time[0] * 1e3 + time[1] / 1e6;
}

/** b - a in milliseconds, computed on the parts so the large epoch seconds don't eat the precision. */
export function hrDiffMs(a: HrTime, b: HrTime): number {
  return (b[0] - a[0]) * 1e3 + (b[1] - a[1]) / 1e6;
}

/** Cuts a string to `max` characters, saying how much was cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `…(+${text.length - max} chars)`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

const KIND_NAMES = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;

/**
 * The original's `service.Call` name of a span: what our instrumentations set, else derived from
 * the semantic conventions (database, RPC, outgoing HTTP), else the span name.
 */
export function callName(span: Pick<ReadableSpan, 'name' | 'kind' | 'attributes'>): string {
  const a = span.attributes;
  const explicit = str(a[ATTR_CALL_NAME]);
  if (explicit) return explicit;
  const dbSystem = str(a['db.system.name']) ?? str(a['db.system']);
  const dbOperation = str(a['db.operation.name']) ?? str(a['db.operation']);
  if (dbSystem && dbOperation) return `${dbSystem}.${dbOperation}`;
  const rpcService = str(a['rpc.service']);
  const rpcMethod = str(a['rpc.method']);
  if (rpcService && rpcMethod) return `${rpcService}.${rpcMethod}`;
  const httpMethod = str(a['http.request.method']) ?? str(a['http.method']);
  if (httpMethod && span.kind === SpanKind.CLIENT) return `http.${httpMethod}`;
  return span.name;
}

/** A URL or request target with the values of secret query parameters replaced. */
function redactUrl(url: string, redactor: Redactor): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q + 1)}${redactor.query(url.slice(q + 1))}`;
}

/** Attributes that hold a URL, a request target or a bare query: their secret parameters are redacted. */
const URL_ATTRIBUTES = new Set(['url.full', 'http.url', 'http.target', 'url.original']);
const QUERY_ATTRIBUTES = new Set(['url.query']);

function requestSummaryOf(a: Attributes, redactor: Redactor): string {
  const explicit = str(a[ATTR_REQUEST_SUMMARY]) ?? str(a['db.query.text']) ?? str(a['db.statement']);
  if (explicit !== undefined) return explicit;
  // An outgoing URL can carry credentials in its query: redact those like the request's own.
  return redactUrl(str(a['url.full']) ?? str(a['http.url']) ?? '', redactor);
}

function responseSummaryOf(a: Attributes): string {
  const explicit = str(a[ATTR_RESPONSE_SUMMARY]);
  if (explicit !== undefined) return explicit;
  const status = str(a['http.response.status_code']) ?? str(a['http.status_code']);
  return status ? `status ${status}` : '';
}

function parseJson<T>(value: unknown, check: (parsed: unknown) => boolean): T | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return check(parsed) ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}

function isBilledOps(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (op) => typeof op?.op === 'string' && typeof op?.num_ops === 'number' && Number.isFinite(op.num_ops),
    )
  );
}

/** A bounded, redacted copy of a span's attributes; the appstats.* ones became fields already. */
export function boundedAttributes(
  attributes: Attributes,
  redactor: Redactor,
  maxAttributes: number,
  maxChars: number,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  let kept = 0;
  for (const key of Object.keys(attributes)) {
    if (key.startsWith(APPSTATS_ATTRIBUTE_PREFIX)) continue;
    if (kept >= maxAttributes) break;
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    let kept_value: string | number | boolean;
    if (typeof value === 'number' || typeof value === 'boolean') kept_value = value;
    else if (Array.isArray(value)) kept_value = clip(value.map(String).join(', '), maxChars);
    else {
      // Redacted before clipping: a clipped query could hide a secret's name from the redactor.
      let text = String(value);
      if (URL_ATTRIBUTES.has(key)) text = redactUrl(text, redactor);
      else if (QUERY_ATTRIBUTES.has(key)) text = redactor.query(text);
      kept_value = clip(text, maxChars);
    }
    out[key] = typeof kept_value === 'string' ? redactor.attribute(key, kept_value) : kept_value;
    kept++;
  }
  return out;
}

/** The HTTP fields of a root span, from either generation of the semantic conventions. */
export function httpFieldsOf(root: Pick<ReadableSpan, 'name' | 'attributes'>): {
  method: string;
  path: string;
  query: string;
  status: number;
  route?: string;
} {
  const a = root.attributes;
  const method = str(a['http.request.method']) ?? str(a['http.method']) ?? '';
  let path = str(a['url.path']);
  let query = str(a['url.query']);
  const target = str(a['http.target']);
  if (path === undefined && target !== undefined) {
    const q = target.indexOf('?');
    path = q === -1 ? target : target.slice(0, q);
    query ??= q === -1 ? '' : target.slice(q + 1);
  }
  const route = str(a['http.route']);
  // A root that is not HTTP (a job, a queue consumer) is recorded under its span name.
  if (path === undefined) path = method ? (route ?? root.name) : root.name;
  const status = num(a['http.response.status_code']) ?? num(a['http.status_code']) ?? 0;
  return { method, path, query: query ?? '', status, ...(route !== undefined ? { route } : {}) };
}

/** The request's environment as the original's cgi_env: variables, then headers, secrets redacted. */
export function cgiEnvOf(
  root: Pick<ReadableSpan, 'attributes'>,
  redactor: Redactor,
  maxChars: number,
): { key: string; value: string }[] {
  const a = root.attributes;
  const env: { key: string; value: string }[] = [];
  const add = (key: string, value: unknown) => {
    const text = Array.isArray(value) ? value.map(String).join(', ') : str(value);
    if (text !== undefined && text !== '') env.push({ key, value: clip(text, maxChars) });
  };
  add('REQUEST_METHOD', a['http.request.method'] ?? a['http.method']);
  // The old conventions' http.target carries the query too: PATH_INFO is the path only.
  const target = str(a['http.target']);
  add('PATH_INFO', a['url.path'] ?? (target === undefined ? undefined : target.split('?')[0]));
  const query = str(a['url.query']);
  if (query !== undefined) add('QUERY_STRING', redactor.query(query));
  add('URL_SCHEME', a['url.scheme'] ?? a['http.scheme']);
  add('SERVER_NAME', a['server.address'] ?? a['net.host.name'] ?? a['http.host']);
  add('SERVER_PORT', a['server.port'] ?? a['net.host.port']);
  add('SERVER_PROTOCOL', a['network.protocol.version'] ?? a['http.flavor']);
  add('REMOTE_ADDR', a['client.address'] ?? a['network.peer.address'] ?? a['net.peer.ip']);
  add('HTTP_USER_AGENT', a['user_agent.original'] ?? a['http.user_agent']);
  add('HTTP_ROUTE', a['http.route']);
  for (const key of Object.keys(a)) {
    for (const [prefix, envPrefix] of [
      ['http.request.header.', 'HTTP_'],
      ['http.response.header.', 'RESPONSE_'],
    ] as const) {
      if (!key.startsWith(prefix)) continue;
      const header = key.slice(prefix.length);
      const value = a[key];
      const text = Array.isArray(value) ? value.map(String).join(', ') : (str(value) ?? '');
      const envKey = envPrefix + header.toUpperCase().replaceAll('-', '_');
      // HTTP_USER_AGENT may already stand from `user_agent.original`: one entry per variable.
      if (env.some((entry) => entry.key === envKey)) continue;
      env.push({ key: envKey, value: clip(redactor.header(header, text), maxChars) });
    }
  }
  return env;
}

/** The original's per-call aggregate, sorted (-count, name), plus the time spent per name. */
export function aggregateRpcStats(calls: readonly RpcCall[]): RpcStat[] {
  const byName = new Map<string, RpcStat & { ops: Map<string, number> }>();
  for (const call of calls) {
    let stat = byName.get(call.service_call_name);
    if (!stat) {
      stat = {
        service_call_name: call.service_call_name,
        total_amount_of_calls: 0,
        total_cost_of_calls_microdollars: 0,
        total_billed_ops: [],
        total_duration_milliseconds: 0,
        ops: new Map(),
      };
      byName.set(call.service_call_name, stat);
    }
    stat.total_amount_of_calls++;
    stat.total_cost_of_calls_microdollars += call.call_cost_microdollars;
    stat.total_duration_milliseconds += call.duration_milliseconds;
    for (const op of call.billed_ops) stat.ops.set(op.op, (stat.ops.get(op.op) ?? 0) + op.num_ops);
  }
  return [...byName.values()]
    .map(({ ops, ...stat }) => ({
      ...stat,
      total_cost_of_calls_microdollars: roundMs(stat.total_cost_of_calls_microdollars),
      total_duration_milliseconds: roundMs(stat.total_duration_milliseconds),
      total_billed_ops: [...ops]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([op, num_ops]) => ({ op, num_ops })),
    }))
    .sort((a, b) =>
      a.total_amount_of_calls !== b.total_amount_of_calls
        ? b.total_amount_of_calls - a.total_amount_of_calls
        : a.service_call_name < b.service_call_name
          ? -1
          : a.service_call_name > b.service_call_name
            ? 1
            : 0,
    );
}

/** One span of the request -> one call of the record. */
export function spanToCall(
  span: ReadableSpan,
  call: { offsetMs: number; pending: boolean; parentIsCall: boolean; stack?: StackFrame[] },
  options: Required<Omit<BuildOptions, 'normalizePath'>>,
): RpcCall {
  const { pending, parentIsCall, stack } = call;
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
  const parentSpanId = span.parentSpanContext?.spanId;
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
    ...(parentIsCall && parentSpanId ? { parent_span_id: parentSpanId } : {}),
    span_name: clip(span.name, options.maxSummaryChars),
    span_kind: KIND_NAMES[span.kind] ?? 'INTERNAL',
    status: span.status.message
      ? { code: status, message: clip(span.status.message, options.maxSummaryChars) }
      : { code: status },
    ...(pending ? { pending: true } : {}),
    attributes: boundedAttributes(a, options.redactor, options.maxAttributes, options.maxAttributeChars),
  };
}

/**
 * Builds the full record of one request from its spans. Pure: no I/O, no clock, no globals; the
 * part is `summarize(buildRecord(...))`.
 */
export function buildRecord(request: RequestSpans, options: BuildOptions = {}): RequestRecord {
  const resolved = {
    redactor: options.redactor ?? DEFAULT_REDACTOR,
    maxSummaryChars: options.maxSummaryChars ?? 300,
    maxAttributes: options.maxAttributes ?? 32,
    maxAttributeChars: options.maxAttributeChars ?? 256,
  };
  const { root } = request;
  const rootId = root.spanContext().spanId;
  const pendingIds = request.pendingSpanIds ?? new Set<string>();
  const callIds = new Set(request.calls.map((span) => span.spanContext().spanId));
  // Stable sort on the offset: span start times are whole milliseconds, so calls of one
  // millisecond keep the order they were given in (the processor gives them in start order).
  const individual = request.calls
    .map((span) =>
      spanToCall(
        span,
        {
          offsetMs: request.startOffsetOf?.(span) ?? hrDiffMs(root.startTime, span.startTime),
          pending: pendingIds.has(span.spanContext().spanId),
          parentIsCall: callIds.has(span.parentSpanContext?.spanId ?? ''),
          stack: request.stackOf?.(span),
        },
        resolved,
      ),
    )
    .sort((a, b) => a.start_offset_milliseconds - b.start_offset_milliseconds);
  const http = httpFieldsOf(root);
  const rootPending = pendingIds.has(rootId);
  const pendingCalls = individual.filter((call) => call.pending).length;
  const incomplete: Incompleteness = {
    ...(pendingCalls > 0 ? { pending_calls: pendingCalls } : {}),
    ...(rootPending ? { root_pending: true } : {}),
    ...(request.droppedCalls ? { dropped_calls: request.droppedCalls } : {}),
    ...(request.stacksSkipped ? { stacks_skipped: true } : {}),
  };
  const serviceName = str(root.resource?.attributes['service.name']) ?? '';
  // A path (or a job's span name) is a dashboard row's label: a megabyte of it would make every
  // part it is in oversize. URLs past 2 KiB are rare; the cut says so inline.
  const path = clip(options.normalizePath ? options.normalizePath(http.path) : http.path, MAX_PATH_CHARS);
  return {
    v: RECORD_VERSION,
    start_timestamp_milliseconds: roundMs(hrTimeToMs(root.startTime)),
    http_method: http.method,
    http_path: path,
    http_query: resolved.redactor.query(http.query),
    http_status: http.status,
    duration_milliseconds: rootPending ? 0 : roundMs(Math.max(0, hrTimeToMs(root.duration))),
    overhead_walltime_milliseconds: roundMs(request.overheadMs ?? 0),
    rpc_stats: aggregateRpcStats(individual),
    trace_id: root.spanContext().traceId,
    span_id: rootId,
    service_name: serviceName,
    ...(http.route !== undefined ? { http_route: http.route } : {}),
    was_successful: root.status.code !== SpanStatusCode.ERROR,
    ...(Object.keys(incomplete).length > 0 ? { incomplete } : {}),
    user_email: str(root.attributes['enduser.id']) ?? '',
    is_admin: false,
    cgi_env: cgiEnvOf(root, resolved.redactor, resolved.maxAttributeChars),
    individual_stats: individual,
  };
}

/** The part of a full record: everything but the calls and the environment. */
export function summarize(record: RequestRecord): RequestSummary {
  const { user_email: _u, is_admin: _a, cgi_env: _c, individual_stats: _i, ...summary } = record;
  summary.v = PART_VERSION; // a fresh object: the record keeps its own version
  return summary;
}
