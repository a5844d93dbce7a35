import { fingerprint, isCompleteSummary, isConnectionSetUp } from './call-names.js';
import { nestedCallIds } from './call-stats.js';
import type { FindingCount, RequestRecord, RpcCall, StackFrame } from './record.js';
import { roundMs } from './units.js';

/**
 * What none of the originals did: tell the user which calls are the problem. Findings must be
 * true (docs/viewer.md, "Findings"), so each kind says only what the record proves; a pure function of the record,
 * served by the details page and its JSON alike. Only outermost calls count (a call nested in
 * another is part of it), and never connection set-up (pool checkouts, connects, dns, TLS).
 *
 * - n_plus_one: `minRun`+ calls of one name, one statement or key shape (literals normalised) and
 *   one call site (where stacks are known), each starting after the previous one ended: a loop of
 *   awaits where one batched call would do. Other calls may sit between them. Overlapping calls
 *   (a Promise.all, a pipeline) are already parallel and break the run.
 * - duplicate: the same call with the same COMPLETE request, twice or more. A summary with
 *   placeholders (`$1`, `?`) or masked arguments does not show the request: never a duplicate.
 * - parallelizable: `minSequential`+ calls of different shapes from one function, back to back
 *   with nothing else in flight, which could have run together if independent, saving at least
 *   `minSavedMs` (Sentry's consecutive-calls detector; it cannot see data dependencies, so it says
 *   "if independent").
 */
export type FindingKind = FindingCount['kind'];

export interface Finding {
  kind: FindingKind;
  /** The calls' name (for parallelizable: the first call's). */
  call_name: string;
  /** Indexes into the record's `individual_stats`, in call order. */
  calls: number[];
  /** Sum of the involved calls' durations: what the pattern cost. */
  total_duration_milliseconds: number;
  /** The shape (n_plus_one) or the repeated request (duplicate). */
  request_data_summary?: string;
  /** One sentence for a person. */
  message: string;
}

export interface FindingOptions {
  /** Calls in a run before it is an N+1. Default 5. */
  minRun?: number;
  /** Back-to-back calls before they are called parallelizable. Default 3. */
  minSequential?: number;
  /** Time running them together would save, at least. Default 50 ms. */
  minSavedMs?: number;
}

export const DEFAULT_MIN_RUN = 5;
const DEFAULT_MIN_SEQUENTIAL = 3;
const DEFAULT_MIN_SAVED_MS = 50;
/** Calls within a microsecond of each other count as sequential: times are rounded to the µs. */
const EPSILON_MS = 0.001;

type Calls = Pick<RequestRecord, 'individual_stats' | 'context_spans'>;

function endOf(call: RpcCall): number {
  return call.start_offset_milliseconds + call.duration_milliseconds;
}

function sumDurations(calls: readonly RpcCall[], indexes: readonly number[]): number {
  let total = 0;
  for (const i of indexes) total += calls[i].duration_milliseconds;
  return roundMs(total);
}

/** The app's frame of a stack: the first outside node_modules (library frames are folded). */
function appFrame(stack: readonly StackFrame[]): StackFrame | undefined {
  return stack.find((frame) => !/[\\/]node_modules[\\/]/.test(frame.class_or_file_name)) ?? stack[0];
}

function callSite(call: RpcCall): string {
  const frame = appFrame(call.call_stack);
  return frame ? `${frame.class_or_file_name}:${frame.line_number}` : '';
}

/** Indexes of the calls findings may look at: outermost, finished, not connection set-up. */
function countedCalls(record: Calls, nested: ReadonlySet<string>): number[] {
  const calls = record.individual_stats;
  const counted: number[] = [];
  calls.forEach(function keep(call, index) {
    if (nested.has(call.span_id) || call.pending) return;
    if (isConnectionSetUp(call.service_call_name) || isConnectionSetUp(call.span_name)) return;
    counted.push(index);
  });
  return counted;
}

function findNPlusOne(calls: readonly RpcCall[], counted: readonly number[], minRun: number): Finding[] {
  const runs = new Map<string, number[]>();
  const findings: Finding[] = [];
  const close = (run: number[]) => {
    if (run.length < minRun) return;
    const first = calls[run[0]];
    const shape = fingerprint(first.request_data_summary);
    findings.push({
      kind: 'n_plus_one',
      call_name: first.service_call_name,
      calls: run,
      total_duration_milliseconds: sumDurations(calls, run),
      ...(shape ? { request_data_summary: shape } : {}),
      message: `${run.length} sequential ${first.service_call_name} calls of one shape from one line: one batched call would do`,
    });
  };
  // Only names made minRun+ times can make a run: the others are never fingerprinted (this runs
  // on the app's side for every record, for the part's counts).
  const perName = new Map<string, number>();
  for (const index of counted) {
    const name = calls[index].service_call_name;
    perName.set(name, (perName.get(name) ?? 0) + 1);
  }
  for (const index of counted) {
    const call = calls[index];
    if ((perName.get(call.service_call_name) ?? 0) < minRun) continue;
    const key = `${call.service_call_name}\u0000${fingerprint(call.request_data_summary)}\u0000${callSite(call)}`;
    const run = runs.get(key);
    if (run && call.start_offset_milliseconds + EPSILON_MS >= endOf(calls[run[run.length - 1]])) {
      run.push(index);
      continue;
    }
    if (run) close(run);
    runs.set(key, [index]);
  }
  for (const run of runs.values()) close(run);
  return findings;
}

