import type { RequestSummary, RpcCall } from '../core/record.js';

/**
 * What none of the originals did: tell the user which calls are the problem. Two patterns, both
 * pure functions of a record's calls (in start order, as the record stores them):
 *
 * - duplicate: the same call with the same request summary made more than once (the second
 *   answer was already known: cache it, or hoist it out of the loop);
 * - N+1: a run of `minRun` or more calls of one name made one after another, each starting after
 *   the previous one of that name ended (a loop of awaits, where one batched call would do).
 *   Other calls may sit between them (the classic "get, then cache-get, per item" loop); calls of
 *   the name that overlap (a Promise.all batch) break the run, since they are already parallel.
 */
export type FindingKind = 'duplicate' | 'n-plus-one';

export interface Finding {
  kind: FindingKind;
  service_call_name: string;
  /** The repeated request summary (duplicates only). */
  request_data_summary?: string;
  /** Indexes into the record's `individual_stats`, in call order. */
  calls: number[];
  /** Sum of the involved calls' durations: what the pattern cost. */
  total_duration_milliseconds: number;
}

export const DEFAULT_MIN_RUN = 5;

/** Calls within a microsecond of each other count as sequential: times are rounded to the µs. */
const EPSILON_MS = 0.001;

function sumDurations(calls: readonly RpcCall[], indexes: readonly number[]): number {
  let total = 0;
  for (const i of indexes) total += calls[i].duration_milliseconds;
  return Math.round(total * 1000) / 1000;
}

/** Identical name + non-empty request summary, made twice or more. Largest groups first. */
export function findDuplicateCalls(calls: readonly RpcCall[]): Finding[] {
  const groups = new Map<string, number[]>();
  calls.forEach(function group(call, index) {
    if (!call.request_data_summary) return;
    const key = `${call.service_call_name}\u0000${call.request_data_summary}`;
    const list = groups.get(key);
    if (list) list.push(index);
    else groups.set(key, [index]);
  });
  const findings: Finding[] = [];
  for (const indexes of groups.values()) {
    if (indexes.length < 2) continue;
    const first = calls[indexes[0]];
    findings.push({
      kind: 'duplicate',
      service_call_name: first.service_call_name,
      request_data_summary: first.request_data_summary,
      calls: indexes,
      total_duration_milliseconds: sumDurations(calls, indexes),
    });
  }
  return findings.sort((a, b) => b.calls.length - a.calls.length || a.calls[0] - b.calls[0]);
}

/** Runs of `minRun`+ sequential calls of one name. Longest first. */
export function findNPlusOne(calls: readonly RpcCall[], minRun: number = DEFAULT_MIN_RUN): Finding[] {
  const runs = new Map<string, number[]>();
  const findings: Finding[] = [];
  function close(name: string, run: number[]) {
    if (run.length >= minRun) {
      findings.push({
        kind: 'n-plus-one',
        service_call_name: name,
        calls: run,
        total_duration_milliseconds: sumDurations(calls, run),
      });
    }
  }
  calls.forEach(function extend(call, index) {
    const name = call.service_call_name;
    const run = runs.get(name);
    if (run) {
      const previous = calls[run[run.length - 1]];
      const previousEnd = previous.start_offset_milliseconds + previous.duration_milliseconds;
      // A pending call has no end yet: it cannot be shown sequential, so it breaks the run too.
      if (!previous.pending && call.start_offset_milliseconds + EPSILON_MS >= previousEnd) {
        run.push(index);
        return;
      }
      close(name, run);
    }
    runs.set(name, [index]);
  });
  for (const [name, run] of runs) close(name, run);
  return findings.sort((a, b) => b.calls.length - a.calls.length || a.calls[0] - b.calls[0]);
}

/** Both kinds, N+1 first (the bigger win), for the details page. */
export function findCallFindings(calls: readonly RpcCall[], minRun: number = DEFAULT_MIN_RUN): Finding[] {
  return [...findNPlusOne(calls, minRun), ...findDuplicateCalls(calls)];
}

/** Call index -> the kinds flagging it, to mark rows of the traces and bars of the timeline. */
export function flaggedCalls(findings: readonly Finding[]): Map<number, Set<FindingKind>> {
  const flagged = new Map<number, Set<FindingKind>>();
  for (const finding of findings) {
    for (const index of finding.calls) {
      let kinds = flagged.get(index);
      if (!kinds) {
        kinds = new Set();
        flagged.set(index, kinds);
      }
      kinds.add(finding.kind);
    }
  }
  return flagged;
}

/**
 * The dashboard's per-path hint. A part keeps counts per call name but not the calls' order or
 * summaries, so from parts alone the pattern can only be suspected: a name called `minRun`+ times
 * in one request. The details page of such a request tells for sure.
 */
export function repeatedCallNames(
  summary: Pick<RequestSummary, 'rpc_stats'>,
  minRun: number = DEFAULT_MIN_RUN,
): { service_call_name: string; count: number }[] {
  const repeated: { service_call_name: string; count: number }[] = [];
  for (const stat of summary.rpc_stats) {
    if (stat.total_amount_of_calls >= minRun)
      repeated.push({ service_call_name: stat.service_call_name, count: stat.total_amount_of_calls });
  }
  return repeated;
}
