import type { RequestSummary } from '../core/record.js';
import { roundMs } from '../core/units.js';

/**
 * What the dashboard sums across parts besides their rpc_stats: the time a request spent with a
 * call in flight (issue 10: how much of a path's time is spent waiting on calls), and whether any
 * part has a cost at all.
 */

/** Sums of the time with a call in flight and of the duration, over the parts that say it. */
export interface InFlight {
  requests: number;
  in_flight: number;
  duration: number;
}

export function addInFlight(sums: InFlight, summary: RequestSummary): void {
  const inFlight = summary.rpc_in_flight_milliseconds;
  if (typeof inFlight !== 'number' || !Number.isFinite(inFlight)) return;
  sums.requests++;
  sums.in_flight += inFlight;
  sums.duration += summary.duration_milliseconds;
}

export function inFlightOf(sums: InFlight): { in_flight_ms?: number; in_flight_percent?: number } {
  if (sums.requests === 0) return {};
  return {
    in_flight_ms: roundMs(sums.in_flight / sums.requests),
    in_flight_percent: sums.duration > 0 ? Math.min(100, (sums.in_flight / sums.duration) * 100) : 0,
  };
}

/** True when any part has a cost or a billed op: only then are the cost columns worth showing. */
export function hasCost(summaries: readonly RequestSummary[]): boolean {
  return summaries.some((summary) =>
    summary.rpc_stats.some(
      (stat) => stat.total_cost_of_calls_microdollars !== 0 || (stat.total_billed_ops?.length ?? 0) > 0,
    ),
  );
}