function findDuplicates(calls: readonly RpcCall[], counted: readonly number[]): Finding[] {
  const groups = new Map<string, number[]>();
  for (const index of counted) {
    const call = calls[index];
    if (!call.request_data_summary) continue;
    const key = `${call.service_call_name}\u0000${call.request_data_summary}`;
    const group = groups.get(key);
    if (group) group.push(index);
    else groups.set(key, [index]);
  }
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    // Repeated summaries only are checked for completeness: most calls' summaries differ.
    if (group.length < 2 || !isCompleteSummary(calls[group[0]].request_data_summary)) continue;
    const first = calls[group[0]];
    findings.push({
      kind: 'duplicate',
      call_name: first.service_call_name,
      calls: group,
      total_duration_milliseconds: sumDurations(calls, group),
      request_data_summary: first.request_data_summary,
      message: `${first.service_call_name} made ${group.length} times with the same request: the answer was already known`,
    });
  }
  return findings;
}

/** The function a call was made from (file and function of its app frame). */
function callerFunction(call: RpcCall): string | undefined {
  const frame = appFrame(call.call_stack);
  return frame ? `${frame.class_or_file_name}#${frame.function_name}` : undefined;
}

function distinctShapes(calls: readonly RpcCall[], run: readonly number[]): boolean {
  const shapes = new Set(
    run.map((i) => `${calls[i].service_call_name} ${fingerprint(calls[i].request_data_summary)}`),
  );
  return shapes.size === run.length;
}

function findParallelizable(
  calls: readonly RpcCall[],
  counted: readonly number[],
  minSequential: number,
  minSavedMs: number,
): Finding[] {
  const findings: Finding[] = [];
  // The latest end among the calls started before each call (calls are in start order): a call
  // starting at or after it had nothing else in flight when it started.
  const busyUntil: number[] = [];
  let latestEnd = Number.NEGATIVE_INFINITY;
  calls.forEach(function track(call, index) {
    busyUntil[index] = latestEnd;
    if (!call.pending) latestEnd = Math.max(latestEnd, endOf(call));
    else latestEnd = Number.POSITIVE_INFINITY;
  });
  let run: number[] = [];
  const close = () => {
    if (run.length >= minSequential) {
      const durations = run.map((i) => calls[i].duration_milliseconds);
      const saved = durations.reduce((a, b) => a + b, 0) - Math.max(...durations);
      // Calls of one shape in a row are an N+1's business, not this finding's (checked last: it
      // fingerprints every call of the run).
      if (saved >= minSavedMs && distinctShapes(calls, run)) {
        findings.push({
          kind: 'parallelizable',
          call_name: calls[run[0]].service_call_name,
          calls: run,
          total_duration_milliseconds: sumDurations(calls, run),
          message: `${run.length} calls made one after another from one function could run together if independent, saving up to ${roundMs(saved)} ms`,
        });
      }
    }
    run = [];
  };
  for (const index of counted) {
    const call = calls[index];
    const previous = run.length > 0 ? calls[run[run.length - 1]] : undefined;
    const sameCaller =
      previous !== undefined &&
      callerFunction(previous) !== undefined &&
      callerFunction(previous) === callerFunction(call);
    // Back to back: it starts once every earlier call (the previous one included) has ended.
    const backToBack =
      previous !== undefined && call.start_offset_milliseconds + EPSILON_MS >= busyUntil[index];
    if (!(sameCaller && backToBack)) close();
    run.push(index);
  }
  close();
  return findings;
}

/** Every finding of a record: N+1 first (the bigger win), then duplicates, then parallelizable. */
export function findFindings(
  record: Calls,
  options: FindingOptions = {},
  /** The record's nested calls, when the caller has them already (`nestedCallIds`). */
  nested: ReadonlySet<string> = nestedCallIds(record.individual_stats, record.context_spans ?? []),
): Finding[] {
  const calls = record.individual_stats;
  const counted = countedCalls(record, nested);
  const bySize = (a: Finding, b: Finding) => b.calls.length - a.calls.length || a.calls[0] - b.calls[0];
  return [
    ...findNPlusOne(calls, counted, options.minRun ?? DEFAULT_MIN_RUN).sort(bySize),
    ...findDuplicates(calls, counted).sort(bySize),
    ...findParallelizable(
      calls,
      counted,
      options.minSequential ?? DEFAULT_MIN_SEQUENTIAL,
      options.minSavedMs ?? DEFAULT_MIN_SAVED_MS,
    ),
  ];
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

/** What a part carries of its findings, so the dashboard's hints follow the same rules. */
export function countFindings(findings: readonly Finding[]): FindingCount[] {
  return findings.map((finding) => ({
    kind: finding.kind,
    call_name: finding.call_name,
    count: finding.calls.length,
  }));
}
