import { summarize } from './build-record.js';
import { encodeRecord, READ_BOUNDS } from './codec.js';
import type { RequestRecord, RpcCall } from './record.js';
import { clip } from './units.js';

export interface FittedValues {
  /** The full record as stored, with `incomplete` saying what the ladder cut. */
  record: RequestRecord;
  part: Buffer;
  full: Buffer;
}

/** Length kept of a summary once the ladder clips details: the original's MAX_REPR. */
const CLIPPED_SUMMARY_CHARS = 100;

function withoutStacks(record: RequestRecord): RequestRecord | undefined {
  if (!record.individual_stats.some((call) => call.call_stack.length > 0)) return undefined;
  return {
    ...record,
    individual_stats: record.individual_stats.map((call) => ({ ...call, call_stack: [] })),
    incomplete: { ...record.incomplete, stacks_dropped: true },
  };
}

function clipCall(call: RpcCall): RpcCall {
  const { datastore_details: _dropped, ...rest } = call;
  return {
    ...rest,
    request_data_summary: clip(call.request_data_summary, CLIPPED_SUMMARY_CHARS),
    response_data_summary: clip(call.response_data_summary, CLIPPED_SUMMARY_CHARS),
    attributes: {},
  };
}

function withClippedDetails(record: RequestRecord): RequestRecord {
  return {
    ...record,
    individual_stats: record.individual_stats.map(clipCall),
    cgi_env: record.cgi_env.map(({ key, value }) => ({ key, value: clip(value, CLIPPED_SUMMARY_CHARS) })),
    incomplete: { ...record.incomplete, details_clipped: true },
  };
}

function withFirstCalls(record: RequestRecord, keep: number): RequestRecord {
  const cut = record.individual_stats.length - keep;
  return {
    ...record,
    individual_stats: record.individual_stats.slice(0, keep),
    incomplete: { ...record.incomplete, calls_clipped: (record.incomplete?.calls_clipped ?? 0) + cut },
  };
}

function withFirstRpcStats(record: RequestRecord, keep: number): RequestRecord {
  const cut = record.rpc_stats.length - keep;
  return {
    ...record,
    rpc_stats: record.rpc_stats.slice(0, keep),
    incomplete: {
      ...record.incomplete,
      rpc_stats_clipped: (record.incomplete?.rpc_stats_clipped ?? 0) + cut,
    },
  };
}

/**
 * The size ladder: keeps both values of a request under `maxValueBytes` (memcached's item limit),
 * cutting the least useful first and noting each cut in `incomplete`:
 *   1. drop call stacks; 2. clip summaries and attributes; 3. keep the first calls only (an estimate
 *   from the size, then halving); 4. drop the environment; 5. keep the most frequent rpc_stats only.
 * Returns undefined only when even an empty record does not fit (a `maxValueBytes` of a few bytes).
 * Never throws on size: an oversize request is stored smaller, not lost.
 */
export function fitRecord(record: RequestRecord, maxValueBytes: number): FittedValues | undefined {
  // Never more calls than a reader reads (READ_BOUNDS: a record past them is refused whole).
  const maxCalls = READ_BOUNDS.full.maxCalls;
  let current = record.individual_stats.length > maxCalls ? withFirstCalls(record, maxCalls) : record;
  let full = encodeRecord(current);
  const fits = () => full.length <= maxValueBytes;
  const tryStep = (next: RequestRecord | undefined) => {
    if (!next || fits()) return;
    current = next;
    full = encodeRecord(current);
  };

  if (!fits()) {
    tryStep(withoutStacks(current));
    tryStep(withClippedDetails(current));
    // Keep a share of calls proportional to the room left, then halve until it fits.
    let keep = Math.floor(
      current.individual_stats.length * Math.min(0.9, (maxValueBytes / full.length) * 0.9),
    );
    while (!fits() && current.individual_stats.length > 0) {
      tryStep(withFirstCalls(current, Math.min(keep, current.individual_stats.length - 1)));
      keep = Math.floor(keep / 2);
    }
    if (!fits() && current.cgi_env.length > 0)
      tryStep({ ...current, cgi_env: [], incomplete: { ...current.incomplete, env_dropped: true } });
    for (const keepStats of [100, 10, 0]) {
      if (current.rpc_stats.length > keepStats) tryStep(withFirstRpcStats(current, keepStats));
    }
    if (!fits()) return undefined;
  }
  // The part is a subset of the full record, so it nearly always fits when the full does; deflate
  // gives no guarantee, hence the check.
  // A reader reads at most READ_BOUNDS.part.maxRpcStats in a part: the most frequent are kept.
  const maxStats = READ_BOUNDS.part.maxRpcStats;
  const part = encodeRecord(
    summarize(current.rpc_stats.length > maxStats ? withFirstRpcStats(current, maxStats) : current),
  );
  return part.length <= maxValueBytes ? { record: current, part, full } : undefined;
}
