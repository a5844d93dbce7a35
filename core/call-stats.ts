import type { ContextSpan, RpcCall, RpcStat } from './record.js';
import { roundMs } from './units.js';

// Aggregates over a record's calls: the original's rpc_stats, the nesting of calls, the totals.

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

/**
 * Ids of the calls made inside another call (a pool's connect inside its checkout, an HTTP/2
 * request inside a Datastore RPC): some ancestor, through context spans or not, is a call. They are
 * shown under that call and never counted twice.
 */
export function nestedCallIds(
  calls: readonly Pick<RpcCall, 'span_id' | 'parent_span_id'>[],
  context: readonly Pick<ContextSpan, 'span_id' | 'parent_span_id'>[] = [],
): Set<string> {
  const callIds = new Set(calls.map((call) => call.span_id));
  const parentOf = new Map<string, string | undefined>();
  for (const span of context) parentOf.set(span.span_id, span.parent_span_id);
  for (const call of calls) parentOf.set(call.span_id, call.parent_span_id);
  const nested = new Set<string>();
  for (const call of calls) {
    // Bounded walk: a crafted record may hold a cycle.
    let id = call.parent_span_id;
    for (let hops = 0; id !== undefined && hops < 1000; hops++) {
      if (callIds.has(id)) {
        nested.add(call.span_id);
        break;
      }
      id = parentOf.get(id);
    }
  }
  return nested;
}

/**
 * "RPC Total" (the outermost calls' durations summed) and how long at least one call was in
 * flight (the union of their intervals). Pending calls have no end: they count for neither.
 */
export function callTotals(
  calls: readonly RpcCall[],
  nested: ReadonlySet<string>,
): { total: number; inFlight: number } {
  const intervals: [number, number][] = [];
  let total = 0;
  for (const call of calls) {
    if (nested.has(call.span_id) || call.pending) continue;
    total += call.duration_milliseconds;
    intervals.push([
      call.start_offset_milliseconds,
      call.start_offset_milliseconds + call.duration_milliseconds,
    ]);
  }
  intervals.sort((a, b) => a[0] - b[0]);
  let inFlight = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [from, to] of intervals) {
    if (to <= end) continue;
    inFlight += to - Math.max(from, end);
    end = to;
  }
  return { total: roundMs(total), inFlight: roundMs(inFlight) };
}
