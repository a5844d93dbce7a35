import { aggregateRpcStats, callTotals, nestedCallIds } from '../core/call-stats.js';
import { type Finding, findFindings } from '../core/findings.js';
import type { ContextSpan, RequestRecord, RpcCall } from '../core/record.js';

/**
 * A record as the details page and its JSON show it. Pure: the analysis behind the page, apart
 * from its markup. Records of writers before calls and context were told apart (no
 * `rpc_total_milliseconds`) stored middleware and handlers as calls: those are moved to context
 * here, so an old record never shows `middleware - query` as a call either.
 */
export interface DetailsView {
  /** The record with `individual_stats` holding calls only, and context apart. */
  record: RequestRecord;
  findings: Finding[];
  /** Span ids of calls made inside another call (shown under it, counted once). */
  nested: ReadonlySet<string>;
  /** Sum of the outermost calls. */
  rpcTotalMs: number;
  /** Time with at least one call in flight. */
  inFlightMs: number;
  /** False when no call cost anything or billed any op: cost columns are left out. */
  hasCosts: boolean;
  /** Call index by span id, and context span by span id: for "inside #3" links and the timeline. */
  callIndex: ReadonlyMap<string, number>;
  contextById: ReadonlyMap<string, ContextSpan>;
}

const CALL_KINDS = new Set(['CLIENT', 'PRODUCER']);

function asContext(call: RpcCall): ContextSpan {
  return {
    span_id: call.span_id,
    ...(call.parent_span_id ? { parent_span_id: call.parent_span_id } : {}),
    name: call.span_name || call.service_call_name,
    span_kind: call.span_kind,
    start_offset_milliseconds: call.start_offset_milliseconds,
    duration_milliseconds: call.duration_milliseconds,
    ...(call.pending ? { pending: true } : {}),
  };
}

/** Calls and context of a record, whichever writer made it. */
function callsAndContext(record: RequestRecord): RequestRecord {
  if (record.rpc_total_milliseconds !== undefined) return record;
  const calls = record.individual_stats.filter((call) => CALL_KINDS.has(call.span_kind));
  if (calls.length === record.individual_stats.length) return record;
  const context = record.individual_stats.filter((call) => !CALL_KINDS.has(call.span_kind)).map(asContext);
  const contextSpans = [...(record.context_spans ?? []), ...context];
  const nested = nestedCallIds(calls, contextSpans);
  return {
    ...record,
    individual_stats: calls,
    context_spans: contextSpans,
    rpc_stats: aggregateRpcStats(calls.filter((call) => !nested.has(call.span_id))),
  };
}

export function detailsView(original: RequestRecord): DetailsView {
  const record = callsAndContext(original);
  const calls = record.individual_stats;
  const nested = nestedCallIds(calls, record.context_spans ?? []);
  const totals = callTotals(calls, nested);
  const hasCosts = calls.some((call) => call.call_cost_microdollars !== 0 || call.billed_ops.length > 0);
  const callIndex = new Map<string, number>();
  calls.forEach((call, index) => {
    if (!callIndex.has(call.span_id)) callIndex.set(call.span_id, index);
  });
  return {
    record,
    findings: findFindings(record, {}, nested),
    nested,
    rpcTotalMs: totals.total,
    inFlightMs: totals.inFlight,
    hasCosts,
    callIndex,
    contextById: new Map((record.context_spans ?? []).map((span) => [span.span_id, span])),
  };
}

/**
 * The details JSON: the record (calls only), its findings whole (the part's counts give way to the
 * calls involved and a sentence each), and the totals.
 */
export function detailsJson(view: DetailsView): Omit<RequestRecord, 'findings'> & { findings: Finding[] } {
  return {
    ...view.record,
    rpc_total_milliseconds: view.rpcTotalMs,
    rpc_in_flight_milliseconds: view.inFlightMs,
    findings: view.findings,
  };
}
