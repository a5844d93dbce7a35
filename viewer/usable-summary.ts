import type { RequestSummary, RpcStat } from '../exporter/record.js';

/**
 * The codec checks a record's top-level fields; the dashboard also reads inside `rpc_stats`, and a
 * value written by another version or program may hold anything there. A part the dashboard cannot
 * aggregate is skipped and counted like any unreadable value, never a 500; optional numbers that
 * are missing read as 0, so an older or newer writer's parts still show.
 */
function finite(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function usableStat(value: unknown): RpcStat | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stat = value as Partial<RpcStat>;
  if (typeof stat.service_call_name !== 'string' || !Number.isFinite(stat.total_amount_of_calls))
    return undefined;
  return {
    service_call_name: stat.service_call_name,
    total_amount_of_calls: stat.total_amount_of_calls as number,
    total_cost_of_calls_microdollars: finite(stat.total_cost_of_calls_microdollars),
    total_duration_milliseconds: finite(stat.total_duration_milliseconds),
    total_billed_ops: Array.isArray(stat.total_billed_ops)
      ? stat.total_billed_ops.filter((op) => typeof op?.op === 'string' && Number.isFinite(op?.num_ops))
      : [],
  };
}

/** The part as the dashboard reads it, or undefined when it cannot be read so. */
export function usableSummary(summary: RequestSummary): RequestSummary | undefined {
  const stats: RpcStat[] = [];
  for (const value of summary.rpc_stats) {
    const stat = usableStat(value);
    if (!stat) return undefined;
    stats.push(stat);
  }
  return {
    ...summary,
    http_query: typeof summary.http_query === 'string' ? summary.http_query : '',
    http_status: finite(summary.http_status),
    overhead_walltime_milliseconds: finite(summary.overhead_walltime_milliseconds),
    duration_milliseconds: finite(summary.duration_milliseconds),
    http_route: typeof summary.http_route === 'string' ? summary.http_route : undefined,
    was_successful: summary.was_successful !== false,
    incomplete:
      typeof summary.incomplete === 'object' && summary.incomplete !== null ? summary.incomplete : undefined,
    rpc_stats: stats,
  };
}
