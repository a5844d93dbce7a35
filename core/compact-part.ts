import { isObject } from './is-object.js';
import type { FindingCount, RequestSummary, RpcStat } from './record.js';

/**
 * Part format 2: the summary as a positional JSON array instead of an object (docs/record-format.md).
 * A part is read 1000 at a time by every dashboard view and written for every request; its field
 * names were two thirds of its bytes (793 B for a 10-call request as an object, ~250 B here), and
 * parsing and stringifying scale with the bytes. Absent trailing fields are left off.
 *
 *   [2, start, method, path, query, status, duration, overhead,
 *    [[call name, count, ms, cost?, [op, n, op, n...]?]...],
 *    trace_id, span_id, service, ok (1/0), route | null, rpc_total | null, in_flight | null,
 *    [[finding kind index, call name, count]...] | null, incomplete | null]
 */
export const COMPACT_PART_VERSION = 2;

const FINDING_KINDS: readonly FindingCount['kind'][] = ['n_plus_one', 'duplicate', 'parallelizable'];

/** An entry, compacted; a hand-made one (a test, another writer) that is not one is kept as it is. */
function compactStat(stat: RpcStat): unknown {
  if (!isObject(stat) || !Array.isArray(stat.total_billed_ops)) return stat;
  const entry: unknown[] = [
    stat.service_call_name,
    stat.total_amount_of_calls,
    stat.total_duration_milliseconds,
  ];
  const ops = stat.total_billed_ops;
  if (stat.total_cost_of_calls_microdollars !== 0 || ops.length > 0) {
    entry.push(stat.total_cost_of_calls_microdollars);
    if (ops.length > 0) entry.push(ops.flatMap((op) => [op.op, op.num_ops]));
  }
  return entry;
}

/** A summary -> its compact array. */
export function compactPart(summary: RequestSummary): unknown[] {
  const part: unknown[] = [
    COMPACT_PART_VERSION,
    summary.start_timestamp_milliseconds,
    summary.http_method,
    summary.http_path,
    summary.http_query,
    summary.http_status,
    summary.duration_milliseconds,
    summary.overhead_walltime_milliseconds,
    Array.isArray(summary.rpc_stats) ? summary.rpc_stats.map(compactStat) : summary.rpc_stats,
    summary.trace_id,
    summary.span_id,
    summary.service_name,
    summary.was_successful ? 1 : 0,
    summary.http_route ?? null,
    summary.rpc_total_milliseconds ?? null,
    summary.rpc_in_flight_milliseconds ?? null,
    Array.isArray(summary.findings)
      ? summary.findings.map((f) => (isObject(f) ? [FINDING_KINDS.indexOf(f.kind), f.call_name, f.count] : f))
      : (summary.findings ?? null),
    summary.incomplete ?? null,
  ];
  // Absent fields are null, and trailing ones left off (a 0 is a value: a request with no call).
  while (part.length > 13 && part[part.length - 1] === null) part.pop();
  return part;
}

function stat(value: unknown): unknown {
  if (!Array.isArray(value)) return value; // left for the reader's checks to refuse
  const [name, count, ms, cost, ops] = value;
  const billed: { op: unknown; num_ops: unknown }[] = [];
  if (Array.isArray(ops))
    for (let i = 0; i + 1 < ops.length; i += 2) billed.push({ op: ops[i], num_ops: ops[i + 1] });
  return {
    service_call_name: name,
    total_amount_of_calls: count,
    total_cost_of_calls_microdollars: cost ?? 0,
    total_billed_ops: billed,
    total_duration_milliseconds: ms,
  };
}

function finding(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return { kind: FINDING_KINDS[value[0] as number], call_name: value[1], count: value[2] };
}

/**
 * A compact array -> the summary object every reader knows, unchecked: the codec checks it as it
 * checks a part of format 1, so a crafted array fails the same checks.
 */
export function expandPart(part: readonly unknown[]): Record<string, unknown> {
  const summary: Record<string, unknown> = {
    v: part[0],
    start_timestamp_milliseconds: part[1],
    http_method: part[2],
    http_path: part[3],
    http_query: part[4],
    http_status: part[5],
    duration_milliseconds: part[6],
    overhead_walltime_milliseconds: part[7],
    rpc_stats: Array.isArray(part[8]) ? part[8].map(stat) : part[8],
    trace_id: part[9] ?? '',
    span_id: part[10] ?? '',
    service_name: part[11] ?? '',
    was_successful: part[12] !== 0,
  };
  if (typeof part[13] === 'string') summary.http_route = part[13];
  if (typeof part[14] === 'number') summary.rpc_total_milliseconds = part[14];
  if (typeof part[15] === 'number') summary.rpc_in_flight_milliseconds = part[15];
  if (Array.isArray(part[16])) summary.findings = part[16].map(finding);
  if (typeof part[17] === 'object' && part[17] !== null) summary.incomplete = part[17];
  return summary;
}
